"""Campaigns, the pure rules (issue #17's worked examples, in process): which campaigns an
event touches, their conditions in the site's timezone, their effects, limits, budget and
how they combine."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from loyalty_gql.domain.campaigns import (
    AmountScope,
    Campaign,
    CampaignIndex,
    CampaignReason,
    Conditions,
    Effect,
    EffectKind,
    Event,
    LimitPeriod,
    Limits,
    Member,
    OrderLine,
    Outcome,
    Trigger,
    Usage,
    birthday_on,
    category_paths,
    evaluate,
    period_start,
)
from loyalty_gql.domain.errors import DomainError
from loyalty_gql.domain.values import PointsRounding

UTC_ZONE = ZoneInfo("UTC")
TOKYO = ZoneInfo("Asia/Tokyo")
GOLD, SILVER = 3, 2
SHOES = OrderLine("l1", "sneaker-42", "shoes", 1, 8000)  # 80.00 paid
SOCKS = OrderLine("l2", "socks-3", "socks", 2, 1000)  # 10.00 paid
GIFT_CARD = OrderLine("l3", "gift-25", "gift-cards", 1, 2500, earns_points=False)
MEMBER = Member(groups=frozenset({"newsletter"}), tier_id=SILVER, orders_before=3)


def order(
    *lines: OrderLine,
    at: datetime = datetime(2026, 12, 10, 12, tzinfo=UTC),
    member: Member | None = MEMBER,
    zone: ZoneInfo = UTC_ZONE,
    channel: str | None = None,
) -> Event:
    """An order event at 10 points per 1.00 (base points rounded down)."""
    earning = sum(line.paid_minor for line in lines if line.earns_points)
    return Event(
        Trigger.ORDER,
        at,
        zone,
        member,
        lines=lines,
        base_points=earning * 10 // 100,
        earn_rate=Decimal(10),
        channel=channel,
    )


def campaign(
    id_: int = 1,
    effect: Effect | None = None,
    *,
    trigger: Trigger = Trigger.ORDER,
    **options: object,
) -> Campaign:
    conditions = options.pop("conditions", Conditions())
    limits = options.pop("limits", Limits())
    name = options.pop("name", f"campaign {id_}")
    return Campaign(
        id=id_,
        name=name,  # type: ignore[arg-type]
        trigger=trigger,
        effect=effect or Effect(EffectKind.FIXED_POINTS, points=100),
        conditions=conditions,  # type: ignore[arg-type]
        limits=limits,  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )


def run(*campaigns: Campaign, event: Event, usage: dict[int, Usage] | None = None) -> Outcome:
    return evaluate(CampaignIndex.of(campaigns), event, usage)


def points_by_campaign(outcome: Outcome) -> dict[int, int]:
    return {award.campaign.id: award.points for award in outcome.awards}


def reasons(outcome: Outcome) -> dict[int, CampaignReason]:
    return {miss.campaign.id: miss.reason for miss in outcome.misses}


DECEMBER = Conditions(
    categories=frozenset({"shoes"}),
    starts_at=datetime(2026, 12, 1, tzinfo=UTC),
    ends_at=datetime(2027, 1, 1, tzinfo=UTC),
)
DOUBLE_ON_SHOES = campaign(
    1,
    Effect(EffectKind.MULTIPLIER, multiplier=Decimal(2), scope=AmountScope.QUALIFYING_LINES),
    conditions=DECEMBER,
)


def test_double_points_on_shoes_in_december_counts_only_the_shoes() -> None:
    event = order(SHOES, SOCKS)
    assert event.base_points == 900  # 90.00 at 10 a 1.00
    outcome = run(DOUBLE_ON_SHOES, event=event)
    # the shoes' 800 base points once more; the socks earn only their base
    assert points_by_campaign(outcome) == {1: 800}
    [award] = outcome.awards
    assert award.qualifying == (("l1", 8000),)


def test_double_points_outside_december_or_without_shoes_explain_why() -> None:
    november = order(SHOES, SOCKS, at=datetime(2026, 11, 30, 23, 59, tzinfo=UTC))
    assert reasons(run(DOUBLE_ON_SHOES, event=november)) == {1: CampaignReason.NOT_STARTED}
    january = order(SHOES, at=datetime(2027, 1, 1, tzinfo=UTC))
    assert reasons(run(DOUBLE_ON_SHOES, event=january)) == {1: CampaignReason.EXPIRED}
    # a basket without shoes: the campaign's scope does not touch it, so it is not listed
    assert run(DOUBLE_ON_SHOES, event=order(SOCKS)).misses == ()


def test_a_basket_wide_multiplier_never_counts_lines_excluded_from_points() -> None:
    triple = campaign(1, Effect(EffectKind.MULTIPLIER, multiplier=Decimal(3)))
    outcome = run(triple, event=order(SHOES, SOCKS, GIFT_CARD))
    assert points_by_campaign(outcome) == {1: 1800}  # (80 + 10) x 10 x 2 extra
    assert [line for line, _ in outcome.awards[0].qualifying] == ["l1", "l2"]


def test_points_per_amount_of_the_qualifying_lines_round_by_the_site_rule() -> None:
    per_shoe_euro = campaign(
        1,
        Effect(
            EffectKind.POINTS_PER_AMOUNT,
            per_amount=Decimal("1.5"),
            scope=AmountScope.QUALIFYING_LINES,
        ),
        conditions=Conditions(categories=frozenset({"shoes"})),
    )
    odd_shoes = replace(SHOES, paid_minor=3333)  # 33.33 x 1.5 = 49.995
    assert points_by_campaign(run(per_shoe_euro, event=order(odd_shoes, SOCKS))) == {1: 49}
    up = replace(order(odd_shoes), rounding=PointsRounding.UP)
    assert points_by_campaign(run(per_shoe_euro, event=up)) == {1: 50}


def test_a_first_order_bonus_is_for_the_first_order_only() -> None:
    bonus = campaign(1, Effect(EffectKind.FIXED_POINTS, points=500),
                     conditions=Conditions(nth_order=1))  # fmt: skip
    first = order(SOCKS, member=replace(MEMBER, orders_before=0))
    assert points_by_campaign(run(bonus, event=first)) == {1: 500}
    second = order(SOCKS, member=replace(MEMBER, orders_before=1))
    assert reasons(run(bonus, event=second)) == {1: CampaignReason.WRONG_ORDER_NUMBER}


def test_weekend_triple_for_gold_in_the_sites_timezone_across_midnight_utc() -> None:
    weekend_gold = campaign(
        1,
        Effect(EffectKind.MULTIPLIER, multiplier=Decimal(3)),
        conditions=Conditions(weekdays=frozenset({5, 6}), tier_ids=frozenset({GOLD})),
    )
    gold = replace(MEMBER, tier_id=GOLD)
    # Friday 16:00 UTC is Saturday 01:00 in Tokyo: the weekend there
    saturday_in_tokyo = datetime(2026, 12, 4, 16, tzinfo=UTC)
    event = order(SOCKS, at=saturday_in_tokyo, zone=TOKYO, member=gold)
    assert points_by_campaign(run(weekend_gold, event=event)) == {1: 200}
    # Friday 14:00 UTC is Friday 23:00 in Tokyo, still a weekday there
    friday_in_tokyo = datetime(2026, 12, 4, 14, tzinfo=UTC)
    event = order(SOCKS, at=friday_in_tokyo, zone=TOKYO, member=gold)
    assert reasons(run(weekend_gold, event=event)) == {1: CampaignReason.WRONG_DAY}
    # the same instant is Friday in UTC: a UTC site gives nothing
    event = order(SOCKS, at=saturday_in_tokyo, zone=UTC_ZONE, member=gold)
    assert reasons(run(weekend_gold, event=event)) == {1: CampaignReason.WRONG_DAY}
    # Saturday in Tokyo, but Silver
    event = order(SOCKS, at=saturday_in_tokyo, zone=TOKYO)
    assert reasons(run(weekend_gold, event=event)) == {1: CampaignReason.NOT_IN_TIER}


def test_hours_may_wrap_past_midnight() -> None:
    night = campaign(1, conditions=Conditions(hours=(22, 2)))
    at = {h: order(SOCKS, at=datetime(2026, 12, 10, h, tzinfo=UTC)) for h in (21, 22, 1, 2)}
    assert [bool(run(night, event=at[h]).awards) for h in (21, 22, 1, 2)] == [
        False, True, True, False,
    ]  # fmt: skip


def test_a_monthly_limit_per_customer_and_its_period_in_the_sites_zone() -> None:
    monthly = campaign(1, limits=Limits(per_customer=2, period=LimitPeriod.MONTH))
    event = order(SOCKS)
    assert points_by_campaign(run(monthly, event=event, usage={1: Usage(customer_uses=1)}))
    limited = run(monthly, event=event, usage={1: Usage(customer_uses=2)})
    assert reasons(limited) == {1: CampaignReason.LIMIT_REACHED}
    assert "2 times a month" in limited.misses[0].message
    # 30 November 20:00 UTC is already 1 December in Tokyo: December's count applies
    at = datetime(2026, 11, 30, 20, tzinfo=UTC)
    assert period_start(LimitPeriod.MONTH, at, TOKYO) == datetime(2026, 12, 1, tzinfo=TOKYO)
    assert period_start(LimitPeriod.MONTH, at, UTC_ZONE) == datetime(2026, 11, 1, tzinfo=UTC)
    wednesday = datetime(2026, 12, 2, 9, tzinfo=UTC)
    assert period_start(LimitPeriod.WEEK, wednesday, UTC_ZONE) == datetime(2026, 11, 30, tzinfo=UTC)
    assert period_start(LimitPeriod.DAY, wednesday, TOKYO) == datetime(2026, 12, 2, tzinfo=TOKYO)
    assert period_start(LimitPeriod.LIFETIME, wednesday, TOKYO) is None


def test_the_budget_gives_what_is_left_never_more() -> None:
    budgeted = campaign(1, Effect(EffectKind.FIXED_POINTS, points=100),
                        limits=Limits(budget_points=10_000))  # fmt: skip
    event = order(SOCKS)
    assert points_by_campaign(run(budgeted, event=event)) == {1: 100}
    last = run(budgeted, event=event, usage={1: Usage(budget_left=30)})
    assert points_by_campaign(last) == {1: 30}
    assert last.awards[0].wanted == 100
    spent = run(budgeted, event=event, usage={1: Usage(budget_left=0)})
    assert reasons(spent) == {1: CampaignReason.BUDGET_EXHAUSTED}


def test_a_cap_per_order() -> None:
    capped = campaign(1, Effect(EffectKind.POINTS_PER_AMOUNT, per_amount=Decimal(20)),
                      limits=Limits(cap_per_order=150))  # fmt: skip
    assert points_by_campaign(run(capped, event=order(SHOES))) == {1: 150}


def test_campaigns_add_up_unless_one_is_exclusive_then_priority_decides() -> None:
    plain = campaign(1, Effect(EffectKind.FIXED_POINTS, points=10))
    other = campaign(2, Effect(EffectKind.FIXED_POINTS, points=20), priority=5)
    assert points_by_campaign(run(plain, other, event=order(SOCKS))) == {1: 10, 2: 20}

    low = campaign(3, Effect(EffectKind.FIXED_POINTS, points=300), exclusive=True, priority=1)
    high = campaign(4, Effect(EffectKind.FIXED_POINTS, points=50), exclusive=True, priority=9)
    outcome = run(plain, other, low, high, event=order(SOCKS))
    assert points_by_campaign(outcome) == {4: 50}
    assert reasons(outcome) == {
        1: CampaignReason.NOT_COMBINABLE,
        2: CampaignReason.NOT_COMBINABLE,
        3: CampaignReason.NOT_COMBINABLE,
    }
    # an exclusive one that does not apply leaves the others alone
    gold_only = replace(high, conditions=Conditions(tier_ids=frozenset({GOLD})))
    outcome = run(plain, other, gold_only, event=order(SOCKS))
    assert points_by_campaign(outcome) == {1: 10, 2: 20}
    assert reasons(outcome) == {4: CampaignReason.NOT_IN_TIER}


def test_guests_and_groups_channels_and_minimums() -> None:
    anyone = campaign(1)
    assert reasons(run(anyone, event=order(SOCKS, member=None))) == {1: CampaignReason.NOT_A_MEMBER}
    vip = campaign(2, conditions=Conditions(customer_groups=frozenset({"vip"})))
    assert reasons(run(vip, event=order(SOCKS))) == {2: CampaignReason.NOT_ELIGIBLE}
    app = campaign(3, conditions=Conditions(channels=frozenset({"app"})))
    assert reasons(run(app, event=order(SOCKS, channel="web"))) == {3: CampaignReason.WRONG_CHANNEL}
    assert points_by_campaign(run(app, event=order(SOCKS, channel="app"))) == {3: 100}
    big = campaign(4, conditions=Conditions(minimum_order_minor=5000))
    assert reasons(run(big, event=order(SOCKS))) == {4: CampaignReason.BELOW_MINIMUM}
    two_pairs = campaign(5, conditions=Conditions(categories=frozenset({"shoes"}),
                                                   minimum_quantity=2))  # fmt: skip
    assert reasons(run(two_pairs, event=order(SHOES))) == {5: CampaignReason.NO_MATCHING_ITEMS}


def test_other_triggers_read_only_their_campaigns() -> None:
    newsletter = campaign(1, trigger=Trigger.ACTIVITY,
                          conditions=Conditions(activity_code="newsletter"))  # fmt: skip
    birthday = campaign(2, trigger=Trigger.BIRTHDAY)
    at = datetime(2026, 12, 10, tzinfo=UTC)
    index = CampaignIndex.of([newsletter, birthday, DOUBLE_ON_SHOES])
    review = Event(Trigger.ACTIVITY, at, UTC_ZONE, MEMBER, activity_code="review")
    outcome = evaluate(index, review)
    assert reasons(outcome) == {1: CampaignReason.WRONG_ACTIVITY}
    signup = replace(review, activity_code="newsletter")
    assert points_by_campaign(evaluate(index, signup)) == {1: 100}
    assert points_by_campaign(evaluate(index, Event(Trigger.BIRTHDAY, at, UTC_ZONE, MEMBER))) == {
        2: 100
    }
    assert evaluate(index, Event(Trigger.ENROLMENT, at, UTC_ZONE, MEMBER)) == evaluate(
        CampaignIndex(), Event(Trigger.ENROLMENT, at, UTC_ZONE, MEMBER)
    )


def test_a_voucher_campaign_names_its_offer_and_gives_no_points() -> None:
    welcome = campaign(1, Effect(EffectKind.VOUCHER, reward_offer_id=77),
                       trigger=Trigger.ENROLMENT)  # fmt: skip
    at = datetime(2026, 12, 10, tzinfo=UTC)
    [award] = evaluate(CampaignIndex.of([welcome]), Event(Trigger.ENROLMENT, at, UTC_ZONE,
                                                          MEMBER)).awards  # fmt: skip
    assert (award.points, award.reward_offer_id) == (0, 77)


def test_the_index_reads_only_campaigns_that_touch_the_basket() -> None:
    scoped = [
        campaign(i, conditions=Conditions(products=frozenset({f"p{i}"}))) for i in range(1, 500)
    ]
    on_shoes = campaign(500, conditions=Conditions(categories=frozenset({"shoes"})))
    index = CampaignIndex.of([*scoped, on_shoes, campaign(501)])
    basket = order(SHOES, replace(SOCKS, product_id="p7"))
    assert [c.id for c in index.candidates(basket)] == [7, 500, 501]


def test_birthdays_and_the_leap_day() -> None:
    assert birthday_on(12, 10, date(2026, 12, 10))
    assert not birthday_on(12, 10, date(2026, 12, 11))
    assert birthday_on(2, 29, date(2027, 2, 28))  # no 29th in 2027
    assert not birthday_on(2, 29, date(2028, 2, 28))  # 2028 has one
    assert birthday_on(2, 29, date(2028, 2, 29))


@pytest.mark.parametrize(
    ("bad", "path"),
    [
        (campaign(name=""), ("name",)),
        (campaign(1, Effect(EffectKind.FIXED_POINTS, points=0)), ("effect", "points")),
        (
            campaign(1, Effect(EffectKind.MULTIPLIER, multiplier=Decimal(1))),
            ("effect", "multiplier"),
        ),
        (campaign(1, Effect(EffectKind.VOUCHER)), ("effect", "rewardOfferId")),
        (
            campaign(trigger=Trigger.BIRTHDAY, conditions=Conditions(nth_order=1)),
            ("conditions", "nthOrder"),
        ),
        (
            campaign(
                1, Effect(EffectKind.MULTIPLIER, multiplier=Decimal(2)), trigger=Trigger.ENROLMENT
            ),
            ("effect", "kind"),
        ),
        (campaign(conditions=Conditions(weekdays=frozenset({7}))), ("conditions", "weekdays")),
        (campaign(conditions=Conditions(hours=(5, 5))), ("conditions", "hours")),
        (
            campaign(
                conditions=Conditions(
                    starts_at=datetime(2026, 12, 2, tzinfo=UTC),
                    ends_at=datetime(2026, 12, 1, tzinfo=UTC),
                )
            ),
            ("conditions", "endsAt"),
        ),
        (campaign(limits=Limits(budget_points=0)), ("limits", "budgetPoints")),
        (campaign(limits=Limits(per_customer=0)), ("limits", "perCustomer")),
        (campaign(conditions=Conditions(products=frozenset({" "}))), ("conditions", "products")),
        (
            campaign(conditions=Conditions(channels=frozenset({"x" * 41}))),
            ("conditions", "channels"),
        ),
        (
            campaign(conditions=Conditions(customer_groups=frozenset({""}))),
            ("conditions", "customerGroups"),
        ),
    ],
)
def test_bad_campaigns_are_refused_with_the_field_named(
    bad: Campaign, path: tuple[str, ...]
) -> None:
    with pytest.raises(DomainError) as refused:
        bad.check()
    assert path in [problem.field for problem in refused.value.problems]


def test_a_good_campaign_passes_its_check() -> None:
    DOUBLE_ON_SHOES.check()
    campaign(1, Effect(EffectKind.VOUCHER, reward_offer_id=3), trigger=Trigger.BIRTHDAY).check()


def test_a_category_covers_the_paths_below_it():
    # given: double points on shoes
    on_shoes = campaign(
        7, effect=Effect(EffectKind.FIXED_POINTS, points=50),
        conditions=Conditions(categories=frozenset({"shoes"})),
    )  # fmt: skip
    index = CampaignIndex.of([on_shoes])

    def points(category: str) -> int:
        return evaluate(index, order(OrderLine("a", "boot", category, 1, 1000))).points

    # then: its sub-categories count, a name that merely starts alike does not
    assert (points("shoes"), points("shoes/running"), points("shoes/running/trail")) == (50,) * 3
    assert (points("shoestrings"), points("socks/shoes")) == (0, 0)
    assert category_paths("a/b/c") == ("a", "a/b", "a/b/c")
