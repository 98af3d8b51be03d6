"""Coupon code batches; product exchanges listed shop-wide and confirmed by an admin."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import OutboxEventRow
from tests.conftest import GraphQLClient
from tests.support.operations import CREATE_OFFER, GRANT_POINTS, PUBLISH_OFFER
from tests.support.shop import create_site, register

GENERATE = """
mutation($input: GenerateCouponCodesInput!) {
  generateCouponCodes(input: $input) { codes userErrors { field code } }
}
"""
REDEEM = """
mutation($input: RedeemOfferInput!) {
  redeemOffer(input: $input) { voucher { code } userErrors { code } }
}
"""
EXCHANGES = """
query($s: ID!, $status: ExchangeStatus) {
  exchanges(siteId: $s, status: $status) {
    edges { node { id status productId voucherCode points price { amount } confirmedBy } }
  }
}
"""
CONFIRM = """
mutation($input: ConfirmExchangeInput!) {
  confirmExchange(input: $input) { exchange { status confirmedBy } userErrors { code } }
}
"""


async def _offer(gql: GraphQLClient, site_id: str, kind: str, **terms: Any) -> str:
    admin = gql.token("admin", "shop-a")
    body = await gql.execute(
        CREATE_OFFER, {"input": {"siteId": site_id, "kind": kind, "terms": terms}}, token=admin
    )
    offer_id: str = body["data"]["createOffer"]["offer"]["id"]
    await gql.execute(PUBLISH_OFFER, {"input": {"offerId": offer_id}}, token=admin)
    return offer_id


async def _generate(gql: GraphQLClient, offer_id: str, **extra: Any) -> dict[str, Any]:
    body = await gql.execute(
        GENERATE, {"input": {"offerId": offer_id, **extra}}, token=gql.token("admin", "shop-a")
    )
    payload: dict[str, Any] = body["data"]["generateCouponCodes"]
    return payload


async def test_a_batch_of_unique_codes_with_a_prefix(gql: GraphQLClient):
    site_id = await create_site(gql, "shop-a")
    coupon = await _offer(gql, site_id, "COUPON", name="c", valueType="PERCENT", value="5")
    first = await _generate(gql, coupon, count=500, prefix="spring-", idempotencyKey="b1")
    retry = await _generate(gql, coupon, count=500, prefix="spring-", idempotencyKey="b1")
    more = await _generate(gql, coupon, count=500, prefix="spring-")
    assert len(first["codes"]) == 500
    assert all(code.startswith("SPRING-") and len(code) == 17 for code in first["codes"])
    assert retry == first
    assert len(set(first["codes"]) | set(more["codes"])) == 1000


async def test_codes_only_for_coupons_and_in_bounds(gql: GraphQLClient):
    site_id = await create_site(gql, "shop-a")
    promo = await _offer(gql, site_id, "PROMOTION", name="p", valueType="PERCENT", value="5")
    coupon = await _offer(gql, site_id, "COUPON", name="c", valueType="PERCENT", value="5")
    assert [e["code"] for e in (await _generate(gql, promo, count=1))["userErrors"]] == [
        "INVALID_VALUE"
    ]
    assert [e["field"] for e in (await _generate(gql, coupon, count=0))["userErrors"]] == [
        ["input", "count"]
    ]
    assert [e["field"] for e in (await _generate(gql, coupon, count=10_001))["userErrors"]] == [
        ["input", "count"]
    ]


async def test_a_product_exchange_is_listed_and_confirmed_once(gql: GraphQLClient, db: Database):
    # given: a customer buys a reward that exchanges points for a product priced at a token
    site_id = await create_site(gql, "shop-a")
    ann = await register(gql, "shop-a", site_id, "ann", enroll=True)
    admin = gql.token("admin", "shop-a")
    await gql.execute(
        GRANT_POINTS,
        {"input": {"customerId": ann["id"], "points": 300, "reason": "t"}},
        token=admin,
    )
    reward = await _offer(
        gql, site_id, "REWARD", name="Mug", valueType="FREE_ITEM", loyaltyPrice=250,
        exchangeProductId="mug-1", exchangePrice="0.01",
    )  # fmt: skip
    bought = await gql.execute(
        REDEEM, {"input": {"offerId": reward}}, token=gql.token("customer", "shop-a", subject="ann")
    )
    voucher = bought["data"]["redeemOffer"]["voucher"]["code"]
    # when
    pending = await gql.execute(EXCHANGES, {"s": site_id, "status": "PENDING"}, token=admin)
    exchange = pending["data"]["exchanges"]["edges"][0]["node"]
    by_service = await gql.execute(
        CONFIRM, {"input": {"exchangeId": exchange["id"]}},
        token=gql.token("service", "shop-a"), expect_errors=True,
    )  # fmt: skip
    confirmed = await gql.execute(CONFIRM, {"input": {"exchangeId": exchange["id"]}}, token=admin)
    again = await gql.execute(CONFIRM, {"input": {"exchangeId": exchange["id"]}}, token=admin)
    # then
    assert exchange == {
        "id": exchange["id"], "status": "PENDING", "productId": "mug-1", "voucherCode": voucher,
        "points": 250, "price": {"amount": "0.01"}, "confirmedBy": None,
    }  # fmt: skip
    assert by_service["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert confirmed["data"]["confirmExchange"]["exchange"] == {
        "status": "CONFIRMED",
        "confirmedBy": "admin:tester",
    }
    assert [e["code"] for e in again["data"]["confirmExchange"]["userErrors"]] == ["INVALID_STATE"]
    async with db.read_sessions() as session:
        kinds = list(await session.scalars(select(OutboxEventRow.kind).order_by(OutboxEventRow.id)))
    assert kinds.count("EXCHANGE_CONFIRMED") == 1


CONFIGURE = """
mutation($input: ConfigureProgramInput!) {
  configureProgram(input: $input) {
    program { exchangeCustomerGroups exchangeCategories } userErrors { field code }
  }
}
"""


async def test_a_site_limits_exchanges_to_groups_and_categories(gql: GraphQLClient):
    # given: exchanges only for VIPs and only in home/...
    site_id = await create_site(gql, "shop-a")
    admin = gql.token("admin", "shop-a")
    configured = await gql.execute(
        CONFIGURE,
        {"input": {"siteId": site_id, "exchangeCustomerGroups": ["vip"],
                   "exchangeCategories": ["home"]}},
        token=admin,
    )  # fmt: skip
    assert configured["data"]["configureProgram"]["program"] == {
        "exchangeCustomerGroups": ["vip"],
        "exchangeCategories": ["home"],
    }
    vip = await register(gql, "shop-a", site_id, "vip", enroll=True, groups=["vip"])
    plain = await register(gql, "shop-a", site_id, "plain", enroll=True)
    for who in (vip, plain):
        await gql.execute(
            GRANT_POINTS,
            {"input": {"customerId": who["id"], "points": 1000, "reason": "t"}},
            token=admin,
        )
    kitchen = await _offer(
        gql, site_id, "REWARD", name="Mug", valueType="FREE_ITEM", loyaltyPrice=100,
        scope="CATEGORY", targets=["home/kitchen"], exchangeProductId="mug-1",
    )  # fmt: skip
    garden = await _offer(
        gql, site_id, "REWARD", name="Spade", valueType="FREE_ITEM", loyaltyPrice=100,
        scope="CATEGORY", targets=["garden"], exchangeProductId="spade-1",
    )  # fmt: skip

    async def buy(external_id: str, offer_id: str) -> list[str]:
        body = await gql.execute(
            REDEEM, {"input": {"offerId": offer_id}},
            token=gql.token("customer", "shop-a", subject=external_id),
        )  # fmt: skip
        return [e["code"] for e in body["data"]["redeemOffer"]["userErrors"]]

    # when / then: both of the site's limits answer EXCHANGE_NOT_ALLOWED (NOT_IN_GROUP is
    # the offer's own groups)
    assert await buy("vip", kitchen) == []
    assert await buy("plain", kitchen) == ["EXCHANGE_NOT_ALLOWED"]
    assert await buy("vip", garden) == ["EXCHANGE_NOT_ALLOWED"]


async def test_bad_exchange_limits_are_refused(gql: GraphQLClient):
    site_id = await create_site(gql, "shop-a")
    body = await gql.execute(
        CONFIGURE,
        {"input": {"siteId": site_id, "exchangeCustomerGroups": ["not ok!"],
                   "exchangeCategories": ["/home/"]}},
        token=gql.token("admin", "shop-a"),
    )  # fmt: skip
    assert body["data"]["configureProgram"]["userErrors"] == [
        {"field": ["input", "exchangeCustomerGroups"], "code": "INVALID_VALUE"},
        {"field": ["input", "exchangeCategories"], "code": "INVALID_VALUE"},
    ]
