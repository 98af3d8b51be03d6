"""Whether a candidate offer may apply at all, before any combining: one reason each."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from loyalty_gql.domain.checkout.types import Candidate, Origin, Reason, Refusal, Shopper


def refusal_of(  # noqa: PLR0911 - one return per reason, checked in order
    candidate: Candidate, shopper: Shopper | None, subtotal: int, now: datetime, exponent: int
) -> Refusal | None:
    terms = candidate.terms
    if terms.valid_from is not None and now < terms.valid_from:
        return Refusal(Reason.NOT_STARTED, "the offer has not started yet")
    if terms.valid_until is not None and now >= terms.valid_until:
        return Refusal(Reason.EXPIRED, "the offer has ended")
    if shopper is None:
        if terms.customer_groups or terms.tier_ids or terms.max_uses_per_customer:
            return Refusal(Reason.NOT_ELIGIBLE, "sign in: the offer is for registered customers")
    else:
        if terms.customer_groups and shopper.groups.isdisjoint(terms.customer_groups):
            return Refusal(Reason.NOT_ELIGIBLE, "the offer is for other customer groups")
        if terms.tier_ids and shopper.tier_id not in terms.tier_ids:
            return Refusal(Reason.NOT_ELIGIBLE, "the offer is for other tiers")
    if candidate.counts_use:
        if terms.max_uses is not None and candidate.uses >= terms.max_uses:
            return Refusal(Reason.LIMIT_REACHED, "the offer has been used up")
        limit = terms.max_uses_per_customer
        if limit is not None and candidate.customer_uses >= limit:
            return Refusal(Reason.LIMIT_REACHED, "the customer has used this offer up")
    if terms.minimum_order_value and subtotal < minor_units(terms.minimum_order_value, exponent):
        return Refusal(
            Reason.BELOW_MINIMUM, f"the basket must come to at least {terms.minimum_order_value}"
        )
    return None


def minor_units(amount: Decimal, exponent: int) -> int:
    return int(amount.scaleb(exponent).to_integral_value(rounding=ROUND_FLOOR))


def waiting_card(candidate: Candidate) -> bool:
    """A punchcard that has not collected its punches yet: it gives nothing this time."""
    return candidate.origin is Origin.PUNCHCARD and candidate.punches < (
        candidate.terms.punches_required or 0
    )
