"""My orders (#16): `Customer.orders`, a customer's own orders newest first in keyset pages,
with status, totals and the points each earned, still pending and took back; a customer
token reads its own through viewer, staff any customer's through customer(id:)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import GraphQLClient, StatementCounter
from tests.support.operations import COMPLETE_ORDER, REFUND_ORDER
from tests.support.shop import Shop, line

OPERATIONS = Path(__file__).parents[2] / "docs" / "operations"
MY_ORDERS = (OPERATIONS / "my-orders.graphql").read_text()
"""The storefront's "My orders" page, as docs/operations keeps it."""
ORDERS_OF = """
query OrdersOf($id: ID!, $first: Int, $after: String) {
  customer(id: $id) {
    orders(first: $first, after: $after) {
      nodes { id orderId status pointsEarned pointsPending pointsTakenBack pointsNotRecovered }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


def _summary(order: dict[str, Any]) -> tuple[Any, ...]:
    return (
        order["orderId"], order["status"], order["quote"]["total"]["amount"],
        order["pointsEarned"], order["pointsPending"], order["pointsTakenBack"],
        order["refunded"]["amount"],
    )  # fmt: skip


async def _mine(gql: GraphQLClient, token: str, **variables: Any) -> dict[str, Any]:
    body = await gql.execute(MY_ORDERS, variables, token=token)
    orders: dict[str, Any] = body["data"]["viewer"]["orders"]
    return orders


async def _scene(gql: GraphQLClient) -> Shop:
    """ann's three orders (points pending until completion, 10 points per 1.00): o-1
    refunded in full, o-2 completed, o-3 placed with one of three items refunded; bob's
    order and a guest's."""
    shop = await Shop.open(gql)
    await shop.register("ann", enroll=True)
    await shop.register("bob", enroll=True)
    for order_id, customer, lines in (
        ("o-1", "ann", [line("a", 1, "10.00")]),
        ("o-2", "ann", [line("a", 2, "10.00")]),
        ("o-3", "ann", [line("a", 3, "10.00")]),
        ("b-1", "bob", [line("a", 1, "5.00")]),
        ("g-1", None, [line("a", 1, "7.00")]),
    ):
        recorded = await shop.record(order_id, customer, lines=lines)
        assert recorded["userErrors"] == [], recorded
    assert (await shop.step(COMPLETE_ORDER, "o-2"))["userErrors"] == []
    refunds = (("o-1", "r-1", 1), ("o-3", "r-3", 1))
    for order_id, refund_id, quantity in refunds:
        payload = await shop.step(
            REFUND_ORDER, order_id, refundId=refund_id,
            lines=[{"lineId": "a", "quantity": quantity}],
        )  # fmt: skip
        assert payload["userErrors"] == [], payload
    return shop


async def test_my_orders_pages_newest_first_with_totals_and_points(gql: GraphQLClient):
    # given
    shop = await _scene(gql)
    ann = shop.customer("ann")
    # when: two pages of two
    first = await _mine(gql, ann, first=2)
    second = await _mine(gql, ann, first=2, after=first["pageInfo"]["endCursor"])
    # then: newest first; o-3 keeps 200 of its 300 points pending (100 taken back with the
    # refunded item), o-2's are available, o-1's were all taken back
    assert [_summary(o) for o in first["nodes"]] == [
        ("o-3", "PLACED", "30.00", 300, 200, 100, "10.00"),
        ("o-2", "COMPLETED", "20.00", 200, 0, 0, "0.00"),
    ]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [_summary(o) for o in second["nodes"]] == [
        ("o-1", "REFUNDED", "10.00", 100, 0, 100, "10.00"),
    ]
    assert second["pageInfo"]["hasNextPage"] is False
    # and completing o-3 makes its pending points available
    assert (await shop.step(COMPLETE_ORDER, "o-3"))["userErrors"] == []
    again = await _mine(gql, ann, first=1)
    assert _summary(again["nodes"][0]) == ("o-3", "COMPLETED", "30.00", 300, 0, 100, "10.00")


