"""ProgramSettings (check, changed) and check_site: the rules that keep a site coherent."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.sites import (
    CustomActivity,
    DiscountValueType,
    ProgramSettings,
    ThresholdReward,
    ValidityPolicy,
    check_site,
)

INVALID = ErrorCode.INVALID_VALUE
FIXED = DiscountValueType.FIXED_AMOUNT
ROLLING = ValidityPolicy.ROLLING_DAYS


def _problems(settings: ProgramSettings) -> list[tuple[tuple[str, ...], ErrorCode]]:
    with pytest.raises(DomainError) as raised:
        settings.check()
    return [(p.field, p.code) for p in raised.value.problems]


def _reward(**changes: Any) -> ThresholdReward:
    return replace(ThresholdReward(enabled=True), **changes)


def test_the_default_settings_are_coherent():
    ProgramSettings().check()


def test_a_fully_configured_program_is_coherent():
    ProgramSettings(
        enabled=True,
        currency="KWD",
        earn_rate=Decimal("0.0001"),
        validity_policy=ROLLING,
        validity_days=36_500,
        expiry_warning_days=(3650, 1),
        threshold_reward=_reward(
            points=10_000_000,
            value_type=FIXED,
            value=Decimal("0.005"),
            minimum_order_value=Decimal("10.125"),
            validity_days=3650,
        ),
        referral_points=10_000_000,
        custom_activities=(
            CustomActivity("BIRTHDAY", "Birthday", 1),
            CustomActivity("A1", "x" * 200, 10_000_000, daily_cap=1),
        ),
    ).check()


def test_changed_returns_a_checked_copy_and_leaves_the_original():
    # given
    original = ProgramSettings()
    # when
    updated = original.changed(earn_rate=Decimal("2.5"), referral_points=100)
    # then
    assert updated == ProgramSettings(earn_rate=Decimal("2.5"), referral_points=100)
    assert original == ProgramSettings()


def test_changed_refuses_an_incoherent_result():
    with pytest.raises(DomainError) as raised:
        ProgramSettings().changed(validity_policy=ValidityPolicy.FIXED_DAYS)
    assert raised.value.problems == [
        FieldProblem(("validity_days",), INVALID, "must be 1 to 36500 days when points expire")
    ]
    assert str(raised.value) == "must be 1 to 36500 days when points expire"


def test_changed_checks_the_new_currency_against_kept_amounts():
    # given
    settings = ProgramSettings(threshold_reward=_reward(value_type=FIXED, value=Decimal("5.5")))
    # when
    with pytest.raises(DomainError) as raised:
        settings.changed(currency="JPY")
    # then
    assert raised.value.problems == [
        FieldProblem(("threshold_reward", "value"), INVALID, "JPY amounts have 0 decimal places")
    ]


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        (ProgramSettings(earn_rate=Decimal(-1)), ("earn_rate",)),
        (ProgramSettings(earn_rate=Decimal("10000.0001")), ("earn_rate",)),
        (ProgramSettings(earn_rate=Decimal("0.00001")), ("earn_rate",)),
        (ProgramSettings(validity_days=30), ("validity_days",)),
        (ProgramSettings(validity_policy=ROLLING, validity_days=36_501), ("validity_days",)),
        (
            ProgramSettings(validity_policy=ROLLING, validity_days=30, expiry_warning_days=(7, 7)),
            ("expiry_warning_days",),
        ),
        (ProgramSettings(expiry_warning_days=(7,)), ("expiry_warning_days",)),
        (ProgramSettings(threshold_reward=_reward(points=0)), ("threshold_reward", "points")),
        (
            ProgramSettings(threshold_reward=_reward(value=Decimal("100.01"))),
            ("threshold_reward", "value"),
        ),
        (
            ProgramSettings(threshold_reward=_reward(value_type=FIXED, value=Decimal("-1"))),
            ("threshold_reward", "value"),
        ),
        (
            ProgramSettings(threshold_reward=_reward(minimum_order_value=Decimal("0.005"))),
            ("threshold_reward", "minimum_order_value"),
        ),
        (
            ProgramSettings(threshold_reward=_reward(validity_days=0)),
            ("threshold_reward", "validity_days"),
        ),
        (ProgramSettings(product_review_points=-1), ("product_review_points",)),
        (
            ProgramSettings(custom_activities=(CustomActivity("B", "B", 1),)),
            ("custom_activities", "0", "code"),
        ),
        (
            ProgramSettings(custom_activities=(CustomActivity("GOOD", "", 1),)),
            ("custom_activities", "0", "name"),
        ),
        (
            ProgramSettings(custom_activities=(CustomActivity("GOOD", "Good", 10_000_001),)),
            ("custom_activities", "0", "points"),
        ),
        (
            ProgramSettings(custom_activities=(CustomActivity("GOOD", "Good", 1, daily_cap=-1),)),
            ("custom_activities", "0", "daily_cap"),
        ),
    ],
)
def test_an_incoherent_setting_is_invalid_value_at_its_field(
    settings: ProgramSettings, field: tuple[str, ...]
):
    assert _problems(settings) == [(field, INVALID)]


def test_an_unknown_currency_is_reported_and_amounts_are_not_checked_against_it():
    settings = ProgramSettings(
        currency="EUR1", threshold_reward=_reward(value_type=FIXED, value=Decimal("0.0001"))
    )
    assert _problems(settings) == [(("currency_code",), ErrorCode.UNKNOWN_CURRENCY)]


def test_built_in_and_repeated_activity_codes_are_duplicates():
    settings = ProgramSettings(
        custom_activities=(
            CustomActivity("PRODUCT_REVIEW", "Review", 5),
            CustomActivity("BIRTHDAY", "Birthday", 5),
            CustomActivity("BIRTHDAY", "Birthday again", 5),
        )
    )
    with pytest.raises(DomainError) as raised:
        settings.check()
    assert raised.value.problems == [
        FieldProblem(
            ("custom_activities", "0", "code"),
            ErrorCode.DUPLICATE,
            "PRODUCT_REVIEW is a built-in activity",
        ),
        FieldProblem(
            ("custom_activities", "2", "code"), ErrorCode.DUPLICATE, "BIRTHDAY is listed twice"
        ),
    ]


def test_every_problem_is_listed_in_field_order():
    settings = ProgramSettings(
        currency="XYZ",
        earn_rate=Decimal(-1),
        validity_days=5,
        threshold_reward=_reward(points=0, validity_days=0),
        referral_points=-1,
        custom_activities=tuple(CustomActivity(f"A{n}", "A", 1) for n in range(101)),
    )
    assert _problems(settings) == [
        (("currency_code",), ErrorCode.UNKNOWN_CURRENCY),
        (("earn_rate",), INVALID),
        (("validity_days",), INVALID),
        (("threshold_reward", "points"), INVALID),
        (("threshold_reward", "validity_days"), INVALID),
        (("referral_points",), INVALID),
        (("custom_activities",), INVALID),
    ]


def test_custom_activity_finds_a_site_activity_by_code():
    birthday = CustomActivity("BIRTHDAY", "Birthday", 5)
    settings = ProgramSettings(custom_activities=(birthday,))
    assert settings.custom_activity("BIRTHDAY") == birthday
    assert settings.custom_activity("REFERRAL") is None


# check_site


@pytest.mark.parametrize("code", ["ab", "shop-1", "1shop", "a" * 63, "a-"])
def test_usable_site_codes(code: str):
    check_site(code, "Shop")


@pytest.mark.parametrize("code", ["a", "a" * 64, "-shop", "Shop", "shop_1", "shop 1", "shöp"])
def test_unusable_site_codes(code: str):
    with pytest.raises(DomainError) as raised:
        check_site(code, "Shop")
    assert [(p.field, p.code) for p in raised.value.problems] == [(("code",), INVALID)]


def test_a_blank_or_long_site_name_is_invalid_with_the_code_problem_too():
    for name in ("", "  ", "n" * 201):
        with pytest.raises(DomainError) as raised:
            check_site("-", name)
        assert [p.field for p in raised.value.problems] == [("code",), ("name",)]
