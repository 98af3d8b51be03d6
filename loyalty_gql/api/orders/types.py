"""Quotes and orders as GraphQL types, built from the quote document both share."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from loyalty_gql.api.core.ids import to_global_id
from loyalty_gql.api.core.money import Money
from loyalty_gql.api.core.node import Node
from loyalty_gql.api.core.permissions import WITHIN_PARENT, CanServeSite
from loyalty_gql.db.models import OrderRow
from loyalty_gql.domain.checkout import Origin, Reason
from loyalty_gql.domain.orders import OrderStatus
from loyalty_gql.domain.spelling import snake_keys
from loyalty_gql.domain.values import Money as DomainMoney

strawberry.enum(Origin, name="OfferOrigin", description="How an offer came to a basket.")
strawberry.enum(Reason, name="OfferRefusal", description="Why an offer did not apply.")


strawberry.enum(OrderStatus, description="Where an order is in its life.")


def stored_document(doc: dict[str, Any]) -> dict[str, Any]:
    """A quote document in snake_case, however it was stored (older orders: camelCase)."""
    return doc if "points_base" in doc else snake_keys(doc)


def _offer_id(pk: int | None) -> strawberry.ID | None:
    return to_global_id("Offer", pk) if pk is not None else None


@strawberry.type(description="What one offer (or the points paid) took off one line.")
class LineDiscount:
    """One discount on a line."""

    offer_id: strawberry.ID | None = strawberry.field(
        description="Global ID of the offer; null for a threshold voucher or points paid.",
        metadata=WITHIN_PARENT,
    )
    points_payment: bool = strawberry.field(
        description="Whether this part was paid with points.", metadata=WITHIN_PARENT
    )
    amount: Money = strawberry.field(description="The amount taken off.", metadata=WITHIN_PARENT)


@strawberry.type(description="One basket line after every offer.")
class QuoteLine:
    """A priced line."""

    line_id: str = strawberry.field(description="The line's id.", metadata=WITHIN_PARENT)
    product_id: str = strawberry.field(description="The product.", metadata=WITHIN_PARENT)
    category: str = strawberry.field(description="The category path.", metadata=WITHIN_PARENT)
    quantity: int = strawberry.field(description="How many.", metadata=WITHIN_PARENT)
    unit_price: Money = strawberry.field(description="Price of one.", metadata=WITHIN_PARENT)
    original_price: Money = strawberry.field(
        description="Quantity times unit price, before offers.", metadata=WITHIN_PARENT
    )
    member_discount: Money = strawberry.field(
        description="What clubcard member prices took off.", metadata=WITHIN_PARENT
    )
    discount: Money = strawberry.field(
        description="Everything taken off the line.", metadata=WITHIN_PARENT
    )
    final_price: Money = strawberry.field(
        description="What the line costs after every offer.", metadata=WITHIN_PARENT
    )
    earns_points: bool = strawberry.field(
        description="Whether the line's price earns points.", metadata=WITHIN_PARENT
    )
    discounts: list[LineDiscount] = strawberry.field(
        description="The discounts, in the order they were applied.", metadata=WITHIN_PARENT
    )


@strawberry.type(description="An offer that took something off the basket.")
class AppliedOffer:
    """An applied offer."""

    offer_id: strawberry.ID | None = strawberry.field(
        description="Global ID of the offer; null for a threshold voucher.",
        metadata=WITHIN_PARENT,
    )
    name: str = strawberry.field(description="The offer's name.", metadata=WITHIN_PARENT)
    origin: Origin = strawberry.field(
        description="How it came to the basket.", metadata=WITHIN_PARENT
    )
    code: str | None = strawberry.field(
        description="The coupon code or voucher code entered, if any.", metadata=WITHIN_PARENT
    )
    amount: Money = strawberry.field(description="What it took off.", metadata=WITHIN_PARENT)
    reward_points: int = strawberry.field(
        description="Extra points the offer gives with this order.", metadata=WITHIN_PARENT
    )


@strawberry.type(description="An offer that did not apply, and why.")
class RejectedOffer:
    """A refused offer."""

    offer_id: strawberry.ID | None = strawberry.field(
        description="Global ID of the offer; null for an unknown code.", metadata=WITHIN_PARENT
    )
    name: str = strawberry.field(
        description="The offer's name (the code for an unknown code).", metadata=WITHIN_PARENT
    )
    origin: Origin = strawberry.field(
        description="How it came to the basket.", metadata=WITHIN_PARENT
    )
    code: str | None = strawberry.field(
        description="The code entered, if any.", metadata=WITHIN_PARENT
    )
    reason: Reason = strawberry.field(description="Why it did not apply.", metadata=WITHIN_PARENT)
    message: str = strawberry.field(description="The reason in words.", metadata=WITHIN_PARENT)


@strawberry.type(description="A coupon code or voucher asked for that the order did not apply.")
class NotApplied:
    """A requested code left out, and why."""

    code: str | None = strawberry.field(
        description="The code as entered (upper case).", metadata=WITHIN_PARENT
    )
    origin: Origin = strawberry.field(description="COUPON_CODE or VOUCHER.", metadata=WITHIN_PARENT)
    reason: Reason = strawberry.field(description="Why it did not apply.", metadata=WITHIN_PARENT)
    message: str = strawberry.field(description="The reason in words.", metadata=WITHIN_PARENT)


AUTOMATIC = frozenset({Origin.PROMOTION.value, Origin.CLUBCARD.value, Origin.PUNCHCARD.value})


def not_applied(doc: dict[str, Any]) -> list[NotApplied]:
    """What the customer asked for (codes, vouchers) that the quote did not apply; the
    automatic offers that did not apply are left out (they were not asked for)."""
    return [
        NotApplied(
            code=r["code"],
            origin=Origin(r["origin"]),
            reason=Reason(r["reason"]),
            message=r["message"],
        )
        for r in stored_document(doc)["rejected"]
        if r["origin"] not in AUTOMATIC
    ]


@strawberry.type(description="A punchcard's punches before and after this basket.")
class PunchcardProgress:
    """Punchcard progress."""

    offer_id: strawberry.ID | None = strawberry.field(
        description="Global ID of the punchcard.", metadata=WITHIN_PARENT
    )
    name: str = strawberry.field(description="The punchcard's name.", metadata=WITHIN_PARENT)
    punches_required: int = strawberry.field(
        description="Punches that fill the card.", metadata=WITHIN_PARENT
    )
    punches_before: int = strawberry.field(
        description="Punches before this basket.", metadata=WITHIN_PARENT
    )
    punches_after: int = strawberry.field(
        description="Punches after it (a full card that gave its reward starts again).",
        metadata=WITHIN_PARENT,
    )
    reward_line_id: str | None = strawberry.field(
        description="The line whose item the full card made free or cheaper.",
        metadata=WITHIN_PARENT,
    )
    reward_amount: Money | None = strawberry.field(
        description="What the full card took off.", metadata=WITHIN_PARENT
    )


@strawberry.type(description="Points the customer pays with.")
class PointsPayment:
    """Paying with points."""

    requested: int = strawberry.field(description="Points asked for.", metadata=WITHIN_PARENT)
    used: int = strawberry.field(description="Points that will be spent.", metadata=WITHIN_PARENT)
    amount: Money = strawberry.field(description="Money they pay.", metadata=WITHIN_PARENT)
    refusal: Reason | None = strawberry.field(
        description="Why no points are used, if so.", metadata=WITHIN_PARENT
    )
    message: str | None = strawberry.field(
        description="The refusal in words.", metadata=WITHIN_PARENT
    )


@strawberry.type(description="The price of a basket after every offer, and the points it earns.")
class CheckoutQuote:
    """A quote: the same for the checkout query and the recorded order."""

    currency_code: str = strawberry.field(
        description="ISO 4217 currency of every amount.", metadata=WITHIN_PARENT
    )
    lines: list[QuoteLine] = strawberry.field(
        description="The lines, in the basket's order.", metadata=WITHIN_PARENT
    )
    subtotal: Money = strawberry.field(description="Before any offer.", metadata=WITHIN_PARENT)
    discount: Money = strawberry.field(
        description="Everything taken off (offers and points paid).", metadata=WITHIN_PARENT
    )
    total: Money = strawberry.field(
        description="What the customer pays; the lines' final prices add up to it exactly.",
        metadata=WITHIN_PARENT,
    )
    applied_offers: list[AppliedOffer] = strawberry.field(
        description="Offers that took something off, in the order applied.",
        metadata=WITHIN_PARENT,
    )
    rejected_offers: list[RejectedOffer] = strawberry.field(
        description="Offers that could have applied but did not, with the reason.",
        metadata=WITHIN_PARENT,
    )
    punchcards: list[PunchcardProgress] = strawberry.field(
        description="The customer's punchcards this basket touches.", metadata=WITHIN_PARENT
    )
    points_payment: PointsPayment | None = strawberry.field(
        description="Points paid with, when asked for.", metadata=WITHIN_PARENT
    )
    points_base: Money = strawberry.field(
        description="The amount that earns points (paid, on lines that earn).",
        metadata=WITHIN_PARENT,
    )
    base_points: int = strawberry.field(
        description="Points for the amount paid (earn rate x tier multiplier, rounded).",
        metadata=WITHIN_PARENT,
    )
    reward_points: int = strawberry.field(
        description="Extra points from the offers applied.", metadata=WITHIN_PARENT
    )
    points: int = strawberry.field(
        description="Points the order earns: base plus reward points; 0 for guests.",
        metadata=WITHIN_PARENT,
    )

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> CheckoutQuote:
        """The quote a document describes (see services.checkout.quote_document), in
        snake_case; an order recorded before the document was spelled so holds camelCase
        keys, which are read the same."""
        doc = stored_document(doc)
        currency = doc["currency"]

        def money(minor: int) -> Money:
            return Money.of(DomainMoney(minor, currency))

        payment = doc["points_payment"]
        return cls(
            currency_code=currency,
            lines=[
                QuoteLine(
                    line_id=q["line_id"], product_id=q["product_id"], category=q["category"],
                    quantity=q["quantity"], unit_price=money(q["unit_price"]),
                    original_price=money(q["original"]),
                    member_discount=money(q["member_discount"]), discount=money(q["discount"]),
                    final_price=money(q["final"]), earns_points=q["earns_points"],
                    discounts=[
                        LineDiscount(offer_id=_offer_id(d["offer_id"]),
                                     points_payment=d["points_payment"], amount=money(d["amount"]))
                        for d in q["discounts"]
                    ],
                )
                for q in doc["lines"]
            ],
            subtotal=money(doc["subtotal"]),
            discount=money(doc["discount"]),
            total=money(doc["total"]),
            applied_offers=[
                AppliedOffer(
                    offer_id=_offer_id(a["offer_id"]), name=a["name"], origin=Origin(a["origin"]),
                    code=a["code"], amount=money(a["amount"]), reward_points=a["reward_points"],
                )
                for a in doc["applied"]
            ],
            rejected_offers=[
                RejectedOffer(
                    offer_id=_offer_id(r["offer_id"]), name=r["name"], origin=Origin(r["origin"]),
                    code=r["code"], reason=Reason(r["reason"]), message=r["message"],
                )
                for r in doc["rejected"]
            ],
            punchcards=[
                PunchcardProgress(
                    offer_id=_offer_id(p["offer_id"]), name=p["name"],
                    punches_required=p["required"], punches_before=p["before"],
                    punches_after=p["after"], reward_line_id=p["reward_line_id"],
                    reward_amount=money(p["reward_amount"]) if p["reward_line_id"] else None,
                )
                for p in doc["punchcards"]
            ],
            points_payment=None if payment is None else PointsPayment(
                requested=payment["requested"], used=payment["used"],
                amount=money(payment["amount"]),
                refusal=Reason(payment["reason"]) if payment["reason"] else None,
                message=payment["message"],
            ),
            points_base=money(doc["points_base"]),
            base_points=doc["base_points"],
            reward_points=doc["reward_points"],
            points=doc["points"],
        )  # fmt: skip


@strawberry.type(description="An order the shop recorded.")
class Order(Node):
    """A recorded order and what happened to it since."""

    pk: strawberry.Private[int]
    site_pk: strawberry.Private[int]
    order_id: str = strawberry.field(
        description="The shop's order id.", permission_classes=[CanServeSite]
    )
    status: OrderStatus = strawberry.field(
        description="Where the order is in its life.", permission_classes=[CanServeSite]
    )
    customer_id: strawberry.ID | None = strawberry.field(
        description="Global ID of the customer; null for a guest.",
        permission_classes=[CanServeSite],
    )
    quote: CheckoutQuote = strawberry.field(
        description="The quote as recorded (a retry returns it unchanged).",
        permission_classes=[CanServeSite],
    )
    points_earned: int = strawberry.field(
        description="Points the order earned for the customer.", permission_classes=[CanServeSite]
    )
    points_paid: int = strawberry.field(
        description="Points the customer paid with.", permission_classes=[CanServeSite]
    )
    points_taken_back: int = strawberry.field(
        description="Points taken back by refunds (in proportion to the refunded amount that "
        "earned points, by the site's points rounding, cumulatively) and cancellation.",
        permission_classes=[CanServeSite],
    )
    points_not_recovered: int = strawberry.field(
        description="Points that should have been taken back but were spent already.",
        permission_classes=[CanServeSite],
    )
    points_given_back: int = strawberry.field(
        description="Points paid with that refunds (in proportion to the points payment on "
        "what they refunded, by the site's points rounding) and cancellation gave back.",
        permission_classes=[CanServeSite],
    )
    refunded: Money = strawberry.field(
        description="Money refunded so far.", permission_classes=[CanServeSite]
    )
    created_at: datetime = strawberry.field(
        description="When it was recorded.", permission_classes=[CanServeSite]
    )
    completed_at: datetime | None = strawberry.field(
        description="When it was completed.", permission_classes=[CanServeSite]
    )
    cancelled_at: datetime | None = strawberry.field(
        description="When it was cancelled.", permission_classes=[CanServeSite]
    )

    @classmethod
    def from_row(cls, row: OrderRow) -> Order:
        """The order stored in ``row``."""
        return cls(
            id=to_global_id("Order", row.id),
            pk=row.id,
            site_pk=row.site_id,
            order_id=row.external_id,
            status=OrderStatus(row.status),
            customer_id=to_global_id("Customer", row.customer_id) if row.customer_id else None,
            quote=CheckoutQuote.from_document(row.quote),
            points_earned=row.points,
            points_paid=row.points_paid,
            points_taken_back=row.points_taken_back,
            points_not_recovered=row.points_not_recovered,
            points_given_back=row.points_given_back,
            refunded=Money.of(DomainMoney(row.refunded_minor, row.currency)),
            created_at=row.created_at,
            completed_at=row.completed_at,
            cancelled_at=row.cancelled_at,
        )
