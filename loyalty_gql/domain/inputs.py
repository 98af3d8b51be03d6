"""What any input value must be before a use case sees it: storable and safe to compute with.

These rules hold for every argument of every operation, whatever it means: a string
that PostgreSQL cannot store (NUL) or that is not valid Unicode (an unpaired
surrogate), a decimal that is not finite or too large for any amount we keep, a
date or time whose arithmetic would leave the calendar (or, for a time, one
without a zone, which cannot be compared with ours). The meaning of each field
(lengths, ranges, formats) stays with its own area's rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal

from loyalty_gql.domain.errors import ErrorCode, FieldProblem

FIRST_YEAR = 1900
LAST_YEAR = 9000
MAX_DECIMAL = Decimal(10) ** 15
MIN_DECIMAL_EXPONENT = -12
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def input_problems(value: object, path: tuple[str, ...]) -> Iterator[FieldProblem]:
    """Every problem of ``value`` (nested lists and input objects included), with its path."""
    if isinstance(value, str):
        if UNSTORABLE.search(value):
            yield _invalid(path, "must not contain NUL or unpaired surrogate characters")
    elif isinstance(value, bool | int):
        return
    elif isinstance(value, Decimal):
        yield from _decimal_problems(value, path)
    elif isinstance(value, datetime):
        yield from _datetime_problems(value, path)
    elif isinstance(value, date):
        if not FIRST_YEAR <= value.year <= LAST_YEAR:
            yield _invalid(path, f"must be a date in the years {FIRST_YEAR} to {LAST_YEAR}")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from input_problems(item, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from input_problems(item, (*path, str(index)))


def _decimal_problems(value: Decimal, path: tuple[str, ...]) -> Iterator[FieldProblem]:
    if not value.is_finite():
        yield _invalid(path, "must be a finite number")
    elif abs(value) >= MAX_DECIMAL:
        yield _invalid(path, f"must be less than {MAX_DECIMAL:,.0f} in size")
    elif value != 0 and int(value.normalize().as_tuple().exponent) < MIN_DECIMAL_EXPONENT:
        yield _invalid(path, f"may have at most {-MIN_DECIMAL_EXPONENT} decimal places")


def _datetime_problems(value: datetime, path: tuple[str, ...]) -> Iterator[FieldProblem]:
    if value.tzinfo is None or value.utcoffset() is None:
        yield _invalid(path, "needs a time zone, for example 2026-12-01T09:00:00Z or +01:00")
        return
    try:
        year = value.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not FIRST_YEAR <= year <= LAST_YEAR:
        yield _invalid(path, f"must be a time in the years {FIRST_YEAR} to {LAST_YEAR}")


def _invalid(path: tuple[str, ...], message: str) -> FieldProblem:
    return FieldProblem(path, ErrorCode.INVALID_VALUE, message)
