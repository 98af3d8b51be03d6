"""Whether a candidate offer may apply at all, before any combining: one reason each.

The rules are the domain's one list (`loyalty_gql.domain.eligibility`, shared with
redemption and My offers); this module says their answer in checkout's words.
"""

from __future__ import annotations

from datetime import datetime

from loyalty_gql.domain.checkout.types import Candidate, Origin, Reason, Refusal, Shopper
from loyalty_gql.domain.eligibility import MESSAGES, Rule, explain, minor_units, offer_refusal
from loyalty_gql.domain.offers import OfferTerms

__all__ = ["REASONS", "checkout_refusal", "minor_units", "refusal_of", "waiting_card"]

# Checkout's vocabulary for the rules it asks (audience rules are all NOT_ELIGIBLE).
REASONS = {
    Rule.NOT_STARTED: Reason.NOT_STARTED,
    Rule.ENDED: Reason.EXPIRED,
    Rule.SIGN_IN: Reason.NOT_ELIGIBLE,
    Rule.OTHER_GROUPS: Reason.NOT_ELIGIBLE,
    Rule.OTHER_TIERS: Reason.NOT_ELIGIBLE,
    Rule.NO_BADGE: Reason.NOT_ELIGIBLE,
    Rule.USED_UP: Reason.LIMIT_REACHED,
    Rule.USED_UP_BY_CUSTOMER: Reason.LIMIT_REACHED,
    Rule.BELOW_MINIMUM: Reason.BELOW_MINIMUM,
}
# One refusal per rule whose words have no numbers, made once: looked up by the
# member's plain _value_ string (hashing an Enum member runs Python code).
_REFUSALS = {
    rule._value_: Refusal(reason, MESSAGES[rule])
    for rule, reason in REASONS.items()
    if rule is not Rule.BELOW_MINIMUM
}


def refusal_of(
    candidate: Candidate, shopper: Shopper | None, subtotal: int, now: datetime, exponent: int
) -> Refusal | None:
    """Why the candidate cannot apply to a basket of ``subtotal`` (minor units), or None."""
    rule = offer_refusal(candidate, shopper, now, subtotal, exponent)
    return None if rule is None else checkout_refusal(rule, candidate.terms)


def checkout_refusal(rule: Rule, terms: OfferTerms) -> Refusal:
    """The rule's answer in checkout's words."""
    return _REFUSALS.get(rule._value_) or Refusal(REASONS[rule], explain(rule, terms))


def waiting_card(candidate: Candidate) -> bool:
    """A punchcard that has not collected its punches yet: it gives nothing this time."""
    return candidate.origin is Origin.PUNCHCARD and candidate.punches < (
        candidate.terms.punches_required or 0
    )
