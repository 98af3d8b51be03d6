"""Buying an offer with points: one spend, one voucher, usage limits held atomically."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import (
    CustomerRow,
    ExchangeRow,
    OfferAssignmentRow,
    OfferCustomerUseRow,
    OfferRow,
    PointAccountRow,
    VoucherRow,
)
from loyalty_gql.db.repositories.offers.catalog import offer_by_id, terms_of
from loyalty_gql.db.repositories.offers.holdings import (
    count_use,
    customer_uses,
    holds_offer,
    voucher_by_id,
)
from loyalty_gql.db.repositories.sites import settings_of
from loyalty_gql.db.session import Session
from loyalty_gql.domain.eligibility import (
    REDEMPTION_CODES,
    Buyer,
    Redemption,
    Rule,
    explain,
    redemption_rule,
)
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.offers import ExchangeStatus, OfferKind, OfferStatus, price_in_points
from loyalty_gql.domain.points import SourceType, VoucherStatus
from loyalty_gql.domain.sites import ProgramSettings
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import Idempotency, run_once
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.offers.gifts import voucher_issued
from loyalty_gql.services.points import participant
from loyalty_gql.services.points.ledger import (
    Source,
    auto_key,
    ledger_key,
    new_voucher_code,
    open_book,
)


async def redeem_offer(
    db: Database,
    *,
    customer_id: int,
    offer_id: int,
    actor: Actor,
    clock: Clock,
    retry: Idempotency,
) -> Purchase:
    """The customer buys the offer at its loyalty price and gets a voucher (or, for a
    clubcard with a fee, the membership).

    Under the customer's account lock: the eligibility rules (`redemption_refusal`, which
    My offers asks too), the per-customer count and the spend. The total limit
    is a conditional UPDATE of the offer's counter, so 50 concurrent buyers of a
    10-use offer give exactly 10 vouchers and 10 spends.
    """
    now = clock()

    async def work(uow: UnitOfWork) -> Purchase:
        # the program and the enrolment are rules of the list, asked below
        who = await participant(uow, customer_id, need_program=False, need_enrolled=False)
        book = await open_book(uow, who.site, who.customer, now)
        offer = await offer_by_id(uow.session, offer_id)
        if offer is None or offer.site_id != who.site.id:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such offer", "offer_id")
        held = offer.kind == OfferKind.CLUBCARD.value and await holds_offer(
            uow.session, offer.id, customer_id
        )
        used = await customer_uses(uow.session, offer.id, customer_id)
        settings = settings_of(who.site)
        refused = redemption_refusal(
            settings, who.customer, book.account, offer,
            customer_uses=used.uses if used else 0, held=held, now=now,
        )  # fmt: skip
        if refused is not None:
            raise DomainError.single(refused.code, refused.message, *refused.field)
        terms = terms_of(offer, settings.currency)
        if not await count_use(uow.session, offer.id):
            raise DomainError.single(
                ErrorCode.USAGE_LIMIT_REACHED, "the offer has been used up", "offer_id"
            )
        if used is None:
            uow.session.add(OfferCustomerUseRow(offer_id=offer.id, customer_id=customer_id, uses=1))
        else:
            used.uses += 1
        key = ledger_key("redeem", customer_id, retry.key) if retry.key else None
        price = price_in_points(terms) or 0
        membership = offer.kind == OfferKind.CLUBCARD.value
        entry = await book.spend(
            price,
            Source(SourceType.OFFER, str(actor), f"offer:{offer.id}"),
            key or auto_key("redeem"),
        )
        if membership:
            uow.session.add(
                OfferAssignmentRow(
                    site_id=who.site.id, offer_id=offer.id, customer_id=customer_id, punches=0,
                    assigned_at=now,
                )
            )  # fmt: skip
            await uow.session.flush()
            return Purchase(offer.id, None)
        voucher = VoucherRow(
            site_id=who.site.id,
            customer_id=customer_id,
            code=new_voucher_code(),
            source=SourceType.OFFER.value,
            offer_id=offer.id,
            value_type=offer.value_type,
            value=offer.value if offer.value is not None else Decimal(0),
            minimum_order_minor=offer.minimum_order_minor,
            currency=who.site.currency,
            status=VoucherStatus.ACTIVE,
            points_spent=price,
            ledger_entry_id=entry.id,
            issued_at=now,
            expires_at=offer.valid_until,
        )
        uow.session.add(voucher)
        await uow.session.flush()
        if offer.exchange_product_id is not None:
            # a product exchange: listed shop-wide until an admin confirms the hand-over
            uow.session.add(
                ExchangeRow(
                    site_id=who.site.id, offer_id=offer.id, customer_id=customer_id,
                    voucher_id=voucher.id, voucher_code=voucher.code,
                    product_id=offer.exchange_product_id,
                    price_minor=offer.exchange_price_minor or 0, points=price,
                    status=ExchangeStatus.PENDING, created_at=now,
                )
            )  # fmt: skip
        await voucher_issued(
            uow.session, who.site, customer_id, voucher, offer, points_spent=price, now=now
        )
        return Purchase(offer.id, voucher)

    return await run_once(
        db,
        scope=f"customer:{customer_id}",
        retry=retry,
        request={"customer": customer_id, "offer": offer_id},
        now=now,
        work=work,
        dump=lambda bought: {
            "offer": bought.offer_id,
            "voucher": bought.voucher.id if bought.voucher else None,
        },
        load=_load_purchase,
    )


@dataclass(frozen=True, slots=True)
class RedemptionRefusal:
    """Why a customer cannot buy an offer, as redeemOffer answers and My offers shows it."""

    code: ErrorCode
    message: str
    field: tuple[str, ...]


# where redeemOffer points its userError; the offer for every other rule
FIELDS: dict[Rule, tuple[str, ...]] = {Rule.PROGRAM_OFF: (), Rule.NOT_ENROLLED: ("customer_id",)}


def redemption_refusal(
    settings: ProgramSettings,
    customer: CustomerRow,
    account: PointAccountRow | None,
    offer: OfferRow,
    *,
    customer_uses: int,
    held: bool,
    now: datetime,
) -> RedemptionRefusal | None:
    """Why ``customer`` cannot buy ``offer`` now, or None: the domain's one rule list
    (`domain.eligibility`) asked with what the rows say. redeemOffer asks it under the
    account lock; My offers asks it for every offer it lists, so the two agree."""
    buyer = Buyer(
        groups=frozenset(customer.groups),
        tier_id=account.tier_id if account else None,
        available_points=account.available if account else 0,
        enrolled=customer.enrolled_at is not None,
        badge_codes=frozenset(customer.badge_codes),
    )
    redemption = Redemption(
        terms_of(offer, settings.currency), OfferStatus(offer.status), offer.uses, customer_uses,
        held,
    )  # fmt: skip
    found = redemption_rule(redemption, buyer, settings, now)
    if found is None:
        return None
    return RedemptionRefusal(
        REDEMPTION_CODES[found],
        explain(found, redemption.terms, buyer.available_points),
        FIELDS.get(found, ("offer_id",)),
    )


async def _load_purchase(session: Session, stored: dict[str, Any]) -> Purchase:
    if stored["voucher"] is None:
        return Purchase(int(stored["offer"]), None)
    voucher = await voucher_by_id(session, stored["voucher"])
    if voucher is None:  # pragma: no cover - vouchers are never removed
        raise DomainError.single(ErrorCode.NOT_FOUND, "the voucher is gone")
    return Purchase(int(stored["offer"]), voucher)


@dataclass(frozen=True, slots=True)
class Purchase:
    """What a redemption bought: a voucher, or (clubcards) a membership."""

    offer_id: int
    voucher: VoucherRow | None
