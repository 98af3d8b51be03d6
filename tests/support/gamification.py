"""Badges and challenges driven through the API: the admin's mutations, the viewer's
lists, and what the database holds of completions and events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import ChallengeCompletionRow, LedgerEntryRow, OutboxEventRow
from tests.support.operations import COMPLETE_ORDER
from tests.support.shop import Shop, line

CREATE_BADGE_TYPE = """
mutation($input: BadgeTypeInput!) {
  createBadgeType(input: $input) { badgeType { id code holders } userErrors { field code message } }
}
"""
GRANT_BADGE = """
mutation($input: BadgeGrantInput!) {
  grantBadge(input: $input) { badge { badgeCode grantedAt revokedAt reason }
                              userErrors { field code message } }
}
"""
REVOKE_BADGE = """
mutation($input: BadgeGrantInput!) {
  revokeBadge(input: $input) { badge { badgeCode revokedAt } userErrors { field code message } }
}
"""
CREATE_CHALLENGE = """
mutation($input: ChallengeInput!) {
  createChallenge(input: $input) {
    challenge { id code published } userErrors { field code message }
  }
}
"""
PUBLISH_CHALLENGE = """
mutation($input: PublishChallengeInput!) {
  publishChallenge(input: $input) { challenge { id published } userErrors { field code message } }
}
"""
MY_BADGES = """
query { viewer { badges { code name state earnedAt howToEarn } } }
"""
MY_CHALLENGES = """
query { viewer { challenges { code value target completed endsAt timeLeftSeconds open finished } } }
"""
ADMIN_LISTS = """
query($s: ID!) {
  challenges(siteId: $s) { code completions completedBy }
  badgeTypes(siteId: $s) { code holders }
}
"""


async def badge_type(shop: Shop, code: str, **terms: Any) -> dict[str, Any]:
    """createBadgeType; the payload."""
    body = await shop.gql.execute(
        CREATE_BADGE_TYPE,
        {"input": {"siteId": shop.site_id, "code": code, "name": code.title(), **terms}},
        token=shop.admin,
    )
    payload: dict[str, Any] = body["data"]["createBadgeType"]
    return payload


async def grant(
    shop: Shop, external_id: str, code: str, reason: str = "a good customer"
) -> dict[str, Any]:
    """grantBadge as the admin; the payload."""
    body = await shop.gql.execute(
        GRANT_BADGE,
        {
            "input": {
                "siteId": shop.site_id,
                "customerId": shop.customers[external_id],
                "badgeCode": code,
                "reason": reason,
            }
        },
        token=shop.admin,
    )
    payload: dict[str, Any] = body["data"]["grantBadge"]
    return payload


async def challenge(shop: Shop, code: str, *, publish: bool = True, **terms: Any) -> str:
    """createChallenge (and publishChallenge); the challenge's ID."""
    body = await shop.gql.execute(
        CREATE_CHALLENGE,
        {"input": {"siteId": shop.site_id, "code": code, "name": code.title(), **terms}},
        token=shop.admin,
    )
    payload = body["data"]["createChallenge"]
    assert payload["userErrors"] == [], payload
    challenge_id: str = payload["challenge"]["id"]
    if publish:
        body = await shop.gql.execute(
            PUBLISH_CHALLENGE,
            {"input": {"siteId": shop.site_id, "challengeId": challenge_id}},
            token=shop.admin,
        )
        assert body["data"]["publishChallenge"]["userErrors"] == [], body
    return challenge_id


async def order(
    shop: Shop, order_id: str, customer: str, price: str = "20.00", **extra: Any
) -> None:
    """recordOrder and completeOrder."""
    recorded = await shop.record(order_id, customer, lines=[line("sku-1", 1, price, **extra)])
    assert recorded["userErrors"] == [], recorded
    completed = await shop.step(COMPLETE_ORDER, order_id)
    assert completed["userErrors"] == [], completed


async def my_challenges(shop: Shop, external_id: str) -> dict[str, dict[str, Any]]:
    """viewer.challenges by code."""
    body = await shop.gql.execute(MY_CHALLENGES, token=shop.customer(external_id))
    return {c["code"]: c for c in body["data"]["viewer"]["challenges"]}


async def my_badges(shop: Shop, external_id: str) -> list[dict[str, Any]]:
    """viewer.badges."""
    body = await shop.gql.execute(MY_BADGES, token=shop.customer(external_id))
    badges: list[dict[str, Any]] = body["data"]["viewer"]["badges"]
    return badges


async def stored_counts(db: Database) -> tuple[int, int, int]:
    """Completions, CHALLENGE ledger entries and CHALLENGE_COMPLETED events stored."""
    async with db.read_sessions() as session:
        completions = await session.scalar(select(func.count()).select_from(ChallengeCompletionRow))
        entries = await session.scalar(
            select(func.count()).where(LedgerEntryRow.source_type == "CHALLENGE")
        )
        events = await session.scalar(
            select(func.count()).where(OutboxEventRow.kind == "CHALLENGE_COMPLETED")
        )
    return int(completions or 0), int(entries or 0), int(events or 0)


async def events_of(db: Database, kind: str) -> list[dict[str, Any]]:
    """The payloads of the outbox events of a kind, oldest first."""
    async with db.read_sessions() as session:
        rows = await session.scalars(
            select(OutboxEventRow.payload)
            .where(OutboxEventRow.kind == kind)
            .order_by(OutboxEventRow.id)
        )
        return [dict(row) for row in rows]
