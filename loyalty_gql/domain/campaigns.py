"""Campaigns: earning rules with a trigger, conditions, an effect, limits and a way to
combine ("double points on shoes in December", "500 points for the first order", "3x on
weekends for Gold members", "100 points on your birthday").

One pure function, :func:`evaluate`, decides what every campaign of a site gives for one
event (an order, an activity, an enrolment, a birthday, a tier reached, a referral
completed): the checkout quote and order recording call it with the same facts, so they
cannot disagree. The caller brings what only the database knows: each campaign's uses by
this customer in its limit period, and what is left of its points budget; spending the
budget atomically is the caller's (services.campaigns).

The order of evaluation, as documented for shop owners:

1. Only campaigns of the event's trigger are considered, and for orders only those whose
   product or category scope touches the basket (or that have no such scope): the cost
   grows with those, not with all campaigns (:class:`CampaignIndex`).
2. They are taken by priority, highest first (then by id). For each, the conditions are
   checked in a fixed order; the first that fails is the reason it did not apply.
3. Its points are computed from its effect, capped per order, then checked against the
   per-customer limit and the budget (what is left of it is given, never more).
4. Campaigns add up. An exclusive campaign that applies takes the event alone: the first
   such one in priority order wins, every other is reported as not combinable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from zoneinfo import ZoneInfo

from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.values import PointsRounding

MAX_POINTS = 10**9
MAX_MULTIPLIER = Decimal(100)
MAX_NAME = 100
MAX_SCOPE_ITEMS = 1000
MAX_CODE = 100  # a product, category or customer group named by a condition
MAX_CHANNEL = 40  # an order's channel label (recordOrder's `channel`)


class Trigger(Enum):
    """The event a campaign earns on."""

    ORDER = "ORDER"  # when the program's order points are earned
    ACTIVITY = "ACTIVITY"  # an activity code: newsletter, review, a custom one
    ENROLMENT = "ENROLMENT"
    BIRTHDAY = "BIRTHDAY"
    TIER_REACHED = "TIER_REACHED"
    REFERRAL_COMPLETED = "REFERRAL_COMPLETED"


class CampaignStatus(Enum):
    """Where a campaign stands: only LIVE ones are evaluated; DELETED is soft (awards keep
    pointing at it)."""

    DRAFT = "DRAFT"
    LIVE = "LIVE"
    DELETED = "DELETED"


class EffectKind(Enum):
    """What a campaign gives."""

    FIXED_POINTS = "FIXED_POINTS"
    POINTS_PER_AMOUNT = "POINTS_PER_AMOUNT"  # points per 1.00 of the qualifying amount
    MULTIPLIER = "MULTIPLIER"  # the base order points times this, the extra given
    VOUCHER = "VOUCHER"  # a voucher from a reward or coupon offer
    BADGE = "BADGE"  # a badge of the site (gamification), once per customer


class AmountScope(Enum):
    """Which part of a basket a POINTS_PER_AMOUNT or MULTIPLIER effect counts."""

    BASKET = "BASKET"  # every line that earns points
    QUALIFYING_LINES = "QUALIFYING_LINES"  # only the lines the product scope matches


class LimitPeriod(Enum):
    """The period of a per-customer limit, in the site's timezone."""

    DAY = "DAY"
    WEEK = "WEEK"  # Monday to Sunday
    MONTH = "MONTH"
    LIFETIME = "LIFETIME"


