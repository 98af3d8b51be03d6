"""Gamification, the pure rules (issue #18's worked examples, in process): badges as the
customer sees them, challenge progress and completions (cancellations, streaks in the
site's timezone), milestones, leaderboard periods, shared ranks, names, the viewer's
neighbours and the prizes at period end."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.gamification.badges import (
    BadgeState,
    BadgeType,
    BadgeVisibility,
    HeldBadge,
    customer_badges,
)
from loyalty_gql.domain.gamification.challenges import (
    Audience,
    Challenge,
    Fact,
    FactKind,
    FactLine,
    Goal,
    GoalKind,
    Recurrence,
    StreakUnit,
    Window,
    milestones,
    milestones_crossed,
    progress,
)
from loyalty_gql.domain.gamification.leaderboards import (
    Leaderboard,
    Metric,
    PeriodKind,
    Place,
    Prize,
    Score,
    competition_ranks,
    display_name_problems,
    period_of,
    places,
    prize_awards,
    rank_of,
    shown_name,
    standing,
    window_ranks,
)
from loyalty_gql.domain.gamification.rewards import Reward, RewardKind

UTC_ZONE = ZoneInfo("UTC")
AUCKLAND = ZoneInfo("Pacific/Auckland")
SECRET = b"site-secret"
POINTS_500 = (Reward(RewardKind.POINTS, points=500),)


def at(day: int, hour: int = 12, month: int = 12, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def order(key: str, when: datetime, *, counts: bool = True, **options: object) -> Fact:
    return Fact(key, FactKind.ORDER, when, counts, **options)  # type: ignore[arg-type]


def challenge(goal: Goal, **options: object) -> Challenge:
    return replace(Challenge(1, "a challenge", goal, POINTS_500), **options)  # type: ignore[arg-type]


THREE_IN_30_DAYS = challenge(Goal(GoalKind.COUNT, 3), window=Window(rolling_days=30))


# -- three orders in 30 days ----------------------------------------------------------


def test_three_orders_in_30_days_complete_on_the_third_and_reward_once() -> None:
    # given
    first, second, third = order("o1", at(1)), order("o2", at(10)), order("o3", at(20))

    # when
    after_two = progress(THREE_IN_30_DAYS, [first, second], [], at(10), UTC_ZONE)
    after_three = progress(THREE_IN_30_DAYS, [first, second, third], [], at(20), UTC_ZONE)
    recorded = list(after_three.due)
    later = progress(
        THREE_IN_30_DAYS, [first, second, third, order("o4", at(22))], recorded, at(22), UTC_ZONE
    )

    # then
    assert (after_two.value, after_two.target, after_two.due) == (2, 3, ())
    assert after_two.ends_at == at(31)  # the first order drops out 30 days after it
    assert after_two.time_left == timedelta(days=21)
    assert after_three.due == (at(20),)
    assert after_three.completion_due
    assert (after_three.completed, after_three.finished) == (1, True)
    assert (later.due, later.completed, later.value, later.finished) == ((), 1, 3, True)


def test_a_cancelled_second_order_keeps_it_at_1_of_3() -> None:
    # given: the second order is cancelled before the third is placed
    first, cancelled = order("o1", at(1)), order("o2", at(10), counts=False)

    # when
    before_third = progress(THREE_IN_30_DAYS, [first, cancelled], [], at(12), UTC_ZONE)
    after_third = progress(
        THREE_IN_30_DAYS, [first, cancelled, order("o3", at(20))], [], at(20), UTC_ZONE
    )

    # then
    assert (before_third.value, before_third.target, before_third.due) == (1, 3, ())
    assert (after_third.value, after_third.due, after_third.completed) == (2, (), 0)


def test_orders_more_than_30_days_apart_do_not_complete() -> None:
    facts = [order("o1", at(1)), order("o2", at(20)), order("o3", at(31))]  # o1 is 30 days old

    result = progress(THREE_IN_30_DAYS, facts, [], at(31), UTC_ZONE)

    assert (result.value, result.due) == (2, ())


def test_a_rewarded_completion_stays_when_an_order_it_counted_is_cancelled() -> None:
    # given: completed on the third order, then the second is cancelled
    facts = [order("o1", at(1)), order("o2", at(10), counts=False), order("o3", at(20))]

    # when
    kept = progress(THREE_IN_30_DAYS, facts, [at(20)], at(21), UTC_ZONE)
    reversing = progress(
        replace(THREE_IN_30_DAYS, reverse_on_cancel=True), facts, [at(20)], at(21), UTC_ZONE
    )

    # then
    assert (kept.completed, kept.to_reverse, kept.finished) == (1, (), True)
    assert (reversing.completed, reversing.to_reverse, reversing.value) == (0, (1,), 2)


def test_a_repeated_challenge_starts_its_next_round_after_each_completion() -> None:
    repeated = replace(THREE_IN_30_DAYS, recurrence=Recurrence.REPEATEDLY, max_completions=2)
    facts = [order(f"o{day}", at(day)) for day in (1, 2, 3, 4, 5, 6, 7, 8)]

    first_run = progress(repeated, facts[:4], [], at(4), UTC_ZONE)
    late = progress(repeated, facts, [], at(8), UTC_ZONE)  # two rounds found at once
    recorded = progress(repeated, facts, [at(3)], at(8), UTC_ZONE)

    assert (first_run.due, first_run.value, first_run.completed) == ((at(3),), 1, 1)
    assert (late.due, late.completed, late.finished) == ((at(3), at(6)), 2, True)
    assert (recorded.due, recorded.completed) == ((at(6),), 2)


def test_facts_of_one_instant_are_told_apart_by_the_key_of_the_completing_fact() -> None:
    # given: "two orders", repeatedly, and four orders completed at the same instant
    twice = replace(challenge(Goal(GoalKind.COUNT, 2)), recurrence=Recurrence.REPEATEDLY)
    facts = [order(f"o{n}", at(1)) for n in range(1, 5)]
    # when: the first completion (by o2) was recorded with its fact's key, or without it
    first = progress(twice, facts[:2], [], at(1), UTC_ZONE)
    keyed = progress(twice, facts, [(at(1), "o2")], at(1), UTC_ZONE)
    by_time = progress(twice, facts, [at(1)], at(1), UTC_ZONE)
    # then: with the key, o3 and o4 make the second round; by time alone they are lost
    assert (first.due, first.due_keys) == ((at(1),), ("o2",))
    assert (keyed.due_keys, keyed.completed) == (("o4",), 2)
    assert (by_time.due, by_time.completed) == ((), 1)


# -- amounts, products, activities ----------------------------------------------------


def test_amount_within_categories_counts_what_was_paid_for_those_lines() -> None:
    shoes_200 = challenge(
        Goal(GoalKind.AMOUNT, 20000, categories=frozenset({"shoes"})),
        window=Window(at(1), at(1, month=1, year=2027)),
    )
    facts = [
        order(
            "o1", at(2), lines=(FactLine("sneaker", "shoes", 12000), FactLine("sock", "socks", 900))
        ),
        order("o2", at(3), lines=(FactLine("boot", "shoes", 7000),)),
        order("o0", at(30, month=11), lines=(FactLine("boot", "shoes", 50000),)),  # before
    ]

    result = progress(shoes_200, facts, [], at(4), UTC_ZONE)

    assert (result.value, result.target, result.due) == (19000, 20000, ())
    assert result.ends_at == at(1, month=1, year=2027)


def test_distinct_products_and_activity_counts() -> None:
    five_teas = challenge(Goal(GoalKind.DISTINCT_PRODUCTS, 3))
    facts = [
        order("o1", at(1), lines=(FactLine("green", "tea", 500), FactLine("black", "tea", 500))),
        order("o2", at(2), lines=(FactLine("green", "tea", 500),)),
        order("o3", at(3), lines=(FactLine("white", "tea", 500),)),
    ]
    reviews = challenge(Goal(GoalKind.COUNT, 2, counts=FactKind.ACTIVITY, activity_code="review"))
    activities = [
        Fact("a1", FactKind.ACTIVITY, at(1), activity_code="review"),
        Fact("a2", FactKind.ACTIVITY, at(2), activity_code="newsletter"),
        order("o1", at(3)),
        Fact("a3", FactKind.ACTIVITY, at(4), activity_code="review"),
    ]

    teas = progress(five_teas, facts, [], at(3), UTC_ZONE)
    reviewed = progress(reviews, activities, [], at(4), UTC_ZONE)

    assert teas.due == (at(3),)
    assert reviewed.due == (at(4),)


def test_facts_after_now_and_outside_the_window_do_not_count() -> None:
    december = challenge(Goal(GoalKind.COUNT, 3), window=Window(at(1), at(1, month=1, year=2027)))
    facts = [order("o1", at(30, month=11)), order("o2", at(2)), order("o3", at(5))]

    result = progress(december, facts, [], at(4), UTC_ZONE)

    assert (result.value, result.open, result.finished) == (1, True, False)
    closed = progress(december, facts, [], at(2, month=1, year=2027), UTC_ZONE)
    assert (closed.value, closed.open, closed.finished, closed.time_left) == (
        2,
        False,
        True,
        timedelta(0),
    )


# -- streaks --------------------------------------------------------------------------


MONTHLY_3 = challenge(Goal(GoalKind.STREAK, 3, streak_unit=StreakUnit.MONTH))


def test_a_monthly_streak_across_the_year_boundary_follows_the_site_timezone() -> None:
    # given: the third order is on 31 December in UTC, 1 January in Auckland (UTC+13)
    facts = [
        order("o1", at(20, month=11)),
        order("o2", at(15)),
        order("o3", datetime(2026, 12, 31, 12, tzinfo=UTC)),
    ]
    now = datetime(2026, 12, 31, 13, tzinfo=UTC)

    # when
    in_auckland = progress(MONTHLY_3, facts, [], now, AUCKLAND)
    in_utc = progress(MONTHLY_3, facts, [], now, UTC_ZONE)

    # then: November, December, January in Auckland; November, December, December in UTC
    assert in_auckland.due == (facts[2].at,)
    assert (in_utc.value, in_utc.due) == (2, ())
    # an order in January (UTC) keeps the run: the deadline is the end of January
    assert in_utc.ends_at == datetime(2027, 2, 1, tzinfo=UTC)


def test_a_missed_period_breaks_the_streak_and_weeks_start_on_monday() -> None:
    weekly = challenge(Goal(GoalKind.STREAK, 2, streak_unit=StreakUnit.WEEK))
    sunday, monday = at(6), at(7)  # 6 December 2026 is a Sunday
    broken = progress(
        MONTHLY_3, [order("o1", at(20, month=10)), order("o2", at(1))], [], at(2), UTC_ZONE
    )

    two_weeks = progress(weekly, [order("o1", sunday), order("o2", monday)], [], monday, UTC_ZONE)

    assert (broken.value, broken.ends_at) == (
        1,
        datetime(2027, 2, 1, tzinfo=UTC),
    )  # January keeps it
    assert two_weeks.due == (monday,)
    gone = progress(MONTHLY_3, [order("o1", at(20, month=10))], [], at(2), UTC_ZONE)
    assert (gone.value, gone.ends_at) == (0, None)


def test_the_next_streak_counts_the_periods_after_the_one_that_completed_it() -> None:
    repeated = replace(MONTHLY_3, recurrence=Recurrence.REPEATEDLY)
    months = [order(f"o{m}", at(10, month=m)) for m in (1, 2, 3)]
    again_in_march = order("o3b", at(20, month=3))

    result = progress(
        repeated, [*months, again_in_march], [at(10, month=3)], at(21, month=3), UTC_ZONE
    )

    assert (result.value, result.due, result.completed) == (0, (), 1)


# -- milestones -----------------------------------------------------------------------


def test_milestones_are_each_step_for_small_targets_and_quarters_otherwise() -> None:
    assert milestones(3) == (1, 2)
    assert milestones(1) == ()
    assert milestones(10) == (3, 5, 8)
    assert milestones(20000) == (5000, 10000, 15000)
    assert milestones_crossed(3, 0, 2) == (1, 2)
    assert milestones_crossed(10, 2, 6) == (3, 5)
    assert milestones_crossed(10, 6, 2) == ()  # a cancellation announces nothing


@given(st.integers(1, 10**6), st.integers(0, 10**6), st.integers(0, 10**6))
def test_milestones_crossed_lie_between_the_two_values(
    target: int, before: int, after: int
) -> None:
    crossed = milestones_crossed(target, before, after)

    assert list(crossed) == sorted(set(crossed))
    assert all(before < mark <= after and 0 < mark < target for mark in crossed)


# -- progress never exceeds what the facts allow --------------------------------------

FACTS = st.lists(st.tuples(st.integers(0, 90 * 24), st.booleans()), max_size=25).map(
    lambda items: [
        order(f"o{i}", at(1, month=1) + timedelta(hours=hours), counts=counts)
        for i, (hours, counts) in enumerate(items)
    ]
)


@given(
    FACTS,
    st.integers(1, 6),
    st.sampled_from([None, 7, 30]),
    st.sampled_from(list(Recurrence)),
    st.booleans(),
)
def test_progress_never_exceeds_what_the_facts_allow(
    facts: list[Fact], target: int, rolling: int | None, recurrence: Recurrence, reverse: bool
) -> None:
    rule = challenge(
        Goal(GoalKind.COUNT, target),
        window=Window(rolling_days=rolling),
        recurrence=recurrence,
        reverse_on_cancel=reverse,
    )
    now = at(1, month=5)
    counting = sum(1 for fact in facts if fact.counts)

    result = progress(rule, facts, [], now, UTC_ZONE)

    assert 0 <= result.value <= target
    assert result.completed == len(result.due)
    assert result.completed * target <= counting
    if not result.finished:
        assert result.completed * target + result.value <= counting
    if recurrence is Recurrence.ONCE:
        assert result.completed <= 1
    assert progress(rule, facts, list(result.due), now, UTC_ZONE).due == ()


# -- badges ---------------------------------------------------------------------------


def test_the_badge_list_shows_earned_with_dates_and_visible_locked_ones() -> None:
    first = BadgeType(1, "first-purchase", "First purchase")
    explorer = BadgeType(2, "explorer", "Explorer", how_to_earn="Buy from five categories")
    secret = BadgeType(3, "night-owl", "Night owl", visibility=BadgeVisibility.HIDDEN_UNTIL_EARNED)
    surprise = BadgeType(
        4, "early-bird", "Early bird", visibility=BadgeVisibility.HIDDEN_UNTIL_EARNED
    )
    held = [HeldBadge(1, at(1)), HeldBadge(4, at(5)), HeldBadge(1, at(3)), HeldBadge(99, at(2))]

    listed = customer_badges([first, explorer, secret, surprise], held)

    assert [(b.badge.code, b.state, b.earned_at) for b in listed] == [
        ("early-bird", BadgeState.EARNED, at(5)),
        ("first-purchase", BadgeState.EARNED, at(1)),
        ("explorer", BadgeState.LOCKED, None),
    ]


def test_badge_input_is_checked() -> None:
    with pytest.raises(DomainError) as error:
        BadgeType(1, "no spaces", " ", image_url="ftp://x").check()

    assert [(p.field, p.code) for p in error.value.problems] == [
        (("code",), ErrorCode.INVALID_VALUE),
        (("name",), ErrorCode.REQUIRED),
        (("image_url",), ErrorCode.INVALID_VALUE),
    ]


# -- leaderboards ---------------------------------------------------------------------

MONTHLY = Leaderboard(1, "Top of the month", Metric.POINTS_EARNED, PeriodKind.MONTH)


def test_periods_follow_the_site_timezone() -> None:
    new_year_in_auckland = datetime(2026, 12, 31, 12, tzinfo=UTC)
    weekly = replace(MONTHLY, period=PeriodKind.WEEK)

    auckland = period_of(MONTHLY, new_year_in_auckland, AUCKLAND)
    utc = period_of(MONTHLY, new_year_in_auckland, UTC_ZONE)
    week = period_of(weekly, at(6, hour=23), UTC_ZONE)  # a Sunday

    assert auckland is not None
    assert (auckland.key, auckland.starts_at) == ("2027-01", datetime(2027, 1, 1, tzinfo=AUCKLAND))
    assert auckland.ends_at == datetime(2027, 2, 1, tzinfo=AUCKLAND)
    assert utc is not None
    assert (utc.key, utc.ends_at) == ("2026-12", datetime(2027, 1, 1, tzinfo=UTC))
    assert week is not None
    assert (week.key, week.starts_at, week.ends_at) == ("2026-W49", at(30, 0, month=11), at(7, 0))
    custom = replace(MONTHLY, period=PeriodKind.CUSTOM, starts_at=at(1), ends_at=at(8))
    assert period_of(custom, at(8), UTC_ZONE) is None
    inside = period_of(custom, at(7), UTC_ZONE)
    assert inside is not None
    assert inside.key == "CUSTOM"
    all_time = period_of(replace(MONTHLY, period=PeriodKind.ALL_TIME), at(7), UTC_ZONE)
    assert all_time is not None
    assert all_time.key == "ALL"


def test_ties_share_a_rank_and_the_viewer_sees_neighbours() -> None:
    # given: Ana 120, Ben 100 (opted in), Cem 100, Dee 80, Eli 70
    scores = [Score(1, 120, "Ana"), Score(2, 100, "Ben"), Score(3, 100), Score(4, 80), Score(5, 70)]

    # when
    board = places(scores, competition_ranks([s.score for s in scores]), SECRET)
    viewer = standing(board, viewer_id=3, neighbours=1)

    # then
    assert [(p.rank, p.score) for p in board] == [(1, 120), (2, 100), (2, 100), (4, 80), (5, 70)]
    assert [p.name for p in board[:2]] == ["Ana", "Ben"]
    assert board[2].anonymous
    assert board[2].name.startswith("Member ")
    assert viewer is not None
    assert (viewer.place.rank, viewer.place.customer_id) == (2, 3)
    assert [p.customer_id for p in viewer.above] == [2]
    assert [p.customer_id for p in viewer.below] == [4]
    assert standing(board, viewer_id=99, neighbours=1) is None


def test_a_window_from_the_middle_gets_its_ranks_from_the_score_counts() -> None:
    # the whole board: 120, 100, 100, 80, 80, 50; the viewer's window starts at rank 2
    counts = {120: 1, 100: 2, 80: 2, 50: 1}

    ranks = window_ranks(
        [100, 80, 80, 50], first_rank=rank_of(100, counts), customers_per_score=counts
    )

    assert ranks == [2, 4, 4, 6]
    assert rank_of(80, counts) == 4


def test_anonymous_labels_are_stable_and_keyed() -> None:
    assert shown_name(7, "  Zoe ", SECRET) == ("Zoe", False)
    assert shown_name(7, None, SECRET) == shown_name(7, "", SECRET)
    assert shown_name(7, None, SECRET)[0] != shown_name(7, None, b"another-site")[0]
    assert display_name_problems("Zoe") == []
    assert [p.code for p in display_name_problems("a\x07")] == [ErrorCode.INVALID_VALUE]


def test_period_end_prizes_reward_everyone_tied_at_the_boundary() -> None:
    # given: 1000 points for the first, 500 for ranks 2-3; two customers share rank 3
    board = replace(
        MONTHLY,
        prizes=(
            Prize(1, 1, (Reward(RewardKind.POINTS, points=1000),)),
            Prize(2, 3, (Reward(RewardKind.POINTS, points=500),)),
        ),
    )
    scores = [300, 200, 150, 150, 100]
    top = [
        Place(r, i + 1, s, "", True)
        for i, (r, s) in enumerate(zip(competition_ranks(scores), scores, strict=True))
    ]

    # when
    awards = prize_awards(board, top)

    # then
    assert [(a.customer_id, a.rank, a.prize.to_rank) for a in awards] == [
        (1, 1, 1),
        (2, 2, 3),
        (3, 3, 3),
        (4, 3, 3),
    ]
    below_minimum = prize_awards(replace(board, min_score=250), top)
    assert [a.customer_id for a in below_minimum] == [1]


@given(st.lists(st.integers(0, 50), max_size=40))
def test_ranking_is_monotone_and_counts_the_higher_scores(raw: list[int]) -> None:
    scores = sorted(raw, reverse=True)

    ranks = competition_ranks(scores)

    assert ranks == sorted(ranks)
    for i, score in enumerate(scores):
        assert ranks[i] == 1 + sum(1 for other in scores if other > score)
        if i and scores[i - 1] == score:
            assert ranks[i] == ranks[i - 1]


@given(st.lists(st.integers(0, 30), min_size=1, max_size=40), st.data())
def test_a_window_agrees_with_the_whole_board(raw: list[int], data: st.DataObject) -> None:
    scores = sorted(raw, reverse=True)
    start = data.draw(st.integers(0, len(scores) - 1))
    end = data.draw(st.integers(start + 1, len(scores)))
    counts = {score: scores.count(score) for score in scores}

    ranks = window_ranks(scores[start:end], rank_of(scores[start], counts), counts)

    assert ranks == competition_ranks(scores)[start:end]


# -- validation -----------------------------------------------------------------------


def test_challenge_input_is_checked() -> None:
    bad = Challenge(
        1,
        "",
        Goal(GoalKind.STREAK, 53, activity_code="review", categories=frozenset({"shoes"})),
        (),
        window=Window(at(2), at(1), rolling_days=0),
        audience=Audience(groups=frozenset({"no spaces"})),
        max_completions=3,
    )

    with pytest.raises(DomainError) as error:
        bad.check(UTC_ZONE)

    assert [(p.field, p.code) for p in error.value.problems] == [
        (("name",), ErrorCode.REQUIRED),
        (("goal", "target"), ErrorCode.INVALID_VALUE),
        (("goal", "streak_unit"), ErrorCode.REQUIRED),
        (("goal", "activity_code"), ErrorCode.INVALID_VALUE),
        (("goal", "categories"), ErrorCode.INVALID_VALUE),
        (("window", "ends_at"), ErrorCode.INVALID_VALUE),
        (("window", "rolling_days"), ErrorCode.INVALID_VALUE),
        (("window", "rolling_days"), ErrorCode.INVALID_VALUE),
        (("audience", "groups"), ErrorCode.INVALID_VALUE),
        (("rewards",), ErrorCode.REQUIRED),
        (("max_completions",), ErrorCode.INVALID_VALUE),
    ]


@pytest.mark.parametrize(
    ("goal", "window", "field"),
    [
        (Goal(GoalKind.STREAK, 1, streak_unit=StreakUnit.WEEK), Window(), ("goal", "target")),
        (Goal(GoalKind.COUNT, 0), Window(), ("goal", "target")),
        (Goal(GoalKind.COUNT, 2, counts=FactKind.ACTIVITY), Window(), ("goal", "activity_code")),
        (Goal(GoalKind.AMOUNT, 100, counts=FactKind.ACTIVITY), Window(), ("goal", "counts")),
        (
            Goal(GoalKind.STREAK, 3, streak_unit=StreakUnit.MONTH),
            Window(at(1, month=11), at(1)),  # two months for a three-month streak
            ("window", "ends_at"),
        ),
    ],
)
def test_each_goal_and_window_rule(goal: Goal, window: Window, field: tuple[str, ...]) -> None:
    with pytest.raises(DomainError) as error:
        challenge(goal, window=window).check(UTC_ZONE)

    assert [p.field for p in error.value.problems] == [field]


def test_a_valid_challenge_and_board_pass() -> None:
    challenge(
        Goal(GoalKind.STREAK, 3, streak_unit=StreakUnit.MONTH),
        window=Window(at(1, month=10), at(1)),
    ).check(UTC_ZONE)
    THREE_IN_30_DAYS.check(UTC_ZONE)
    MONTHLY.check()


def test_leaderboard_input_is_checked() -> None:
    bad = Leaderboard(
        1,
        "x" * 101,
        Metric.AMOUNT_SPENT,
        PeriodKind.CUSTOM,
        ends_at=at(1),
        size=0,
        prizes=(
            Prize(1, 3, (Reward(RewardKind.VOUCHER),)),
            Prize(3, 5, (Reward(RewardKind.BADGE, badge_id=1, points=5),)),
            Prize(2, 1001, ()),
        ),
    )

    with pytest.raises(DomainError) as error:
        bad.check()

    assert [(p.field, p.code) for p in error.value.problems] == [
        (("name",), ErrorCode.INVALID_VALUE),
        (("starts_at",), ErrorCode.REQUIRED),
        (("size",), ErrorCode.INVALID_VALUE),
        (("prizes", "0", "rewards", "0", "offer_id"), ErrorCode.REQUIRED),
        (("prizes", "1", "from_rank"), ErrorCode.INVALID_VALUE),
        (("prizes", "1", "rewards", "0", "points"), ErrorCode.INVALID_VALUE),
        (("prizes", "2", "to_rank"), ErrorCode.INVALID_VALUE),
        (("prizes", "2", "rewards"), ErrorCode.REQUIRED),
    ]
