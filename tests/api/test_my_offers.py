""" "My offers": what a customer can buy, with the reason when not, and what they hold."""

from __future__ import annotations

from typing import Any

from tests.conftest import GraphQLClient, StatementCounter
from tests.support.operations import ASSIGN_OFFER, CREATE_OFFER, GRANT_POINTS
from tests.support.shop import create_site, register

ACT = """
mutation($input: OfferActionInput!) {{ {name}(input: $input) {{ userErrors {{ code }} }} }}
"""
REDEEM = """
mutation($input: RedeemOfferInput!) { redeemOffer(input: $input) { userErrors { code } } }
"""
MY_OFFERS = """
query($n: Int, $kind: OfferKind) {
  viewer {
    offers(first: $n, kind: $kind) {
      edges { node {
        offer { name kind tiers { name } }
        canRedeem reason assigned punches vouchers { code status }
      } }
      pageInfo { hasNextPage }
    }
  }
}
"""


async def _offer(
    gql: GraphQLClient, site_id: str, kind: str, publish: bool = True, **terms: Any
) -> str:
    admin = gql.token("admin", "shop-a")
    body = await gql.execute(
        CREATE_OFFER, {"input": {"siteId": site_id, "kind": kind, "terms": terms}}, token=admin
    )
    offer_id: str = body["data"]["createOffer"]["offer"]["id"]
    if publish:
        await gql.execute(
            ACT.format(name="publishOffer"), {"input": {"offerId": offer_id}}, token=admin
        )
    return offer_id


async def _shop(gql: GraphQLClient, points: int) -> tuple[str, str]:
    site_id = await create_site(gql, "shop-a")
    ann = await register(gql, "shop-a", site_id, "ann", enroll=True)
    await gql.execute(
        GRANT_POINTS,
        {"input": {"customerId": ann["id"], "points": points, "reason": "welcome"}},
        token=gql.token("admin", "shop-a"),
    )
    return site_id, ann["id"]


async def _mine(gql: GraphQLClient, **variables: Any) -> list[dict[str, Any]]:
    body = await gql.execute(
        MY_OFFERS, variables, token=gql.token("customer", "shop-a", subject="ann")
    )
    return [edge["node"] for edge in body["data"]["viewer"]["offers"]["edges"]]


async def test_my_offers_lists_what_can_be_bought_and_why_not(gql: GraphQLClient):
    # given: 150 points; a reward for 100, one for 500, one for VIPs, one in draft, a promotion
    site_id, _ = await _shop(gql, 150)
    await _offer(
        gql, site_id, "REWARD", name="cheap", valueType="PERCENT", value="5", loyaltyPrice=100
    )
    await _offer(
        gql, site_id, "REWARD", name="dear", valueType="PERCENT", value="5", loyaltyPrice=500
    )
    await _offer(
        gql, site_id, "REWARD", name="vip", valueType="PERCENT", value="5", loyaltyPrice=10,
        customerGroups=["vip"],
    )  # fmt: skip
    await _offer(gql, site_id, "REWARD", name="draft", publish=False, valueType="PERCENT",
                 value="5", loyaltyPrice=10)  # fmt: skip
    await _offer(gql, site_id, "PROMOTION", name="promo", valueType="PERCENT", value="5")
    # when
    mine = await _mine(gql)
    # then
    assert [(n["offer"]["name"], n["canRedeem"], n["reason"]) for n in mine] == [
        ("vip", False, "NOT_IN_GROUP"),
        ("dear", False, "INSUFFICIENT_POINTS"),
        ("cheap", True, None),
    ]


async def test_a_clubcard_sold_for_a_fee_is_listed_before_and_after_it_is_bought(
    gql: GraphQLClient,
):
    # given: 300 points and a clubcard whose membership costs 200, not held yet
    site_id, _ = await _shop(gql, 300)
    club = await _offer(
        gql, site_id, "CLUBCARD", name="club", valueType="PERCENT", value="10",
        membershipFeePoints=200,
    )  # fmt: skip
    # when / then: My offers lists it as something to buy
    [before] = await _mine(gql)
    assert (before["offer"]["name"], before["canRedeem"], before["reason"]) == ("club", True, None)
    assert before["assigned"] is False
    # when: ann buys the membership
    body = await gql.execute(
        REDEEM, {"input": {"offerId": club}}, token=gql.token("customer", "shop-a", subject="ann")
    )
    assert body["data"]["redeemOffer"]["userErrors"] == []
    # then: it stays listed, now held, and is not sold twice
    [after] = await _mine(gql)
    assert (after["canRedeem"], after["reason"], after["assigned"]) == (
        False, "CUSTOMER_LIMIT_REACHED", True,
    )  # fmt: skip


