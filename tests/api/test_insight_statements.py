"""Insight on a list costs a fixed number of SQL statements, whatever the list's length."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.conftest import GraphQLClient, StatementCounter
from tests.support.clock import Clock
from tests.support.shop import Shop, create_site, line

CUSTOMERS = """
query($s: ID!, $n: Int) {
  customers(siteId: $s, first: $n) {
    edges { node {
      id externalId
      insight {
        orderCount firstOrderAt lastOrderAt averageDaysBetweenOrders
        averageOrderValue { amount } totalSpent { amount }
        topCategories { category quantity spent { amount } }
        topProducts { productId quantity spent { amount } }
      }
    } }
  }
}
"""
OFFERS = """
query($s: ID!, $n: Int) {
  offers(siteId: $s, first: $n) {
    edges { node {
      id name
      performance {
        redemptions uniqueCustomers discountGiven { amount } ordersInfluenced
        revenueInfluenced { amount }
      }
    } }
  }
}
"""


def _selects(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


def _from(select: str) -> str:
    """The first table a SELECT reads, as ``FROM <table>``."""
    clause = select[select.upper().index("FROM ") :].split()
    return f"FROM {clause[1]}"


async def _measure(
    gql: GraphQLClient, statements: StatementCounter, query: str, variables: dict[str, Any],
    token: str,
) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    with statements:
        body = await gql.execute(query, variables, token=token)
    return body, list(statements.statements)


async def test_insight_of_100_customers_runs_as_many_statements_as_of_1(
    gql: GraphQLClient, statements: StatementCounter, clock: Clock
):
    # given: 101 customers, each with one order of two lines; c-000 has a second one
    shop = Shop(gql, await create_site(gql, "shop-a"))
    await shop.configure(orderPointsPending=False)
    for n in range(101):
        external_id = f"c-{n:03}"
        await shop.register(external_id, enroll=n % 2 == 0)
        payload = await shop.record(
            f"o-{n:03}", external_id,
            lines=[line("p1", 1, "10", "books/novels"), line(f"p-{n}", 2, "5", "toys")],
        )  # fmt: skip
        assert payload["userErrors"] == [], payload
    clock.now += timedelta(days=3)
    payload = await shop.record("o-again", "c-000", lines=[line("p1", 3, "10", "books/novels")])
    assert payload["userErrors"] == [], payload
    await gql.execute(CUSTOMERS, {"s": shop.site_id, "n": 1}, token=shop.admin)  # warm-up
    # when
    small, for_one = await _measure(
        gql, statements, CUSTOMERS, {"s": shop.site_id, "n": 1}, shop.admin
    )
    large, for_hundred = await _measure(
        gql, statements, CUSTOMERS, {"s": shop.site_id, "n": 100}, shop.admin
    )
    # then
    nodes = [e["node"] for e in large["data"]["customers"]["edges"]]
    assert [e["node"]["externalId"] for e in small["data"]["customers"]["edges"]] == ["c-000"]
    assert len(nodes) == 100
    assert len(for_one) == len(for_hundred), (for_one, for_hundred)
    # the page, its customers' orders and their lines, and the site of the amounts
    selects = _selects(for_hundred)
    assert [_from(s) for s in selects] == [
        "FROM customers", "FROM orders", "FROM order_lines", "FROM sites",
    ], for_hundred  # fmt: skip
    assert [_from(s) for s in _selects(for_one)] == [_from(s) for s in selects]
    assert small["data"]["customers"]["edges"][0]["node"] == nodes[0]
    assert nodes[0]["insight"] == {
        "orderCount": 2,
        "firstOrderAt": "2026-01-15T12:00:00+00:00",
        "lastOrderAt": "2026-01-18T12:00:00+00:00",
        "averageDaysBetweenOrders": 3.0,
        "averageOrderValue": {"amount": "25.00"},  # (20 + 30) / 2
        "totalSpent": {"amount": "50.00"},
        "topCategories": [
            {"category": "books/novels", "quantity": 4, "spent": {"amount": "40.00"}},
            {"category": "toys", "quantity": 2, "spent": {"amount": "10.00"}},
        ],
        "topProducts": [
            {"productId": "p1", "quantity": 4, "spent": {"amount": "40.00"}},
            {"productId": "p-0", "quantity": 2, "spent": {"amount": "10.00"}},
        ],
    }
    assert nodes[99]["externalId"] == "c-099"
    assert nodes[99]["insight"]["orderCount"] == 1
    assert nodes[99]["insight"]["totalSpent"] == {"amount": "20.00"}
    assert nodes[99]["insight"]["topProducts"] == [  # as much spent: most items first
        {"productId": "p-99", "quantity": 2, "spent": {"amount": "10.00"}},
        {"productId": "p1", "quantity": 1, "spent": {"amount": "10.00"}},
    ]
    assert {n["insight"]["orderCount"] for n in nodes[1:]} == {1}


async def test_performance_of_20_offers_runs_as_many_statements_as_of_1(
    gql: GraphQLClient, statements: StatementCounter
):
    # given: 20 coupons; the newest was used on two orders, the oldest on one
    shop = Shop(gql, await create_site(gql, "shop-a"))
    await shop.register("ann", enroll=True)
    await shop.register("bob", enroll=True)
    for n in range(20):
        await shop.offer(
            "COUPON", name=f"Save {n}", valueType="FIXED_AMOUNT", value="1",
            couponCode=f"SAVE{n}",
        )  # fmt: skip
    for order_id, customer, code in (("o-1", "ann", "SAVE19"), ("o-2", "bob", "SAVE19"),
                                     ("o-3", "ann", "SAVE0")):  # fmt: skip
        payload = await shop.record(
            order_id, customer, lines=[line("p1", 1, "10")], couponCodes=[code]
        )
        assert payload["userErrors"] == [], payload
    await gql.execute(OFFERS, {"s": shop.site_id, "n": 1}, token=shop.admin)  # warm-up
    # when
    small, for_one = await _measure(
        gql, statements, OFFERS, {"s": shop.site_id, "n": 1}, shop.admin
    )
    large, for_twenty = await _measure(
        gql, statements, OFFERS, {"s": shop.site_id, "n": 20}, shop.admin
    )
    # then
    nodes = [e["node"] for e in large["data"]["offers"]["edges"]]
    assert len(nodes) == 20
    assert len(for_one) == len(for_twenty), (for_one, for_twenty)
    # the site, the page, and every offer's uses in one statement (with their orders)
    selects = _selects(for_twenty)
    assert [_from(s) for s in selects[:2]] == ["FROM sites", "FROM offers"], for_twenty
    assert len(selects) == 3, for_twenty
    assert "FROM order_offers" in selects[2]
    assert "JOIN" not in selects[2]  # the offers' rows carry their orders' values
    assert [_from(s) for s in _selects(for_one)] == [_from(s) for s in selects]
    assert small["data"]["offers"]["edges"][0]["node"] == nodes[0]
    assert (nodes[0]["name"], nodes[0]["performance"]) == ("Save 19", {
        "redemptions": 2, "uniqueCustomers": 2, "discountGiven": {"amount": "2.00"},
        "ordersInfluenced": 2, "revenueInfluenced": {"amount": "18.00"},
    })  # fmt: skip
    assert (nodes[19]["name"], nodes[19]["performance"]) == ("Save 0", {
        "redemptions": 1, "uniqueCustomers": 1, "discountGiven": {"amount": "1.00"},
        "ordersInfluenced": 1, "revenueInfluenced": {"amount": "9.00"},
    })  # fmt: skip
    assert {n["performance"]["redemptions"] for n in nodes[1:19]} == {0}
