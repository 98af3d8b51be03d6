"""The checkout calculator: (basket, shopper, candidate offers, settings, now) -> quote.

Pure: no I/O, no clock of its own. The checkout query and order recording both
call `price_basket`, so what a storefront shows and what the shop records
cannot disagree. All money is integer minor units of the site's currency.

Combination rules, in order:

1. Every candidate is checked on its own (dates, groups, tiers, limits,
   minimum order value against the basket's subtotal); a refused candidate
   gets a reason and takes no further part.
2. The eligible ones are walked in a total order: priority (high first), then
   kind, offer id and key, so shuffling offers or lines changes nothing.
3. Offers that share a stacking group are decided together, where the group's
   highest-priority member stands, by the group's mode: STACK (all of them),
   BEST_FOR_CUSTOMER (the one that takes most off) or FIRST_BY_PRIORITY (the
   first that takes anything off). The group's price base says whether its
   offers are computed on the original prices or on what earlier offers left.
   An offer without a group stacks on what is left.
4. An exclusive offer stands alone: it applies only if nothing applied before
   it, and then nothing after it applies.
5. No line goes below zero; an offer counts as used only if it took off more
   than zero.

Points: (amount paid on lines that earn points) x earn rate x tier multiplier,
rounded per the settings, plus each applied offer's reward points.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import Enum
from operator import attrgetter

from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.offers import OfferKind, OfferScope, OfferTerms, OfferValueType
from loyalty_gql.domain.program import ProgramSettings
from loyalty_gql.domain.values import currency_exponent

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


@dataclass(slots=True)  # not frozen: thousands are made per basket, and frozen is slower
class Candidate:
    """An offer that may apply: automatic (promotion, clubcard, punchcard) or chosen.

    ``key`` is unique per basket ("offer:7", "voucher:12", "code:SUMMER").
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


# -- input checks ---------------------------------------------------------------------


def check_basket(lines: Sequence[BasketLine]) -> None:
    """Refuse a basket the calculator cannot price: too many lines, duplicate line ids,
    quantities or prices out of range."""
    problems: list[FieldProblem] = []
    if not lines:
        problems.append(_problem(("lines",), "a basket has at least one line"))
    if len(lines) > MAX_LINES:
        problems.append(_problem(("lines",), f"at most {MAX_LINES} lines"))
    seen: set[str] = set()
    for index, line in enumerate(lines):
        where = ("lines", str(index))
        if line.line_id in seen:
            problems.append(
                FieldProblem(
                    (*where, "lineId"),
                    ErrorCode.DUPLICATE,
                    f"line {line.line_id!r} appears twice: give each line its own lineId",
                )
            )
        seen.add(line.line_id)
        if not 0 < len(line.line_id) <= 100 or not 0 < len(line.product_id) <= 100:
            problems.append(_problem((*where, "productId"), "ids are 1-100 characters"))
        if len(line.category) > 1000:
            problems.append(_problem((*where, "category"), "at most 1000 characters"))
        if not 1 <= line.quantity <= MAX_QUANTITY:
            problems.append(_problem((*where, "quantity"), f"must be 1 to {MAX_QUANTITY}"))
        if not 0 <= line.unit_price <= MAX_UNIT_PRICE_MINOR:
            problems.append(_problem((*where, "unitPrice"), "must be 0 or more"))
    if problems:
        raise DomainError(problems)


def _problem(path: tuple[str, ...], message: str) -> FieldProblem:
    return FieldProblem(path, ErrorCode.INVALID_VALUE, message)


# -- scope ------------------------------------------------------------------------------


def category_prefixes(category: str) -> list[str]:
    """ "a/b/c" -> ["a", "a/b", "a/b/c"]: every path an offer may target for this line."""
    parts = [p for p in category.strip("/").split("/") if p]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


# -- the calculator ---------------------------------------------------------------------


