"""`nodes(ids:)`: many objects of any types at once, with node(id:)'s rules for each."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest

from loyalty_gql.api.core.ids import to_global_id
from tests.conftest import GraphQLClient, StatementCounter
from tests.support.shop import Shop, line

NODES = """
query($ids: [ID!]!) { nodes(ids: $ids) {
  __typename id
  ... on Customer { externalId }
  ... on Offer { name }
  ... on Order { orderId }
  ... on Event { type }
} }
"""
LEDGER = "query($id: ID!) { customer(id: $id) { ledger(first: 5) { nodes { id } } } }"
EVENTS = "query($s: ID!) { events(siteId: $s, first: 100) { nodes { id } } }"


@dataclass
class Objects:
    """Global IDs of shop-a's objects (and one of shop-b's customer)."""

    a: Shop
    b: Shop
    offers: list[str]
    orders: list[str]
    events: list[str]
    entries: list[str]


async def _objects(gql: GraphQLClient, customers: int = 2, offers: int = 1) -> Objects:
    a = await Shop.open(gql, "shop-a")
    b = await Shop.open(gql, "shop-b")
    await b.register("carl")
    offer_ids = [
        await a.offer("COUPON", name=f"Coupon {n}", valueType="PERCENT", value="10")
        for n in range(offers)
    ]
    order_ids = []
    for n in range(customers):
        name = "ann" if n == 0 else "bob" if n == 1 else f"c-{n}"
        await a.register(name, enroll=True)
        payload = await a.record(f"{1000 + n}", name, lines=[line("sku-1", 1, "10.00")])
        order_ids.append(payload["order"]["id"])
    await a.grant("ann", 5)
    body = await gql.execute(LEDGER, {"id": a.customers["ann"]}, token=a.admin)
    entries = [n["id"] for n in body["data"]["customer"]["ledger"]["nodes"]]
    body = await gql.execute(EVENTS, {"s": a.site_id}, token=a.admin)
    events = [n["id"] for n in body["data"]["events"]["nodes"]]
    return Objects(a, b, offer_ids, order_ids, events, entries)


async def test_nodes_of_mixed_types_come_back_in_order_with_nulls_for_the_rest(
    gql: GraphQLClient,
):
    # given
    objects = await _objects(gql)
    a, b = objects.a, objects.b
    ids = [
        a.customers["ann"],
        objects.offers[0],
        a.site_id,
        objects.orders[1],
        objects.events[0],
        objects.entries[0],
        to_global_id("Customer", 999_999),  # nobody
        to_global_id("Nope", 1),  # no such type
        b.customers["carl"],  # another site's customer
        b.site_id,  # another site
        a.customers["ann"],  # asked twice
    ]
    # when
    body = await gql.execute(NODES, {"ids": ids}, token=a.admin)
    # then
    assert body["data"]["nodes"] == [
        {"__typename": "Customer", "id": ids[0], "externalId": "ann"},
        {"__typename": "Offer", "id": ids[1], "name": "Coupon 0"},
        {"__typename": "Site", "id": ids[2]},
        {"__typename": "Order", "id": ids[3], "orderId": "1001"},
        {"__typename": "Event", "id": ids[4], "type": "ORDER_RECORDED"},
        {"__typename": "LedgerEntry", "id": ids[5]},
        None,
        None,
        None,
        None,
        {"__typename": "Customer", "id": ids[0], "externalId": "ann"},
    ]


async def test_a_customer_gets_only_what_node_would_show_them(gql: GraphQLClient):
    # given
    objects = await _objects(gql)
    a = objects.a
    ids = [
        a.customers["ann"], a.customers["bob"], objects.entries[0], a.site_id,
        objects.offers[0], objects.orders[0], objects.orders[1], objects.events[0],
    ]  # fmt: skip
    # when
    nodes = (await gql.execute(NODES, {"ids": ids}, token=a.customer("ann")))["data"]["nodes"]
    one_by_one = [
        (await gql.execute(NODES.replace("nodes(ids: $ids)", "node(id: $id)").replace(
            "$ids: [ID!]!", "$id: ID!"), {"id": i}, token=a.customer("ann")))["data"]["node"]
        for i in ids
    ]  # fmt: skip
    # then: herself, her entry, her site and her own order; not bob, nor his order, nor
    # the staff's offer and event
    assert [n and n["__typename"] for n in nodes] == [
        "Customer", None, "LedgerEntry", "Site", None, "Order", None, None
    ]  # fmt: skip
    assert nodes == one_by_one


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([to_global_id("Customer", n) for n in range(1, 102)], "`ids` may hold at most 100 IDs"),
        (["not an id"], "'not an id' is not a valid ID"),
        ([base64.urlsafe_b64encode(b"Customer:01").decode()], "is not a valid ID"),
    ],
    ids=["101-ids", "malformed", "not-canonical"],
)
async def test_too_many_or_malformed_ids_are_a_bad_request(
    gql: GraphQLClient, ids: list[str], message: str
):
    # when
    body = await gql.execute(
        NODES, {"ids": ids}, token=gql.token("admin", "shop-a"), expect_errors=True
    )
    # then
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert message in error["message"]


async def test_a_hundred_ids_are_fine_and_no_token_is_refused(gql: GraphQLClient):
    ids = [to_global_id("Customer", n) for n in range(1, 101)]
    body = await gql.execute(NODES, {"ids": ids}, token=gql.token("admin", "shop-a"))
    assert body["data"]["nodes"] == [None] * 100
    anonymous = await gql.execute(NODES, {"ids": ids[:1]}, expect_errors=True)
    assert anonymous["errors"][0]["extensions"]["code"] in {"UNAUTHENTICATED", "FORBIDDEN"}


async def test_nodes_cost_the_same_statements_for_one_id_of_each_type_as_for_many(
    gql: GraphQLClient, statements: StatementCounter
):
    # given: 12 customers with an order each, 12 offers, their events and entries
    objects = await _objects(gql, customers=12, offers=12)
    a = objects.a
    customers = list(a.customers.values())

    def mixed(n: int) -> list[str]:
        return [
            *customers[:n], *objects.offers[:n], *objects.orders[:n], *objects.events[:n],
            *objects.entries[:n],
        ]  # fmt: skip

    await gql.execute(NODES, {"ids": mixed(1)}, token=a.admin)  # warm the token's cache
    # when
    with statements:
        few = await gql.execute(NODES, {"ids": mixed(1)}, token=a.admin)
    for_one = list(statements.statements)
    with statements:
        many = await gql.execute(NODES, {"ids": mixed(12)}, token=a.admin)
    for_many = list(statements.statements)
    # then: one statement per type, and one for the offers' site, however many ids
    print(f"\nnodes: {len(few['data']['nodes'])} ids, {len(for_one)} statements; "  # noqa: T201
          f"{len(many['data']['nodes'])} ids, {len(for_many)} statements")  # fmt: skip
    assert None not in many["data"]["nodes"]
    assert len(few["data"]["nodes"]) == 5
    assert len(many["data"]["nodes"]) == 12 * 4 + len(objects.entries[:12])
    assert len(for_one) == len(for_many) == 6, for_many