class CampaignReason(Enum):
    """Why a campaign did not apply to an event."""

    NOT_STARTED = "NOT_STARTED"
    EXPIRED = "EXPIRED"
    WRONG_DAY = "WRONG_DAY"
    WRONG_TIME = "WRONG_TIME"
    WRONG_CHANNEL = "WRONG_CHANNEL"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"  # customer group
    NOT_IN_TIER = "NOT_IN_TIER"
    WRONG_ORDER_NUMBER = "WRONG_ORDER_NUMBER"
    BELOW_MINIMUM = "BELOW_MINIMUM"
    NO_MATCHING_ITEMS = "NO_MATCHING_ITEMS"
    WRONG_ACTIVITY = "WRONG_ACTIVITY"
    NO_POINTS = "NO_POINTS"  # the effect came to 0 points (nothing earning in scope)
    LIMIT_REACHED = "LIMIT_REACHED"
    BUDGET_EXHAUSTED = "BUDGET_EXHAUSTED"
    NOT_COMBINABLE = "NOT_COMBINABLE"
    NOT_A_MEMBER = "NOT_A_MEMBER"  # a guest, or a customer who earns no points
    NO_BADGE = "NO_BADGE"  # the customer holds none of the campaign's badges
    BADGE_HELD = "BADGE_HELD"  # a badge campaign's badge, which the customer holds


@dataclass(frozen=True, slots=True)
class Conditions:
    """All of these must hold (an empty one always does).

    Amounts are minor units of the site's currency; ``weekdays`` are 0 (Monday) to 6;
    ``hours`` is [start, end) in whole hours of the site's day (start > end wraps past
    midnight); ``nth_order`` is the customer's order number this must be (1: the first).
    """

    minimum_order_minor: int | None = None
    products: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    minimum_quantity: int | None = None  # of the matching lines together
    minimum_amount_minor: int | None = None  # of the matching lines together
    customer_groups: frozenset[str] = frozenset()
    tier_ids: frozenset[int] = frozenset()
    nth_order: int | None = None
    weekdays: frozenset[int] = frozenset()
    hours: tuple[int, int] | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    channels: frozenset[str] = frozenset()
    activity_code: str | None = None
    badge_codes: frozenset[str] = frozenset()  # the customer holds one of these badges

    @property
    def has_scope(self) -> bool:
        """Whether the campaign names products or categories the basket must contain."""
        return bool(self.products or self.categories)


@dataclass(frozen=True, slots=True)
class Effect:
    """What the campaign gives when it applies."""

    kind: EffectKind
    points: int = 0  # FIXED_POINTS
    per_amount: Decimal = Decimal(0)  # POINTS_PER_AMOUNT: points per 1.00
    multiplier: Decimal = Decimal(1)  # MULTIPLIER: 2 is double points
    scope: AmountScope = AmountScope.BASKET
    reward_offer_id: int | None = None  # VOUCHER
    badge_code: str | None = None  # BADGE


@dataclass(frozen=True, slots=True)
class Limits:
    """How often and how much: per customer, per campaign, per order."""

    per_customer: int | None = None  # times a customer gets it ...
    period: LimitPeriod = LimitPeriod.LIFETIME  # ... per this period
    budget_points: int | None = None  # points the campaign may give in all
    cap_per_order: int | None = None  # points one event may get from it


@dataclass(frozen=True, slots=True)
class Campaign:
    """A published campaign of a site."""

    id: int
    name: str
    trigger: Trigger
    effect: Effect
    conditions: Conditions = Conditions()
    limits: Limits = Limits()
    exclusive: bool = False
    priority: int = 0

    def check(self) -> None:
        """Raise a DomainError listing what is wrong with the campaign."""
        problems = _problems(self)
        if problems:
            raise DomainError(problems)


@dataclass(frozen=True, slots=True)
class OrderLine:
    """A basket line as campaigns see it: what was paid for it after every discount."""

    line_id: str
    product_id: str
    category: str
    quantity: int
    paid_minor: int
    earns_points: bool = True


@dataclass(frozen=True, slots=True)
class Member:
    """The customer the event is about."""

    groups: frozenset[str] = frozenset()
    tier_id: int | None = None
    orders_before: int = 0  # orders recorded before this one (not cancelled)
    earns_points: bool = True
    badges: frozenset[str] = frozenset()  # codes of the badges the customer holds


