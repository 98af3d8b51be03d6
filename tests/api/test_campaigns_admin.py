"""The admin side of campaigns: create, update, publish, unpublish, delete, copy, the
list with its filters and pages, a campaign as a node; bad terms are userErrors with codes
and fields; other sites' admins, the shop backend and customers cannot manage them."""

from __future__ import annotations

from typing import Any

from tests.conftest import GraphQLClient
from tests.support.shop import Shop

CREATE = """
mutation($input: CreateCampaignInput!) {
  createCampaign(input: $input) {
    campaign { id name status trigger priority exclusive version budgetSpent budgetLeft
      conditions { categories minimumOrderValue { amount } weekdays hours { start end }
                   channels nthOrder }
      effect { kind multiplier scope }
      limits { perCustomer period budgetPoints capPerOrder } }
    userErrors { field code message }
  }
}
"""
UPDATE = """
mutation($input: UpdateCampaignInput!) {
  updateCampaign(input: $input) {
    campaign { id name version effect { kind points } }
    userErrors { field code message }
  }
}
"""
ACTION = """
mutation($input: CampaignActionInput!) {
  {action}(input: $input) { campaign { id name status } userErrors { field code message } }
}
"""
LIST = """
query($s: ID!, $f: CampaignFilter, $first: Int, $after: String, $last: Int) {
  campaigns(siteId: $s, filter: $f, first: $first, after: $after, last: $last) {
    totalCount
    edges { cursor node { name status trigger } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Campaign { name status } } }"

DOUBLE_SHOES: dict[str, Any] = {
    "name": "Double shoes", "trigger": "ORDER",
    "effect": {"kind": "MULTIPLIER", "multiplier": "2", "scope": "QUALIFYING_LINES"},
    "conditions": {"categories": ["shoes"], "minimumOrderValue": "20.00", "weekdays": [5, 6],
                   "hours": {"start": 18, "end": 2}, "channels": ["web"]},
    "limits": {"perCustomer": 3, "period": "WEEK", "budgetPoints": 5000, "capPerOrder": 200},
    "priority": 5,
}  # fmt: skip


async def create(shop: Shop, terms: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    body = await shop.gql.execute(
        CREATE, {"input": {"siteId": shop.site_id, "campaign": terms}}, token=token or shop.admin
    )
    payload: dict[str, Any] = body["data"]["createCampaign"]
    return payload


async def act(shop: Shop, action: str, campaign_id: str) -> dict[str, Any]:
    body = await shop.gql.execute(
        ACTION.replace("{action}", action), {"input": {"campaignId": campaign_id}},
        token=shop.admin,
    )  # fmt: skip
    payload: dict[str, Any] = body["data"][action]
    return payload


async def test_a_campaign_is_created_as_a_draft_with_its_terms(gql: GraphQLClient) -> None:
    # given
    shop = await Shop.open(gql)
    # when
    payload = await create(shop, DOUBLE_SHOES)
    # then
    assert payload["userErrors"] == []
    campaign = payload["campaign"]
    assert {k: v for k, v in campaign.items() if k != "id"} == {
        "name": "Double shoes", "status": "DRAFT", "trigger": "ORDER", "priority": 5,
        "exclusive": False, "version": 1, "budgetSpent": 0, "budgetLeft": 5000,
        "conditions": {"categories": ["shoes"], "minimumOrderValue": {"amount": "20.00"},
                       "weekdays": [5, 6], "hours": {"start": 18, "end": 2},
                       "channels": ["web"], "nthOrder": None},
        "effect": {"kind": "MULTIPLIER", "multiplier": "2", "scope": "QUALIFYING_LINES"},
        "limits": {"perCustomer": 3, "period": "WEEK", "budgetPoints": 5000,
                   "capPerOrder": 200},
    }  # fmt: skip


async def test_bad_terms_are_user_errors_under_the_campaign(gql: GraphQLClient) -> None:
    # given
    shop = await Shop.open(gql)
    bad = {
        **DOUBLE_SHOES,
        "name": " ",
        "effect": {"kind": "MULTIPLIER", "multiplier": "1"},
        "conditions": {"weekdays": [7], "hours": {"start": 3, "end": 3}},
        "limits": {"budgetPoints": 0},
    }
    # when
    payload = await create(shop, bad)
    # then: each problem with its field, nothing created
    assert payload["campaign"] is None
    assert sorted((tuple(e["field"]), e["code"]) for e in payload["userErrors"]) == [
        (("input", "campaign", "conditions", "hours"), "INVALID_VALUE"),
        (("input", "campaign", "conditions", "weekdays"), "INVALID_VALUE"),
        (("input", "campaign", "effect", "multiplier"), "INVALID_VALUE"),
        (("input", "campaign", "limits", "budgetPoints"), "INVALID_VALUE"),
        (("input", "campaign", "name"), "INVALID_VALUE"),
    ]
    # and a voucher effect needs its offer (one of this site), an unknown tier is not
    # found, a money amount with too many decimals is refused
    voucher = await create(
        shop, {"name": "V", "trigger": "ENROLMENT", "effect": {"kind": "VOUCHER"}}
    )
    assert [(e["field"], e["code"]) for e in voucher["userErrors"]] == [
        (["input", "campaign", "effect", "rewardOfferId"], "INVALID_VALUE")
    ]
    unknown = await create(
        shop, {"name": "V", "trigger": "ENROLMENT",
               "effect": {"kind": "VOUCHER", "rewardOfferId": "T2ZmZXI6OTk5"}},
    )  # fmt: skip
    assert [(e["field"], e["code"]) for e in unknown["userErrors"]] == [
        (["input", "campaign", "effect", "rewardOfferId"], "NOT_FOUND")
    ]
    tier = await create(
        shop, {"name": "T", "trigger": "ORDER", "effect": {"kind": "FIXED_POINTS", "points": 5},
               "conditions": {"tierIds": ["VGllcjo5OTk="]}},
    )  # fmt: skip
    assert [(e["field"], e["code"]) for e in tier["userErrors"]] == [
        (["input", "campaign", "conditions", "tierIds"], "NOT_FOUND")
    ]
    cents = await create(
        shop, {"name": "C", "trigger": "ORDER", "effect": {"kind": "FIXED_POINTS", "points": 5},
               "conditions": {"minimumOrderValue": "1.001"}},
    )  # fmt: skip
    assert [(e["field"], e["code"]) for e in cents["userErrors"]] == [
        (["input", "campaign", "conditions", "minimumOrderValue"], "INVALID_VALUE")
    ]
    body = await gql.execute(LIST, {"s": shop.site_id}, token=shop.admin)
    assert body["data"]["campaigns"]["totalCount"] == 0


async def test_the_life_of_a_campaign(gql: GraphQLClient) -> None:
    # given
    shop = await Shop.open(gql)
    campaign_id = (await create(shop, DOUBLE_SHOES))["campaign"]["id"]
    # when: changed, published, copied, unpublished, deleted
    body = await gql.execute(
        UPDATE,
        {"input": {"campaignId": campaign_id, "campaign": {
            "name": "Shoes 50", "trigger": "ORDER",
            "effect": {"kind": "FIXED_POINTS", "points": 50}}}},
        token=shop.admin,
    )  # fmt: skip
    updated = body["data"]["updateCampaign"]
    assert updated["userErrors"] == []
    assert updated["campaign"] == {
        "id": campaign_id, "name": "Shoes 50", "version": 2,
        "effect": {"kind": "FIXED_POINTS", "points": 50},
    }  # fmt: skip
    assert (await act(shop, "publishCampaign", campaign_id))["campaign"]["status"] == "LIVE"
    copy = await act(shop, "copyCampaign", campaign_id)
    assert (copy["campaign"]["name"], copy["campaign"]["status"]) == ("Copy of Shoes 50", "DRAFT")
    # publishing twice changes nothing; a deleted campaign cannot be published
    assert (await act(shop, "publishCampaign", campaign_id))["userErrors"] == []
    spare = (await create(shop, DOUBLE_SHOES))["campaign"]["id"]
    assert (await act(shop, "deleteCampaign", spare))["campaign"]["status"] == "DELETED"
    refused = await act(shop, "publishCampaign", spare)
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["input", "campaignId"], "INVALID_STATE")
    ]
    # then: the list, filtered and paged
    body = await gql.execute(
        LIST, {"s": shop.site_id, "f": {"statuses": ["LIVE"]}}, token=shop.admin
    )
    assert [e["node"]["name"] for e in body["data"]["campaigns"]["edges"]] == ["Shoes 50"]
    body = await gql.execute(LIST, {"s": shop.site_id, "first": 1}, token=shop.admin)
    page = body["data"]["campaigns"]
    assert (page["totalCount"], [e["node"]["name"] for e in page["edges"]]) == (
        2, ["Copy of Shoes 50"],
    )  # fmt: skip
    assert page["pageInfo"]["hasNextPage"] is True
    body = await gql.execute(
        LIST, {"s": shop.site_id, "first": 1, "after": page["pageInfo"]["endCursor"]},
        token=shop.admin,
    )  # fmt: skip
    assert [e["node"]["name"] for e in body["data"]["campaigns"]["edges"]] == ["Shoes 50"]
    body = await gql.execute(
        LIST, {"s": shop.site_id, "f": {"triggers": ["ENROLMENT"]}}, token=shop.admin
    )
    assert body["data"]["campaigns"]["totalCount"] == 0
    # when: unpublished, then deleted
    assert (await act(shop, "unpublishCampaign", campaign_id))["campaign"]["status"] == "DRAFT"
    assert (await act(shop, "deleteCampaign", campaign_id))["campaign"]["status"] == "DELETED"
    # then: gone from the list but for a DELETED filter, still a node, no longer changed
    body = await gql.execute(LIST, {"s": shop.site_id}, token=shop.admin)
    assert [e["node"]["name"] for e in body["data"]["campaigns"]["edges"]] == ["Copy of Shoes 50"]
    body = await gql.execute(NODE, {"id": campaign_id}, token=shop.admin)
    assert body["data"]["node"] == {"id": campaign_id, "name": "Shoes 50", "status": "DELETED"}
    body = await gql.execute(
        UPDATE, {"input": {"campaignId": campaign_id, "campaign": DOUBLE_SHOES}},
        token=shop.admin,
    )  # fmt: skip
    assert [e["code"] for e in body["data"]["updateCampaign"]["userErrors"]] == ["INVALID_STATE"]


async def test_only_the_sites_admins_manage_its_campaigns(gql: GraphQLClient) -> None:
    # given: a campaign of shop-a, and shop-b's admin
    shop = await Shop.open(gql)
    other = await Shop.open(gql, "shop-b")
    await shop.register("ann", enroll=True)
    campaign_id = (await create(shop, DOUBLE_SHOES))["campaign"]["id"]
    # when / then: shop-b's admin cannot see or change it (as if it did not exist)
    body = await gql.execute(NODE, {"id": campaign_id}, token=other.admin)
    assert body["data"]["node"] is None
    refused = await gql.execute(
        ACTION.replace("{action}", "publishCampaign"), {"input": {"campaignId": campaign_id}},
        token=other.admin,
    )  # fmt: skip
    assert [e["code"] for e in refused["data"]["publishCampaign"]["userErrors"]] == ["NOT_FOUND"]
    # nor create one on shop-a, list shop-a's, nor may the shop backend or a customer
    for token in (other.admin, shop.service, shop.customer("ann")):
        body = await gql.execute(
            CREATE, {"input": {"siteId": shop.site_id, "campaign": DOUBLE_SHOES}}, token=token,
            expect_errors=True,
        )  # fmt: skip
        assert body["data"] is None or body["data"]["createCampaign"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        body = await gql.execute(LIST, {"s": shop.site_id}, token=token, expect_errors=True)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await gql.execute(NODE, {"id": campaign_id}, token=shop.customer("ann"))
    assert body["data"]["node"] is None
