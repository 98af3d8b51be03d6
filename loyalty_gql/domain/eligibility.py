"""Who may buy or use an offer: the one list of eligibility rules.

Checkout (the calculator, through ``checkout.eligibility.refusal_of``), ``redeemOffer``
and "My offers" all ask this module, so a basket, a purchase and the page that
offers it cannot disagree. A rule that fails answers with its `Rule`; each caller
says it in its own words: checkout as a `Reason`, redemption and My offers as the
`ErrorCode` of `REDEMPTION_CODES` (My offers shows the code the purchase would get).

The rules, in the order they are asked; the first that fails is the answer.

====================  =========  ==========================================================
rule                  asked by   fails when
====================  =========  ==========================================================
PROGRAM_OFF           buying     the site's loyalty program is switched off
NOT_ENROLLED          buying     the customer is not enrolled
ALREADY_MEMBER        buying     a clubcard the customer holds already
NOT_AVAILABLE         buying     the offer is not published
NOT_FOR_SALE          buying     the offer has no price in points
NOT_STARTED           both       before ``valid_from``
ENDED                 both       from ``valid_until`` on
SIGN_IN               checkout   a guest, and the offer is for some customers only
OTHER_GROUPS          both       the customer is in none of the offer's groups
OTHER_TIERS           both       the customer is in none of the offer's tiers
NO_BADGE              both       the customer holds none of the offer's badges
USED_UP               both       the total usage limit is reached (checkout: not for
                                 vouchers, whose use was counted when they were bought)
USED_UP_BY_CUSTOMER   both       the customer's own usage limit is reached (idem)
BELOW_MINIMUM         checkout   the basket comes to less than the minimum order value
EXCHANGE_GROUP        buying     a product exchange, and the site exchanges only with
                                 customer groups the customer is in none of
EXCHANGE_CATEGORY     buying     a product exchange outside the site's exchange
                                 categories (paths: a limit on "shoes" covers "shoes/running")
NOT_ENOUGH_POINTS     buying     the price in points is more than the customer has
====================  =========  ==========================================================

"buying" is `redemption_rule` (redeemOffer and My offers, through
``services.redemptions.refusal``), "checkout" is `offer_refusal` (the calculator),
which `redemption_rule` asks in the middle.
``offer_refusal`` runs for every candidate of every basket: it allocates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from enum import Enum
from typing import Protocol

from loyalty_gql.domain.errors import ErrorCode
from loyalty_gql.domain.offers import (
    OfferKind,
    OfferScope,
    OfferStatus,
    OfferTerms,
    price_in_points,
)
from loyalty_gql.domain.sites import ProgramSettings


class Rule(Enum):
    """An eligibility rule that refused (see the module's table)."""

    PROGRAM_OFF = "PROGRAM_OFF"
    NOT_ENROLLED = "NOT_ENROLLED"
    ALREADY_MEMBER = "ALREADY_MEMBER"
    NOT_AVAILABLE = "NOT_AVAILABLE"
    NOT_FOR_SALE = "NOT_FOR_SALE"
    NOT_STARTED = "NOT_STARTED"
    ENDED = "ENDED"
    SIGN_IN = "SIGN_IN"
    OTHER_GROUPS = "OTHER_GROUPS"
    OTHER_TIERS = "OTHER_TIERS"
    NO_BADGE = "NO_BADGE"
    USED_UP = "USED_UP"
    USED_UP_BY_CUSTOMER = "USED_UP_BY_CUSTOMER"
    BELOW_MINIMUM = "BELOW_MINIMUM"
    EXCHANGE_GROUP = "EXCHANGE_GROUP"
    EXCHANGE_CATEGORY = "EXCHANGE_CATEGORY"
    NOT_ENOUGH_POINTS = "NOT_ENOUGH_POINTS"


# Words for people, one per rule; `explain` fills in the numbers (minimum, price, balance).
MESSAGES = {
    Rule.PROGRAM_OFF: "the loyalty program of this site is switched off",
    Rule.NOT_ENROLLED: "the customer is not enrolled in the program",
    Rule.ALREADY_MEMBER: "the customer is a member already",
    Rule.NOT_AVAILABLE: "the offer is not available",
    Rule.NOT_FOR_SALE: "the offer cannot be bought with points",
    Rule.NOT_STARTED: "the offer has not started yet",
    Rule.ENDED: "the offer has ended",
    Rule.SIGN_IN: "sign in: the offer is for registered customers",
    Rule.OTHER_GROUPS: "the offer is for other customer groups",
    Rule.OTHER_TIERS: "the offer is for other tiers",
    Rule.NO_BADGE: "the offer is for holders of a badge",
    Rule.USED_UP: "the offer has been used up",
    Rule.USED_UP_BY_CUSTOMER: "the customer has used this offer up",
    Rule.BELOW_MINIMUM: "the basket must come to at least {minimum}",
    Rule.EXCHANGE_GROUP: (
        "the site exchanges points for products only with customers of its exchange groups"
    ),
    Rule.EXCHANGE_CATEGORY: "the site does not exchange points for products in this category",
    Rule.NOT_ENOUGH_POINTS: "{price} points are needed, {available} are available",
}

# Redemption's (and My offers') vocabulary. Both site exchange limits are
# EXCHANGE_NOT_ALLOWED: the offer's own groups are NOT_IN_GROUP, the site's are not.
REDEMPTION_CODES = {
    Rule.PROGRAM_OFF: ErrorCode.PROGRAM_DISABLED,
    Rule.NOT_ENROLLED: ErrorCode.NOT_ENROLLED,
    Rule.ALREADY_MEMBER: ErrorCode.CUSTOMER_LIMIT_REACHED,
    Rule.NOT_AVAILABLE: ErrorCode.OFFER_NOT_AVAILABLE,
    Rule.NOT_FOR_SALE: ErrorCode.NOT_FOR_SALE,
    Rule.NOT_STARTED: ErrorCode.OFFER_NOT_STARTED,
    Rule.ENDED: ErrorCode.OFFER_EXPIRED,
    Rule.OTHER_GROUPS: ErrorCode.NOT_IN_GROUP,
    Rule.OTHER_TIERS: ErrorCode.NOT_IN_TIER,
    Rule.NO_BADGE: ErrorCode.BADGE_REQUIRED,
    Rule.USED_UP: ErrorCode.USAGE_LIMIT_REACHED,
    Rule.USED_UP_BY_CUSTOMER: ErrorCode.CUSTOMER_LIMIT_REACHED,
    Rule.EXCHANGE_GROUP: ErrorCode.EXCHANGE_NOT_ALLOWED,
    Rule.EXCHANGE_CATEGORY: ErrorCode.EXCHANGE_NOT_ALLOWED,
    Rule.NOT_ENOUGH_POINTS: ErrorCode.INSUFFICIENT_POINTS,
}  # SIGN_IN and BELOW_MINIMUM are checkout's only: a buyer is signed in, and has no basket


class Holder(Protocol):
    """Who asks: the groups and tier the offer's audience rules read."""

    @property
    def groups(self) -> frozenset[str]:
        """The customer's groups."""

    @property
    def tier_id(self) -> int | None:
        """The customer's tier, if any."""

    @property
    def badge_codes(self) -> frozenset[str]:
        """The codes of the badges the customer holds."""


class Use(Protocol):
    """One use of an offer being asked for: its terms and the counts before it.

    ``counts_use`` is false when the use was counted already (a voucher, counted
    when it was bought): the usage limits are then not asked again."""

    @property
    def terms(self) -> OfferTerms:
        """The offer's terms."""

    @property
    def uses(self) -> int:
        """Uses of the offer by everyone so far."""

    @property
    def customer_uses(self) -> int:
        """Uses of the offer by this customer so far."""

    @property
    def counts_use(self) -> bool:
        """Whether this use counts against the usage limits."""


def offer_refusal(  # noqa: PLR0911 - one return per rule, asked in the table's order
    use: Use, who: Holder | None, now: datetime, subtotal: int | None, exponent: int
) -> Rule | None:
    """The offer's own rules (dates, audience, usage limits, minimum order value): the
    first that refuses ``use`` now, or None. ``who`` is None for a guest; ``subtotal``
    (minor units of ``exponent`` decimals) is None when there is no basket."""
    terms = use.terms
    if terms.valid_from is not None and now < terms.valid_from:
        return Rule.NOT_STARTED
    if terms.valid_until is not None and now >= terms.valid_until:
        return Rule.ENDED
    if who is None:
        if (
            terms.customer_groups
            or terms.tier_ids
            or terms.badge_codes
            or terms.max_uses_per_customer
        ):
            return Rule.SIGN_IN
    else:
        if terms.customer_groups and who.groups.isdisjoint(terms.customer_groups):
            return Rule.OTHER_GROUPS
        if terms.tier_ids and who.tier_id not in terms.tier_ids:
            return Rule.OTHER_TIERS
        if terms.badge_codes and who.badge_codes.isdisjoint(terms.badge_codes):
            return Rule.NO_BADGE
    if use.counts_use:
        if terms.max_uses is not None and use.uses >= terms.max_uses:
            return Rule.USED_UP
        limit = terms.max_uses_per_customer
        if limit is not None and use.customer_uses >= limit:
            return Rule.USED_UP_BY_CUSTOMER
    if (
        terms.minimum_order_value
        and subtotal is not None
        and subtotal < minor_units(terms.minimum_order_value, exponent)
    ):
        return Rule.BELOW_MINIMUM
    return None


@dataclass(frozen=True, slots=True)
class Redemption:
    """An offer a customer asks to buy, as it stands: its terms, status and uses so far,
    and whether the customer holds it already (a clubcard's membership)."""

    terms: OfferTerms
    status: OfferStatus
    uses: int
    customer_uses: int
    held: bool = False
    counts_use: bool = True


@dataclass(frozen=True, slots=True)
class Buyer:
    """What buying needs to know of a customer."""

    groups: frozenset[str]
    tier_id: int | None
    available_points: int
    enrolled: bool = True
    badge_codes: frozenset[str] = frozenset()


def redemption_rule(  # noqa: PLR0911 - one return per rule, asked in the table's order
    redemption: Redemption, buyer: Buyer, settings: ProgramSettings, now: datetime
) -> Rule | None:
    """The first rule that refuses ``buyer`` the redemption now, or None if they may buy.

    The total usage limit is asked here for a helpful answer, and enforced again
    atomically when the use is counted."""
    terms = redemption.terms
    if not settings.enabled:
        return Rule.PROGRAM_OFF
    if not buyer.enrolled:
        return Rule.NOT_ENROLLED
    if redemption.held and terms.kind is OfferKind.CLUBCARD:
        return Rule.ALREADY_MEMBER
    if redemption.status is not OfferStatus.PUBLISHED:
        return Rule.NOT_AVAILABLE
    price = price_in_points(terms)
    if price is None:
        return Rule.NOT_FOR_SALE
    rule = offer_refusal(redemption, buyer, now, None, 0)
    if rule is not None:
        return rule
    if terms.exchange_product_id is not None:
        allowed = settings.exchange_customer_groups
        if allowed and buyer.groups.isdisjoint(allowed):
            return Rule.EXCHANGE_GROUP
        limits = settings.exchange_categories
        if limits and not all(covered(path, limits) for path in exchange_categories(terms)):
            return Rule.EXCHANGE_CATEGORY
    if price > buyer.available_points:
        return Rule.NOT_ENOUGH_POINTS
    return None


def explain(rule: Rule, terms: OfferTerms, available_points: int = 0) -> str:
    """The rule's words for people, with the offer's numbers where it has some."""
    return MESSAGES[rule].format(
        minimum=terms.minimum_order_value,
        price=price_in_points(terms),
        available=available_points,
    )


def exchange_categories(terms: OfferTerms) -> tuple[str, ...]:
    """The category paths a product exchange is in: a category-scoped offer's targets.
    With another scope it names no category ("" stands for none, which no limit covers)."""
    if terms.scope in (OfferScope.CATEGORY, OfferScope.SUBCATEGORY) and terms.targets:
        return terms.targets
    return ("",)


def covered(path: str, limits: tuple[str, ...]) -> bool:
    """Whether a category path is under one of ``limits``: "shoes" covers "shoes" and
    "shoes/running", not "shoestrings"."""
    return any(path == limit or path.startswith(limit + "/") for limit in limits)


def minor_units(amount: Decimal, exponent: int) -> int:
    """An amount in minor units of ``exponent`` decimals, rounded down."""
    return int(amount.scaleb(exponent).to_integral_value(rounding=ROUND_FLOOR))