@dataclass(frozen=True, slots=True)
class Event:
    """What happened, and when (an aware datetime; the site's zone decides its day)."""

    trigger: Trigger
    at: datetime
    zone: ZoneInfo
    member: Member | None  # None: a guest's order
    lines: tuple[OrderLine, ...] = ()
    base_points: int = 0  # the order's points before campaigns (tier multiplier in)
    earn_rate: Decimal = Decimal(0)  # points per 1.00, times the tier's multiplier
    exponent: int = 2  # the currency's minor-unit exponent
    rounding: PointsRounding = PointsRounding.DOWN
    channel: str | None = None
    activity_code: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """What the database knows of a campaign before this event."""

    customer_uses: int = 0  # awards to this customer in the campaign's current period
    budget_left: int | None = None  # None: no budget


@dataclass(frozen=True, slots=True)
class Award:
    """What one campaign gives for the event.

    ``qualifying`` is (line id, paid minor units) of the lines its points were counted
    on (every earning line for a basket-wide effect): a refund takes back the share of
    these it refunds. ``wanted`` is the points before the budget cut them.
    """

    campaign: Campaign
    points: int
    wanted: int
    qualifying: tuple[tuple[str, int], ...] = ()
    reward_offer_id: int | None = None
    badge_code: str | None = None

    @property
    def gives_anything(self) -> bool:
        """Points, a voucher or a badge."""
        return self.points > 0 or self.reward_offer_id is not None or self.badge_code is not None


@dataclass(frozen=True, slots=True)
class Miss:
    """A campaign whose trigger and scope touched the event but that did not apply."""

    campaign: Campaign
    reason: CampaignReason
    message: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """Every campaign's part in one event."""

    awards: tuple[Award, ...] = ()
    misses: tuple[Miss, ...] = ()

    @property
    def points(self) -> int:
        """Points the campaigns add, together."""
        return sum(award.points for award in self.awards)


@dataclass(slots=True)
class CampaignIndex:
    """A site's live campaigns, by trigger, and for orders by product and category, so
    an event reads only the campaigns that can touch it."""

    by_trigger: dict[Trigger, list[Campaign]] = field(default_factory=dict)
    unscoped_orders: list[Campaign] = field(default_factory=list)
    by_product: dict[str, list[Campaign]] = field(default_factory=dict)
    by_category: dict[str, list[Campaign]] = field(default_factory=dict)

    @classmethod
    def of(cls, campaigns: Iterable[Campaign]) -> CampaignIndex:
        """The index of these campaigns."""
        index = cls()
        for campaign in sorted(campaigns, key=_rank):
            if campaign.trigger is not Trigger.ORDER:
                index.by_trigger.setdefault(campaign.trigger, []).append(campaign)
            elif not campaign.conditions.has_scope:
                index.unscoped_orders.append(campaign)
            else:
                for product in campaign.conditions.products:
                    index.by_product.setdefault(product, []).append(campaign)
                for category in campaign.conditions.categories:
                    index.by_category.setdefault(category, []).append(campaign)
        return index

    def candidates(self, event: Event) -> list[Campaign]:
        """The campaigns the event can touch, by priority (highest first, then id)."""
        if event.trigger is not Trigger.ORDER:
            return list(self.by_trigger.get(event.trigger, ()))
        found: dict[int, Campaign] = {c.id: c for c in self.unscoped_orders}
        products = {line.product_id for line in event.lines}
        categories = {path for line in event.lines for path in category_paths(line.category)}
        for product in products:
            for campaign in self.by_product.get(product, ()):
                found[campaign.id] = campaign
        for category in categories:
            for campaign in self.by_category.get(category, ()):
                found[campaign.id] = campaign
        return sorted(found.values(), key=_rank)


