"""A basket being priced: its lines, what is left of each, and how money spreads over them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from loyalty_gql.domain.checkout.checks import category_prefixes
from loyalty_gql.domain.checkout.types import (
    POINTS_KEY,
    BasketLine,
    Candidate,
    LineDiscount,
    LineQuote,
    Origin,
    RejectedOffer,
)
from loyalty_gql.domain.offers import OfferScope


class BasketState:
    """Lines and what is left of each while offers are applied."""

    def __init__(self, lines: Sequence[BasketLine], exponent: int) -> None:
        self.lines = sorted(lines, key=lambda line: line.line_id)
        self.exponent = exponent
        self.left = {line.line_id: line.amount for line in lines}
        self.total_left = sum(self.left.values())
        self.position = {line.line_id: n for n, line in enumerate(self.lines)}
        self.by_product: dict[str, list[BasketLine]] = {}
        self.by_category: dict[str, list[BasketLine]] = {}
        for line in self.lines:
            self.by_product.setdefault(line.product_id, []).append(line)
            for prefix in category_prefixes(line.category):
                self.by_category.setdefault(prefix, []).append(line)
        self._scope: dict[str, list[BasketLine]] = {}
        self.cuts: dict[str, list[LineDiscount]] = {line.line_id: [] for line in lines}
        self.member: dict[str, int] = dict.fromkeys(self.left, 0)
        self.duplicates: list[RejectedOffer] = []

    @property
    def subtotal(self) -> int:
        return sum(line.amount for line in self.lines)

    def in_scope(self, candidate: Candidate) -> list[BasketLine]:
        """The lines the candidate's scope covers, by line id (looked up, then kept)."""
        found = self._scope.get(candidate.key)
        if found is not None:
            return found
        terms = candidate.terms
        if terms.scope is OfferScope.ORDER:
            found = self.lines
        else:
            lookup = self.by_product if terms.scope is OfferScope.PRODUCT else self.by_category
            found = [line for target in terms.targets for line in lookup.get(target, ())]
            if len(found) > 1:  # several targets may name one line; keep the basket's order
                unique = {line.line_id: line for line in found}
                found = sorted(unique.values(), key=lambda line: self.position[line.line_id])
        self._scope[candidate.key] = found
        return found

    def take(self, candidate: Candidate, cut: Mapping[str, int]) -> None:
        for line_id, amount in cut.items():
            if amount <= 0:
                continue
            self.left[line_id] -= amount
            self.total_left -= amount
            self.cuts[line_id].append(LineDiscount(candidate.key, candidate.offer_id, amount))
            if candidate.origin is Origin.CLUBCARD:
                self.member[line_id] += amount

    def take_points(self, cut: Mapping[str, int]) -> None:
        for line_id, amount in cut.items():
            self.left[line_id] -= amount
            self.total_left -= amount
            self.cuts[line_id].append(LineDiscount(POINTS_KEY, None, amount))

    def quote_line(self, line: BasketLine) -> LineQuote:
        return LineQuote(
            line=line,
            discounts=tuple(self.cuts[line.line_id]),
            member_discount=self.member[line.line_id],
            final=self.left[line.line_id],
            earns_points=not line.exclude_from_points,
        )


def spread(total: int, weights: Mapping[str, int], caps: Mapping[str, int]) -> dict[str, int]:
    """Split ``total`` over lines in proportion to ``weights`` by largest remainder,
    never giving a line more than its cap; what a capped line cannot take goes to
    the others. Ties go to the smaller line id, so the result ignores line order."""
    result = dict.fromkeys(weights, 0)
    open_lines = sorted(k for k in weights if caps[k] > 0)
    rest = total
    while rest > 0 and open_lines:
        weight_sum = sum(weights[k] for k in open_lines)
        if weight_sum <= 0:
            weight_sum = len(open_lines)
            shares_of = dict.fromkeys(open_lines, 1)
        else:
            shares_of = {k: weights[k] for k in open_lines}
        shares = {k: rest * shares_of[k] // weight_sum for k in open_lines}
        leftover = rest - sum(shares.values())
        by_remainder = sorted(open_lines, key=lambda k: (-(rest * shares_of[k] % weight_sum), k))
        for k in by_remainder[:leftover]:
            shares[k] += 1
        overflow = 0
        for k in open_lines:
            room = caps[k] - result[k]
            give = min(room, shares[k])
            result[k] += give
            overflow += shares[k] - give
        rest = overflow
        open_lines = [k for k in open_lines if caps[k] - result[k] > 0]
    return {k: v for k, v in result.items() if v > 0}
