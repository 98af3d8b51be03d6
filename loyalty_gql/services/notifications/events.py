"""The events the shop is told about, the variables each offers, and the default templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EVENTS: dict[str, str] = {
    "REWARD_EARNED": "The customer reached the points threshold and got a voucher.",
    "POINTS_EXPIRING": "Some of the customer's points expire soon.",
    "POINTS_EXPIRED": "Some of the customer's points expired.",
    "TIER_CHANGED": "The customer moved to another tier.",
    "OFFER_ASSIGNED": "An offer was assigned to the customer.",
    "VOUCHER_ISSUED": "The customer bought a voucher with points.",
    "EXCHANGE_CONFIRMED": "A product the customer exchanged points for was handed over.",
    "ORDER_RECORDED": "An order of the customer was recorded.",
    "ORDER_COMPLETED": "An order of the customer was completed; its points are available.",
    "ORDER_CANCELLED": "An order of the customer was cancelled.",
    "ORDER_REFUNDED": "An order of the customer was refunded, in part or in full.",
    "CAMPAIGN_POINTS_EARNED": "A campaign gave the customer points (pending until the order "
    "completes where the site says so), or a voucher.",
    "LEADERBOARD_REWARD": "The customer won a leaderboard prize at the end of its period.",
    "BADGE_EARNED": "The customer earned a badge (a challenge, an admin or a campaign).",
    "CHALLENGE_PROGRESS": "The customer passed a milestone of a challenge.",
    "CHALLENGE_COMPLETED": "The customer completed a challenge and got its rewards.",
}


VARIABLES: dict[str, str] = {
    "customer_name": "The customer's name (empty when unknown).",
    "customer_email": "The customer's email address (empty when unknown).",
    "site_name": "The shop's name.",
    "event": "The event's kind, for example REWARD_EARNED.",
    "points": "Points the event is about: earned, spent, expiring or expired.",
    "voucher_code": "The voucher's code (REWARD_EARNED, VOUCHER_ISSUED).",
    "voucher_value": "What the voucher takes off: a percentage (10%) or an amount of money.",
    "minimum_order_value": "The smallest order the voucher applies to, as money.",
    "expiry_date": "When the voucher or the points expire (or expired), as a date.",
    "tier_name": "The customer's new tier (TIER_CHANGED; empty when they left every tier).",
    "previous_tier_name": "The customer's previous tier (TIER_CHANGED).",
    "offer_name": "The offer's name (OFFER_ASSIGNED, VOUCHER_ISSUED).",
    "product_id": "The product handed over (EXCHANGE_CONFIRMED).",
    "order_id": "The shop's order number (ORDER_* events).",
    "order_total": "The order's total, as money (ORDER_* events).",
    "points_taken_back": "Points taken back from the order (ORDER_CANCELLED, ORDER_REFUNDED).",
    "campaign_name": "The campaign's name (CAMPAIGN_POINTS_EARNED).",
    "leaderboard_name": "The leaderboard's name (LEADERBOARD_REWARD).",
    "rank": "The customer's rank on the leaderboard (LEADERBOARD_REWARD).",
    "badge_name": "The badge's name (BADGE_EARNED).",
    "challenge_name": "The challenge's name (CHALLENGE_PROGRESS, CHALLENGE_COMPLETED).",
    "progress_value": "Where the customer stands in the challenge (CHALLENGE_PROGRESS).",
    "progress_target": "The challenge's target (CHALLENGE_PROGRESS).",
}


SUBJECT_MAX = 300


BODY_MAX = 50_000


OUTPUT_MAX = 200_000  # the most any operator inside a template may build


RANGE_MAX = 1_000


PARTS: dict[str, int] = {  # attribute -> longest allowed
    "email_subject": SUBJECT_MAX,
    "email_html": BODY_MAX,
    "email_text": BODY_MAX,
    "push_title": SUBJECT_MAX,
    "push_body": BODY_MAX,
}


@dataclass(frozen=True, slots=True)
class Template:
    """The sources of one event's messages (jinja2)."""

    email_subject: str
    email_html: str
    email_text: str
    push_title: str
    push_body: str


@dataclass(frozen=True, slots=True)
class Rendered:
    """One event's messages, ready to send."""

    email_subject: str
    email_html: str
    email_text: str
    push_title: str
    push_body: str


def _default(subject: str, lines: list[str], push: str | None = None) -> Template:
    text = "\n\n".join(["Hello {{ customer_name or 'there' }},", *lines, "{{ site_name }}"])
    html = "".join(
        [
            "<p>Hello {{ customer_name or 'there' }},</p>\n",
            *(f"<p>{line}</p>\n" for line in lines),
            "<p>{{ site_name }}</p>\n",
        ]
    )
    return Template(
        email_subject=subject,
        email_html=html,
        email_text=text + "\n",
        push_title=subject,
        push_body=push if push is not None else lines[0],
    )