def price_basket(
    lines: Sequence[BasketLine],
    shopper: Shopper | None,
    candidates: Iterable[Candidate],
    rules: CheckoutRules,
    now: datetime,
    *,
    pay_points: int = 0,
) -> Quote:
    """The quote for ``lines``: see the module's docstring for the rules."""
    state = _Basket(lines, currency_exponent(rules.settings.currency))
    subtotal = state.subtotal
    candidates = list(candidates)
    by_rank = attrgetter("rank")
    coupons = [c.offer_id for c in candidates if c.origin is Origin.COUPON_CODE]
    keys = {c.key for c in candidates}
    if len(keys) == len(candidates) and len(set(coupons)) == len(coupons):
        ordered = sorted(candidates, key=by_rank)
    else:
        # usable candidates first, so a used code never hides a good one for one coupon
        first_usable = sorted(candidates, key=lambda c: (c.refusal is not None, c.rank))
        ordered = sorted(_unique(first_usable, state), key=by_rank)
    rejected: list[RejectedOffer] = list(state.duplicates)
    eligible: list[Candidate] = []
    for candidate in ordered:
        refusal = candidate.refusal or _refusal(candidate, shopper, subtotal, now, state.exponent)
        if refusal is None:
            eligible.append(candidate)
        else:
            rejected.append(RejectedOffer(candidate, refusal))
    applied, punch_rewards = _combine(state, eligible, rules, rejected)
    payment = _pay_with_points(state, shopper, rules, pay_points)
    eligible_keys = {c.key for c in eligible}
    punchcards = tuple(
        _punch_progress(c, state, punch_rewards.get(c.key), c.key in eligible_keys)
        for c in ordered
        if c.origin is Origin.PUNCHCARD
    )
    quoted = tuple(state.quote_line(line) for line in lines)
    points_base = sum(q.final for q in quoted if q.earns_points)
    earns = shopper is not None and shopper.earns_points
    base_points = (
        _points(points_base, state.exponent, rules.settings, shopper.earn_multiplier)
        if earns and shopper is not None
        else 0
    )
    reward_points = sum(a.reward_points for a in applied) if earns else 0
    return Quote(
        currency=rules.settings.currency,
        lines=quoted,
        applied=tuple(applied),
        rejected=tuple(sorted(rejected, key=lambda r: r.candidate.rank)),
        punchcards=punchcards,
        points_payment=payment,
        points_base=points_base,
        base_points=base_points,
        reward_points=reward_points,
    )


def _combine(  # noqa: PLR0912 - the hot path is inlined on purpose
    state: _Basket, eligible: list[Candidate], rules: CheckoutRules, rejected: list[RejectedOffer]
) -> tuple[list[AppliedOffer], dict[str, tuple[str, int]]]:
    """Apply the eligible candidates in order, by the stacking and exclusivity rules;
    refusals are added to ``rejected``. Returns the applied offers and, per full
    punchcard that gave its reward, the line and amount."""
    applied: list[AppliedOffer] = []
    punch_rewards: dict[str, tuple[str, int]] = {}
    exclusive_won = False
    grouped: dict[str, list[Candidate]] = {}
    for candidate in eligible:
        if candidate.terms.stacking_group is not None and not candidate.terms.exclusive:
            grouped.setdefault(candidate.terms.stacking_group, []).append(candidate)
    done: set[str] = set()
    for candidate in eligible:
        if candidate.key in done:
            continue
        terms = candidate.terms
        group_name = None if terms.exclusive else terms.stacking_group
        blocked = exclusive_won or (terms.exclusive and bool(applied))
        if group_name is None:
            # a lone offer: the hot path when thousands touch the basket
            if blocked or _nothing_left(state, candidate, None):
                if candidate.origin is not Origin.PUNCHCARD or not _waiting_card(candidate):
                    rejected.append(
                        RejectedOffer(candidate, STANDS_ALONE if blocked else NOTHING_LEFT)
                    )
                continue
            members = [candidate]
        else:
            members = grouped[group_name]
            done.update(m.key for m in members)
            if blocked or _nothing_left(state, candidate, group_name):
                refusal = STANDS_ALONE if blocked else NOTHING_LEFT
                rejected += [RejectedOffer(m, refusal) for m in members if not _waiting_card(m)]
                continue
        rule = DEFAULT_GROUP_RULE if group_name is None else rules.groups.get(group_name)
        rule = rule or replace(DEFAULT_GROUP_RULE, name=group_name or "")
        for member, cut in _decide(state, members, rule):
            if _waiting_card(member):
                continue  # a card that is not full yet only collects its punch
            if cut is None:
                why = f"{rule.mode.value} in stacking group {rule.name} chose another offer"
                rejected.append(RejectedOffer(member, Refusal(Reason.NOT_COMBINABLE, why)))
                continue
            total = sum(cut.values())
            if total <= 0:
                rejected.append(RejectedOffer(member, NOTHING_LEFT))
                continue
            state.take(member, cut)
            applied.append(AppliedOffer(member, total, member.terms.reward_points))
            if member.origin is Origin.PUNCHCARD:
                punch_rewards[member.key] = (next(iter(cut)), total)
            exclusive_won = exclusive_won or member.terms.exclusive
    return applied, punch_rewards


