"""A site (one shop served by the deployment), its loyalty-program settings, and the rules
that keep them coherent."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.unset import UNSET, Unset
from loyalty_gql.domain.values import (
    PointsRounding,
    currency_exponent,
    is_known_currency,
    is_known_locale,
)

SITE_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


def check_site(code: str, name: str) -> None:
    """Raise a DomainError when a site's code or name is unusable."""
    problems = []
    if not SITE_CODE.match(code):
        problems.append(
            FieldProblem(
                ("code",),
                ErrorCode.INVALID_VALUE,
                "codes are 2-63 characters of a-z, 0-9 and -, starting with a letter or digit",
            )
        )
    if not name.strip() or len(name) > 200:
        problems.append(
            FieldProblem(("name",), ErrorCode.INVALID_VALUE, "must be 1-200 characters")
        )
    if problems:
        raise DomainError(problems)


ACTIVITY_CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,39}$")
BUILT_IN_ACTIVITIES = frozenset({"NEWSLETTER_SIGNUP", "PRODUCT_REVIEW", "REFERRAL"})
MAX_EARN_RATE = Decimal(10_000)
MAX_POINT_VALUE = Decimal(1000)
MAX_POINTS_PER_EVENT = 10_000_000
MAX_WARNING_STEPS = 10
MAX_CUSTOM_ACTIVITIES = 100
MAX_REFERRALS_PER_MONTH = 100_000
EXCHANGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class Participation(Enum):
    """Who may collect and spend points."""

    ENROLLED_CUSTOMERS = "ENROLLED_CUSTOMERS"
    """Registered customers who were enrolled explicitly."""
    ALL_REGISTERED_CUSTOMERS = "ALL_REGISTERED_CUSTOMERS"
    """Every registered customer is enrolled when the shop registers them."""


class ValidityPolicy(Enum):
    """How long points stay valid."""

    NONE = "NONE"
    FIXED_DAYS = "FIXED_DAYS"
    ROLLING_DAYS = "ROLLING_DAYS"


class DiscountValueType(Enum):
    """Whether a discount takes a percentage or a fixed amount off."""

    PERCENT = "PERCENT"
    FIXED_AMOUNT = "FIXED_AMOUNT"


@dataclass(frozen=True, slots=True)
class ThresholdReward:
    """The voucher a customer gets automatically on reaching a number of points."""

    enabled: bool = False
    points: int = 5000
    value_type: DiscountValueType = DiscountValueType.PERCENT
    value: Decimal = Decimal(10)
    minimum_order_value: Decimal = Decimal(0)
    validity_days: int = 90


@dataclass(frozen=True, slots=True)
class CustomActivity:
    """An activity a site defines itself, with its points and a daily cap."""

    code: str
    name: str
    points: int
    daily_cap: int | None = None


@dataclass(frozen=True, slots=True)
class ProgramChanges:
    """Some of a site's program settings to change: UNSET ones stay, None clears the
    ones that may be empty (``validity_days``, ``point_value``, the referral cap and
    welcome offer)."""

    enabled: bool | Unset = UNSET
    currency: str | Unset = UNSET
    earn_rate: Decimal | Unset = UNSET
    points_rounding: PointsRounding | Unset = UNSET
    participation: Participation | Unset = UNSET
    order_points_pending: bool | Unset = UNSET
    validity_policy: ValidityPolicy | Unset = UNSET
    validity_days: int | Unset | None = UNSET
    threshold_reward: ThresholdReward | Unset = UNSET
    newsletter_signup_points: int | Unset = UNSET
    product_review_points: int | Unset = UNSET
    referral_points: int | Unset = UNSET
    referral_monthly_cap: int | Unset | None = UNSET
    referral_welcome_offer_id: int | Unset | None = UNSET
    custom_activities: tuple[CustomActivity, ...] | Unset = UNSET
    expiry_warning_days: tuple[int, ...] | Unset = UNSET
    exchange_customer_groups: tuple[str, ...] | Unset = UNSET
    exchange_categories: tuple[str, ...] | Unset = UNSET
    point_value: Decimal | Unset | None = UNSET
    locale: str | Unset = UNSET
    timezone: str | Unset = UNSET

    def given(self) -> dict[str, Any]:
        """The settings the change names, by name (what a retry must repeat)."""
        named = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: value for name, value in named.items() if value is not UNSET}