DEFAULT_TEMPLATES: dict[str, Template] = {
    "REWARD_EARNED": _default(
        "You earned a reward at {{ site_name }}",
        [
            "You collected {{ points }} points and earned a voucher worth {{ voucher_value }}.",
            "Your code: {{ voucher_code }}",
            "{% if minimum_order_value %}It applies to orders from {{ minimum_order_value }}. "
            "{% endif %}{% if expiry_date %}Use it by {{ expiry_date }}.{% endif %}",
        ],
        "Your voucher worth {{ voucher_value }}: {{ voucher_code }}",
    ),
    "POINTS_EXPIRING": _default(
        "Your points at {{ site_name }} expire soon",
        [
            "{{ points }} of your points are valid until {{ expiry_date }}.",
            "Use them by then so they are not lost.",
        ],
    ),
    "POINTS_EXPIRED": _default(
        "Some of your points at {{ site_name }} expired",
        ["{{ points }} of your points expired on {{ expiry_date }}."],
    ),
    "TIER_CHANGED": _default(
        "Your tier at {{ site_name }} changed",
        [
            "{% if tier_name %}You are now in {{ tier_name }}.{% else %}"
            "You are no longer in {{ previous_tier_name }}.{% endif %}",
        ],
    ),
    "OFFER_ASSIGNED": _default(
        "A new offer for you at {{ site_name }}",
        ["You have a new offer: {{ offer_name }}."],
    ),
    "VOUCHER_ISSUED": _default(
        "Your voucher from {{ site_name }}",
        [
            "You exchanged {{ points }} points for {{ offer_name }}.",
            "Your code: {{ voucher_code }}",
        ],
        "Your voucher for {{ offer_name }}: {{ voucher_code }}",
    ),
    "EXCHANGE_CONFIRMED": _default(
        "Your exchange at {{ site_name }} was handed over",
        ["The product you exchanged your points for was handed over to you."],
    ),
    "ORDER_RECORDED": _default(
        "Thank you for your order {{ order_id }}",
        ["We received your order {{ order_id }} of {{ order_total }}."],
    ),
    "ORDER_COMPLETED": _default(
        "Your order {{ order_id }} is complete",
        [
            "Your order {{ order_id }} is complete."
            "{% if points and points != '0' %} {{ points }} points were added to your "
            "account.{% endif %}",
        ],
    ),
    "ORDER_CANCELLED": _default(
        "Your order {{ order_id }} was cancelled",
        [
            "Your order {{ order_id }} of {{ order_total }} was cancelled."
            "{% if points_taken_back and points_taken_back != '0' %} {{ points_taken_back }} "
            "points were taken back.{% endif %}",
        ],
    ),
    "ORDER_REFUNDED": _default(
        "Your order {{ order_id }} was refunded",
        [
            "Your order {{ order_id }} was refunded."
            "{% if points_taken_back and points_taken_back != '0' %} {{ points_taken_back }} "
            "points were taken back.{% endif %}",
        ],
    ),
    "CAMPAIGN_POINTS_EARNED": _default(
        "{{ campaign_name }} at {{ site_name }}",
        [
            "{% if voucher_code %}{{ campaign_name }} gave you a voucher: {{ voucher_code }}."
            "{% else %}{{ campaign_name }} gave you {{ points }} points.{% endif %}",
        ],
    ),
    "LEADERBOARD_REWARD": _default(
        "You won a prize at {{ site_name }}",
        [
            "You finished at rank {{ rank }} on {{ leaderboard_name }}."
            "{% if points and points != '0' %} {{ points }} points were added to your "
            "account.{% endif %}",
            "{% if voucher_code %}Your voucher code: {{ voucher_code }}{% endif %}",
        ],
    ),
    "BADGE_EARNED": _default(
        "You earned a badge at {{ site_name }}",
        ["You earned the badge {{ badge_name }}."],
    ),
    "CHALLENGE_PROGRESS": _default(
        "Keep going at {{ site_name }}",
        ["You are at {{ progress_value }} of {{ progress_target }} in {{ challenge_name }}."],
    ),
    "CHALLENGE_COMPLETED": _default(
        "You completed {{ challenge_name }} at {{ site_name }}",
        [
            "You completed {{ challenge_name }}."
            "{% if points and points != '0' %} {{ points }} points were added to your "
            "account.{% endif %}",
        ],
    ),
}


# a payload with every key any event carries, to render samples and to check templates
SAMPLE_PAYLOAD: dict[str, Any] = {
    "points": 500,
    "voucher_code": "SAMPLE-CODE1",
    "value_type": "PERCENT",
    "value": "10",
    "minimum_order_value": "20",
    "expires_at": "2026-03-31T23:59:00+00:00",
    "from_tier": "Silver",
    "to_tier": "Gold",
    "offer_name": "Spring sale",
    "product_id": "SKU-1",
    "order_id": "1001",
    "total": "59.90",
    "points_taken_back": 60,
    "campaign_name": "Double points on shoes",
    "leaderboard_name": "Top of the month",
    "rank": 2,
    "badge_name": "Explorer",
    "challenge_name": "Three orders in 30 days",
    "progress_value": 2,
    "progress_target": 3,
}


SAMPLE_CUSTOMER = ("Alex Example", "alex@example.com")
