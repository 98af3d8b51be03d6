"""Checks of a basket before it is priced, and the scope helpers they share."""

from __future__ import annotations

from collections.abc import Sequence

from loyalty_gql.domain.checkout.types import (
    MAX_LINES,
    MAX_QUANTITY,
    MAX_UNIT_PRICE_MINOR,
    BasketLine,
)
from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem


def check_basket(lines: Sequence[BasketLine]) -> None:
    """Refuse a basket the calculator cannot price: too many lines, duplicate line ids,
    quantities or prices out of range."""
    problems: list[FieldProblem] = []
    if not lines:
        problems.append(_problem(("lines",), "a basket has at least one line"))
    if len(lines) > MAX_LINES:
        problems.append(_problem(("lines",), f"at most {MAX_LINES} lines"))
    seen: set[str] = set()
    for index, line in enumerate(lines):
        where = ("lines", str(index))
        if line.line_id in seen:
            problems.append(
                FieldProblem(
                    (*where, "line_id"),
                    ErrorCode.DUPLICATE,
                    f"line {line.line_id!r} appears twice: give each line its own lineId",
                )
            )
        seen.add(line.line_id)
        if not 0 < len(line.line_id) <= 100 or not 0 < len(line.product_id) <= 100:
            problems.append(_problem((*where, "product_id"), "ids are 1-100 characters"))
        if len(line.category) > 1000:
            problems.append(_problem((*where, "category"), "at most 1000 characters"))
        if not 1 <= line.quantity <= MAX_QUANTITY:
            problems.append(_problem((*where, "quantity"), f"must be 1 to {MAX_QUANTITY}"))
        if not 0 <= line.unit_price <= MAX_UNIT_PRICE_MINOR:
            problems.append(_problem((*where, "unit_price"), "must be 0 or more"))
    if problems:
        raise DomainError(problems)


def _problem(path: tuple[str, ...], message: str) -> FieldProblem:
    return FieldProblem(path, ErrorCode.INVALID_VALUE, message)


# -- scope ------------------------------------------------------------------------------


def category_prefixes(category: str) -> list[str]:
    """ "a/b/c" -> ["a", "a/b", "a/b/c"]: every path an offer may target for this line."""
    parts = [p for p in category.strip("/").split("/") if p]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]