def _nothing_left(state: _Basket, candidate: Candidate, group_name: str | None) -> bool:
    """Whether nothing is left for the candidate (or its group) to take off: the basket
    is paid in full, or (the common case with many offers) a lone offer's lines are."""
    if state.total_left == 0:
        return True
    if group_name is not None or candidate.terms.exclusive:
        return False
    return not any(state.left[line.line_id] for line in state.in_scope(candidate))


def _order_key(candidate: Candidate) -> tuple[int, int, int, str]:
    return (
        -candidate.terms.priority,
        ORIGIN_RANK[candidate.origin._value_],
        candidate.offer_id or 0,
        candidate.key,
    )


def _unique(candidates: Iterable[Candidate], state: _Basket) -> list[Candidate]:
    seen: dict[str, Candidate] = {}
    coupons: set[int] = set()
    for candidate in candidates:
        same_coupon = candidate.origin is Origin.COUPON_CODE and candidate.offer_id in coupons
        if candidate.key in seen or same_coupon:
            state.duplicates.append(
                RejectedOffer(candidate, Refusal(Reason.DUPLICATE, "given more than once"))
            )
            continue
        seen[candidate.key] = candidate
        if candidate.origin is Origin.COUPON_CODE and candidate.offer_id is not None:
            coupons.add(candidate.offer_id)
    return list(seen.values())


def _refusal(  # noqa: PLR0911 - one return per reason, checked in order
    candidate: Candidate, shopper: Shopper | None, subtotal: int, now: datetime, exponent: int
) -> Refusal | None:
    terms = candidate.terms
    if terms.valid_from is not None and now < terms.valid_from:
        return Refusal(Reason.NOT_STARTED, "the offer has not started yet")
    if terms.valid_until is not None and now >= terms.valid_until:
        return Refusal(Reason.EXPIRED, "the offer has ended")
    if shopper is None:
        if terms.customer_groups or terms.tier_ids or terms.max_uses_per_customer:
            return Refusal(Reason.NOT_ELIGIBLE, "sign in: the offer is for registered customers")
    else:
        if terms.customer_groups and shopper.groups.isdisjoint(terms.customer_groups):
            return Refusal(Reason.NOT_ELIGIBLE, "the offer is for other customer groups")
        if terms.tier_ids and shopper.tier_id not in terms.tier_ids:
            return Refusal(Reason.NOT_ELIGIBLE, "the offer is for other tiers")
    if candidate.counts_use:
        if terms.max_uses is not None and candidate.uses >= terms.max_uses:
            return Refusal(Reason.LIMIT_REACHED, "the offer has been used up")
        limit = terms.max_uses_per_customer
        if limit is not None and candidate.customer_uses >= limit:
            return Refusal(Reason.LIMIT_REACHED, "the customer has used this offer up")
    if terms.minimum_order_value and subtotal < _minor(terms.minimum_order_value, exponent):
        return Refusal(
            Reason.BELOW_MINIMUM, f"the basket must come to at least {terms.minimum_order_value}"
        )
    return None


def _minor(amount: Decimal, exponent: int) -> int:
    return int(amount.scaleb(exponent).to_integral_value(rounding=ROUND_FLOOR))


def _waiting_card(candidate: Candidate) -> bool:
    """A punchcard that has not collected its punches yet: it gives nothing this time."""
    return candidate.origin is Origin.PUNCHCARD and candidate.punches < (
        candidate.terms.punches_required or 0
    )


NOTHING_LEFT = Refusal(Reason.NO_MATCHING_ITEMS, "nothing in the basket is left for this offer")
STANDS_ALONE = Refusal(Reason.NOT_COMBINABLE, "an exclusive offer stands alone")


