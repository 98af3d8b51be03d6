"""Admins create, edit, publish, unpublish, delete and copy offers; staff list them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import GraphQLClient
from tests.support.shop import create_site

FIELDS = """
  id kind status name valueType value scope targets loyaltyPrice rewardPoints
  validFrom validUntil maxUses maxUsesPerCustomer uses customerGroups priority exclusive
  stackingGroup punchesRequired punchMinimumQuantity membershipFeePoints couponCode
  exchangeProductId exchangePrice { amount currencyCode } minimumOrderValue { amount }
  tiers { name } copiedFrom { id } publishedAt deletedAt
"""
CREATE = f"""
mutation($input: CreateOfferInput!) {{
  createOffer(input: $input) {{ offer {{ {FIELDS} }} userErrors {{ field code message }} }}
}}
"""
UPDATE = f"""
mutation($input: UpdateOfferInput!) {{
  updateOffer(input: $input) {{ offer {{ {FIELDS} }} userErrors {{ field code message }} }}
}}
"""
ACTION = """
mutation($input: OfferActionInput!) {{
  {name}(input: $input) {{ offer {{ id name status uses couponCode copiedFrom {{ id }} }}
    userErrors {{ field code message }} }}
}}
"""
OFFERS = """
query($s: ID!, $f: OfferFilter, $n: Int, $a: String) {
  offers(siteId: $s, filter: $f, first: $n, after: $a) {
    edges { node { name status } } pageInfo { hasNextPage endCursor }
  }
}
"""
REWARD = {"name": "10% off", "valueType": "PERCENT", "value": "10", "loyaltyPrice": 500}


async def _create(gql: GraphQLClient, site_id: str, kind: str, **terms: Any) -> dict[str, Any]:
    body = await gql.execute(
        CREATE,
        {"input": {"siteId": site_id, "kind": kind, "terms": terms}},
        token=gql.token("admin", "shop-a"),
    )
    payload: dict[str, Any] = body["data"]["createOffer"]
    return payload


async def _act(gql: GraphQLClient, name: str, offer_id: str, **extra: Any) -> dict[str, Any]:
    body = await gql.execute(
        ACTION.format(name=name),
        {"input": {"offerId": offer_id, **extra}},
        token=gql.token("admin", "shop-a"),
    )
    payload: dict[str, Any] = body["data"][name]
    return payload


def _codes(payload: dict[str, Any]) -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def test_a_new_offer_is_a_draft_with_the_terms_given(gql: GraphQLClient):
    site_id = await create_site(gql, "shop-a")
    payload = await _create(
        gql, site_id, "REWARD", **REWARD, scope="CATEGORY", targets=["shoes/running"],
        maxUses=10, maxUsesPerCustomer=1, minimumOrderValue="25.5", customerGroups=["vip"],
        validFrom="2026-02-01T00:00:00+00:00", exchangeProductId="sku-1", exchangePrice="0.01",
    )  # fmt: skip
    offer = payload["offer"]
    assert payload["userErrors"] == []
    assert offer["status"] == "DRAFT"
    assert offer["uses"] == 0
    assert (offer["scope"], offer["targets"]) == ("CATEGORY", ["shoes/running"])
    assert offer["minimumOrderValue"] == {"amount": "25.50"}
    assert offer["exchangePrice"] == {"amount": "0.01", "currencyCode": "EUR"}
    assert offer["validFrom"] == "2026-02-01T00:00:00+00:00"


@pytest.mark.parametrize(
    ("kind", "terms", "errors"),
    [
        ("REWARD", {"name": "x", "valueType": "PERCENT", "value": "10"},
         [(["input", "terms", "loyaltyPrice"], "REQUIRED")]),
        ("PROMOTION", {"name": "x", "valueType": "PERCENT", "value": "150"},
         [(["input", "terms", "value"], "INVALID_VALUE")]),
        ("PROMOTION", {"name": "x", "valueType": "FIXED_AMOUNT", "value": "1.005"},
         [(["input", "terms", "value"], "INVALID_VALUE")]),
        ("PROMOTION", {"name": "x", "valueType": "FREE_ITEM", "scope": "PRODUCT"},
         [(["input", "terms", "targets"], "REQUIRED")]),
        ("PROMOTION", {"name": "x", "valueType": "PERCENT", "value": "5", "targets": ["a"]},
         [(["input", "terms", "targets"], "INVALID_VALUE")]),
        ("PUNCHCARD", {"name": "x", "valueType": "FREE_ITEM"},
         [(["input", "terms", "punchesRequired"], "INVALID_VALUE")]),
        ("PROMOTION", {"name": "x", "valueType": "PERCENT", "value": "5", "loyaltyPrice": 10},
         [(["input", "terms", "loyaltyPrice"], "INVALID_VALUE")]),
        ("COUPON", {"name": "x", "valueType": "PERCENT", "value": "5", "couponCode": "a b"},
         [(["input", "terms", "couponCode"], "INVALID_VALUE")]),
        ("PROMOTION", {"name": "x", "valueType": "PERCENT", "value": "5",
                       "validFrom": "2026-02-01T00:00:00Z", "validUntil": "2026-01-01T00:00:00Z"},
         [(["input", "terms", "validUntil"], "INVALID_VALUE")]),
        ("PROMOTION", {"name": "x", "valueType": "PERCENT", "value": "5",
                       "validFrom": "2026-02-01T00:00:00"},
         [(["input", "terms", "validFrom"], "INVALID_VALUE")]),
        ("PROMOTION", {"name": "x", "valueType": "PERCENT", "value": "5",
                       "tierIds": ["VGllcjo5OTk="]},
         [(["input", "terms", "tierIds"], "NOT_FOUND")]),
    ],
)  # fmt: skip
async def test_incoherent_terms_are_user_errors_and_nothing_is_created(
    gql: GraphQLClient, kind: str, terms: dict[str, Any], errors: list[Any]
):
    site_id = await create_site(gql, "shop-a")
    payload = await _create(gql, site_id, kind, **terms)
    assert payload["offer"] is None
    assert _codes(payload) == errors
    listed = await gql.execute(OFFERS, {"s": site_id}, token=gql.token("admin", "shop-a"))
    assert listed["data"]["offers"]["edges"] == []


async def test_publish_unpublish_delete_follow_the_life_of_an_offer(gql: GraphQLClient):
    # given
    site_id = await create_site(gql, "shop-a")
    offer_id = (await _create(gql, site_id, "REWARD", **REWARD))["offer"]["id"]
    # when / then
    assert (await _act(gql, "unpublishOffer", offer_id))["userErrors"][0]["code"] == (
        "INVALID_STATE"
    )
    assert (await _act(gql, "publishOffer", offer_id))["offer"]["status"] == "PUBLISHED"
    assert (await _act(gql, "unpublishOffer", offer_id))["offer"]["status"] == "UNPUBLISHED"
    assert (await _act(gql, "publishOffer", offer_id))["offer"]["status"] == "PUBLISHED"
    assert (await _act(gql, "deleteOffer", offer_id))["offer"]["status"] == "DELETED"
    assert _codes(await _act(gql, "publishOffer", offer_id)) == [
        (["input", "offerId"], "INVALID_STATE")
    ]
    admin = gql.token("admin", "shop-a")
    listed = await gql.execute(OFFERS, {"s": site_id}, token=admin)
    deleted = await gql.execute(OFFERS, {"s": site_id, "f": {"statuses": ["DELETED"]}}, token=admin)
    one = await gql.execute(
        "query($id: ID!) { offer(id: $id) { status deletedAt } }", {"id": offer_id}, token=admin
    )
    assert listed["data"]["offers"]["edges"] == []
    assert deleted["data"]["offers"]["edges"] == [
        {"node": {"name": "10% off", "status": "DELETED"}}
    ]
    assert one["data"]["offer"]["status"] == "DELETED"
    assert one["data"]["offer"]["deletedAt"] is not None
    update = await gql.execute(
        UPDATE, {"input": {"offerId": offer_id, "terms": REWARD}}, token=admin
    )
    assert _codes(update["data"]["updateOffer"]) == [(["input", "offerId"], "INVALID_STATE")]


async def test_update_replaces_the_terms_but_not_the_kind(gql: GraphQLClient):
    site_id = await create_site(gql, "shop-a")
    offer_id = (await _create(gql, site_id, "REWARD", **REWARD))["offer"]["id"]
    body = await gql.execute(
        UPDATE,
        {"input": {"offerId": offer_id, "terms": {**REWARD, "name": "15% off", "value": "15"}}},
        token=gql.token("admin", "shop-a"),
    )
    offer = body["data"]["updateOffer"]["offer"]
    assert (offer["kind"], offer["name"], offer["value"]) == ("REWARD", "15% off", "15")


async def test_copy_keeps_the_terms_and_drops_counters_and_codes(gql: GraphQLClient):
    # given: a published coupon with a shared code
    site_id = await create_site(gql, "shop-a")
    original = (
        await _create(
            gql, site_id, "COUPON", name="Spring", valueType="PERCENT", value="20",
            couponCode="spring-26", maxUses=100, priority=5,
        )
    )["offer"]  # fmt: skip
    await _act(gql, "publishOffer", original["id"])
    # when
    copy = (await _act(gql, "copyOffer", original["id"]))["offer"]
    # then
    assert original["couponCode"] == "SPRING-26"
    assert copy["name"] == "Copy of Spring"
    assert copy["status"] == "DRAFT"
    assert copy["uses"] == 0
    assert copy["couponCode"] not in (None, "SPRING-26")
    assert copy["copiedFrom"] == {"id": original["id"]}
    full = await gql.execute(
        f"query($id: ID!) {{ offer(id: $id) {{ {FIELDS} }} }}",
        {"id": copy["id"]},
        token=gql.token("admin", "shop-a"),
    )
    different = {"id", "name", "status", "couponCode", "copiedFrom", "publishedAt"}
    same = {k: v for k, v in full["data"]["offer"].items() if k not in different}
    assert same == {k: v for k, v in original.items() if k not in different}


async def test_a_coupon_code_is_unique_in_its_site(gql: GraphQLClient):
    site_id = await create_site(gql, "shop-a")
    terms = {"name": "x", "valueType": "PERCENT", "value": "5", "couponCode": "SAVE5"}
    await _create(gql, site_id, "COUPON", **terms)
    again = await _create(gql, site_id, "COUPON", **terms)
    assert _codes(again) == [(["input", "terms", "couponCode"], "DUPLICATE")]


async def test_create_is_safe_to_retry(gql: GraphQLClient):
    site_id = await create_site(gql, "shop-a")
    admin = gql.token("admin", "shop-a")
    variables = {"input": {"siteId": site_id, "kind": "REWARD", "terms": REWARD,
                           "idempotencyKey": "offer-1"}}  # fmt: skip
    first = await gql.execute(CREATE, variables, token=admin)
    second = await gql.execute(CREATE, variables, token=admin)
    variables["input"]["terms"] = {**REWARD, "name": "other"}
    reused = await gql.execute(CREATE, variables, token=admin)
    assert first["data"] == second["data"]
    assert _codes(reused["data"]["createOffer"]) == [
        (["input", "idempotencyKey"], "IDEMPOTENCY_KEY_REUSED")
    ]
    listed = await gql.execute(OFFERS, {"s": site_id}, token=admin)
    assert len(listed["data"]["offers"]["edges"]) == 1


async def test_only_the_sites_admins_manage_its_offers(gql: GraphQLClient):
    site_id = await create_site(gql, "shop-a")
    await create_site(gql, "shop-b")
    offer_id = (await _create(gql, site_id, "REWARD", **REWARD))["offer"]["id"]
    service = gql.token("service", "shop-a")
    stranger = gql.token("admin", "shop-b")
    by_service = await gql.execute(
        CREATE, {"input": {"siteId": site_id, "kind": "REWARD", "terms": REWARD}},
        token=service, expect_errors=True,
    )  # fmt: skip
    by_stranger = await gql.execute(
        ACTION.format(name="publishOffer"), {"input": {"offerId": offer_id}}, token=stranger
    )
    seen_by_stranger = await gql.execute(
        "query($id: ID!) { offer(id: $id) { id } }", {"id": offer_id}, token=stranger
    )
    listed_by_service = await gql.execute(OFFERS, {"s": site_id}, token=service)
    assert by_service["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert _codes(by_stranger["data"]["publishOffer"]) == [(["input", "offerId"], "NOT_FOUND")]
    assert seen_by_stranger["data"]["offer"] is None
    assert len(listed_by_service["data"]["offers"]["edges"]) == 1


async def test_offers_page_newest_first_and_filter_by_kind(gql: GraphQLClient):
    site_id = await create_site(gql, "shop-a")
    for n in range(3):
        await _create(gql, site_id, "REWARD", **{**REWARD, "name": f"reward {n}"})
    await _create(gql, site_id, "PROMOTION", name="promo", valueType="PERCENT", value="5")
    admin = gql.token("admin", "shop-a")
    first = await gql.execute(OFFERS, {"s": site_id, "n": 2}, token=admin)
    page = first["data"]["offers"]
    rest = await gql.execute(
        OFFERS, {"s": site_id, "n": 5, "a": page["pageInfo"]["endCursor"]}, token=admin
    )
    rewards = await gql.execute(OFFERS, {"s": site_id, "f": {"kinds": ["REWARD"]}}, token=admin)
    names = [e["node"]["name"] for e in page["edges"] + rest["data"]["offers"]["edges"]]
    assert names == ["promo", "reward 2", "reward 1", "reward 0"]
    assert page["pageInfo"]["hasNextPage"] is True
    assert len(rewards["data"]["offers"]["edges"]) == 3
