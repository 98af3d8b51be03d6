"""Rules for a customer's profile as the shop registers it."""

from __future__ import annotations

import calendar
import re
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.unset import UNSET, Unset

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
MAX_GROUPS = 50
MIN_BIRTH_YEAR = 1900
MAX_BIRTH_YEAR = 2100
EARLIEST_ZONE_AHEAD = timedelta(hours=14)
"""How far ahead of UTC a calendar can be (Kiribati, UTC+14)."""


def latest_date(now: datetime) -> date:
    """The latest calendar date somewhere on Earth at ``now`` (a birth date may be today
    wherever the customer is, and no later)."""
    return (now + EARLIEST_ZONE_AHEAD).date()


class EnrollmentKind(Enum):
    """What an enrolment event records."""

    ENROLLED = "ENROLLED"
    """The customer joined the program."""
    LEFT = "LEFT"
    """The customer left it."""


@dataclass(frozen=True, slots=True)
class BirthDate:
    """A customer's birth date: month and day, the year optional (29 February allowed;
    its birthday is kept on 28 February in other years, see domain.campaigns.birthday_on)."""

    month: int
    day: int
    year: int | None = None

    def check(self, field: str = "birth_date", *, today: date | None = None) -> None:
        """Raise a DomainError when the date does not exist, or (given ``today``, the
        latest date anywhere: :func:`latest_date`) has a year and is after it."""
        problems: list[FieldProblem] = []
        year_ok = self.year is None or MIN_BIRTH_YEAR <= self.year <= MAX_BIRTH_YEAR
        if not year_ok:
            problems.append(
                FieldProblem(
                    (field, "year"), ErrorCode.INVALID_VALUE,
                    f"must be {MIN_BIRTH_YEAR}-{MAX_BIRTH_YEAR}",
                )
            )  # fmt: skip
        if not 1 <= self.month <= 12:
            problems.append(FieldProblem((field, "month"), ErrorCode.INVALID_VALUE, "must be 1-12"))
        else:
            # without a year any day some year has is fine: 29 February is (2000 leaps)
            days = calendar.monthrange(self.year if year_ok and self.year else 2000, self.month)[1]
            if not 1 <= self.day <= days:
                problems.append(
                    FieldProblem((field, "day"), ErrorCode.INVALID_VALUE, f"must be 1-{days}")
                )
        born = None if problems or self.year is None else date(self.year, self.month, self.day)
        if born is not None and today is not None and born > today:
            problems.append(
                FieldProblem((field, "year"), ErrorCode.INVALID_VALUE, "is in the future")
            )
        if problems:
            raise DomainError(problems)


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    """What the shop tells us about one of its customers."""

    external_id: str
    email: str | None = None
    name: str | None = None
    groups: tuple[str, ...] = ()
    marketing_consent: bool = False
    birth_date: BirthDate | None = None

    def normalised(self) -> CustomerProfile:
        """The profile with emails lower-cased, blanks dropped and groups de-duplicated."""
        email = self.email.strip().lower() if self.email else None
        name = self.name.strip() if self.name else None
        return CustomerProfile(
            external_id=self.external_id.strip(),
            email=email or None,
            name=name or None,
            groups=tuple(sorted({g.strip() for g in self.groups})),
            marketing_consent=self.marketing_consent,
            birth_date=self.birth_date,
        )

    def check(self, *, today: date | None = None) -> None:
        """Raise a DomainError listing every invalid field (a birth date after ``today``
        among them, when given)."""
        problems: list[FieldProblem] = []
        if not 1 <= len(self.external_id) <= 128:
            problems.append(_invalid("external_id", "must be 1-128 characters"))
        if self.email is not None and (len(self.email) > 254 or not EMAIL.match(self.email)):
            problems.append(_invalid("email", f"{self.email!r} is not an email address"))
        if self.name is not None and len(self.name) > 200:
            problems.append(_invalid("name", "must be at most 200 characters"))
        if len(self.groups) > MAX_GROUPS:
            problems.append(_invalid("groups", f"at most {MAX_GROUPS} groups are allowed"))
        bad = [g for g in self.groups if not GROUP.match(g)]
        if bad:
            problems.append(
                _invalid("groups", f"invalid group names {bad}: use letters, digits, _ . : -")
            )
        if self.birth_date is not None:
            try:
                self.birth_date.check(today=today)
            except DomainError as error:
                problems += error.problems
        if problems:
            raise DomainError(problems)


@dataclass(frozen=True, slots=True)
class CustomerChanges:
    """A partial profile update: UNSET fields keep their value, None clears one."""

    external_id: str | Unset = UNSET
    email: str | Unset | None = UNSET
    name: str | Unset | None = UNSET
    groups: tuple[str, ...] | Unset = UNSET
    marketing_consent: bool | Unset = UNSET
    birth_date: BirthDate | Unset | None = UNSET

    def given(self) -> dict[str, Any]:
        """The fields the update names, by name."""
        named = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: value for name, value in named.items() if value is not UNSET}

    def fingerprint(self) -> dict[str, Any]:
        """What a retry must repeat: the fields named, a birth date as its parts."""
        given = self.given()
        if isinstance(given.get("birth_date"), BirthDate):
            given["birth_date"] = asdict(given["birth_date"])
        return given

    def applied_to(self, profile: CustomerProfile) -> CustomerProfile:
        """``profile`` with these changes, normalised (not yet checked)."""
        return replace(profile, **self.given()).normalised()


def birthdays_on(today: date) -> tuple[tuple[int, int], ...]:
    """The (month, day) birth dates whose birthday is ``today``: the day itself, and
    29 February on 28 February of a year without one (as domain.campaigns.birthday_on)."""
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        return ((2, 28), (2, 29))
    return ((today.month, today.day),)


def _invalid(field: str, message: str) -> FieldProblem:
    return FieldProblem((field,), ErrorCode.INVALID_VALUE, message)
