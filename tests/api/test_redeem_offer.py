"""redeemOffer: a customer buys an offer with points; every refusal has its own code."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import GraphQLClient
from tests.support.clock import Clock
from tests.support.operations import CONFIGURE_PROGRAM, CREATE_TIER, GRANT_POINTS, PUBLISH_OFFER
from tests.support.shop import create_site, register

CREATE = """
mutation($input: CreateOfferInput!) {
  createOffer(input: $input) { offer { id } userErrors { code } }
}
"""
REDEEM = """
mutation($input: RedeemOfferInput!) {
  redeemOffer(input: $input) {
    voucher { code status source percentOff points: pointsSpent expiresAt }
    customer { balance { available } }
    userErrors { field code message }
  }
}
"""
REWARD = {"name": "10% off", "valueType": "PERCENT", "value": "10", "loyaltyPrice": 100}


async def _setup(gql: GraphQLClient, points: int = 500, **customer: Any) -> dict[str, str]:
    site_id = await create_site(gql, "shop-a")
    who = await register(gql, "shop-a", site_id, "ann", enroll=True, **customer)
    if points:
        await gql.execute(
            GRANT_POINTS,
            {"input": {"customerId": who["id"], "points": points, "reason": "welcome"}},
            token=gql.token("admin", "shop-a"),
        )
    return {"site": site_id, "customer": who["id"]}


async def _offer(
    gql: GraphQLClient, site_id: str, *, publish: bool = True, kind: str = "REWARD", **terms: Any
) -> str:
    admin = gql.token("admin", "shop-a")
    body = await gql.execute(
        CREATE,
        {"input": {"siteId": site_id, "kind": kind, "terms": {**REWARD, **terms}}},
        token=admin,
    )
    offer_id: str = body["data"]["createOffer"]["offer"]["id"]
    if publish:
        await gql.execute(PUBLISH_OFFER, {"input": {"offerId": offer_id}}, token=admin)
    return offer_id


async def _redeem(gql: GraphQLClient, offer_id: str, **extra: Any) -> dict[str, Any]:
    body = await gql.execute(
        REDEEM,
        {"input": {"offerId": offer_id, **extra}},
        token=gql.token("customer", "shop-a", subject="ann"),
    )
    payload: dict[str, Any] = body["data"]["redeemOffer"]
    return payload


async def test_a_customer_buys_a_reward_with_points(gql: GraphQLClient):
    ids = await _setup(gql)
    offer_id = await _offer(gql, ids["site"], validUntil="2026-12-31T00:00:00Z")
    payload = await _redeem(gql, offer_id)
    assert payload["userErrors"] == []
    assert payload["voucher"]["status"] == "ACTIVE"
    assert payload["voucher"]["source"] == "OFFER"
    assert payload["voucher"]["percentOff"] == "10"
    assert payload["voucher"]["points"] == 100
    assert payload["voucher"]["expiresAt"] == "2026-12-31T00:00:00+00:00"
    assert payload["customer"]["balance"]["available"] == 400


async def test_a_retry_with_the_same_key_buys_once(gql: GraphQLClient):
    ids = await _setup(gql)
    offer_id = await _offer(gql, ids["site"])
    first = await _redeem(gql, offer_id, idempotencyKey="buy-1")
    second = await _redeem(gql, offer_id, idempotencyKey="buy-1")
    assert first == second
    assert first["customer"]["balance"]["available"] == 400


@pytest.mark.parametrize(
    ("points", "terms", "code"),
    [
        (50, {}, "INSUFFICIENT_POINTS"),
        (500, {"validUntil": "2026-01-01T00:00:00Z"}, "OFFER_EXPIRED"),
        (500, {"validFrom": "2026-06-01T00:00:00Z"}, "OFFER_NOT_STARTED"),
        (500, {"customerGroups": ["vip"]}, "NOT_IN_GROUP"),
        (500, {"maxUses": 1}, "USAGE_LIMIT_REACHED"),
        (500, {"maxUsesPerCustomer": 1}, "CUSTOMER_LIMIT_REACHED"),
    ],
)
async def test_each_reason_not_to_sell_has_its_code(
    gql: GraphQLClient, points: int, terms: dict[str, Any], code: str
):
    # given (the clock stands at 2026-01-15)
    ids = await _setup(gql, points)
    offer_id = await _offer(gql, ids["site"], **terms)
    if "max" in "".join(terms):
        assert (await _redeem(gql, offer_id))["userErrors"] == []
    # when
    payload = await _redeem(gql, offer_id)
    # then
    assert payload["voucher"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["input", "offerId"], code)
    ]


async def test_an_unpublished_offer_is_not_available(gql: GraphQLClient):
    ids = await _setup(gql)
    offer_id = await _offer(gql, ids["site"], publish=False)
    payload = await _redeem(gql, offer_id)
    assert [e["code"] for e in payload["userErrors"]] == ["OFFER_NOT_AVAILABLE"]


async def test_a_promotion_is_not_for_sale(gql: GraphQLClient):
    ids = await _setup(gql)
    offer_id = await _offer(
        gql, ids["site"], kind="PROMOTION", name="Promo", valueType="PERCENT", value="5",
        loyaltyPrice=None,
    )  # fmt: skip
    payload = await _redeem(gql, offer_id)
    assert [e["code"] for e in payload["userErrors"]] == ["NOT_FOR_SALE"]


async def test_an_offer_for_a_tier_refuses_others(gql: GraphQLClient):
    ids = await _setup(gql, points=150)
    tier = await gql.execute(
        CREATE_TIER,
        {"input": {"siteId": ids["site"], "name": "Gold", "rank": 1, "metric": "POINTS_EARNED",
                   "threshold": 10_000}},
        token=gql.token("admin", "shop-a"),
    )  # fmt: skip
    offer_id = await _offer(gql, ids["site"], tierIds=[tier["data"]["createTier"]["tier"]["id"]])
    payload = await _redeem(gql, offer_id)
    assert [e["code"] for e in payload["userErrors"]] == ["NOT_IN_TIER"]


async def test_with_the_program_off_nothing_is_sold(gql: GraphQLClient):
    ids = await _setup(gql)
    offer_id = await _offer(gql, ids["site"])
    await gql.execute(
        CONFIGURE_PROGRAM,
        {"input": {"siteId": ids["site"], "enabled": False}},
        token=gql.token("admin", "shop-a"),
    )
    payload = await _redeem(gql, offer_id)
    assert [e["code"] for e in payload["userErrors"]] == ["PROGRAM_DISABLED"]


async def test_a_customer_who_left_the_program_cannot_buy(gql: GraphQLClient, clock: Clock):
    ids = await _setup(gql)
    offer_id = await _offer(gql, ids["site"])
    await gql.execute(
        "mutation($i: EnrollmentInput!) { leaveProgram(input: $i) { userErrors { code } } }",
        {"i": {"customerId": ids["customer"]}},
        token=gql.token("service", "shop-a"),
    )
    payload = await _redeem(gql, offer_id)
    assert [e["code"] for e in payload["userErrors"]] == ["NOT_ENROLLED"]


async def test_another_sites_offer_is_not_found(gql: GraphQLClient):
    await _setup(gql)
    other_site = await create_site(gql, "shop-b")
    admin_b = gql.token("admin", "shop-b")
    body = await gql.execute(
        CREATE,
        {"input": {"siteId": other_site, "kind": "REWARD", "terms": REWARD}},
        token=admin_b,
    )
    offer_b = body["data"]["createOffer"]["offer"]["id"]
    await gql.execute(PUBLISH_OFFER, {"input": {"offerId": offer_b}}, token=admin_b)
    payload = await _redeem(gql, offer_b)
    assert [e["code"] for e in payload["userErrors"]] == ["NOT_FOUND"]


async def test_a_clubcard_membership_is_bought_for_its_fee_once(gql: GraphQLClient):
    ids = await _setup(gql, points=300)
    card = await _offer(
        gql, ids["site"], kind="CLUBCARD", name="Club", valueType="PERCENT", value="10",
        loyaltyPrice=None, membershipFeePoints=200,
    )  # fmt: skip
    joined = await _redeem(gql, card)
    again = await _redeem(gql, card)
    mine = await gql.execute(
        "{ viewer { offers { edges { node { offer { name } assigned } } } } }",
        token=gql.token("customer", "shop-a", subject="ann"),
    )
    assert (joined["voucher"], joined["userErrors"]) == (None, [])
    assert joined["customer"]["balance"]["available"] == 100
    assert [e["code"] for e in again["userErrors"]] == ["CUSTOMER_LIMIT_REACHED"]
    assert mine["data"]["viewer"]["offers"]["edges"] == [
        {"node": {"offer": {"name": "Club"}, "assigned": True}}
    ]


async def test_a_voucher_past_its_date_shows_as_expired(gql: GraphQLClient, clock: Clock):
    from datetime import timedelta

    ids = await _setup(gql)
    offer_id = await _offer(gql, ids["site"], validUntil="2026-02-01T00:00:00Z")
    assert (await _redeem(gql, offer_id))["voucher"]["status"] == "ACTIVE"
    clock.now += timedelta(days=30)
    body = await gql.execute(
        "{ viewer { vouchers { status } } }", token=gql.token("customer", "shop-a", subject="ann")
    )
    assert body["data"]["viewer"]["vouchers"] == [{"status": "EXPIRED"}]
