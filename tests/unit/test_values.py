"""Money and points rounding (domain/values.py), and the customer profile rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty_gql.domain.customers import CustomerProfile
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.values import (
    Money,
    PointsRounding,
    currency_exponent,
    is_known_currency,
)

# Money


@pytest.mark.parametrize(
    ("amount", "currency", "minor_units", "shown"),
    [
        ("12.5", "EUR", 1250, "12.50"),
        ("12.50", "EUR", 1250, "12.50"),
        ("0", "EUR", 0, "0.00"),
        ("0.01", "EUR", 1, "0.01"),
        ("1.000000", "EUR", 100, "1.00"),
        ("1500", "JPY", 1500, "1500"),
        ("1E+3", "JPY", 1000, "1000"),
        ("1.5", "KWD", 1500, "1.500"),
        ("10.125", "KWD", 10125, "10.125"),
        ("-3.2", "USD", -320, "-3.20"),
    ],
)
def test_money_keeps_minor_units_and_shows_the_currency_places(
    amount: str, currency: str, minor_units: int, shown: str
):
    money = Money.from_decimal(Decimal(amount), currency)
    assert money == Money(minor_units, currency)
    assert str(money.amount) == shown


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        ("0.001", "EUR", "0.001 has more than 2 decimal places for EUR"),
        ("0.5", "JPY", "0.5 has more than 0 decimal places for JPY"),
        ("1.0001", "KWD", "1.0001 has more than 3 decimal places for KWD"),
    ],
)
def test_money_refuses_more_places_than_the_currency_has(amount: str, currency: str, message: str):
    with pytest.raises(ValueError, match=message):
        Money.from_decimal(Decimal(amount), currency)


CURRENCIES = st.sampled_from(["EUR", "JPY", "KWD", "USD", "CLF"])


@given(minor_units=st.integers(min_value=-(10**15), max_value=10**15), currency=CURRENCIES)
def test_money_survives_a_round_trip_through_its_amount(minor_units: int, currency: str):
    money = Money(minor_units, currency)
    assert Money.from_decimal(money.amount, currency) == money
    assert -money.amount.as_tuple().exponent == currency_exponent(currency)  # type: ignore[operator]


def test_currency_places_and_codes():
    assert [currency_exponent(c) for c in ("EUR", "JPY", "KWD", "CLF")] == [2, 0, 3, 4]
    assert [is_known_currency(c) for c in ("EUR", "JPY", "eur", "EURO", "ABC", "")] == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]


# PointsRounding


@pytest.mark.parametrize(
    ("value", "down", "up", "half_up"),
    [
        ("0", 0, 0, 0),
        ("12", 12, 12, 12),
        ("12.0001", 12, 13, 12),
        ("12.4999", 12, 13, 12),
        ("12.5", 12, 13, 13),
        ("12.9999", 12, 13, 13),
        ("0.5", 0, 1, 1),
    ],
)
def test_points_rounding(value: str, down: int, up: int, half_up: int):
    amount = Decimal(value)
    assert PointsRounding.DOWN.apply(amount) == down
    assert PointsRounding.UP.apply(amount) == up
    assert PointsRounding.HALF_UP.apply(amount) == half_up


@given(st.decimals(min_value=0, max_value=10**9, places=4))
def test_rounded_points_are_within_one_point_in_the_rule_direction(value: Decimal):
    down = PointsRounding.DOWN.apply(value)
    up = PointsRounding.UP.apply(value)
    half_up = PointsRounding.HALF_UP.apply(value)
    assert down <= value < down + 1
    assert up - 1 < value <= up
    assert abs(half_up - value) <= Decimal("0.5")
    assert half_up in (down, up)


# CustomerProfile


def test_normalising_a_profile_trims_lowercases_and_sorts():
    profile = CustomerProfile(
        external_id="  c-1 ",
        email="  Ann@Example.COM ",
        name="  Ann  ",
        groups=(" vip", "staff", "vip "),
        marketing_consent=True,
    )
    assert profile.normalised() == CustomerProfile(
        external_id="c-1",
        email="ann@example.com",
        name="Ann",
        groups=("staff", "vip"),
        marketing_consent=True,
    )


def test_normalising_drops_a_blank_email_and_name():
    profile = CustomerProfile(external_id="c-1", email="   ", name="")
    assert profile.normalised() == CustomerProfile(external_id="c-1")


def test_a_normalised_profile_stays_the_same_when_normalised_again():
    profile = CustomerProfile("c-1", " A@B.co ", " Ann ", ("b", "a", "a")).normalised()
    assert profile.normalised() == profile


def test_a_complete_profile_is_valid():
    CustomerProfile(
        external_id="x" * 128,
        email="first.last+tag@shop.example",
        name="n" * 200,
        groups=tuple(f"group-{n}" for n in range(50)),
    ).check()


@pytest.mark.parametrize(
    ("profile", "field"),
    [
        (CustomerProfile(external_id=""), "external_id"),
        (CustomerProfile(external_id="x" * 129), "external_id"),
        (CustomerProfile("c-1", email="not-an-email"), "email"),
        (CustomerProfile("c-1", email="a@b"), "email"),
        (CustomerProfile("c-1", email="a b@shop.test"), "email"),
        (CustomerProfile("c-1", email="a@@shop.test"), "email"),
        (CustomerProfile("c-1", email=f"{'a' * 65}@shop.test"), "email"),
        (CustomerProfile("c-1", email=f"a@{'b' * 250}.test"), "email"),
        (CustomerProfile("c-1", name="n" * 201), "name"),
        (CustomerProfile("c-1", groups=tuple(f"g{n}" for n in range(51))), "groups"),
        (CustomerProfile("c-1", groups=("ok", "bad group!")), "groups"),
        (CustomerProfile("c-1", groups=("-starts-with-dash",)), "groups"),
        (CustomerProfile("c-1", groups=("g" * 65,)), "groups"),
    ],
)
def test_an_invalid_profile_field_is_invalid_value(profile: CustomerProfile, field: str):
    with pytest.raises(DomainError) as raised:
        profile.check()
    assert [(p.field, p.code) for p in raised.value.problems] == [
        ((field,), ErrorCode.INVALID_VALUE)
    ]


def test_every_invalid_profile_field_is_reported_at_once():
    profile = CustomerProfile(external_id="", email="nope", name="n" * 201, groups=("a b",))
    with pytest.raises(DomainError) as raised:
        profile.check()
    assert [p.field for p in raised.value.problems] == [
        ("external_id",),
        ("email",),
        ("name",),
        ("groups",),
    ]
    assert raised.value.problems[1].message == "'nope' is not an email address"
    assert raised.value.problems[3].message == (
        "invalid group names ['a b']: use letters, digits, _ . : -"
    )
