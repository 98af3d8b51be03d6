"""A quote as the document the checkout query answers and an order keeps, in snake_case
(orders recorded before it was spelled so keep camelCase keys: readers accept both)."""

from __future__ import annotations

from typing import Any

from loyalty_gql.domain.campaigns import Outcome
from loyalty_gql.domain.checkout import (
    POINTS_KEY,
    Candidate,
    Quote,
)
from loyalty_gql.domain.offers import OfferScope


def quote_document(quote: Quote, campaigns: Outcome | None = None) -> dict[str, Any]:
    """The quote as JSON-ready data: what the API shows and what an order stores."""
    payment = quote.points_payment
    return {
        **campaigns_document(campaigns),
        "currency": quote.currency,
        "subtotal": quote.subtotal,
        "discount": quote.discount,
        "total": quote.total,
        "lines": [
            {
                "line_id": q.line.line_id, "product_id": q.line.product_id,
                "category": q.line.category, "quantity": q.line.quantity,
                "unit_price": q.line.unit_price, "original": q.original,
                "member_discount": q.member_discount, "discount": q.discount, "final": q.final,
                "earns_points": q.earns_points,
                "discounts": [
                    {"key": d.key, "offer_id": d.offer_id, "amount": d.amount,
                     "points_payment": d.key == POINTS_KEY}
                    for d in q.discounts
                ],
            }
            for q in quote.lines
        ],
        "applied": [
            {**_candidate(a.candidate), "amount": a.amount, "reward_points": a.reward_points}
            for a in quote.applied
        ],
        "rejected": [
            {**_candidate(r.candidate), "reason": r.refusal.reason.value,
             "message": r.refusal.message}
            for r in quote.rejected
        ],
        "punchcards": [
            {"offer_id": p.candidate.offer_id, "name": p.candidate.terms.name,
             "required": p.required, "before": p.before, "after": p.after,
             "reward_line_id": p.reward_line_id, "reward_amount": p.reward_amount}
            for p in quote.punchcards
        ],
        "points_payment": None if payment is None else {
            "requested": payment.requested, "used": payment.used, "amount": payment.amount,
            "reason": payment.refusal.reason.value if payment.refusal else None,
            "message": payment.refusal.message if payment.refusal else None,
        },
        "points_base": quote.points_base,
        "base_points": quote.base_points,
        "reward_points": quote.reward_points,
        "points": quote.points,
    }  # fmt: skip


def campaigns_document(outcome: Outcome | None) -> dict[str, Any]:
    """What the campaigns add (each award) and why the others do not; nothing for a quote
    no campaign touched (documents of orders from before campaigns have none either)."""
    if outcome is None or not (outcome.awards or outcome.misses):
        return {}
    return {
        "campaigns": [
            {"campaign_id": a.campaign.id, "name": a.campaign.name, "points": a.points,
             "wanted": a.wanted}
            for a in outcome.awards
        ],
        "rejected_campaigns": [
            {"campaign_id": m.campaign.id, "name": m.campaign.name, "reason": m.reason.value,
             "message": m.message}
            for m in outcome.misses
        ],
        "campaign_points": outcome.points,
    }  # fmt: skip


def _candidate(candidate: Candidate) -> dict[str, Any]:
    terms = candidate.terms
    return {
        "key": candidate.key,
        "origin": candidate.origin.value,
        "offer_id": candidate.offer_id,
        "name": terms.name,
        "kind": terms.kind.value if candidate.offer_id else None,
        "scope": terms.scope.value if terms.scope is not OfferScope.ORDER else "ORDER",
        "code": candidate.code,
        "voucher_id": candidate.voucher_id,
    }
