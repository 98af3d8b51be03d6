"""An offer's uses, counted on shards while it has no limit: exact under concurrent orders,
given back by cancels, and moved onto the offer when a limit is set, which then holds."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import GraphQLClient
from tests.support.operations import CANCEL_ORDER
from tests.support.shop import Shop, line

USES = "query($id: ID!) { node(id: $id) { ... on Offer { uses maxUses } } }"
UPDATE = """
mutation($input: UpdateOfferInput!) {
  updateOffer(input: $input) { offer { uses maxUses } userErrors { field code message } }
}
"""
BASKET = [line("p1", 1, "40.00", "shoes")]


async def _uses(shop: Shop, offer: str) -> Any:
    body = await shop.gql.execute(USES, {"id": offer}, token=shop.admin)
    return body["data"]["node"]


async def _record(shop: Shop, order_id: str) -> int:
    """Record an order of the basket; how many offers it used."""
    payload = await shop.record(order_id, "ann", lines=BASKET)
    assert payload["userErrors"] == [], payload
    return len(payload["order"]["quote"]["appliedOffers"])


async def test_uses_without_a_limit_are_exact_under_concurrent_orders(gql: GraphQLClient):
    # given an offer without a limit
    shop = await Shop.open(gql)
    await shop.register("ann", enroll=True)
    promo = await shop.offer("PROMOTION", name="Ten", valueType="PERCENT", value="10")
    # when 24 orders use it at once, and one of them is cancelled
    used = await asyncio.gather(*(_record(shop, f"o-{n}") for n in range(24)))
    assert used == [1] * 24
    assert (await shop.step(CANCEL_ORDER, "o-3"))["userErrors"] == []
    # then its uses are every order's, less the cancelled one
    assert await _uses(shop, promo) == {"uses": 23, "maxUses": None}


async def test_a_limit_set_later_counts_the_uses_before_it(gql: GraphQLClient):
    # given an offer without a limit, used by three orders
    shop = await Shop.open(gql)
    await shop.register("ann", enroll=True)
    promo = await shop.offer("PROMOTION", name="Ten", valueType="PERCENT", value="10")
    for n in range(3):
        assert await _record(shop, f"o-{n}") == 1
    # when the shop limits it to four uses in all
    body = await gql.execute(
        UPDATE,
        {"input": {"offerId": promo, "terms": {"name": "Ten", "valueType": "PERCENT",
                   "value": "10", "maxUses": 4}}},
        token=shop.admin,
    )  # fmt: skip
    payload = body["data"]["updateOffer"]
    # then the three uses count against the limit: one more order gets it, the next not
    assert payload["userErrors"] == [], payload
    assert payload["offer"] == {"uses": 3, "maxUses": 4}
    assert await _record(shop, "o-3") == 1
    assert await _record(shop, "o-4") == 0
    assert await _uses(shop, promo) == {"uses": 4, "maxUses": 4}
    # and a cancel gives its use back to the limit
    assert (await shop.step(CANCEL_ORDER, "o-1"))["userErrors"] == []
    assert await _record(shop, "o-5") == 1
    assert await _uses(shop, promo) == {"uses": 4, "maxUses": 4}
