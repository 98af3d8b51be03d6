"""The checkout's values: basket lines, shoppers, candidate offers, refusals and the quote."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from loyalty_gql.domain.offers import OfferTerms
from loyalty_gql.domain.sites import ProgramSettings

MAX_LINES = 500
MAX_CODES = 20
MAX_QUANTITY = 100_000
MAX_UNIT_PRICE_MINOR = 10**12


class StackingMode(Enum):
    """How the offers of one stacking group combine."""

    STACK = "STACK"
    BEST_FOR_CUSTOMER = "BEST_FOR_CUSTOMER"
    FIRST_BY_PRIORITY = "FIRST_BY_PRIORITY"


class PriceBase(Enum):
    """Which price a stacking group's offers are computed on."""

    ORIGINAL = "ORIGINAL"
    DISCOUNTED = "DISCOUNTED"


@dataclass(frozen=True, slots=True)
class StackingGroup:
    """A site's rule for offers sharing a stacking group name."""

    name: str
    mode: StackingMode = StackingMode.STACK
    price_base: PriceBase = PriceBase.DISCOUNTED


POINTS_KEY = "points"  # the key of a line's discount paid with points
DEFAULT_GROUP_RULE = StackingGroup("", StackingMode.STACK, PriceBase.DISCOUNTED)


class Origin(Enum):
    """How a candidate offer came to the basket."""

    PROMOTION = "PROMOTION"
    CLUBCARD = "CLUBCARD"
    PUNCHCARD = "PUNCHCARD"
    COUPON_CODE = "COUPON_CODE"
    VOUCHER = "VOUCHER"
    ASSIGNED = "ASSIGNED"  # a coupon the shop assigned to the customer, chosen by its id


# keyed by the member's plain _value_ string: hashing an Enum member or reading .value
# runs Python code, and this lookup is made for every candidate of every basket
ORIGIN_RANK = {origin._value_: rank for rank, origin in enumerate(Origin)}


class Reason(Enum):
    """Why an offer did not apply to a basket."""

    NOT_STARTED = "NOT_STARTED"
    EXPIRED = "EXPIRED"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"
    BELOW_MINIMUM = "BELOW_MINIMUM"
    LIMIT_REACHED = "LIMIT_REACHED"
    NOT_COMBINABLE = "NOT_COMBINABLE"
    NO_MATCHING_ITEMS = "NO_MATCHING_ITEMS"
    UNKNOWN_CODE = "UNKNOWN_CODE"
    ALREADY_USED = "ALREADY_USED"
    NOT_AVAILABLE = "NOT_AVAILABLE"
    DUPLICATE = "DUPLICATE"
    NOT_ASSIGNED = "NOT_ASSIGNED"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A reason with words for people."""

    reason: Reason
    message: str


@dataclass(frozen=True, slots=True)
class BasketLine:
    """One line of a basket. ``line_id`` tells lines apart (defaults to the product id)."""

    line_id: str
    product_id: str
    category: str
    quantity: int
    unit_price: int
    exclude_from_points: bool = False

    @property
    def amount(self) -> int:
        """Quantity times unit price, in minor units."""
        return self.quantity * self.unit_price


@dataclass(frozen=True, slots=True)
class Shopper:
    """What the calculator needs to know of a signed-in customer."""

    groups: frozenset[str] = frozenset()
    tier_id: int | None = None
    earn_multiplier: Decimal = Decimal(1)
    earns_points: bool = True
    available_points: int = 0
    badge_codes: frozenset[str] = frozenset()


@dataclass(slots=True)  # not frozen: thousands are made per basket, and frozen is slower
class Candidate:
    """An offer that may apply: automatic (promotion, clubcard, punchcard) or chosen.

    ``key`` is unique per basket ("offer:7", "voucher:12", "code:SUMMER", "assigned:7").
    ``uses`` and ``customer_uses`` are the counts before this order;
    ``counts_use`` is false for vouchers, whose use was counted when bought.
    ``refusal`` is a reason decided before the calculator (unknown code...).
    """

    key: str
    origin: Origin
    terms: OfferTerms
    offer_id: int | None = None
    uses: int = 0
    customer_uses: int = 0
    counts_use: bool = True
    punches: int = 0
    voucher_id: int | None = None
    coupon_code_id: int | None = None
    code: str | None = None
    refusal: Refusal | None = None
    rank: tuple[int, int, int, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # the order offers are applied in, computed once: sorting by it is hot
        self.rank = _order_key(self)


@dataclass(frozen=True, slots=True)
class LineDiscount:
    """What one offer took off one line."""

    key: str
    offer_id: int | None
    amount: int


@dataclass(frozen=True, slots=True)
class LineQuote:
    """One basket line after every offer."""

    line: BasketLine
    discounts: tuple[LineDiscount, ...]
    member_discount: int
    final: int
    earns_points: bool

    @property
    def original(self) -> int:
        """The line's price before any offer."""
        return self.line.amount

    @property
    def discount(self) -> int:
        """Everything taken off the line."""
        return self.original - self.final


@dataclass(frozen=True, slots=True)
class AppliedOffer:
    """An offer that took something off the basket."""

    candidate: Candidate
    amount: int
    reward_points: int


@dataclass(slots=True)
class RejectedOffer:
    """An offer that did not apply, and why."""

    candidate: Candidate
    refusal: Refusal


@dataclass(frozen=True, slots=True)
class PunchProgress:
    """A punchcard's punches before and after this basket, and its free item if any."""

    candidate: Candidate
    required: int
    before: int
    after: int
    reward_line_id: str | None = None
    reward_amount: int = 0


@dataclass(frozen=True, slots=True)
class PointsPayment:
    """Points the customer asked to pay with, and what they bought."""

    requested: int
    used: int
    amount: int
    refusal: Refusal | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    """The price of a basket after every offer, and the points it earns."""

    currency: str
    lines: tuple[LineQuote, ...]
    applied: tuple[AppliedOffer, ...]
    rejected: tuple[RejectedOffer, ...]
    punchcards: tuple[PunchProgress, ...]
    points_payment: PointsPayment | None
    points_base: int
    base_points: int
    reward_points: int

    @property
    def subtotal(self) -> int:
        """The basket before any offer."""
        return sum(q.original for q in self.lines)

    @property
    def total(self) -> int:
        """What the customer pays."""
        return sum(q.final for q in self.lines)

    @property
    def discount(self) -> int:
        """Everything taken off, offers and points together."""
        return self.subtotal - self.total

    @property
    def points(self) -> int:
        """Points the order earns."""
        return self.base_points + self.reward_points


@dataclass(frozen=True, slots=True)
class CheckoutRules:
    """The settings the calculator reads, and the site's stacking groups."""

    settings: ProgramSettings
    groups: Mapping[str, StackingGroup] = field(default_factory=dict)
    point_value: Decimal | None = None  # money per point when paying with points


def _order_key(candidate: Candidate) -> tuple[int, int, int, str]:
    return (
        -candidate.terms.priority,
        ORIGIN_RANK[candidate.origin._value_],
        candidate.offer_id or 0,
        candidate.key,
    )