@dataclass(frozen=True, slots=True)
class ProgramSettings:
    """Everything that shapes one site's program."""

    enabled: bool = False
    currency: str = "EUR"
    earn_rate: Decimal = Decimal(10)
    points_rounding: PointsRounding = PointsRounding.DOWN
    participation: Participation = Participation.ENROLLED_CUSTOMERS
    order_points_pending: bool = True
    validity_policy: ValidityPolicy = ValidityPolicy.NONE
    validity_days: int | None = None
    threshold_reward: ThresholdReward = field(default_factory=ThresholdReward)
    newsletter_signup_points: int = 0
    product_review_points: int = 0
    referral_points: int = 0
    referral_monthly_cap: int | None = None
    """How many friends one referrer may bring per calendar month of the site's zone."""
    referral_welcome_offer_id: int | None = None
    """The reward or coupon offer whose voucher a referred friend gets when linked."""
    custom_activities: tuple[CustomActivity, ...] = ()
    expiry_warning_days: tuple[int, ...] = ()
    exchange_customer_groups: tuple[str, ...] = ()
    exchange_categories: tuple[str, ...] = ()
    point_value: Decimal | None = None
    locale: str = "en"
    timezone: str = "UTC"
    """IANA name of the zone whose calendar days expiry and its warnings follow."""

    @property
    def zone(self) -> ZoneInfo:
        """The site's timezone (UTC if the stored name is unknown to this machine)."""
        return site_zone(self.timezone)

    def changed(self, **changes: Any) -> ProgramSettings:
        """A copy with ``changes`` applied, validated as a whole."""
        for name in ("earn_rate", "point_value"):
            number = changes.get(name)
            if isinstance(number, Decimal) and number.is_finite():
                # one spelling per number: 1E+1 and 10.0 are stored as 10, -0 as 0
                changes[name] = Decimal(format(number.normalize(), "f")) + 0
        updated = replace(self, **changes)
        updated.check()
        return updated

    def check(self) -> None:
        """Raise a DomainError listing every incoherent setting."""
        problems = [*self._money_problems(), *self._validity_problems()]
        if not is_known_timezone(self.timezone):
            problems.append(
                _invalid(
                    "timezone",
                    f"{self.timezone!r} is not an IANA timezone (for example Europe/Berlin, UTC)",
                )
            )
        problems += self._threshold_problems() + self._activity_problems()
        problems += self._exchange_problems()
        if problems:
            raise DomainError(problems)

    def _money_problems(self) -> list[FieldProblem]:
        problems = []
        if not is_known_currency(self.currency):
            problems.append(
                FieldProblem(
                    ("currency_code",),
                    ErrorCode.UNKNOWN_CURRENCY,
                    f"{self.currency!r} is not an ISO 4217 currency code",
                )
            )
        if not self.earn_rate.is_finite() or not Decimal(0) <= self.earn_rate <= MAX_EARN_RATE:
            problems.append(
                _invalid("earn_rate", f"must be between 0 and {MAX_EARN_RATE} points per 1.00")
            )
        elif self.earn_rate.as_tuple().exponent < -4:  # type: ignore[operator]
            problems.append(_invalid("earn_rate", "may have at most 4 decimal places"))
        if not is_known_locale(self.locale):
            problems.append(
                _invalid("locale", f"{self.locale!r} is not a locale (for example en, de_DE)")
            )
        value = self.point_value
        if value is not None and (
            not value.is_finite()
            or not Decimal(0) < value <= MAX_POINT_VALUE
            or value.as_tuple().exponent < -6  # type: ignore[operator]
        ):
            problems.append(
                _invalid(
                    "point_value",
                    f"money per point: above 0, at most {MAX_POINT_VALUE}, 6 decimal places",
                )
            )
        return problems

    def _validity_problems(self) -> list[FieldProblem]:
        problems = []
        if self.validity_policy is ValidityPolicy.NONE:
            if self.validity_days is not None:
                problems.append(_invalid("validity_days", "must be empty when points never expire"))
        elif self.validity_days is None or not 1 <= self.validity_days <= 36_500:
            problems.append(_invalid("validity_days", "must be 1 to 36500 days when points expire"))
        days = self.expiry_warning_days
        if len(days) > MAX_WARNING_STEPS:
            problems.append(
                _invalid("expiry_warning_days", f"at most {MAX_WARNING_STEPS} steps are allowed")
            )
        if any(not 1 <= d <= 3650 for d in days) or len(set(days)) != len(days):
            problems.append(
                _invalid("expiry_warning_days", "steps must be distinct numbers from 1 to 3650")
            )
        if days and self.validity_policy is ValidityPolicy.NONE:
            problems.append(
                _invalid(
                    "expiry_warning_days", "warnings need a validity policy that expires points"
                )
            )
        return problems

    def _threshold_problems(self) -> list[FieldProblem]:
        # Checked even while the reward is off: the settings must stay displayable,
        # and switching it on later must not meet stored nonsense.
        reward = self.threshold_reward
        path = "threshold_reward"
        problems = [
            _invalid(path, "must be a finite number", name)
            for name, number in (
                ("value", reward.value),
                ("minimum_order_value", reward.minimum_order_value),
            )
            if not number.is_finite()
        ]
        if problems:
            return problems
        if not 1 <= reward.points <= MAX_POINTS_PER_EVENT:
            problems.append(_invalid(path, f"points must be 1 to {MAX_POINTS_PER_EVENT}", "points"))
        if reward.value_type is DiscountValueType.PERCENT and not 0 < reward.value <= 100:
            problems.append(_invalid(path, "a percentage must be above 0 and at most 100", "value"))
        if reward.value_type is DiscountValueType.FIXED_AMOUNT:
            problems += _money_amount_problems(reward.value, self.currency, (path, "value"))
        if reward.minimum_order_value < 0:
            problems.append(_invalid(path, "must not be negative", "minimum_order_value"))
        else:
            problems += _money_amount_problems(
                reward.minimum_order_value,
                self.currency,
                (path, "minimum_order_value"),
                zero_ok=True,
            )
        if not 1 <= reward.validity_days <= 3650:
            problems.append(_invalid(path, "must be 1 to 3650 days", "validity_days"))
        return problems

    def _activity_problems(self) -> list[FieldProblem]:
        problems = []
        for name in ("newsletter_signup_points", "product_review_points", "referral_points"):
            if not 0 <= getattr(self, name) <= MAX_POINTS_PER_EVENT:
                problems.append(_invalid(name, f"must be 0 to {MAX_POINTS_PER_EVENT} points"))
        cap = self.referral_monthly_cap
        if cap is not None and not 1 <= cap <= MAX_REFERRALS_PER_MONTH:
            problems.append(
                _invalid(
                    "referral_monthly_cap",
                    f"must be 1 to {MAX_REFERRALS_PER_MONTH} friends, or null for no cap",
                )
            )
        if len(self.custom_activities) > MAX_CUSTOM_ACTIVITIES:
            problems.append(
                _invalid("custom_activities", f"at most {MAX_CUSTOM_ACTIVITIES} are allowed")
            )
        seen: set[str] = set()
        for index, activity in enumerate(self.custom_activities):
            problems += _custom_activity_problems(activity, str(index), seen)
            seen.add(activity.code)
        return problems

    def _exchange_problems(self) -> list[FieldProblem]:
        problems = []
        if len(self.exchange_customer_groups) > 50 or any(
            not EXCHANGE_NAME.match(g) for g in self.exchange_customer_groups
        ):
            problems.append(
                _invalid(
                    "exchange_customer_groups", "up to 50 group names (letters, digits, _ . : -)"
                )
            )
        if len(self.exchange_categories) > 200 or any(
            not 0 < len(c) <= 200 or c != c.strip("/ ") for c in self.exchange_categories
        ):
            problems.append(
                _invalid("exchange_categories", "up to 200 category paths like home/kitchen")
            )
        return problems

    def custom_activity(self, code: str) -> CustomActivity | None:
        """The site's own activity with this code, if it defines one."""
        return next((a for a in self.custom_activities if a.code == code), None)