async def test_bought_vouchers_and_assigned_punchcards_show_and_deleted_offers_leave(
    gql: GraphQLClient,
):
    # given
    site_id, ann = await _shop(gql, 500)
    reward = await _offer(gql, site_id, "REWARD", name="r", valueType="PERCENT", value="5",
                          loyaltyPrice=100)  # fmt: skip
    card = await _offer(gql, site_id, "PUNCHCARD", name="coffee", valueType="FREE_ITEM",
                        punchesRequired=5, scope="PRODUCT", targets=["espresso"])  # fmt: skip
    customer = gql.token("customer", "shop-a", subject="ann")
    await gql.execute(REDEEM, {"input": {"offerId": reward}}, token=customer)
    await gql.execute(
        ASSIGN_OFFER,
        {"input": {"offerId": card, "customerIds": [ann]}},
        token=gql.token("admin", "shop-a"),
    )
    # when
    before = await _mine(gql)
    await gql.execute(
        ACT.format(name="deleteOffer"),
        {"input": {"offerId": reward}},
        token=gql.token("admin", "shop-a"),
    )
    after = await _mine(gql)
    vouchers = await gql.execute("{ viewer { vouchers { status } } }", token=customer)
    # then
    assert [
        (n["offer"]["name"], n["assigned"], n["punches"], len(n["vouchers"])) for n in before
    ] == [
        ("coffee", True, 0, 0),
        ("r", False, None, 1),
    ]
    assert [n["offer"]["name"] for n in after] == ["coffee"]
    assert vouchers["data"]["viewer"]["vouchers"] == [{"status": "ACTIVE"}]


async def test_my_offers_with_50_offers_costs_as_much_as_with_1(
    gql: GraphQLClient, statements: StatementCounter
):
    # given
    site_id, _ = await _shop(gql, 1000)
    for n in range(50):
        await _offer(gql, site_id, "REWARD", name=f"r{n}", valueType="PERCENT", value="5",
                     loyaltyPrice=100 + n)  # fmt: skip
    await _mine(gql, n=2)  # warm-up (another page: its answer is cached, not these)
    # when
    with statements:
        one = await _mine(gql, n=1)
    for_one = list(statements.statements)
    with statements:
        fifty = await _mine(gql, n=50)
    for_fifty = list(statements.statements)
    # then
    assert (len(one), len(fifty)) == (1, 50)
    assert len(for_one) == len(for_fifty), (for_one, for_fifty)


async def test_threshold_reward_vouchers_come_first_and_pages_cross_into_offers(
    gql: GraphQLClient,
):
    # given: a threshold of 100 points, crossed twice, and two rewards for sale
    site_id, ann = await _shop(gql, 0)
    admin = gql.token("admin", "shop-a")
    await gql.execute(
        """mutation($input: ConfigureProgramInput!) {
             configureProgram(input: $input) { userErrors { code } } }""",
        {"input": {"siteId": site_id, "thresholdReward": {
            "enabled": True, "points": 100, "valueType": "PERCENT", "value": "10"}}},
        token=admin,
    )  # fmt: skip
    await gql.execute(
        GRANT_POINTS, {"input": {"customerId": ann, "points": 250, "reason": "t"}}, token=admin
    )
    for n in range(2):
        await _offer(gql, site_id, "REWARD", name=f"r{n}", valueType="PERCENT", value="5",
                     loyaltyPrice=10)  # fmt: skip
    customer = gql.token("customer", "shop-a", subject="ann")
    page = """query($a: String) { viewer { offers(first: 3, after: $a) {
                edges { node { offer { name } vouchers { status } } }
                pageInfo { hasNextPage endCursor } } } }"""
    # when
    first = (await gql.execute(page, {}, token=customer))["data"]["viewer"]["offers"]
    rest = (await gql.execute(page, {"a": first["pageInfo"]["endCursor"]}, token=customer))["data"][
        "viewer"
    ]["offers"]
    # then
    shown = [
        (e["node"]["offer"] or {}).get("name", "voucher") for e in first["edges"] + rest["edges"]
    ]
    assert shown == ["voucher", "voucher", "r1", "r0"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert rest["pageInfo"]["hasNextPage"] is False
