"""Tier definitions (createTier, updateTier, deleteTier, tiers), upgrades and the review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import OutboxEventRow
from loyalty_gql.domain.tiers import TierMetric
from loyalty_gql.services.core.idempotency import request_fingerprint
from loyalty_gql.services.tiers import TierChanges, TierTerms, review_tiers
from tests.conftest import GraphQLClient
from tests.support.clock import Clock
from tests.support.operations import RECORD_ACTIVITY
from tests.support.shop import Shop, register

TIER_FIELDS = "id name rank metric threshold windowMonths earnMultiplier benefits"

CREATE_TIER = f"""
mutation CreateTier($input: CreateTierInput!) {{
  createTier(input: $input) {{
    tier {{ {TIER_FIELDS} }}
    userErrors {{ field code message }}
  }}
}}
"""

UPDATE_TIER = f"""
mutation UpdateTier($input: UpdateTierInput!) {{
  updateTier(input: $input) {{
    tier {{ {TIER_FIELDS} }}
    userErrors {{ field code message }}
  }}
}}
"""

DELETE_TIER = """
mutation DeleteTier($input: DeleteTierInput!) {
  deleteTier(input: $input) {
    deletedTierId
    userErrors { field code message }
  }
}
"""

TIERS = "query Tiers($siteId: ID!) { tiers(siteId: $siteId) { name rank threshold } }"

TIER_IDS = "query TierIds($siteId: ID!) { tiers(siteId: $siteId) { id name } }"

STANDING = """
query Standing {
  viewer {
    tier { name }
    tierProgress { nextTier { name } metric value remaining }
  }
}
"""

GRANT_POINTS = """
mutation Grant($input: GrantPointsInput!) {
  grantPoints(input: $input) { entry { id } userErrors { field code message } }
}
"""


async def _shop(gql: GraphQLClient, code: str = "shop-a") -> str:
    """A site whose program is on, enrols every customer and rewards birthdays."""
    birthday = {"code": "BIRTHDAY", "name": "Birthday", "points": 400}
    shop = await Shop.open(
        gql, code, participation="ALL_REGISTERED_CUSTOMERS", customActivities=[birthday]
    )
    return shop.site_id


async def _create(
    gql: GraphQLClient, site_id: str, name: str, *, site: str = "shop-a", **fields: Any
) -> dict[str, Any]:
    body = await gql.execute(
        CREATE_TIER,
        {
            "input": {
                "siteId": site_id,
                "name": name,
                "rank": 1,
                "metric": "POINTS_EARNED",
                "threshold": 100,
                **fields,
            }
        },
        token=gql.token("admin", site),
    )
    payload: dict[str, Any] = body["data"]["createTier"]
    return payload


async def _update(gql: GraphQLClient, tier_id: str, site: str = "shop-a", **changes: Any) -> Any:
    body = await gql.execute(
        UPDATE_TIER, {"input": {"tierId": tier_id, **changes}}, token=gql.token("admin", site)
    )
    return body["data"]["updateTier"]


async def _delete(gql: GraphQLClient, tier_id: str, site: str = "shop-a", **extra: Any) -> Any:
    body = await gql.execute(
        DELETE_TIER, {"input": {"tierId": tier_id, **extra}}, token=gql.token("admin", site)
    )
    return body["data"]["deleteTier"]


async def _tiers(gql: GraphQLClient, site_id: str) -> list[tuple[str, int, int]]:
    body = await gql.execute(TIERS, {"siteId": site_id}, token=gql.token("service", "shop-a"))
    return [(t["name"], t["rank"], t["threshold"]) for t in body["data"]["tiers"]]


async def _grant(gql: GraphQLClient, customer_id: str, points: int) -> None:
    body = await gql.execute(
        GRANT_POINTS,
        {"input": {"customerId": customer_id, "points": points, "reason": "test"}},
        token=gql.token("admin", "shop-a"),
    )
    assert body["data"]["grantPoints"]["userErrors"] == []


async def _standing(gql: GraphQLClient, external_id: str) -> dict[str, Any]:
    body = await gql.execute(STANDING, token=gql.token("customer", "shop-a", subject=external_id))
    viewer: dict[str, Any] = body["data"]["viewer"]
    return viewer


async def _tier_events(db: Database) -> list[tuple[str | None, str | None, str]]:
    """(from, to, reason) of every TIER_CHANGED event, oldest first."""
    async with db.read_sessions() as session:
        rows = await session.scalars(
            select(OutboxEventRow)
            .where(OutboxEventRow.kind == "TIER_CHANGED")
            .order_by(OutboxEventRow.id)
        )
        return [(r.payload["from_tier"], r.payload["to_tier"], r.payload["reason"]) for r in rows]


def _progress(next_tier: str | None, value: int, remaining: int) -> dict[str, Any]:
    return {
        "nextTier": {"name": next_tier} if next_tier else None,
        "metric": "POINTS_EARNED" if next_tier else None,
        "value": value,
        "remaining": remaining,
    }


def _refused(field: list[str], code: str, message: str, key: str = "tier") -> dict[str, Any]:
    return {key: None, "userErrors": [{"field": field, "code": code, "message": message}]}


# createTier, updateTier, deleteTier, tiers


async def test_admins_create_tiers_and_everyone_of_the_site_lists_them_by_rank(
    gql: GraphQLClient,
):
    # given
    site_id = await _shop(gql)
    await register(gql, "shop-a", site_id, "c-1")
    # when
    gold = await _create(
        gql, site_id, " Gold ", rank=2, threshold=500, windowMonths=None,
        earnMultiplier="1.5", benefits="Free shipping",
    )  # fmt: skip
    silver = await _create(gql, site_id, "Silver")
    # then
    assert gold == {
        "tier": {
            "id": gold["tier"]["id"],
            "name": "Gold",
            "rank": 2,
            "metric": "POINTS_EARNED",
            "threshold": 500,
            "windowMonths": None,
            "earnMultiplier": "1.5",
            "benefits": "Free shipping",
        },
        "userErrors": [],
    }
    assert silver["tier"]["windowMonths"] == 12
    assert silver["tier"]["earnMultiplier"] == "1"
    expected = [("Silver", 1, 100), ("Gold", 2, 500)]
    assert await _tiers(gql, site_id) == expected
    as_customer = await gql.execute(
        TIERS, {"siteId": site_id}, token=gql.token("customer", "shop-a", subject="c-1")
    )
    assert [t["name"] for t in as_customer["data"]["tiers"]] == ["Silver", "Gold"]


async def test_invalid_tier_fields_are_user_errors_with_their_paths(gql: GraphQLClient):
    # given
    site_id = await _shop(gql)
    # when
    payload = await _create(
        gql, site_id, "  ", rank=1001, threshold=-1, windowMonths=0, earnMultiplier="0.5"
    )
    precise = await _create(gql, site_id, "Gold", earnMultiplier="1.255")
    # then
    assert payload["tier"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["input", "name"], "INVALID_VALUE"),
        (["input", "rank"], "INVALID_VALUE"),
        (["input", "threshold"], "INVALID_VALUE"),
        (["input", "windowMonths"], "INVALID_VALUE"),
        (["input", "earnMultiplier"], "INVALID_VALUE"),
    ]
    assert precise == _refused(
        ["input", "earnMultiplier"], "INVALID_VALUE", "may have at most 2 decimal places"
    )
    assert await _tiers(gql, site_id) == []


async def test_tier_names_are_unique_in_a_site(gql: GraphQLClient):
    # given
    site_a = await _shop(gql)
    site_b = await _shop(gql, "shop-b")
    await _create(gql, site_a, "Gold")
    silver = await _create(gql, site_a, "Silver")
    # when
    again = await _create(gql, site_a, " Gold ", rank=3)
    renamed = await _update(gql, silver["tier"]["id"], name="Gold")
    elsewhere = await _create(gql, site_b, "Gold", site="shop-b")
    # then
    for payload in (again, renamed):
        assert payload == _refused(["input", "name"], "DUPLICATE", "a tier named 'Gold' exists")
    assert elsewhere["userErrors"] == []
    assert await _tiers(gql, site_a) == [("Gold", 1, 100), ("Silver", 1, 100)]


async def test_update_changes_only_the_given_fields(gql: GraphQLClient):
    # given
    site_id = await _shop(gql)
    created = await _create(gql, site_id, "Gold", rank=2, benefits="Free shipping")
    tier_id = created["tier"]["id"]
    # when
    payload = await _update(gql, tier_id, threshold=750, windowMonths=None)
    # then
    assert payload == {
        "tier": {**created["tier"], "threshold": 750, "windowMonths": None},
        "userErrors": [],
    }
    assert await _tiers(gql, site_id) == [("Gold", 2, 750)]


async def test_update_refuses_null_for_required_fields_and_invalid_values(gql: GraphQLClient):
    # given
    site_id = await _shop(gql)
    tier_id = (await _create(gql, site_id, "Gold"))["tier"]["id"]
    # when
    nulled = await _update(gql, tier_id, name=None)
    invalid = await _update(gql, tier_id, rank=-1)
    # then
    assert nulled == _refused(["input", "name"], "REQUIRED", "may be omitted but not null")
    assert invalid == _refused(["input", "rank"], "INVALID_VALUE", "must be 0 to 1000")
    assert await _tiers(gql, site_id) == [("Gold", 1, 100)]


async def test_tiers_of_another_site_are_not_found_and_not_listed(gql: GraphQLClient):
    # given
    site_a = await _shop(gql)
    await _shop(gql, "shop-b")
    tier_id = (await _create(gql, site_a, "Gold"))["tier"]["id"]
    # when
    updated = await _update(gql, tier_id, site="shop-b", threshold=1)
    deleted = await _delete(gql, tier_id, site="shop-b")
    listing = await gql.execute(
        TIERS, {"siteId": site_a}, token=gql.token("admin", "shop-b"), expect_errors=True
    )
    created = await gql.execute(
        CREATE_TIER,
        {"input": {"siteId": site_a, "name": "X", "rank": 1, "metric": "POINTS_EARNED",
                   "threshold": 1}},
        token=gql.token("admin", "shop-b"),
        expect_errors=True,
    )  # fmt: skip
    # then
    assert updated == _refused(["input", "tierId"], "NOT_FOUND", "no such tier")
    assert deleted == _refused(
        ["input", "tierId"], "NOT_FOUND", "no such tier", key="deletedTierId"
    )
    assert listing["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert created["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await _tiers(gql, site_a) == [("Gold", 1, 100)]


async def test_only_admins_change_tiers(gql: GraphQLClient):
    site_id = await _shop(gql)
    body = await gql.execute(
        CREATE_TIER,
        {"input": {"siteId": site_id, "name": "Gold", "rank": 1, "metric": "POINTS_EARNED",
                   "threshold": 1}},
        token=gql.token("service", "shop-a"),
        expect_errors=True,
    )  # fmt: skip
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await _tiers(gql, site_id) == []


async def test_delete_removes_the_tier(gql: GraphQLClient):
    site_id = await _shop(gql)
    gold = await _create(gql, site_id, "Gold", rank=2)
    await _create(gql, site_id, "Silver")
    payload = await _delete(gql, gold["tier"]["id"])
    assert payload == {"deletedTierId": gold["tier"]["id"], "userErrors": []}
    assert await _tiers(gql, site_id) == [("Silver", 1, 100)]


# retries


async def test_create_retried_with_its_key_makes_one_tier(gql: GraphQLClient):
    # given
    site_id = await _shop(gql)
    # when
    first = await _create(gql, site_id, "Gold", idempotencyKey="tier-gold")
    second = await _create(gql, site_id, "Gold", idempotencyKey="tier-gold")
    reused = await _create(gql, site_id, "Platinum", idempotencyKey="tier-gold")
    # then
    assert first["userErrors"] == []
    assert second == first
    assert reused == _refused(
        ["input", "idempotencyKey"],
        "IDEMPOTENCY_KEY_REUSED",
        "this idempotency key was already used with a different request",
    )
    assert await _tiers(gql, site_id) == [("Gold", 1, 100)]


async def test_update_retried_with_its_key_replays(gql: GraphQLClient):
    # given
    site_id = await _shop(gql)
    tier_id = (await _create(gql, site_id, "Gold"))["tier"]["id"]
    # when
    first = await _update(gql, tier_id, threshold=300, idempotencyKey="raise-gold")
    second = await _update(gql, tier_id, threshold=300, idempotencyKey="raise-gold")
    reused = await _update(gql, tier_id, threshold=400, idempotencyKey="raise-gold")
    # then
    assert first["tier"]["threshold"] == 300
    assert second == first
    assert reused == _refused(
        ["input", "idempotencyKey"],
        "IDEMPOTENCY_KEY_REUSED",
        "this idempotency key was already used with a different request",
    )
    assert await _tiers(gql, site_id) == [("Gold", 1, 300)]


# upgrades, the review and deletion


async def _silver_and_gold(gql: GraphQLClient, site_id: str, **fields: Any) -> None:
    await _create(gql, site_id, "Silver", rank=1, threshold=100, **fields)
    await _create(gql, site_id, "Gold", rank=2, threshold=500, **fields)


async def test_a_customer_moves_up_at_once_when_they_earn_enough(gql: GraphQLClient, db: Database):
    # given
    site_id = await _shop(gql)
    await _silver_and_gold(gql, site_id)
    customer = await register(gql, "shop-a", site_id, "c-1")
    before = await _standing(gql, "c-1")
    # when
    await _grant(gql, customer["id"], 150)
    silver = await _standing(gql, "c-1")
    recorded = await gql.execute(
        RECORD_ACTIVITY,
        {"input": {"customerId": customer["id"], "activity": "BIRTHDAY"}},
        token=gql.token("service", "shop-a"),
    )
    gold = await _standing(gql, "c-1")
    # then
    assert recorded["data"]["recordActivity"]["userErrors"] == []
    assert before == {"tier": None, "tierProgress": _progress("Silver", 0, 100)}
    assert silver == {"tier": {"name": "Silver"}, "tierProgress": _progress("Gold", 150, 350)}
    assert gold == {"tier": {"name": "Gold"}, "tierProgress": _progress(None, 0, 0)}
    assert await _tier_events(db) == [(None, "Silver", "upgrade"), ("Silver", "Gold", "upgrade")]


async def test_skipping_a_tier_is_one_change(gql: GraphQLClient, db: Database):
    site_id = await _shop(gql)
    await _silver_and_gold(gql, site_id)
    customer = await register(gql, "shop-a", site_id, "c-1")
    await _grant(gql, customer["id"], 600)
    assert (await _standing(gql, "c-1"))["tier"] == {"name": "Gold"}
    assert await _tier_events(db) == [(None, "Gold", "upgrade")]


async def test_taking_points_away_does_not_move_a_customer_down(gql: GraphQLClient, db: Database):
    # given
    site_id = await _shop(gql)
    await _silver_and_gold(gql, site_id)
    customer = await register(gql, "shop-a", site_id, "c-1")
    await _grant(gql, customer["id"], 150)
    # when
    await _grant(gql, customer["id"], -120)
    # then
    assert (await _standing(gql, "c-1"))["tier"] == {"name": "Silver"}
    assert await _tier_events(db) == [(None, "Silver", "upgrade")]


async def test_the_review_moves_customers_down_once_their_window_has_passed(
    gql: GraphQLClient, db: Database, clock: Clock
):
    # given: Silver and Gold count the points of the last month; c-1 earns 150 on 15 January
    site_id = await _shop(gql)
    await _silver_and_gold(gql, site_id, windowMonths=1)
    customer = await register(gql, "shop-a", site_id, "c-1")
    await _grant(gql, customer["id"], 150)
    clock.now = datetime(2026, 2, 14, 12, 0, tzinfo=UTC)
    within = await review_tiers(db, clock=clock)
    # when
    clock.now = datetime(2026, 2, 16, 12, 0, tzinfo=UTC)
    changed = await review_tiers(db, clock=clock)
    again = await review_tiers(db, clock=clock)
    # then
    assert (within, changed, again) == (0, 1, 0)
    assert await _standing(gql, "c-1") == {
        "tier": None,
        "tierProgress": _progress("Silver", 0, 100),
    }
    assert await _tier_events(db) == [(None, "Silver", "upgrade"), ("Silver", None, "review")]


async def test_the_review_keeps_customers_who_still_qualify(
    gql: GraphQLClient, db: Database, clock: Clock
):
    # given: Gold last month, only Silver's worth this month
    site_id = await _shop(gql)
    await _silver_and_gold(gql, site_id, windowMonths=1)
    ann = await register(gql, "shop-a", site_id, "ann")
    bob = await register(gql, "shop-a", site_id, "bob")
    await _grant(gql, ann["id"], 600)
    await _grant(gql, bob["id"], 150)
    clock.now += timedelta(days=20)
    await _grant(gql, ann["id"], 200)
    await _grant(gql, bob["id"], 150)
    # when: a month after the first grants, only the later ones count
    clock.now += timedelta(days=15)
    changed = await review_tiers(db, clock=clock)
    # then
    assert changed == 1
    assert (await _standing(gql, "ann"))["tier"] == {"name": "Silver"}
    assert (await _standing(gql, "bob"))["tier"] == {"name": "Silver"}
    assert await _tier_events(db) == [
        (None, "Gold", "upgrade"),
        (None, "Silver", "upgrade"),
        ("Gold", "Silver", "review"),
    ]


async def test_deleting_a_tier_moves_its_members_to_the_best_tier_they_still_reach(
    gql: GraphQLClient, db: Database
):
    # given: ann is Gold with 600 points, bob Silver with 150; Platinum needs 1000
    site_id = await _shop(gql)
    await _silver_and_gold(gql, site_id)
    await _create(gql, site_id, "Platinum", rank=3, threshold=1000)
    ann = await register(gql, "shop-a", site_id, "ann")
    bob = await register(gql, "shop-a", site_id, "bob")
    await _grant(gql, ann["id"], 600)
    await _grant(gql, bob["id"], 150)
    tiers = await gql.execute(TIER_IDS, {"siteId": site_id}, token=gql.token("admin", "shop-a"))
    ids = {t["name"]: t["id"] for t in tiers["data"]["tiers"]}
    # when
    await _delete(gql, ids["Gold"])
    after_gold = await _standing(gql, "ann")
    await _delete(gql, ids["Silver"])
    # then
    assert after_gold == {
        "tier": {"name": "Silver"},
        "tierProgress": _progress("Platinum", 600, 400),
    }
    assert (await _standing(gql, "ann"))["tier"] is None
    assert (await _standing(gql, "bob"))["tier"] is None
    assert await _tier_events(db) == [
        (None, "Gold", "upgrade"),
        (None, "Silver", "upgrade"),
        ("Gold", "Silver", "tier deleted"),
        ("Silver", None, "tier deleted"),
        ("Silver", None, "tier deleted"),
    ]


async def test_delete_retried_with_its_key_replays(gql: GraphQLClient, db: Database):
    # given: a member, so a second deletion would show as a second TIER_CHANGED event
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    tier_id = (await _create(gql, site_id, "Gold"))["tier"]["id"]
    await _grant(gql, customer["id"], 100)
    # when
    first = await _delete(gql, tier_id, idempotencyKey="drop-gold")
    second = await _delete(gql, tier_id, idempotencyKey="drop-gold")
    # then
    assert first == {"deletedTierId": tier_id, "userErrors": []}
    assert second == first
    assert await _tiers(gql, site_id) == []
    assert await _tier_events(db) == [(None, "Gold", "upgrade"), ("Gold", None, "tier deleted")]


async def test_a_deleted_tiers_key_replays_to_no_other_sites_admin(gql: GraphQLClient):
    site_id = await _shop(gql)
    await _shop(gql, "shop-b")
    tier_id = (await _create(gql, site_id, "Gold"))["tier"]["id"]
    await _delete(gql, tier_id, idempotencyKey="drop-gold")
    other = await _delete(gql, tier_id, site="shop-b", idempotencyKey="drop-gold")
    assert other["deletedTierId"] is None
    assert [e["code"] for e in other["userErrors"]] == ["NOT_FOUND"]


def test_tier_commands_keep_the_request_fingerprints_stored_before_they_were_typed():
    # given: the requests as createTier and updateTier stored them from their input dicts
    created = {"site": 1, "name": " Gold ", "rank": 2, "metric": TierMetric.POINTS_EARNED,
               "threshold": 500, "window_months": None, "earn_multiplier": Decimal("1.5"),
               "benefits": None}  # fmt: skip
    updated = {"tier": 1, "threshold": 750, "window_months": None}
    # when: the same requests as typed commands
    terms = TierTerms(
        name=" Gold ", rank=2, metric=TierMetric.POINTS_EARNED, threshold=500,
        window_months=None, earn_multiplier=Decimal("1.5"),
    )  # fmt: skip
    changes = TierChanges(threshold=750, window_months=None)
    # then: a retry after the deploy replays the stored outcome
    assert request_fingerprint("createTier", {"site": 1, **terms.given()}) == (
        request_fingerprint("createTier", created)
    )
    assert request_fingerprint("updateTier", {"tier": 1, **changes.given()}) == (
        request_fingerprint("updateTier", updated)
    )
