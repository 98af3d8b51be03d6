"""Quotes and orders as GraphQL types, built from the quote document both share."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from loyalty_gql.api.core.ids import to_global_id
from loyalty_gql.api.core.money import Money
from loyalty_gql.api.core.node import Node, build_node, builds_node
from loyalty_gql.api.core.permissions import WITHIN_PARENT, CanSeeOrder, CanServeSite
from loyalty_gql.api.core.resolving import AppInfo
from loyalty_gql.db.models import OrderRow
from loyalty_gql.domain.campaigns import CampaignReason
from loyalty_gql.domain.checkout import Origin, Reason
from loyalty_gql.domain.offers import OfferStatus
from loyalty_gql.domain.orders import OrderStatus
from loyalty_gql.domain.points import EntryKind
from loyalty_gql.domain.spelling import snake_keys
from loyalty_gql.domain.values import Money as DomainMoney

strawberry.enum(Origin, name="OfferOrigin", description="How an offer came to a basket.")
strawberry.enum(Reason, name="OfferRefusal", description="Why an offer did not apply.")
strawberry.enum(CampaignReason, description="Why a campaign did not apply to an event.")


strawberry.enum(OrderStatus, description="Where an order is in its life.")

if TYPE_CHECKING:
    from loyalty_gql.api.customers.types import Customer
    from loyalty_gql.api.offers.types import Offer

LazyOffer = Annotated["Offer", strawberry.lazy("loyalty_gql.api.offers.types")]
LazyCustomer = Annotated["Customer", strawberry.lazy("loyalty_gql.api.customers.types")]


async def visible_offer(info: AppInfo, pk: int | None) -> Offer | None:
    """The offer ``pk`` (batched with the response's other offers); null without one, for
    a caller who may not see its site (a guest's basket), and for a customer when it is not
    published (a draft's code entered, an offer withdrawn since the order): customers see
    the offers My offers shows, staff every one."""
    if pk is None:
        return None
    row = await info.context.loaders.offer_by_id.load(pk)
    access = info.context.access
    if row is None or not access.sees_site(row.site_id):
        return None
    if row.status != OfferStatus.PUBLISHED.value and not access.serves_site(row.site_id):
        return None
    site = await info.context.loaders.site_by_id.load(row.site_id)
    offer: Offer | None = build_node("Offer", row, site.currency) if site else None
    return offer


@strawberry.enum(description="Where a line's discount came from.")
class DiscountOrigin(Enum):
    """The origin of one discount on a line: an offer by the way it came to the basket,
    a voucher of the threshold reward, or the points paid."""

    PROMOTION = "PROMOTION"
    CLUBCARD = "CLUBCARD"
    PUNCHCARD = "PUNCHCARD"
    COUPON_CODE = "COUPON_CODE"
    VOUCHER = "VOUCHER"
    THRESHOLD_VOUCHER = "THRESHOLD_VOUCHER"
    ASSIGNED = "ASSIGNED"
    POINTS = "POINTS"


def stored_document(doc: dict[str, Any]) -> dict[str, Any]:
    """A quote document in snake_case, however it was stored (older orders: camelCase)."""
    return doc if "points_base" in doc else snake_keys(doc)


def _offer_id(pk: int | None) -> strawberry.ID | None:
    return to_global_id("Offer", pk) if pk is not None else None


@strawberry.type(description="What one offer (or the points paid) took off one line.")
class LineDiscount:
    """One discount on a line, labelled: what a cart shows under the line."""

    offer_pk: strawberry.Private[int | None]
    offer_id: strawberry.ID | None = strawberry.field(
        description="Global ID of the offer; null for a threshold voucher or points paid.",
        metadata=WITHIN_PARENT,
    )
    points_payment: bool = strawberry.field(
        description="Whether this part was paid with points.", metadata=WITHIN_PARENT
    )
    amount: Money = strawberry.field(description="The amount taken off.", metadata=WITHIN_PARENT)
    name: str = strawberry.field(
        description='What to call it: the offer\'s name, "Reward voucher" for a threshold '
        'voucher, "<n> points" for the points paid.',
        metadata=WITHIN_PARENT,
    )
    code: str | None = strawberry.field(
        description="The coupon code or voucher code it came with, if any.",
        metadata=WITHIN_PARENT,
    )
    origin: DiscountOrigin = strawberry.field(
        description="How it came to the basket: an offer's origin, THRESHOLD_VOUCHER or POINTS.",
        metadata=WITHIN_PARENT,
    )

    @strawberry.field(
        description="The offer; null for a threshold voucher, points paid, for guests, and "
        "for customers when it is not published (any more).",
        metadata=WITHIN_PARENT,
    )
    async def offer(self, info: AppInfo) -> LazyOffer | None:
        """The offer behind the discount, batched with the response's other offers."""
        return await visible_offer(info, self.offer_pk)


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

    offer_pk: strawberry.Private[int | None]
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

    @strawberry.field(
        description="The offer; null for a threshold voucher, for guests, and for customers "
        "when it is not published (any more).",
        metadata=WITHIN_PARENT,
    )
    async def offer(self, info: AppInfo) -> LazyOffer | None:
        """The offer, batched with the response's other offers."""
        return await visible_offer(info, self.offer_pk)


@strawberry.type(description="An offer that did not apply, and why.")
class RejectedOffer:
    """A refused offer."""

    offer_pk: strawberry.Private[int | None]
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

    @strawberry.field(
        description="The offer; null for an unknown code, for guests, and for customers when "
        "it is not published (a draft's code).",
        metadata=WITHIN_PARENT,
    )
    async def offer(self, info: AppInfo) -> LazyOffer | None:
        """The offer, batched with the response's other offers."""
        return await visible_offer(info, self.offer_pk)


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

    offer_pk: strawberry.Private[int | None]
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

    @strawberry.field(
        description="The punchcard; null for guests, and for customers when it is not "
        "published (any more).",
        metadata=WITHIN_PARENT,
    )
    async def offer(self, info: AppInfo) -> LazyOffer | None:
        """The punchcard offer, batched with the response's other offers."""
        return await visible_offer(info, self.offer_pk)


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


@strawberry.type(description="Points one campaign adds to the order.")
class CampaignPoints:
    """An applied campaign."""

    campaign_id: strawberry.ID = strawberry.field(
        description="Global ID of the campaign.", metadata=WITHIN_PARENT
    )
    name: str = strawberry.field(description="The campaign's name.", metadata=WITHIN_PARENT)
    points: int = strawberry.field(
        description="Points it adds (its budget may have cut them).", metadata=WITHIN_PARENT
    )


@strawberry.type(description="A campaign the order touched that adds nothing, and why.")
class RejectedCampaign:
    """A campaign that did not apply."""

    campaign_id: strawberry.ID = strawberry.field(
        description="Global ID of the campaign.", metadata=WITHIN_PARENT
    )
    name: str = strawberry.field(description="The campaign's name.", metadata=WITHIN_PARENT)
    reason: CampaignReason = strawberry.field(
        description="Why it did not apply (the first condition that failed).",
        metadata=WITHIN_PARENT,
    )
    message: str = strawberry.field(description="The reason in words.", metadata=WITHIN_PARENT)


def _quote_lines_of(root: CheckoutQuote) -> list[QuoteLine]:
    """The quote's lines, from its document."""
    return _quote_lines(root.document)


def _applied_offers_of(root: CheckoutQuote) -> list[AppliedOffer]:
    """The quote's applied offers, from its document."""
    return _applied_offers(root.document)


def _rejected_offers_of(root: CheckoutQuote) -> list[RejectedOffer]:
    """The quote's rejected offers, from its document."""
    return _rejected_offers(root.document)


def _punchcards_of(root: CheckoutQuote) -> list[PunchcardProgress]:
    """The quote's punchcards, from its document."""
    return _punchcards(root.document)


def _campaigns_of(root: CheckoutQuote) -> list[CampaignPoints]:
    """The quote's campaigns, from its document."""
    return _campaigns(root.document)


def _rejected_campaigns_of(root: CheckoutQuote) -> list[RejectedCampaign]:
    """The quote's rejected campaigns, from its document."""
    return _rejected_campaigns(root.document)


@strawberry.type(description="The price of a basket after every offer, and the points it earns.")
class CheckoutQuote:
    """A quote: the same for the checkout query and the recorded order. Its totals are
    read from the quote's document at once, its lists when asked for."""

    document: strawberry.Private[dict[str, Any]]

    currency_code: str = strawberry.field(
        description="ISO 4217 currency of every amount.", metadata=WITHIN_PARENT
    )
    lines: list[QuoteLine] = strawberry.field(
        resolver=_quote_lines_of,
        description="The lines, in the basket's order.", metadata=WITHIN_PARENT,
    )  # fmt: skip
    subtotal: Money = strawberry.field(description="Before any offer.", metadata=WITHIN_PARENT)
    discount: Money = strawberry.field(
        description="Everything taken off (offers and points paid).", metadata=WITHIN_PARENT
    )
    total: Money = strawberry.field(
        description="What the customer pays; the lines' final prices add up to it exactly.",
        metadata=WITHIN_PARENT,
    )
    applied_offers: list[AppliedOffer] = strawberry.field(
        resolver=_applied_offers_of,
        description="Offers that took something off, in the order applied.",
        metadata=WITHIN_PARENT,
    )
    rejected_offers: list[RejectedOffer] = strawberry.field(
        resolver=_rejected_offers_of,
        description="Offers that could have applied but did not, with the reason.",
        metadata=WITHIN_PARENT,
    )
    punchcards: list[PunchcardProgress] = strawberry.field(
        resolver=_punchcards_of,
        description="The customer's punchcards this basket touches.", metadata=WITHIN_PARENT,
    )  # fmt: skip
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
        description="Points the order earns: base plus reward points; 0 for guests "
        "(campaigns' points are campaignPoints, beside these).",
        metadata=WITHIN_PARENT,
    )
    campaigns: list[CampaignPoints] = strawberry.field(
        resolver=_campaigns_of,
        description="The campaigns that add points, each with its points (earned as the "
        "order's points are: pending until the order completes where the site says so).",
        metadata=WITHIN_PARENT,
    )
    rejected_campaigns: list[RejectedCampaign] = strawberry.field(
        resolver=_rejected_campaigns_of,
        description="Campaigns the order's trigger and items touched that add nothing, with "
        "the reason.",
        metadata=WITHIN_PARENT,
    )
    campaign_points: int = strawberry.field(
        description="Points the campaigns add together.", metadata=WITHIN_PARENT
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
            document=doc,
            currency_code=currency,
            subtotal=money(doc["subtotal"]),
            discount=money(doc["discount"]),
            total=money(doc["total"]),
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
            campaign_points=doc.get("campaign_points", 0),
        )  # fmt: skip


def _money_of(doc: dict[str, Any]) -> Any:
    currency = doc["currency"]

    def money(minor: int) -> Money:
        return Money.of(DomainMoney(minor, currency))

    return money


def _quote_lines(doc: dict[str, Any]) -> list[QuoteLine]:
    money, label = _money_of(doc), _labels(doc)
    return [
        QuoteLine(
            line_id=q["line_id"], product_id=q["product_id"], category=q["category"],
            quantity=q["quantity"], unit_price=money(q["unit_price"]),
            original_price=money(q["original"]),
            member_discount=money(q["member_discount"]), discount=money(q["discount"]),
            final_price=money(q["final"]), earns_points=q["earns_points"],
            discounts=[
                LineDiscount(offer_pk=d["offer_id"], offer_id=_offer_id(d["offer_id"]),
                             points_payment=d["points_payment"], amount=money(d["amount"]),
                             **label(d))
                for d in q["discounts"]
            ],
        )
        for q in doc["lines"]
    ]  # fmt: skip


def _applied_offers(doc: dict[str, Any]) -> list[AppliedOffer]:
    money = _money_of(doc)
    return [
        AppliedOffer(
            offer_pk=a["offer_id"], offer_id=_offer_id(a["offer_id"]), name=a["name"],
            origin=Origin(a["origin"]), code=a["code"], amount=money(a["amount"]),
            reward_points=a["reward_points"],
        )
        for a in doc["applied"]
    ]  # fmt: skip


def _rejected_offers(doc: dict[str, Any]) -> list[RejectedOffer]:
    return [
        RejectedOffer(
            offer_pk=r["offer_id"], offer_id=_offer_id(r["offer_id"]), name=r["name"],
            origin=Origin(r["origin"]), code=r["code"], reason=Reason(r["reason"]),
            message=r["message"],
        )
        for r in doc["rejected"]
    ]  # fmt: skip


def _punchcards(doc: dict[str, Any]) -> list[PunchcardProgress]:
    money = _money_of(doc)
    return [
        PunchcardProgress(
            offer_pk=p["offer_id"], offer_id=_offer_id(p["offer_id"]), name=p["name"],
            punches_required=p["required"], punches_before=p["before"],
            punches_after=p["after"], reward_line_id=p["reward_line_id"],
            reward_amount=money(p["reward_amount"]) if p["reward_line_id"] else None,
        )
        for p in doc["punchcards"]
    ]  # fmt: skip


def _campaigns(doc: dict[str, Any]) -> list[CampaignPoints]:
    return [
        CampaignPoints(campaign_id=to_global_id("Campaign", c["campaign_id"]),
                       name=c["name"], points=c["points"])
        for c in doc.get("campaigns", ())
    ]  # fmt: skip


def _rejected_campaigns(doc: dict[str, Any]) -> list[RejectedCampaign]:
    return [
        RejectedCampaign(campaign_id=to_global_id("Campaign", c["campaign_id"]),
                         name=c["name"], reason=CampaignReason(c["reason"]),
                         message=c["message"])
        for c in doc.get("rejected_campaigns", ())
    ]  # fmt: skip


def _labels(doc: dict[str, Any]) -> Any:
    """How to label a line's discount of the quote ``doc``: name, code and origin of the
    applied offer it belongs to (by its key; orders whose lines kept no key, by offer)."""
    applied = doc["applied"]
    by_key = {a["key"]: a for a in applied if a.get("key")}
    by_offer = {a["offer_id"]: a for a in reversed(applied)}
    payment = doc["points_payment"]

    def label(discount: dict[str, Any]) -> dict[str, Any]:
        if discount["points_payment"]:
            used = payment["used"] if payment else 0
            return {"name": f"{used} points", "code": None, "origin": DiscountOrigin.POINTS}
        found = by_key.get(discount.get("key")) or by_offer.get(discount["offer_id"])
        if found is None:  # pragma: no cover - every discount comes from an applied offer
            return {"name": "Discount", "code": None, "origin": DiscountOrigin.PROMOTION}
        origin = DiscountOrigin(found["origin"])
        if origin is DiscountOrigin.VOUCHER and found["offer_id"] is None:
            origin = DiscountOrigin.THRESHOLD_VOUCHER
        return {"name": found["name"], "code": found["code"], "origin": origin}

    return label


def _recorded_quote(root: Order) -> CheckoutQuote:
    """The order's quote, built from its stored document when asked for (most answers
    ask for its total or for nothing of it)."""
    return CheckoutQuote.from_document(root.quote_document)


def _seen(description: str) -> Any:
    return strawberry.field(description=description, permission_classes=[CanSeeOrder])


@strawberry.type(
    description="An order the shop recorded: staff see every order of their site, a "
    "customer their own (viewer.orders)."
)
class Order(Node):
    """A recorded order and what happened to it since."""

    pk: strawberry.Private[int]
    site_pk: strawberry.Private[int]
    customer_pk: strawberry.Private[int | None]
    earn_entry_pk: strawberry.Private[int | None]
    activate_entry_pk: strawberry.Private[int | None]
    quote_document: strawberry.Private[dict[str, Any]]
    order_id: str = _seen("The shop's order id.")
    status: OrderStatus = _seen("Where the order is in its life.")
    customer_id: strawberry.ID | None = strawberry.field(
        description="Global ID of the customer; null for a guest.",
        permission_classes=[CanSeeOrder],
        deprecation_reason="Use customer { id }.",
    )
    quote: CheckoutQuote = strawberry.field(
        resolver=_recorded_quote,
        description="The quote as recorded (a retry returns it unchanged).",
        permission_classes=[CanSeeOrder],
    )
    points_earned: int = _seen(
        "Points the order earned for the customer (pending ones included, taken back ones "
        "not subtracted)."
    )
    points_paid: int = _seen("Points the customer paid with.")
    points_taken_back: int = _seen(
        "Points taken back by refunds (in proportion to the refunded amount that "
        "earned points, by the site's points rounding, cumulatively) and cancellation."
    )
    points_not_recovered: int | None = strawberry.field(
        description="Points that should have been taken back but were spent already.",
        permission_classes=[CanServeSite],
    )
    points_given_back: int = _seen(
        "Points paid with that refunds (in proportion to the points payment on "
        "what they refunded, by the site's points rounding) and cancellation gave back."
    )
    refunded: Money = _seen("Money refunded so far.")
    created_at: datetime = _seen("When it was recorded.")
    completed_at: datetime | None = _seen("When it was completed.")
    cancelled_at: datetime | None = _seen("When it was cancelled.")

    @strawberry.field(
        description="The customer; null for a guest.", permission_classes=[CanSeeOrder]
    )
    async def customer(self, info: AppInfo) -> LazyCustomer | None:
        """The order's customer, batched with the response's other customers."""
        if self.customer_pk is None:
            return None
        row = await info.context.loaders.customer_by_id.load(self.customer_pk)
        customer: Customer | None = build_node("Customer", row) if row else None
        return customer

    @strawberry.field(
        description="Of the points earned, those still pending (waiting for the order to "
        "complete), less what was taken back meanwhile; 0 once available or cancelled.",
        permission_classes=[CanSeeOrder],
    )
    async def points_pending(self, info: AppInfo) -> int:
        """Earned points not available yet."""
        if self.earn_entry_pk is None or self.activate_entry_pk is not None:
            return 0
        entry = await info.context.loaders.entry_by_id.load(self.earn_entry_pk)
        if entry is None or entry.kind != EntryKind.PENDING.value:
            return 0
        return max(0, self.points_earned - self.points_taken_back)

    @classmethod
    def from_row(cls, row: OrderRow) -> Order:
        """The order stored in ``row``."""
        return cls(
            id=to_global_id("Order", row.id),
            pk=row.id,
            site_pk=row.site_id,
            customer_pk=row.customer_id,
            earn_entry_pk=row.earn_entry_id,
            activate_entry_pk=row.activate_entry_id,
            order_id=row.external_id,
            status=OrderStatus(row.status),
            customer_id=to_global_id("Customer", row.customer_id) if row.customer_id else None,
            quote_document=row.quote,
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


builds_node("Order", Order.from_row)
