"""Gathering the calculator's inputs (offers, codes, vouchers, counters) and calling it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import (
    CouponCodeRow,
    CustomerRow,
    OfferAssignmentRow,
    PointAccountRow,
    SiteRow,
    VoucherRow,
)
from loyalty_gql.db.repositories import checkout as checkout_repo
from loyalty_gql.db.repositories.customers import customer_by_id
from loyalty_gql.db.repositories.offers.catalog import offers_by_ids, terms_of
from loyalty_gql.db.repositories.sites import settings_of, site_by_id
from loyalty_gql.db.session import Session
from loyalty_gql.domain.campaigns import Outcome
from loyalty_gql.domain.checkout import (
    MAX_CODES,
    BasketLine,
    Candidate,
    CheckoutRules,
    OfferIndex,
    Origin,
    Quote,
    Reason,
    Refusal,
    Shopper,
    StackingGroup,
    check_basket,
    price_basket,
    voucher_terms,
)
from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.offers import OfferKind, OfferStatus, OfferTerms, OfferValueType
from loyalty_gql.domain.points import VoucherStatus
from loyalty_gql.domain.values import Money
from loyalty_gql.services.campaigns import NOTHING, order_outcome
from loyalty_gql.services.campaigns.evaluation import MAX_CHANNEL
from loyalty_gql.services.checkout.document import quote_document
from loyalty_gql.services.checkout.offer_cache import site_offers
from loyalty_gql.services.core.common import Clock

MAX_POINTS_PAYMENT = 10**12


@dataclass(frozen=True, slots=True)
class Basket:
    """What the storefront asks about: lines, codes, vouchers and points to pay with."""

    lines: tuple[BasketLine, ...]
    coupon_codes: tuple[str, ...] = ()
    voucher_codes: tuple[str, ...] = ()
    pay_points: int = 0
    offer_ids: tuple[int, ...] = ()  # coupons assigned to the customer, chosen by id
    channel: str | None = None  # the label the shop sends (web, app, store): campaigns

    def check(self) -> None:
        """Refuse a basket that cannot be priced (the calculator's checks and the codes')."""
        check_basket(self.lines)
        problems = []
        for name, codes in (("coupon_codes", self.coupon_codes), ("vouchers", self.voucher_codes)):
            if len(codes) > 20 or any(not 0 < len(c.strip()) <= 40 for c in codes):
                problems.append(
                    FieldProblem((name,), ErrorCode.INVALID_VALUE, "up to 20 codes of 1-40 chars")
                )
        if len(self.offer_ids) > MAX_CODES:
            problems.append(
                FieldProblem(("offers",), ErrorCode.INVALID_VALUE, f"up to {MAX_CODES} offers")
            )
        if self.channel is not None and not 0 < len(self.channel.strip()) <= MAX_CHANNEL:
            problems.append(FieldProblem(("channel",), ErrorCode.INVALID_VALUE, "1-40 characters"))
        if not 0 <= self.pay_points <= MAX_POINTS_PAYMENT:
            problems.append(
                FieldProblem(("pay_with_points",), ErrorCode.INVALID_VALUE, "must be 0 or more")
            )
        if problems:
            raise DomainError(problems)

    def request(self) -> dict[str, Any]:
        """The basket as plain data (for fingerprints of retries). Orders store the
        fingerprint, so these keys keep their spelling (``payPoints`` too), and
        ``offers`` and ``channel`` are there only when given."""
        offers: dict[str, Any] = {"offers": sorted(self.offer_ids)} if self.offer_ids else {}
        if self.channel is not None:
            offers["channel"] = self.channel.strip()
        return {
            "lines": [
                [ln.line_id, ln.product_id, ln.category, ln.quantity, ln.unit_price,
                 ln.exclude_from_points]
                for ln in self.lines
            ],
            "coupons": sorted(_code(c) for c in self.coupon_codes),
            "vouchers": sorted(_code(c) for c in self.voucher_codes),
            "payPoints": self.pay_points,
            **offers,
        }  # fmt: skip


@dataclass(slots=True)
class Priced:
    """A quote and the rows it was computed from."""

    quote: Quote
    site: SiteRow
    customer: CustomerRow | None
    vouchers: dict[int, VoucherRow]
    coupon_codes: dict[int, CouponCodeRow]
    assignments: dict[int, OfferAssignmentRow]
    campaigns: Outcome = NOTHING
    campaigns_until: datetime | None = None  # when the campaigns' answer may turn by time


async def price(
    session: Session,
    site: SiteRow,
    customer: CustomerRow | None,
    basket: Basket,
    now: datetime,
    *,
    account: PointAccountRow | None = None,
    lock: bool = False,
) -> Priced:
    """Gather candidates and state, and price the basket.

    With ``lock`` (order recording on PostgreSQL) the rows whose counters the
    order will change are locked first (offers with usage limits, coupon codes,
    vouchers, then the budgeted campaigns the basket touches), always in id order, so
    the quote is computed on values nobody else can change before the transaction ends.
    The campaigns are evaluated on the quote (services.campaigns.order_outcome).
    """
    settings = settings_of(site)
    program_on = site.program_enabled
    shopper: Shopper | None = None
    if customer is not None:
        if account is None:
            account = await checkout_repo.point_account(session, customer.id)
        multiplier = Decimal(1)
        if account is not None and account.tier_id is not None:
            tier = await checkout_repo.tier_by_id(session, account.tier_id)
            multiplier = tier.earn_multiplier if tier is not None else Decimal(1)
        shopper = Shopper(
            groups=frozenset(customer.groups),
            tier_id=account.tier_id if account else None,
            earn_multiplier=multiplier,
            earns_points=program_on and customer.enrolled_at is not None,
            available_points=account.available if account else 0,
            badge_codes=frozenset(customer.badge_codes),
        )
    candidates: list[Candidate] = []
    groups: dict[str, StackingGroup] = {}
    vouchers: dict[int, VoucherRow] = {}
    codes: dict[int, CouponCodeRow] = {}
    assignments: dict[int, OfferAssignmentRow] = {}
    if program_on:
        offers = await site_offers(session, site, now)
        groups = offers.groups
        automatic, assignments = await _automatic(session, offers.index, basket, customer, now)
        code_candidates, codes = await _coupon_codes(session, site, customer, basket)
        voucher_candidates, vouchers = await _vouchers(session, site, customer, basket)
        assigned = await _assigned_coupons(session, site, customer, basket)
        if lock:
            # Lock what the order will change, always offers, then codes, then vouchers,
            # each in id order (cancelling releases in the same order), and read the
            # codes and vouchers again under their locks.
            await _lock_rows(
                session, [*automatic, *code_candidates, *voucher_candidates, *assigned]
            )
            code_candidates, codes = await _coupon_codes(session, site, customer, basket)
            voucher_candidates, vouchers = await _vouchers(session, site, customer, basket)
        candidates = [*automatic, *code_candidates, *voucher_candidates, *assigned]
        candidates = await _with_counts(session, candidates, customer)
    else:
        off = Refusal(Reason.NOT_AVAILABLE, "the loyalty program of this site is switched off")
        candidates = [
            _refused(f"code:{_code(c)}", Origin.COUPON_CODE, _code(c), off)
            for c in basket.coupon_codes
        ] + [
            _refused(f"voucher:{_code(c)}", Origin.VOUCHER, _code(c), off)
            for c in basket.voucher_codes
        ]
        candidates += [
            _refused(f"assigned:{i}", Origin.ASSIGNED, None, off, name=ASSIGNED_NAME)
            for i in basket.offer_ids
        ]
    rules = CheckoutRules(settings, groups, point_value=settings.point_value)
    quote = price_basket(
        basket.lines, shopper, candidates, rules, now, pay_points=basket.pay_points
    )
    channel = basket.channel.strip() if basket.channel is not None else None
    # campaigns' budgets are locked after the vouchers (the lock order)
    campaigns, until = await order_outcome(
        session, site, customer, shopper, quote, now, channel, lock=lock
    )
    return Priced(quote, site, customer, vouchers, codes, assignments, campaigns, until)


async def _automatic(
    session: Session,
    index: OfferIndex,
    basket: Basket,
    customer: CustomerRow | None,
    now: datetime,
) -> tuple[list[Candidate], dict[int, OfferAssignmentRow]]:
    # an automatic offer that has ended is simply gone, however old the index is
    touching = [
        o
        for o in index.touching(basket.lines)
        if o.terms.valid_until is None or now < o.terms.valid_until
    ]
    held_kinds = (OfferKind.CLUBCARD, OfferKind.PUNCHCARD)
    held_ids = [o.offer_id for o in touching if o.terms.kind in held_kinds]
    assignments: dict[int, OfferAssignmentRow] = {}
    if customer is not None and held_ids:
        assignments = await checkout_repo.held_assignments(session, customer.id, held_ids)
    candidates = []
    for offer in touching:
        kind = offer.terms.kind
        if kind is OfferKind.PROMOTION:
            candidates.append(index.promotions[offer.offer_id])  # made once per index
        elif offer.offer_id in assignments:
            origin = Origin.CLUBCARD if kind is OfferKind.CLUBCARD else Origin.PUNCHCARD
            candidates.append(
                Candidate(
                    f"offer:{offer.offer_id}", origin, offer.terms, offer.offer_id,
                    punches=assignments[offer.offer_id].punches,
                )
            )  # fmt: skip
    return candidates, assignments


async def _coupon_codes(
    session: Session, site: SiteRow, customer: CustomerRow | None, basket: Basket
) -> tuple[list[Candidate], dict[int, CouponCodeRow]]:
    wanted = [_code(c) for c in basket.coupon_codes]
    if not wanted:
        return [], {}
    shared = await checkout_repo.offers_by_shared_codes(session, site.id, wanted)
    single = await checkout_repo.coupon_codes_by_code(session, site.id, wanted)
    code_offers = await offers_by_ids(session, [row.offer_id for row in single.values()])
    candidates = []
    for code in wanted:
        key = f"code:{code}"
        row = single.get(code)
        offer = shared.get(code) or (code_offers.get(row.offer_id) if row else None)
        if offer is None or (
            row is not None and row.customer_id is not None
            and (customer is None or row.customer_id != customer.id)
        ):  # fmt: skip
            unknown = Refusal(Reason.UNKNOWN_CODE, f"{code} is not a code of this shop")
            candidates.append(_refused(key, Origin.COUPON_CODE, code, unknown))
            continue
        refusal = None
        if offer.status != OfferStatus.PUBLISHED.value:
            refusal = Refusal(Reason.NOT_AVAILABLE, "the offer of this code is not available")
        elif row is not None and row.used_at is not None:
            refusal = Refusal(Reason.ALREADY_USED, f"{code} has been used")
        candidates.append(
            Candidate(
                key, Origin.COUPON_CODE, terms_of(offer, site.currency), offer.id,
                coupon_code_id=row.id if row else None, code=code, refusal=refusal,
            )
        )  # fmt: skip
    return candidates, {row.id: row for row in single.values()}


async def _vouchers(
    session: Session, site: SiteRow, customer: CustomerRow | None, basket: Basket
) -> tuple[list[Candidate], dict[int, VoucherRow]]:
    wanted = [_code(c) for c in basket.voucher_codes]
    if not wanted:
        return [], {}
    rows = await checkout_repo.vouchers_by_code(session, site.id, wanted)
    offers = await offers_by_ids(session, [r.offer_id for r in rows.values() if r.offer_id])
    candidates = []
    for code in wanted:
        key = f"voucher:{code}"
        row = rows.get(code)
        if row is None or customer is None or row.customer_id != customer.id:
            # another customer's voucher is as unknown as a made-up one
            unknown = Refusal(Reason.UNKNOWN_CODE, f"{code} is not one of your vouchers")
            candidates.append(_refused(key, Origin.VOUCHER, code, unknown))
            continue
        offer = offers.get(row.offer_id) if row.offer_id else None
        base = (
            terms_of(offer, site.currency)
            if offer is not None
            else OfferTerms(kind=OfferKind.COUPON, name="Reward voucher",
                            value_type=OfferValueType(row.value_type))
        )  # fmt: skip
        terms = voucher_terms(
            base,
            value_type=OfferValueType(row.value_type),
            value=row.value if row.value_type != OfferValueType.FREE_ITEM.value else None,
            minimum_order_value=Money(row.minimum_order_minor, site.currency).amount,
            expires_at=row.expires_at,
        )
        refusal = None
        if row.status == VoucherStatus.USED:
            refusal = Refusal(Reason.ALREADY_USED, f"voucher {code} has been used")
        elif row.status != VoucherStatus.ACTIVE:
            refusal = Refusal(Reason.NOT_AVAILABLE, f"voucher {code} was cancelled")
        candidates.append(
            Candidate(
                key, Origin.VOUCHER, terms, row.offer_id, counts_use=False, voucher_id=row.id,
                code=code, refusal=refusal,
            )
        )  # fmt: skip
    return candidates, {row.id: row for row in rows.values()}


ASSIGNED_NAME = "assigned offer"


async def _assigned_coupons(
    session: Session, site: SiteRow, customer: CustomerRow | None, basket: Basket
) -> list[Candidate]:
    """The coupons chosen by id: each must be assigned to the customer (assignOffer); it
    then applies as a coupon entered by code would, within its limits."""
    wanted = list(basket.offer_ids)
    if not wanted:
        return []
    unique = sorted(set(wanted))
    offers = await offers_by_ids(session, unique)
    held = (
        await checkout_repo.held_assignments(session, customer.id, unique)
        if customer is not None
        else {}
    )
    candidates = []
    for offer_id in wanted:
        key = f"assigned:{offer_id}"
        offer = offers.get(offer_id)
        if offer is None or offer.site_id != site.id or offer_id not in held:
            # another customer's offer is as unknown as a made-up id
            who = "you" if customer is not None else "a guest (sign in)"
            unknown = Refusal(Reason.NOT_ASSIGNED, f"this offer is not assigned to {who}")
            candidates.append(_refused(key, Origin.ASSIGNED, None, unknown, name=ASSIGNED_NAME))
            continue
        refusal = None
        if offer.kind != OfferKind.COUPON.value:
            refusal = Refusal(Reason.NOT_AVAILABLE, "only an assigned coupon applies by its id")
        elif offer.status != OfferStatus.PUBLISHED.value:
            refusal = Refusal(Reason.NOT_AVAILABLE, "this offer is not available")
        candidates.append(
            Candidate(
                key, Origin.ASSIGNED, terms_of(offer, site.currency), offer.id, refusal=refusal
            )
        )
    return candidates


async def _lock_rows(session: Session, candidates: list[Candidate]) -> None:
    """Row locks (PostgreSQL) on the offers with usage limits, the single-use codes and
    the vouchers of ``candidates``, in that order and by id, refreshing the rows."""
    limited = sorted(
        {c.offer_id for c in candidates if c.offer_id and c.counts_use and c.terms.max_uses}
    )
    codes = sorted({c.coupon_code_id for c in candidates if c.coupon_code_id})
    vouchers = sorted({c.voucher_id for c in candidates if c.voucher_id})
    for lock, ids in (
        (checkout_repo.lock_offers, limited),
        (checkout_repo.lock_coupon_codes, codes),
        (checkout_repo.lock_vouchers, vouchers),
    ):
        if ids:
            await lock(session, ids)


async def _with_counts(
    session: Session, candidates: list[Candidate], customer: CustomerRow | None
) -> list[Candidate]:
    """Fill in the usage counts of offers with limits."""
    limited = sorted(
        {c.offer_id for c in candidates if c.offer_id and c.counts_use and c.terms.max_uses}
    )
    per_customer = sorted(
        {
            c.offer_id
            for c in candidates
            if c.offer_id and c.counts_use and c.terms.max_uses_per_customer
        }
    )
    uses: dict[int, int] = {}
    if limited:
        uses = await checkout_repo.offer_uses(session, limited)
    mine: dict[int, int] = {}
    if per_customer and customer is not None:
        mine = await checkout_repo.customer_offer_uses(session, customer.id, per_customer)
    if not uses and not mine:
        return candidates
    return [
        replace(c, uses=uses.get(c.offer_id, c.uses), customer_uses=mine.get(c.offer_id, 0))
        if c.offer_id in uses or c.offer_id in mine
        else c
        for c in candidates
    ]


def _refused(
    key: str, origin: Origin, code: str | None, refusal: Refusal, *, name: str | None = None
) -> Candidate:
    """A candidate refused before pricing, named by its code unless ``name`` is given."""
    placeholder = OfferTerms(
        kind=OfferKind.COUPON, name=name or code or "", value_type=OfferValueType.PERCENT
    )
    return Candidate(key, origin, placeholder, code=code, refusal=refusal)


def _code(text: str) -> str:
    return text.strip().upper()


@dataclass(frozen=True, slots=True)
class CheckoutAnswer:
    """The quote document, and the first instant it may change by time alone beyond the
    site's offers and midnights (a campaign starting, ending or turning with the hour)."""

    document: dict[str, Any]
    until: datetime | None


async def checkout(
    db: Database, *, site_id: int, customer_id: int | None, basket: Basket, clock: Clock
) -> CheckoutAnswer:
    """The quote of a basket, as a document; writes nothing."""
    basket.check()
    now = clock()
    async with db.read_sessions() as session:
        site = await site_by_id(session, site_id)
        if site is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "site_id")
        customer = None
        if customer_id is not None:
            customer = await customer_by_id(session, customer_id)
            if customer is None or customer.site_id != site.id:
                raise DomainError.single(ErrorCode.NOT_FOUND, "no such customer", "customer_id")
        priced = await price(session, site, customer, basket, now)
    return CheckoutAnswer(quote_document(priced.quote, priced.campaigns), priced.campaigns_until)