@cache
def _timezone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def is_known_timezone(name: str) -> bool:
    """Whether ``name`` is an IANA timezone name, such as Europe/Berlin or UTC."""
    return name == "UTC" or name in _timezone_names()


@cache
def site_zone(name: str) -> ZoneInfo:
    """The zone of an IANA name; UTC for a name this machine does not know."""
    return ZoneInfo(name) if is_known_timezone(name) else ZoneInfo("UTC")


def _custom_activity_problems(
    activity: CustomActivity, index: str, seen: set[str]
) -> list[FieldProblem]:
    path = ("custom_activities", index)
    problems = []
    if not ACTIVITY_CODE.match(activity.code):
        problems.append(
            FieldProblem(
                (*path, "code"),
                ErrorCode.INVALID_VALUE,
                "codes are 2-40 characters of A-Z, 0-9 and _, starting with a letter",
            )
        )
    elif activity.code in BUILT_IN_ACTIVITIES:
        problems.append(
            FieldProblem(
                (*path, "code"), ErrorCode.DUPLICATE, f"{activity.code} is a built-in activity"
            )
        )
    elif activity.code in seen:
        problems.append(
            FieldProblem((*path, "code"), ErrorCode.DUPLICATE, f"{activity.code} is listed twice")
        )
    if not activity.name.strip() or len(activity.name) > 200:
        problems.append(
            FieldProblem((*path, "name"), ErrorCode.INVALID_VALUE, "must be 1-200 characters")
        )
    if not 1 <= activity.points <= MAX_POINTS_PER_EVENT:
        problems.append(
            FieldProblem(
                (*path, "points"),
                ErrorCode.INVALID_VALUE,
                f"must be 1 to {MAX_POINTS_PER_EVENT} points",
            )
        )
    if activity.daily_cap is not None and activity.daily_cap < 1:
        problems.append(
            FieldProblem((*path, "daily_cap"), ErrorCode.INVALID_VALUE, "must be at least 1")
        )
    return problems


def _money_amount_problems(
    value: Decimal, currency: str, path: tuple[str, ...], *, zero_ok: bool = False
) -> list[FieldProblem]:
    if not is_known_currency(currency):
        return []
    if value < 0 or (value == 0 and not zero_ok):
        return [FieldProblem(path, ErrorCode.INVALID_VALUE, "must be above 0")]
    places = currency_exponent(currency)
    if value.as_tuple().exponent < -places:  # type: ignore[operator]
        return [
            FieldProblem(
                path, ErrorCode.INVALID_VALUE, f"{currency} amounts have {places} decimal places"
            )
        ]
    return []


def _invalid(head: str, message: str, *rest: str) -> FieldProblem:
    return FieldProblem((head, *rest), ErrorCode.INVALID_VALUE, message)