def evaluate(
    index: CampaignIndex, event: Event, usage: Mapping[int, Usage] | None = None
) -> Outcome:
    """What every campaign the event touches gives, and why the others give nothing."""
    usage = usage or {}
    awards: list[Award] = []
    misses: list[Miss] = []
    exclusive: Award | None = None
    facts = _Facts.of(event)
    for campaign in index.candidates(event):
        refusal = _refusal(campaign, event, facts)
        if refusal is None:
            award, refusal = _award(campaign, event, facts, usage.get(campaign.id, NO_USAGE))
        if refusal is not None:
            misses.append(Miss(campaign, *refusal))
            continue
        assert award is not None  # noqa: S101 - _award returns one or the other
        if exclusive is None and campaign.exclusive:
            exclusive = award
        awards.append(award)
    if exclusive is not None:
        for award in awards:
            if award is not exclusive:
                misses.append(
                    Miss(
                        award.campaign,
                        CampaignReason.NOT_COMBINABLE,
                        f"the exclusive campaign {exclusive.campaign.name!r} applies instead",
                    )
                )
        awards = [exclusive]
    misses.sort(key=lambda miss: _rank(miss.campaign))
    return Outcome(tuple(awards), tuple(misses))


def category_paths(category: str) -> tuple[str, ...]:
    """The category and the paths above it: a campaign on ``shoes`` covers a line of
    ``shoes/running`` (not one of ``shoestrings``), as offers' category paths do."""
    if "/" not in category:
        return (category,)
    parts = category.split("/")
    return tuple("/".join(parts[: n + 1]) for n in range(len(parts)))


def period_start(period: LimitPeriod, at: datetime, zone: ZoneInfo) -> datetime | None:
    """When the limit period holding ``at`` began (None: lifetime), as an aware datetime."""
    if period is LimitPeriod.LIFETIME:
        return None
    day = at.astimezone(zone).date()
    if period is LimitPeriod.WEEK:
        day -= timedelta(days=day.weekday())
    elif period is LimitPeriod.MONTH:
        day = day.replace(day=1)
    return datetime.combine(day, time(), zone)


def birthday_on(birth_month: int, birth_day: int, today: date) -> bool:
    """Whether ``today`` is the birthday (29 February is kept on 28 February when the
    year has no 29th)."""
    if (today.month, today.day) == (birth_month, birth_day):
        return True
    leap_day = (birth_month, birth_day) == (2, 29)
    return leap_day and (today.month, today.day) == (2, 28) and not _is_leap(today.year)


# -- the checks ------------------------------------------------------------------------

NO_USAGE = Usage()


@dataclass(frozen=True, slots=True)
class _Facts:
    """What every campaign's checks read of one event, computed once for all of them."""

    weekday: int
    hour: int
    total: int
    earning: tuple[tuple[str, int], ...]
    earning_paid: int
    positions: dict[str, int]  # line id -> its place in the basket
    by_product: dict[str, list[OrderLine]]
    by_category: dict[str, list[OrderLine]]

    @classmethod
    def of(cls, event: Event) -> _Facts:
        local = event.at.astimezone(event.zone)
        by_product: dict[str, list[OrderLine]] = {}
        by_category: dict[str, list[OrderLine]] = {}
        for line in event.lines:
            by_product.setdefault(line.product_id, []).append(line)
            for path in category_paths(line.category):
                by_category.setdefault(path, []).append(line)
        earning = tuple(
            (line.line_id, line.paid_minor) for line in event.lines if line.earns_points
        )
        return cls(
            weekday=local.weekday(),
            hour=local.hour,
            total=sum(line.paid_minor for line in event.lines),
            earning=earning,
            earning_paid=sum(paid for _, paid in earning),
            positions={line.line_id: i for i, line in enumerate(event.lines)},
            by_product=by_product,
            by_category=by_category,
        )

    def matching(self, terms: Conditions) -> list[OrderLine]:
        """The lines a campaign's products or categories match, in basket order."""
        found: dict[str, OrderLine] = {}
        for product in terms.products:
            for line in self.by_product.get(product, ()):
                found[line.line_id] = line
        for category in terms.categories:
            for line in self.by_category.get(category, ()):
                found[line.line_id] = line
        if len(found) < 2:
            return list(found.values())
        return sorted(found.values(), key=lambda line: self.positions[line.line_id])