class _Basket:
    """Lines and what is left of each while offers are applied."""

    def __init__(self, lines: Sequence[BasketLine], exponent: int) -> None:
        self.lines = sorted(lines, key=lambda line: line.line_id)
        self.exponent = exponent
        self.left = {line.line_id: line.amount for line in lines}
        self.total_left = sum(self.left.values())
        self.position = {line.line_id: n for n, line in enumerate(self.lines)}
        self.by_product: dict[str, list[BasketLine]] = {}
        self.by_category: dict[str, list[BasketLine]] = {}
        for line in self.lines:
            self.by_product.setdefault(line.product_id, []).append(line)
            for prefix in category_prefixes(line.category):
                self.by_category.setdefault(prefix, []).append(line)
        self._scope: dict[str, list[BasketLine]] = {}
        self.cuts: dict[str, list[LineDiscount]] = {line.line_id: [] for line in lines}
        self.member: dict[str, int] = dict.fromkeys(self.left, 0)
        self.duplicates: list[RejectedOffer] = []

    @property
    def subtotal(self) -> int:
        return sum(line.amount for line in self.lines)

    def in_scope(self, candidate: Candidate) -> list[BasketLine]:
        """The lines the candidate's scope covers, by line id (looked up, then kept)."""
        found = self._scope.get(candidate.key)
        if found is not None:
            return found
        terms = candidate.terms
        if terms.scope is OfferScope.ORDER:
            found = self.lines
        else:
            lookup = self.by_product if terms.scope is OfferScope.PRODUCT else self.by_category
            found = [line for target in terms.targets for line in lookup.get(target, ())]
            if len(found) > 1:  # several targets may name one line; keep the basket's order
                unique = {line.line_id: line for line in found}
                found = sorted(unique.values(), key=lambda line: self.position[line.line_id])
        self._scope[candidate.key] = found
        return found

    def take(self, candidate: Candidate, cut: Mapping[str, int]) -> None:
        for line_id, amount in cut.items():
            if amount <= 0:
                continue
            self.left[line_id] -= amount
            self.total_left -= amount
            self.cuts[line_id].append(LineDiscount(candidate.key, candidate.offer_id, amount))
            if candidate.origin is Origin.CLUBCARD:
                self.member[line_id] += amount

    def take_points(self, cut: Mapping[str, int]) -> None:
        for line_id, amount in cut.items():
            self.left[line_id] -= amount
            self.total_left -= amount
            self.cuts[line_id].append(LineDiscount(POINTS_KEY, None, amount))

    def quote_line(self, line: BasketLine) -> LineQuote:
        return LineQuote(
            line=line,
            discounts=tuple(self.cuts[line.line_id]),
            member_discount=self.member[line.line_id],
            final=self.left[line.line_id],
            earns_points=not line.exclude_from_points,
        )


def _decide(
    state: _Basket, members: list[Candidate], rule: StackingGroup
) -> list[tuple[Candidate, dict[str, int] | None]]:
    """Each member's cut per line (None: the group's mode passed it over)."""
    if rule.mode is StackingMode.STACK or len(members) == 1:
        # offers are computed one after another, each on what the group's base says
        results: list[tuple[Candidate, dict[str, int] | None]] = []
        shadow = dict(state.left)
        for member in members:
            cut = _cut(state, member, rule.price_base, shadow)
            for line_id, amount in cut.items():
                shadow[line_id] -= amount
            results.append((member, cut))
        return results
    if rule.mode is StackingMode.FIRST_BY_PRIORITY:
        # the first member that takes anything off wins; the rest are not even computed
        decided: list[tuple[Candidate, dict[str, int] | None]] = []
        won = False
        for member in members:
            first = None if won else _cut(state, member, rule.price_base, state.left)
            won = won or bool(first)
            decided.append((member, first))
        return decided
    cuts = [(member, _cut(state, member, rule.price_base, state.left)) for member in members]
    best_total = max(sum(cut.values()) for _, cut in cuts)
    winner = next(m for m, cut in cuts if sum(cut.values()) == best_total)
    return [
        (member, cut if member is winner or sum(cut.values()) == 0 else None)
        for member, cut in cuts
    ]


