"""Campaigns, worked examples end to end: the checkout quote and recordOrder give the same
points per campaign, each campaign's points are a ledger entry of their own, limits and
budgets hold, refunds take back in proportion; `verify` stays clean after each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.services.points.verify import verify_ledger
from tests.conftest import GraphQLClient
from tests.support.clock import Clock
from tests.support.shop import Shop, line

CREATE = """
mutation($input: CreateCampaignInput!) {
  createCampaign(input: $input) {
    campaign { id name status budgetLeft }
    userErrors { field code message }
  }
}
"""
ACTION = """
mutation($input: CampaignActionInput!) {
  {action}(input: $input) { campaign { id name status } userErrors { field code message } }
}
"""
CAMPAIGN_QUOTE = """
fragment C on CheckoutQuote {
  total { amount } basePoints points campaignPoints
  campaigns { campaignId name points }
  rejectedCampaigns { campaignId name reason message }
}
"""
CHECKOUT = "query($input: CheckoutInput!) { checkout(input: $input) { ...C } }" + CAMPAIGN_QUOTE
RECORD = (
    "mutation($input: RecordOrderInput!) { recordOrder(input: $input) {"
    " order { orderId pointsEarned quote { ...C } } userErrors { field code message } } }"
    + CAMPAIGN_QUOTE
)
REFUND = """
mutation($input: RefundOrderInput!) {
  refundOrder(input: $input) { order { pointsTakenBack } userErrors { field code message } }
}
"""
LEDGER = """
query($id: ID!) {
  customer(id: $id) {
    ledger(first: 50) { edges { node { points pendingPoints kind reason source { type } } } }
  }
}
"""
CAMPAIGNS = """
query($s: ID!, $f: CampaignFilter) {
  campaigns(siteId: $s, filter: $f, first: 10) {
    totalCount edges { node { id name status trigger budgetSpent budgetLeft } }
  }
}
"""


async def campaign(shop: Shop, *, publish: bool = True, **terms: Any) -> str:
    """A new campaign's global ID (published unless told otherwise)."""
    body = await shop.gql.execute(
        CREATE, {"input": {"siteId": shop.site_id, "campaign": terms}}, token=shop.admin
    )
    payload = body["data"]["createCampaign"]
    assert payload["userErrors"] == [], payload
    campaign_id: str = payload["campaign"]["id"]
    if publish:
        await act(shop, "publishCampaign", campaign_id)
    return campaign_id


async def act(shop: Shop, action: str, campaign_id: str) -> dict[str, Any]:
    body = await shop.gql.execute(
        ACTION.replace("{action}", action), {"input": {"campaignId": campaign_id}},
        token=shop.admin,
    )  # fmt: skip
    payload: dict[str, Any] = body["data"][action]
    assert payload["userErrors"] == [], payload
    return payload


async def quote(shop: Shop, customer: str, **basket: Any) -> dict[str, Any]:
    body = await shop.gql.execute(
        CHECKOUT, {"input": shop.basket(customer, **basket)}, token=shop.service
    )
    result: dict[str, Any] = body["data"]["checkout"]
    return result


async def record(shop: Shop, order_id: str, customer: str, **basket: Any) -> dict[str, Any]:
    body = await shop.gql.execute(
        RECORD, {"input": {"orderId": order_id, **shop.basket(customer, **basket)}},
        token=shop.service,
    )  # fmt: skip
    payload = body["data"]["recordOrder"]
    assert payload["userErrors"] == [], payload
    order: dict[str, Any] = payload["order"]
    return order


async def quoted_and_recorded(
    shop: Shop, order_id: str, customer: str, **basket: Any
) -> dict[str, Any]:
    """The checkout quote, then the order recorded from the same basket: both the same."""
    before = await quote(shop, customer, **basket)
    order = await record(shop, order_id, customer, **basket)
    assert order["quote"] == before
    return before


def points_of(quoted: dict[str, Any]) -> list[tuple[str, int]]:
    return [(c["name"], c["points"]) for c in quoted["campaigns"]]


def reasons_of(quoted: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["name"], c["reason"]) for c in quoted["rejectedCampaigns"]]


async def campaign_entries(shop: Shop, customer: str) -> list[tuple[int, int, str]]:
    body = await shop.gql.execute(LEDGER, {"id": shop.customers[customer]}, token=shop.admin)
    edges = body["data"]["customer"]["ledger"]["edges"]
    return [
        (e["node"]["points"], e["node"]["pendingPoints"], e["node"]["reason"])
        for e in edges
        if e["node"]["source"]["type"] == "CAMPAIGN"
    ]


async def open_shop(gql: GraphQLClient, **settings: Any) -> Shop:
    shop = await Shop.open(gql, earnRate="1", orderPointsPending=False, **settings)
    await shop.register("ann", enroll=True)
    return shop


SHOES_AND_SOCKS = [line("boots", 2, "50.00", "shoes"), line("socks", 3, "5.00", "socks")]


async def test_double_points_on_shoes_in_december(
    gql: GraphQLClient, db: Database, clock: Clock
) -> None:
    # given: double points on the shoes of a basket, through December (UTC)
    shop = await open_shop(gql)
    await campaign(
        shop, name="Double shoes", trigger="ORDER",
        effect={"kind": "MULTIPLIER", "multiplier": "2", "scope": "QUALIFYING_LINES"},
        conditions={"categories": ["shoes"], "startsAt": "2026-12-01T00:00:00Z",
                    "endsAt": "2027-01-01T00:00:00Z"},
    )  # fmt: skip
    # when: an order of 2 boots (100.00) and 3 socks (15.00) on 10 December
    clock.now = datetime(2026, 12, 10, 12, tzinfo=UTC)
    december = await quoted_and_recorded(shop, "o-1", "ann", lines=SHOES_AND_SOCKS)
    # then: 115 base points, and 100 more for the shoes (100.00 x 1 x (2 - 1))
    assert (december["basePoints"], december["campaignPoints"]) == (115, 100)
    assert points_of(december) == [("Double shoes", 100)]
    assert (await shop.balance("ann"))["available"] == 215
    [(points, pending, reason)] = await campaign_entries(shop, "ann")
    assert (points, pending) == (100, 0)
    assert reason.endswith("Double shoes")
    assert await verify_ledger(db) == []
    # when: the same basket on 30 November, and on 1 January
    for moment in (datetime(2026, 11, 30, 23, 59, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)):
        clock.now = moment
        outside = await quoted_and_recorded(
            shop, f"o-{moment.date()}", "ann", lines=SHOES_AND_SOCKS
        )
        # then: nothing from the campaign, and why
        assert outside["campaignPoints"] == 0
        assert reasons_of(outside) == [
            ("Double shoes", "NOT_STARTED" if moment.month == 11 else "EXPIRED")
        ]
    # when: socks alone in December
    clock.now = datetime(2026, 12, 11, tzinfo=UTC)
    socks = await quoted_and_recorded(
        shop, "o-socks", "ann", lines=[line("socks", 1, "5.00", "socks")]
    )
    # then: the campaign is not even a candidate (its scope does not touch the basket)
    assert (socks["campaigns"], socks["rejectedCampaigns"]) == ([], [])
    assert await verify_ledger(db) == []