def _rank(campaign: Campaign) -> tuple[int, int]:
    return (-campaign.priority, campaign.id)


def _refusal(  # noqa: PLR0911, PLR0912 - one condition a line, in the documented order
    campaign: Campaign, event: Event, facts: _Facts
) -> tuple[CampaignReason, str] | None:
    """The first condition that does not hold, in the documented order."""
    terms = campaign.conditions
    if terms.starts_at is not None and event.at < terms.starts_at:
        return CampaignReason.NOT_STARTED, "the campaign has not started"
    if terms.ends_at is not None and event.at >= terms.ends_at:
        return CampaignReason.EXPIRED, "the campaign has ended"
    if terms.weekdays and facts.weekday not in terms.weekdays:
        return CampaignReason.WRONG_DAY, "not on this day of the week"
    if terms.hours is not None and not _in_hours(facts.hour, terms.hours):
        return CampaignReason.WRONG_TIME, "not at this time of day"
    member = event.member
    if member is None or not member.earns_points:
        return CampaignReason.NOT_A_MEMBER, "only enrolled customers earn from campaigns"
    if terms.customer_groups and not terms.customer_groups & member.groups:
        return CampaignReason.NOT_ELIGIBLE, "not for this customer's groups"
    if terms.tier_ids and member.tier_id not in terms.tier_ids:
        return CampaignReason.NOT_IN_TIER, "not for this customer's tier"
    if terms.badge_codes and not terms.badge_codes & member.badges:
        return CampaignReason.NO_BADGE, "only for holders of the campaign's badges"
    if event.trigger is Trigger.ACTIVITY and terms.activity_code not in (
        None,
        event.activity_code,
    ):
        return CampaignReason.WRONG_ACTIVITY, f"only for the activity {terms.activity_code!r}"
    if event.trigger is not Trigger.ORDER:
        return None
    if terms.channels and event.channel not in terms.channels:
        return CampaignReason.WRONG_CHANNEL, "not for orders from this channel"
    if terms.nth_order is not None and member.orders_before + 1 != terms.nth_order:
        return CampaignReason.WRONG_ORDER_NUMBER, f"only for the customer's order {terms.nth_order}"
    if terms.minimum_order_minor is not None and facts.total < terms.minimum_order_minor:
        return CampaignReason.BELOW_MINIMUM, "the order is below the campaign's minimum"
    if terms.has_scope:
        matching = facts.matching(terms)
        if not matching:
            return CampaignReason.NO_MATCHING_ITEMS, "no item of the campaign in the basket"
        quantity = sum(line.quantity for line in matching)
        if terms.minimum_quantity is not None and quantity < terms.minimum_quantity:
            return CampaignReason.NO_MATCHING_ITEMS, (
                f"needs {terms.minimum_quantity} of the campaign's items, the basket has {quantity}"
            )
        amount = sum(line.paid_minor for line in matching)
        if terms.minimum_amount_minor is not None and amount < terms.minimum_amount_minor:
            return CampaignReason.BELOW_MINIMUM, "the campaign's items are below its minimum"
    return None