def _cut(
    state: _Basket, candidate: Candidate, base: PriceBase, left: Mapping[str, int]
) -> dict[str, int]:
    """What ``candidate`` takes off each line, never more than ``left`` of it."""
    terms = candidate.terms
    lines = [line for line in state.in_scope(candidate) if left[line.line_id] > 0]
    if not lines:
        return {}
    if candidate.origin is Origin.PUNCHCARD:
        required = terms.punches_required or 0
        if candidate.punches < required:
            return {}
        return _one_item(terms, lines, left, state.exponent)
    if terms.value_type is OfferValueType.FREE_ITEM:
        return _one_item(terms, lines, left, state.exponent)
    weights = {
        line.line_id: (line.amount if base is PriceBase.ORIGINAL else left[line.line_id])
        for line in lines
    }
    if terms.value_type is OfferValueType.PERCENT:
        percent = terms.value or Decimal(0)
        wanted = int(
            (Decimal(sum(weights.values())) * percent / 100).to_integral_value(ROUND_HALF_UP)
        )
    else:
        wanted = int((terms.value or Decimal(0)).scaleb(state.exponent))
    wanted = min(wanted, sum(left[line.line_id] for line in lines))
    return spread(wanted, weights, {line.line_id: left[line.line_id] for line in lines})


def _one_item(
    terms: OfferTerms, lines: list[BasketLine], left: Mapping[str, int], exponent: int
) -> dict[str, int]:
    """The discount on one unit of the cheapest line in scope (free, or value off)."""
    line = min(lines, key=lambda item: (item.unit_price, item.line_id))
    unit = min(line.unit_price, left[line.line_id])
    if terms.value_type is OfferValueType.PERCENT and terms.kind is OfferKind.PUNCHCARD:
        unit = int((Decimal(unit) * (terms.value or 0) / 100).to_integral_value(ROUND_HALF_UP))
    elif terms.value_type is OfferValueType.FIXED_AMOUNT:
        unit = min(unit, int((terms.value or Decimal(0)).scaleb(exponent)))
    return {line.line_id: unit} if unit > 0 else {}