async def test_each_customer_sees_only_their_own_orders_and_staff_see_any(gql: GraphQLClient):
    # given
    shop = await _scene(gql)
    # when
    bobs = await _mine(gql, shop.customer("bob"), first=10)
    staff = await gql.execute(
        ORDERS_OF, {"id": shop.customers["ann"], "first": 10}, token=shop.service
    )
    # then: bob's one order; the guest's order is nobody's
    assert [o["orderId"] for o in bobs["nodes"]] == ["b-1"]
    nodes = staff["data"]["customer"]["orders"]["nodes"]
    assert [o["orderId"] for o in nodes] == ["o-3", "o-2", "o-1"]
    assert [o["pointsNotRecovered"] for o in nodes] == [0, 0, 0]
    # and a customer asking for what only staff see loses that field only
    body = await gql.execute(
        ORDERS_OF, {"id": shop.customers["ann"], "first": 10}, token=shop.customer("ann"),
        expect_errors=True,
    )  # fmt: skip
    mine = body["data"]["customer"]["orders"]["nodes"]
    assert [(o["orderId"], o["pointsNotRecovered"]) for o in mine] == [
        ("o-3", None), ("o-2", None), ("o-1", None),
    ]  # fmt: skip
    assert {(e["path"][-1], e["extensions"]["code"]) for e in body["errors"]} == {
        ("pointsNotRecovered", "FORBIDDEN")
    }
    # and node(id:) gives a customer their own order, not another's
    own, other = mine[0]["id"], bobs["nodes"][0]["id"]
    query = "query($a: ID!, $b: ID!) { a: node(id: $a) { id } b: node(id: $b) { id } }"
    found = await gql.execute(query, {"a": own, "b": other}, token=shop.customer("ann"))
    assert found["data"] == {"a": {"id": own}, "b": None}


async def test_a_new_order_shows_in_a_cached_my_orders(
    gql: GraphQLClient, statements: StatementCounter
):
    # given: carl is not enrolled (his orders write no points, only the order row), and
    # his empty My orders is cached
    shop = await Shop.open(gql)
    await shop.register("carl")
    carl = shop.customer("carl")
    assert (await _mine(gql, carl, first=5))["nodes"] == []
    with statements:
        assert (await _mine(gql, carl, first=5))["nodes"] == []
    assert len(statements.statements) == 1  # the versions: served from the cache
    # when
    recorded = await shop.record("c-1", "carl", lines=[line("a", 1, "4.00")])
    assert recorded["userErrors"] == []
    # then
    orders = await _mine(gql, carl, first=5)
    assert [(o["orderId"], o["pointsEarned"]) for o in orders["nodes"]] == [("c-1", 0)]


MANY = """
query MyOrdersOfMany($s: ID!, $n: Int!) {
  customers(siteId: $s, first: $n) {
    nodes {
      orders(first: 5) {
        nodes {
          customer { id name }
          pointsPending
          quote { lines { discounts { name origin offer { id name } } } }
        }
      }
    }
  }
}
"""


async def test_my_orders_of_many_customers_costs_the_statements_of_one(
    gql: GraphQLClient, statements: StatementCounter
):
    # given: three customers with two orders each, a promotion on every line
    shop = await Shop.open(gql)
    await shop.offer("PROMOTION", name="10% off", valueType="PERCENT", value="10")
    for name in ("ann", "bob", "cat"):
        await shop.register(name, enroll=True)
        for n in (1, 2):
            recorded = await shop.record(f"{name}-{n}", name, lines=[line("a", n, "10.00")])
            assert recorded["userErrors"] == []
    counts = {}
    # when
    for n in (1, 3):
        with statements:
            body = await gql.execute(MANY, {"s": shop.site_id, "n": n}, token=shop.admin)
        counts[n] = len(statements.statements)
        customers = body["data"]["customers"]["nodes"]
        assert len(customers) == n
        assert all(len(c["orders"]["nodes"]) == 2 for c in customers)
        discount = customers[0]["orders"]["nodes"][0]["quote"]["lines"][0]["discounts"][0]
        assert (discount["name"], discount["origin"], discount["offer"]["name"]) == (
            "10% off", "PROMOTION", "10% off",
        )  # fmt: skip
    # then: the loaders batch: the customers page, their orders, the earn entries
    # (pointsPending), the orders' customers, the offers and their site, one each
    assert counts[3] == counts[1], counts
    assert counts[1] == 6, statements.statements