def _award(
    campaign: Campaign, event: Event, facts: _Facts, usage: Usage
) -> tuple[Award | None, tuple[CampaignReason, str] | None]:
    effect = campaign.effect
    limits = campaign.limits
    qualifying = _qualifying(campaign, facts)
    if (
        effect.kind is EffectKind.BADGE
        and event.member
        and effect.badge_code in event.member.badges
    ):
        return None, (CampaignReason.BADGE_HELD, "the customer holds the campaign's badge")
    if effect.kind in (EffectKind.VOUCHER, EffectKind.BADGE):
        wanted = 0
    elif effect.kind is EffectKind.FIXED_POINTS:
        wanted = effect.points
    else:
        paid_minor = (
            facts.earning_paid
            if qualifying is facts.earning
            else sum(amount for _, amount in qualifying)
        )
        paid = Decimal(paid_minor).scaleb(-event.exponent)
        if effect.kind is EffectKind.POINTS_PER_AMOUNT:
            wanted = event.rounding.apply(paid * effect.per_amount)
        else:  # MULTIPLIER: the extra over the base points of what qualifies
            wanted = event.rounding.apply(paid * event.earn_rate * (effect.multiplier - 1))
        if wanted <= 0:
            return None, (CampaignReason.NO_POINTS, "nothing in the basket earns points")
    if limits.cap_per_order is not None:
        wanted = min(wanted, limits.cap_per_order)
    if limits.per_customer is not None and usage.customer_uses >= limits.per_customer:
        return None, (CampaignReason.LIMIT_REACHED, _limit_message(limits))
    points = wanted
    if limits.budget_points is not None:
        left = usage.budget_left if usage.budget_left is not None else limits.budget_points
        if wanted > 0 and left <= 0:
            return None, (CampaignReason.BUDGET_EXHAUSTED, "the campaign's budget is spent")
        points = min(wanted, max(left, 0))
    return Award(
        campaign, points, wanted, qualifying, effect.reward_offer_id, effect.badge_code
    ), None


def _qualifying(campaign: Campaign, facts: _Facts) -> tuple[tuple[str, int], ...]:
    """The lines the campaign's points are counted on: earning lines only, and with
    QUALIFYING_LINES only the matching ones."""
    terms = campaign.conditions
    if campaign.effect.scope is not AmountScope.QUALIFYING_LINES or not terms.has_scope:
        return facts.earning
    return tuple(
        (line.line_id, line.paid_minor) for line in facts.matching(terms) if line.earns_points
    )


def _in_hours(hour: int, hours: tuple[int, int]) -> bool:
    start, end = hours
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end  # wraps past midnight


def _limit_message(limits: Limits) -> str:
    per = {
        LimitPeriod.DAY: "a day",
        LimitPeriod.WEEK: "a week",
        LimitPeriod.MONTH: "a month",
        LimitPeriod.LIFETIME: "in all",
    }[limits.period]
    times = "once" if limits.per_customer == 1 else f"{limits.per_customer} times"
    return f"a customer gets this campaign {times} {per}"


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# -- validation ------------------------------------------------------------------------

ORDER_ONLY = (
    ("minimum_order_minor", "minimumOrderValue"),
    ("minimum_quantity", "minimumQuantity"),
    ("minimum_amount_minor", "minimumAmount"),
    ("nth_order", "nthOrder"),
)


