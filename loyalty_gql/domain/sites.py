"""Rules for a site (one shop) served by the deployment."""

from __future__ import annotations

import re

from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem

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
