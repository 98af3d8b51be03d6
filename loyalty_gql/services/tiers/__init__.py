"""Tiers: defining them (definitions), and customers moving between them (moves)."""

from __future__ import annotations

from loyalty_gql.services.tiers.definitions import (
    DeletedTier,
    TierChanges,
    TierTerms,
    create_tier,
    delete_tier,
    update_tier,
)
from loyalty_gql.services.tiers.moves import (
    LockedAccount,
    change_tier,
    review_tiers,
    upgrade_if_qualified,
)

__all__ = [
    "DeletedTier",
    "LockedAccount",
    "TierChanges",
    "TierTerms",
    "change_tier",
    "create_tier",
    "delete_tier",
    "review_tiers",
    "update_tier",
    "upgrade_if_qualified",
]
