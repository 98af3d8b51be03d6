"""The threshold reward: enough points turn into a voucher on their own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import OutboxEventRow
from tests.conftest import GraphQLClient
from tests.support.clock import Clock
from tests.support.operations import CONFIGURE_PROGRAM
from tests.support.shop import Shop, register

GRANT_POINTS = """
mutation Grant($input: GrantPointsInput!) {
  grantPoints(input: $input) {
    entry { points balanceAfter }
    customer { balance { available } }
    userErrors { field code message }
  }
}
"""

RECORD_ACTIVITY = """
mutation Record($input: RecordActivityInput!) {
  recordActivity(input: $input) {
    entry { points balanceAfter }
    userErrors { field code message }
  }
}
"""

REWARDS = """
query Rewards {
  viewer {
    balance { available lifetimeEarned lifetimeRedeemed }
    vouchers {
      code status percentOff pointsSpent expiresAt
      amountOff { amount currencyCode }
      minimumOrderValue { amount }
    }
    ledger { edges { node { kind points balanceAfter source { type } } } }
  }
}
"""

PERCENT_REWARD: dict[str, Any] = {
    "enabled": True,
    "points": 500,
    "valueType": "PERCENT",
    "value": "10",
    "minimumOrderValue": "20",
    "validityDays": 30,
}


async def _shop(gql: GraphQLClient, reward: dict[str, Any], **settings: Any) -> str:
    """A site with the threshold reward, enrolling every customer, and a birthday activity."""
    changes = {
        "participation": "ALL_REGISTERED_CUSTOMERS",
        "thresholdReward": reward,
        "customActivities": [{"code": "BIRTHDAY", "name": "Birthday", "points": 250}],
        **settings,
    }
    return (await Shop.open(gql, **changes)).site_id


async def _grant(gql: GraphQLClient, customer_id: str, points: int) -> dict[str, Any]:
    body = await gql.execute(
        GRANT_POINTS,
        {"input": {"customerId": customer_id, "points": points, "reason": "test"}},
        token=gql.token("admin", "shop-a"),
    )
    payload: dict[str, Any] = body["data"]["grantPoints"]
    assert payload["userErrors"] == []
    return payload


async def _birthday(gql: GraphQLClient, customer_id: str) -> dict[str, Any]:
    body = await gql.execute(
        RECORD_ACTIVITY,
        {"input": {"customerId": customer_id, "activity": "BIRTHDAY"}},
        token=gql.token("service", "shop-a"),
    )
    payload: dict[str, Any] = body["data"]["recordActivity"]
    assert payload["userErrors"] == []
    return payload


async def _rewards(gql: GraphQLClient, external_id: str = "c-1") -> dict[str, Any]:
    body = await gql.execute(REWARDS, token=gql.token("customer", "shop-a", subject=external_id))
    viewer: dict[str, Any] = body["data"]["viewer"]
    return viewer


async def _reward_events(db: Database) -> list[dict[str, Any]]:
    async with db.read_sessions() as session:
        rows = await session.scalars(
            select(OutboxEventRow)
            .where(OutboxEventRow.kind == "REWARD_EARNED")
            .order_by(OutboxEventRow.id)
        )
        return [row.payload for row in rows]


def _ledger(viewer: dict[str, Any]) -> list[tuple[str, int, int, str]]:
    return [
        (n["kind"], n["points"], n["balanceAfter"], n["source"]["type"])
        for n in (edge["node"] for edge in viewer["ledger"]["edges"])
    ]


async def test_reaching_the_threshold_turns_points_into_a_voucher(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given
    site_id = await _shop(gql, PERCENT_REWARD)
    customer = await register(gql, "shop-a", site_id, "c-1")
    # when
    granted = await _grant(gql, customer["id"], 620)
    # then: the grant's entry shows 620, the customer already has 120 left
    assert granted["entry"] == {"points": 620, "balanceAfter": 620}
    assert granted["customer"]["balance"] == {"available": 120}
    viewer = await _rewards(gql)
    assert viewer["balance"] == {
        "available": 120,
        "lifetimeEarned": 620,
        "lifetimeRedeemed": 500,
    }
    [voucher] = viewer["vouchers"]
    code = voucher["code"]
    assert voucher == {
        "code": code,
        "status": "ACTIVE",
        "percentOff": "10",
        "amountOff": None,
        "minimumOrderValue": {"amount": "20.00"},
        "pointsSpent": 500,
        "expiresAt": (clock.now + timedelta(days=30)).isoformat(),
    }
    assert len(code) == 12
    assert _ledger(viewer) == [
        ("REDEEMED", -500, 120, "THRESHOLD_REWARD"),
        ("ADJUSTED", 620, 620, "ADMIN"),
    ]
    events = await _reward_events(db)
    assert [(e["voucher_code"], e["points_spent"], e["value_type"]) for e in events] == [
        (code, 500, "PERCENT")
    ]


async def test_a_fixed_amount_voucher_shows_its_amount(gql: GraphQLClient):
    # given
    reward = {**PERCENT_REWARD, "valueType": "FIXED_AMOUNT", "value": "5"}
    site_id = await _shop(gql, reward)
    customer = await register(gql, "shop-a", site_id, "c-1")
    # when
    await _grant(gql, customer["id"], 500)
    # then
    [voucher] = (await _rewards(gql))["vouchers"]
    assert voucher["percentOff"] is None
    assert voucher["amountOff"] == {"amount": "5.00", "currencyCode": "EUR"}
    assert voucher["minimumOrderValue"] == {"amount": "20.00"}


async def test_points_earned_in_steps_convert_when_they_reach_the_threshold(
    gql: GraphQLClient, db: Database
):
    # given
    site_id = await _shop(gql, PERCENT_REWARD)
    customer = await register(gql, "shop-a", site_id, "c-1")
    await _grant(gql, customer["id"], 300)
    assert (await _rewards(gql))["vouchers"] == []
    # when
    await _birthday(gql, customer["id"])
    # then
    viewer = await _rewards(gql)
    assert viewer["balance"]["available"] == 50
    assert [v["pointsSpent"] for v in viewer["vouchers"]] == [500]
    assert _ledger(viewer) == [
        ("REDEEMED", -500, 50, "THRESHOLD_REWARD"),
        ("EARNED", 250, 550, "ACTIVITY"),
        ("ADJUSTED", 300, 300, "ADMIN"),
    ]
    assert len(await _reward_events(db)) == 1


async def test_crossing_the_threshold_twice_at_once_gives_two_vouchers(
    gql: GraphQLClient, db: Database
):
    # given
    site_id = await _shop(gql, PERCENT_REWARD)
    customer = await register(gql, "shop-a", site_id, "c-1")
    # when
    await _grant(gql, customer["id"], 1100)
    # then
    viewer = await _rewards(gql)
    assert viewer["balance"]["available"] == 100
    codes = [v["code"] for v in viewer["vouchers"]]
    assert len(set(codes)) == 2
    assert _ledger(viewer) == [
        ("REDEEMED", -500, 100, "THRESHOLD_REWARD"),
        ("REDEEMED", -500, 600, "THRESHOLD_REWARD"),
        ("ADJUSTED", 1100, 1100, "ADMIN"),
    ]
    # vouchers are listed newest first; the events were written oldest first
    assert [e["voucher_code"] for e in await _reward_events(db)] == codes[::-1]


async def test_a_retried_grant_converts_its_points_once(gql: GraphQLClient, db: Database):
    # given
    site_id = await _shop(gql, PERCENT_REWARD)
    customer = await register(gql, "shop-a", site_id, "c-1")
    variables = {
        "input": {"customerId": customer["id"], "points": 700, "reason": "test",
                  "idempotencyKey": "grant-700"}
    }  # fmt: skip
    admin = gql.token("admin", "shop-a")
    # when
    first = await gql.execute(GRANT_POINTS, variables, token=admin)
    second = await gql.execute(GRANT_POINTS, variables, token=admin)
    # then
    assert second["data"] == first["data"]
    viewer = await _rewards(gql)
    assert viewer["balance"]["available"] == 200
    assert len(viewer["vouchers"]) == 1
    assert len(await _reward_events(db)) == 1


async def test_below_the_threshold_nothing_is_converted(gql: GraphQLClient, db: Database):
    site_id = await _shop(gql, PERCENT_REWARD)
    customer = await register(gql, "shop-a", site_id, "c-1")
    await _grant(gql, customer["id"], 499)
    viewer = await _rewards(gql)
    assert viewer["balance"]["available"] == 499
    assert viewer["vouchers"] == []
    assert await _reward_events(db) == []


async def test_with_the_reward_switched_off_points_stay_points(gql: GraphQLClient, db: Database):
    site_id = await _shop(gql, {**PERCENT_REWARD, "enabled": False})
    customer = await register(gql, "shop-a", site_id, "c-1")
    await _grant(gql, customer["id"], 1200)
    viewer = await _rewards(gql)
    assert viewer["balance"]["available"] == 1200
    assert viewer["vouchers"] == []
    assert await _reward_events(db) == []


async def test_with_the_program_switched_off_granted_points_stay_points(
    gql: GraphQLClient, db: Database
):
    # given
    site_id = await _shop(gql, PERCENT_REWARD)
    customer = await register(gql, "shop-a", site_id, "c-1")
    await gql.execute(
        CONFIGURE_PROGRAM,
        {"input": {"siteId": site_id, "enabled": False}},
        token=gql.token("admin", "shop-a"),
    )
    # when
    await _grant(gql, customer["id"], 700)
    # then
    viewer = await _rewards(gql)
    assert viewer["balance"]["available"] == 700
    assert viewer["vouchers"] == []
    assert await _reward_events(db) == []


async def test_a_customer_sees_only_their_own_vouchers(gql: GraphQLClient):
    site_id = await _shop(gql, PERCENT_REWARD)
    ann = await register(gql, "shop-a", site_id, "ann")
    await register(gql, "shop-a", site_id, "bob")
    await _grant(gql, ann["id"], 500)
    assert len((await _rewards(gql, "ann"))["vouchers"]) == 1
    assert (await _rewards(gql, "bob"))["vouchers"] == []
