"""Rules for a customer's profile as the shop registers it."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from enum import Enum
from typing import Any

from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.unset import UNSET, Unset

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
MAX_GROUPS = 50


class EnrollmentKind(Enum):
    """What an enrolment event records."""

    ENROLLED = "ENROLLED"
    """The customer joined the program."""
    LEFT = "LEFT"
    """The customer left it."""


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    """What the shop tells us about one of its customers."""

    external_id: str
    email: str | None = None
    name: str | None = None
    groups: tuple[str, ...] = ()
    marketing_consent: bool = False

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
        )

    def check(self) -> None:
        """Raise a DomainError listing every invalid field."""
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

    def given(self) -> dict[str, Any]:
        """The fields the update names, by name (what a retry must repeat)."""
        named = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: value for name, value in named.items() if value is not UNSET}

    def applied_to(self, profile: CustomerProfile) -> CustomerProfile:
        """``profile`` with these changes, normalised (not yet checked)."""
        return replace(profile, **self.given()).normalised()


def _invalid(field: str, message: str) -> FieldProblem:
    return FieldProblem((field,), ErrorCode.INVALID_VALUE, message)