def _problems(campaign: Campaign) -> list[FieldProblem]:  # noqa: PLR0912, PLR0915 - one check a line
    problems: list[FieldProblem] = []
    terms, effect, limits = campaign.conditions, campaign.effect, campaign.limits

    def bad(path: Sequence[str], message: str) -> None:
        problems.append(FieldProblem(tuple(path), ErrorCode.INVALID_VALUE, message))

    if not campaign.name.strip() or len(campaign.name) > MAX_NAME:
        bad(["name"], f"must be 1-{MAX_NAME} characters")
    if not -1000 <= campaign.priority <= 1000:
        bad(["priority"], "must be -1000 to 1000")
    # conditions
    if campaign.trigger is not Trigger.ORDER:
        for name, spelled in ORDER_ONLY:
            if getattr(terms, name) is not None:
                bad(["conditions", spelled], "applies to order campaigns only")
        if terms.has_scope or terms.channels:
            bad(["conditions"], "products, categories and channels apply to order campaigns only")
    if terms.activity_code is not None and campaign.trigger is not Trigger.ACTIVITY:
        bad(["conditions", "activityCode"], "applies to activity campaigns only")
    for name, spelled in (*ORDER_ONLY[:3], ("nth_order", "nthOrder")):
        value = getattr(terms, name)
        if value is not None and not 0 <= value <= 10**12:
            bad(["conditions", spelled], "must be 0 or more")
    if terms.nth_order is not None and terms.nth_order < 1:
        bad(["conditions", "nthOrder"], "must be 1 or more (1: the first order)")
    if len(terms.products) + len(terms.categories) > MAX_SCOPE_ITEMS:
        bad(["conditions"], f"at most {MAX_SCOPE_ITEMS} products and categories")
    for name, spelled, longest in (
        ("products", "products", MAX_CODE), ("categories", "categories", MAX_CODE),
        ("customer_groups", "customerGroups", MAX_CODE), ("channels", "channels", MAX_CHANNEL),
        ("badge_codes", "badgeCodes", MAX_CODE),
    ):  # fmt: skip
        if any(not code.strip() or len(code) > longest for code in getattr(terms, name)):
            bad(["conditions", spelled], f"each must be 1-{longest} characters, not blank")
    if len(terms.customer_groups) > MAX_SCOPE_ITEMS or len(terms.channels) > MAX_SCOPE_ITEMS:
        bad(["conditions"], f"at most {MAX_SCOPE_ITEMS} customer groups and channels")
    if any(not 0 <= day <= 6 for day in terms.weekdays):
        bad(["conditions", "weekdays"], "days are 0 (Monday) to 6 (Sunday)")
    if terms.hours is not None and (
        not all(0 <= hour <= 23 for hour in terms.hours) or terms.hours[0] == terms.hours[1]
    ):
        bad(["conditions", "hours"], "hours are 0 to 23, start and end different")
    if (
        terms.starts_at is not None
        and terms.ends_at is not None
        and terms.ends_at <= terms.starts_at
    ):
        bad(["conditions", "endsAt"], "must be after startsAt")
    # effect
    if effect.kind is EffectKind.FIXED_POINTS and not 1 <= effect.points <= MAX_POINTS:
        bad(["effect", "points"], f"must be 1 to {MAX_POINTS}")
    if effect.kind is EffectKind.POINTS_PER_AMOUNT and not (
        Decimal(0) < effect.per_amount <= Decimal(MAX_POINTS)
    ):
        bad(["effect", "pointsPerAmount"], "must be more than 0")
    if effect.kind is EffectKind.MULTIPLIER and not (
        Decimal(1) < effect.multiplier <= MAX_MULTIPLIER
    ):
        bad(["effect", "multiplier"], f"must be more than 1 and at most {MAX_MULTIPLIER}")
    if effect.kind in (EffectKind.POINTS_PER_AMOUNT, EffectKind.MULTIPLIER) and (
        campaign.trigger is not Trigger.ORDER
    ):
        bad(["effect", "kind"], "points from an amount need an order campaign")
    if effect.kind is EffectKind.VOUCHER and effect.reward_offer_id is None:
        bad(["effect", "rewardOfferId"], "a voucher campaign names its reward or coupon offer")
    if effect.kind is EffectKind.BADGE and not (effect.badge_code or "").strip():
        bad(["effect", "badgeCode"], "a badge campaign names the badge it gives")
    if effect.badge_code is not None and effect.kind is not EffectKind.BADGE:
        bad(["effect", "badgeCode"], "only a badge campaign gives a badge")
    # limits
    if limits.per_customer is not None and not 1 <= limits.per_customer <= 10**6:
        bad(["limits", "perCustomer"], "must be 1 or more")
    if limits.budget_points is not None and not 1 <= limits.budget_points <= 10**12:
        bad(["limits", "budgetPoints"], "must be 1 or more")
    if limits.cap_per_order is not None and not 1 <= limits.cap_per_order <= MAX_POINTS:
        bad(["limits", "capPerOrder"], "must be 1 or more")
    return problems