def spread(total: int, weights: Mapping[str, int], caps: Mapping[str, int]) -> dict[str, int]:
    """Split ``total`` over lines in proportion to ``weights`` by largest remainder,
    never giving a line more than its cap; what a capped line cannot take goes to
    the others. Ties go to the smaller line id, so the result ignores line order."""
    result = dict.fromkeys(weights, 0)
    open_lines = sorted(k for k in weights if caps[k] > 0)
    rest = total
    while rest > 0 and open_lines:
        weight_sum = sum(weights[k] for k in open_lines)
        if weight_sum <= 0:
            weight_sum = len(open_lines)
            shares_of = dict.fromkeys(open_lines, 1)
        else:
            shares_of = {k: weights[k] for k in open_lines}
        shares = {k: rest * shares_of[k] // weight_sum for k in open_lines}
        leftover = rest - sum(shares.values())
        by_remainder = sorted(open_lines, key=lambda k: (-(rest * shares_of[k] % weight_sum), k))
        for k in by_remainder[:leftover]:
            shares[k] += 1
        overflow = 0
        for k in open_lines:
            room = caps[k] - result[k]
            give = min(room, shares[k])
            result[k] += give
            overflow += shares[k] - give
        rest = overflow
        open_lines = [k for k in open_lines if caps[k] - result[k] > 0]
    return {k: v for k, v in result.items() if v > 0}


def _pay_with_points(
    state: _Basket, shopper: Shopper | None, rules: CheckoutRules, requested: int
) -> PointsPayment | None:
    if requested <= 0:
        return None

    def refused(text: str) -> PointsPayment:
        return PointsPayment(requested, 0, 0, Refusal(Reason.NOT_ELIGIBLE, text))

    if shopper is None or not shopper.earns_points:
        return refused("only enrolled customers pay with points")
    if rules.point_value is None:
        return refused("this site does not take points as payment")
    if requested > shopper.available_points:
        return refused(f"only {shopper.available_points} points are available")
    per_point = rules.point_value.scaleb(state.exponent)  # minor units per point
    left = sum(state.left.values())
    # whole points, never worth more than what is left: a remainder below one point's
    # value is paid in money
    used = min(requested, int((Decimal(left) / per_point).to_integral_value(ROUND_FLOOR)))
    amount = int((per_point * used).to_integral_value(ROUND_FLOOR))
    if used <= 0 or amount <= 0:
        return PointsPayment(requested, 0, 0, Refusal(Reason.NO_MATCHING_ITEMS, "nothing to pay"))
    weights = {k: v for k, v in state.left.items() if v > 0}
    cut = spread(amount, weights, weights)
    state.take_points(cut)
    return PointsPayment(requested, used, amount)


def _punch_progress(
    candidate: Candidate,
    state: _Basket,
    reward: tuple[str, int] | None,
    eligible: bool,
) -> PunchProgress:
    """A card full before the order gives its reward and starts again; otherwise a
    qualifying order (enough items in scope) adds one punch, up to the number needed."""
    terms = candidate.terms
    required = terms.punches_required or 0
    quantity = sum(line.quantity for line in state.in_scope(candidate))
    qualifies = eligible and quantity >= terms.punch_minimum_quantity
    before = candidate.punches
    if reward is not None:
        after = before - required
    elif qualifies:
        after = max(before, min(before + 1, required))  # never lose punches
    else:
        after = before
    return PunchProgress(
        candidate=candidate,
        required=required,
        before=before,
        after=after,
        reward_line_id=reward[0] if reward else None,
        reward_amount=reward[1] if reward else 0,
    )


def _points(paid_minor: int, exponent: int, settings: ProgramSettings, multiplier: Decimal) -> int:
    paid = Decimal(paid_minor).scaleb(-exponent)
    return max(0, settings.points_rounding.apply(paid * settings.earn_rate * multiplier))


def voucher_terms(
    base: OfferTerms,
    *,
    value_type: OfferValueType,
    value: Decimal | None,
    minimum_order_value: Decimal,
    expires_at: datetime | None,
) -> OfferTerms:
    """An offer's terms as a voucher bought from it carries them: the voucher's own
    value, minimum and expiry; the offer's scope and combination settings; no
    group, tier or usage checks (those were made when it was bought)."""
    return replace(
        base,
        value_type=value_type,
        value=value,
        minimum_order_value=minimum_order_value,
        valid_from=None,
        valid_until=expires_at,
        customer_groups=(),
        tier_ids=(),
        max_uses=None,
        max_uses_per_customer=None,
    )


# -- the index of live automatic offers -------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiveOffer:
    """A published offer the index knows: its id, terms and the counters it had."""

    offer_id: int
    terms: OfferTerms


class OfferIndex:
    """A site's live automatic offers (promotions, clubcards, punchcards), found by
    product id, by category path and order-wide, so pricing a basket looks only at
    the offers that can touch it. Built once per change of the site's offers."""

    def __init__(self, offers: Iterable[LiveOffer], version: int = 0) -> None:
        self.version = version
        self.offers: dict[int, LiveOffer] = {}
        self.order_wide: list[LiveOffer] = []
        self.by_product: dict[str, list[LiveOffer]] = {}
        self.by_category: dict[str, list[LiveOffer]] = {}
        # a promotion's candidate is the same for every basket: made once, here
        self.promotions: dict[int, Candidate] = {}
        for offer in offers:
            self.offers[offer.offer_id] = offer
            if offer.terms.kind is OfferKind.PROMOTION:
                self.promotions[offer.offer_id] = Candidate(
                    f"offer:{offer.offer_id}", Origin.PROMOTION, offer.terms, offer.offer_id
                )
            terms = offer.terms
            if terms.scope is OfferScope.ORDER:
                self.order_wide.append(offer)
            elif terms.scope is OfferScope.PRODUCT:
                for target in terms.targets:
                    self.by_product.setdefault(target, []).append(offer)
            else:
                for target in terms.targets:
                    self.by_category.setdefault(target.strip("/"), []).append(offer)

    def __len__(self) -> int:
        return len(self.offers)

    def touching(self, lines: Iterable[BasketLine]) -> list[LiveOffer]:
        """The offers whose scope covers at least one of ``lines``, each once."""
        found: dict[int, LiveOffer] = {o.offer_id: o for o in self.order_wide}
        seen_categories: set[str] = set()
        for line in lines:
            for offer in self.by_product.get(line.product_id, ()):
                found[offer.offer_id] = offer
            for prefix in category_prefixes(line.category):
                if prefix in seen_categories:
                    continue
                seen_categories.add(prefix)
                for offer in self.by_category.get(prefix, ()):
                    found[offer.offer_id] = offer
        return list(found.values())
