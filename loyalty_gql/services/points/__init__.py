"""Use cases on points: grants, spends, activities, activation and reversal.

Each runs in one transaction through `run_once`, so a retry with the same
idempotency key returns the first result and writes nothing twice.
"""

from __future__ import annotations

from loyalty_gql.services.points.activities import (
    record_activity,
    referral_reward,
    reward_referral,
)
from loyalty_gql.services.points.entries import (
    MAX_REASON,
    MAX_REFERENCE,
    Participant,
    activate_points,
    earn_points,
    grant_points,
    participant,
    reverse_entry,
    spend_points,
)

__all__ = [
    "MAX_REASON",
    "MAX_REFERENCE",
    "Participant",
    "activate_points",
    "earn_points",
    "grant_points",
    "participant",
    "record_activity",
    "referral_reward",
    "reverse_entry",
    "reward_referral",
    "spend_points",
]
