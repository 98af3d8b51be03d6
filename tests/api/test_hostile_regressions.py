"""Inputs tests/api/test_hostile_inputs.py found answering "Internal error.", each fixed."""

from __future__ import annotations

import pytest

from loyalty_gql.api.core.pagination import MAX_ID, list_cursor
from tests.conftest import GraphQLClient
from tests.support.operations import CREATE_OFFER, PUBLISH_OFFER
from tests.support.shop import create_site, register

MY_OFFERS = """
query($a: String) { viewer { offers(after: $a) { nodes { offer { name } } } } }
"""


@pytest.mark.parametrize(
    "key",
    [[1, MAX_ID + 1], [1, 2**70], [1, -(2**70)], [0, 2**70], [1, 0], [0, -1]],
    ids=["past-64-bits", "2^70", "-2^70", "vouchers-2^70", "zero", "negative"],
)
async def test_a_my_offers_cursor_with_an_id_out_of_range_is_a_bad_request(
    gql: GraphQLClient, key: list[int]
):
    # given: a customer with a published reward to list
    site_id = await create_site(gql, "shop-a")
    await register(gql, "shop-a", site_id, "ann", enroll=True)
    admin = gql.token("admin", "shop-a")
    terms = {"name": "Mug", "valueType": "FIXED_AMOUNT", "value": "1", "loyaltyPrice": 10}
    body = await gql.execute(
        CREATE_OFFER, {"input": {"siteId": site_id, "kind": "REWARD", "terms": terms}}, token=admin
    )
    offer_id = body["data"]["createOffer"]["offer"]["id"]
    await gql.execute(PUBLISH_OFFER, {"input": {"offerId": offer_id}}, token=admin)
    customer = gql.token("customer", "shop-a", subject="ann")
    # when: the cursor's id is beyond what a 64-bit id column holds, or below 1
    body = await gql.execute(
        MY_OFFERS, {"a": list_cursor("myOffers", key)}, token=customer, expect_errors=True
    )
    # then: a bad request, not the database's overflow as an internal error
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert "is not a valid cursor" in body["errors"][0]["message"]


async def test_a_my_offers_cursor_at_the_largest_id_is_an_empty_page_after_it(
    gql: GraphQLClient,
):
    site_id = await create_site(gql, "shop-a")
    await register(gql, "shop-a", site_id, "ann", enroll=True)
    customer = gql.token("customer", "shop-a", subject="ann")
    body = await gql.execute(MY_OFFERS, {"a": list_cursor("myOffers", [1, MAX_ID])}, token=customer)
    assert body["data"]["viewer"]["offers"]["nodes"] == []


GRANT = """
mutation($input: GrantPointsInput!) { grantPoints(input: $input) {
  entry { points } userErrors { code } } }
"""


async def test_the_longest_token_subject_fits_the_actor_it_is_recorded_as(gql: GraphQLClient):
    # given: an admin whose token subject is as long as allowed (190), and one longer
    site_id = await create_site(gql, "shop-a")
    customer = await register(gql, "shop-a", site_id, "ann", enroll=True)
    longest = gql.token("admin", "shop-a", subject="s" * 190)
    too_long = gql.token("admin", "shop-a", subject="s" * 191)
    grant = {"input": {"customerId": customer["id"], "points": 5, "reason": "goodwill"}}
    # when: each grants points (recorded as the actor "admin:sss...", 200 characters at most)
    body = await gql.execute(GRANT, grant, token=longest)
    refused = await gql.http.post(
        "/graphql",
        json={"query": GRANT, "variables": grant},
        headers={"authorization": f"Bearer {too_long}"},
    )
    # then: the first is written on every backend; the second is not a valid token
    assert body["data"]["grantPoints"] == {"entry": {"points": 5}, "userErrors": []}
    assert refused.status_code == 401
    assert "1-190 characters" in refused.json()["errors"][0]["message"]
