"""What follows the discounts: paying with points, punchcard progress, points earned,
voucher terms."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from loyalty_gql.domain.checkout.basket import BasketState, spread
from loyalty_gql.domain.checkout.types import (
    Candidate,
    CheckoutRules,
    PointsPayment,
    PunchProgress,
    Reason,
    Refusal,
    Shopper,
)
from loyalty_gql.domain.offers import OfferTerms, OfferValueType
from loyalty_gql.domain.sites import ProgramSettings


def pay_with_points(
    state: BasketState, shopper: Shopper | None, rules: CheckoutRules, requested: int
) -> PointsPayment | None:
    if requested <= 0:
        return None

    def refused(text: str) -> PointsPayment:
        return PointsPayment(requested, 0, 0, Refusal(Reason.NOT_ELIGIBLE, text))

    if shopper is None or not shopper.earns_points:
        return refused("only enrolled customers pay with points")
    if rules.point_value is None:
        return refused("this site does not take points as payment")
    if requested > shopper.available_points:
        return refused(f"only {shopper.available_points} points are available")
    per_point = rules.point_value.scaleb(state.exponent)  # minor units per point
    left = sum(state.left.values())
    # whole points, never worth more than what is left: a remainder below one point's
    # value is paid in money
    used = min(requested, int((Decimal(left) / per_point).to_integral_value(ROUND_FLOOR)))
    amount = int((per_point * used).to_integral_value(ROUND_FLOOR))
    if used <= 0 or amount <= 0:
        return PointsPayment(requested, 0, 0, Refusal(Reason.NO_MATCHING_ITEMS, "nothing to pay"))
    weights = {k: v for k, v in state.left.items() if v > 0}
    cut = spread(amount, weights, weights)
    state.take_points(cut)
    return PointsPayment(requested, used, amount)


def punch_progress(
    candidate: Candidate,
    state: BasketState,
    reward: tuple[str, int] | None,
    eligible: bool,
) -> PunchProgress:
    """A card full before the order gives its reward and starts again; otherwise a
    qualifying order (enough items in scope) adds one punch, up to the number needed."""
    terms = candidate.terms
    required = terms.punches_required or 0
    quantity = sum(line.quantity for line in state.in_scope(candidate))
    qualifies = eligible and quantity >= terms.punch_minimum_quantity
    before = candidate.punches
    if reward is not None:
        after = before - required
    elif qualifies:
        after = max(before, min(before + 1, required))  # never lose punches
    else:
        after = before
    return PunchProgress(
        candidate=candidate,
        required=required,
        before=before,
        after=after,
        reward_line_id=reward[0] if reward else None,
        reward_amount=reward[1] if reward else 0,
    )


def order_points(
    paid_minor: int, exponent: int, settings: ProgramSettings, multiplier: Decimal
) -> int:
    paid = Decimal(paid_minor).scaleb(-exponent)
    return max(0, settings.points_rounding.apply(paid * settings.earn_rate * multiplier))


def voucher_terms(
    base: OfferTerms,
    *,
    value_type: OfferValueType,
    value: Decimal | None,
    minimum_order_value: Decimal,
    expires_at: datetime | None,
) -> OfferTerms:
    """An offer's terms as a voucher bought from it carries them: the voucher's own
    value, minimum and expiry; the offer's scope and combination settings; no
    group, tier or usage checks (those were made when it was bought)."""
    return replace(
        base,
        value_type=value_type,
        value=value,
        minimum_order_value=minimum_order_value,
        valid_from=None,
        valid_until=expires_at,
        customer_groups=(),
        tier_ids=(),
        max_uses=None,
        max_uses_per_customer=None,
    )
