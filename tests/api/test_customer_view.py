"""A customer's own view never loses its parent on a staff-only field, and its per-customer
values have identities (#16): the ledger asked with every field keeps `viewer`, My offers
says what each item is, Balance, TierProgress and the next Expiry are Nodes with the
customer's ID inside, and a ledger entry's customer is the Customer."""

from __future__ import annotations

import base64
from typing import Any

from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLSchema, Undefined, get_named_type

from loyalty_gql.api.core.permissions import CanServeSite, IsAdmin, IsStaff
from loyalty_gql.api.schema import schema
from tests.conftest import GraphQLClient
from tests.support.operations import CREATE_TIER
from tests.support.shop import Shop, line

STAFF_ONLY = (IsAdmin, IsStaff, CanServeSite)
THRESHOLD = {"enabled": True, "points": 100, "valueType": "FIXED_AMOUNT", "value": "5",
             "validityDays": 30}  # fmt: skip


def _leaves(graphql_schema: GraphQLSchema, type_name: str) -> list[str]:
    """The fields of a type that need no selection and no argument."""
    graphql_type = graphql_schema.type_map[type_name]
    assert isinstance(graphql_type, GraphQLObjectType)
    return [
        name
        for name, field in graphql_type.fields.items()
        if not isinstance(get_named_type(field.type), GraphQLObjectType)
        and not any(
            isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
            for arg in field.args.values()
        )
    ]


def _every_field(type_name: str) -> str:
    """A selection of every field of ``type_name``, generated from the schema (so a field
    added later is asked too): its own fields, and one level of each object field's."""
    graphql_schema = schema._schema
    graphql_type = graphql_schema.type_map[type_name]
    assert isinstance(graphql_type, GraphQLObjectType)
    parts = []
    for name, field in graphql_type.fields.items():
        target = get_named_type(field.type)
        if isinstance(target, GraphQLObjectType):
            parts.append(f"{name} {{ {' '.join(_leaves(graphql_schema, target.name))} }}")
        else:
            parts.append(name)
    return " ".join(parts)


def _staff_only(type_name: str) -> set[str]:
    graphql_type = schema._schema.type_map[type_name]
    assert isinstance(graphql_type, GraphQLObjectType)
    found = set()
    for name in graphql_type.fields:
        own = schema.get_field_for_type(name, type_name)
        if own is not None and set(own.permission_classes) & set(STAFF_ONLY):
            found.add(name)
    return found


LEDGER = f"""
query CustomerLedger {{
  viewer {{ id ledger(first: 20) {{ nodes {{ {_every_field("LedgerEntry")} }} }} }}
}}
"""
LEDGER_OF = f"""
query LedgerOf($id: ID!) {{
  customer(id: $id) {{ id ledger(first: 20) {{ nodes {{ {_every_field("LedgerEntry")} }} }} }}
}}
"""


async def _ann(gql: GraphQLClient) -> Shop:
    """ann: granted points (an admin's entry), an order pending then completed (an
    ACTIVATED entry that refers to its PENDING one), a threshold voucher."""
    shop = await Shop.open(gql, thresholdReward=THRESHOLD)
    await shop.register("ann", enroll=True)
    await shop.register("bob", enroll=True)
    await shop.grant("ann", 40)
    recorded = await shop.record("o-1", "ann", lines=[line("a", 1, "10.00")])
    assert recorded["userErrors"] == []
    await shop.step("mutation($input: OrderInput!) { completeOrder(input: $input) "
                    "{ userErrors { code } } }", "o-1")  # fmt: skip
    return shop


async def test_a_customer_asking_its_ledger_with_every_field_keeps_viewer(gql: GraphQLClient):
    # given
    shop = await _ann(gql)
    staff_only = _staff_only("LedgerEntry")
    assert "actor" in staff_only
    # when: every field of every entry, with ann's token
    body = await gql.execute(LEDGER, token=shop.customer("ann"), expect_errors=True)
    # then: viewer and every entry are there; only the staff-only fields are null, each
    # with its own FORBIDDEN error naming its path
    viewer = body["data"]["viewer"]
    assert viewer is not None
    assert viewer["id"] == shop.customers["ann"]
    entries = viewer["ledger"]["nodes"]
    assert [e["kind"] for e in entries] == ["REDEEMED", "ACTIVATED", "PENDING", "ADJUSTED"]
    for entry in entries:
        assert all(entry[name] is None for name in staff_only)
        assert entry["customer"]["id"] == shop.customers["ann"]
    assert entries[1]["reverses"]["id"] == entries[2]["id"]
    assert entries[1]["reverses"]["actor"] is None
    errors = body["errors"]
    assert {e["extensions"]["code"] for e in errors} == {"FORBIDDEN"}
    assert {e["path"][-1] for e in errors} == staff_only
    assert all(e["path"][:3] == ["viewer", "ledger", "nodes"] for e in errors)
    # and staff asking the same get every field
    staff = await gql.execute(LEDGER_OF, {"id": shop.customers["ann"]}, token=shop.admin)
    nodes = staff["data"]["customer"]["ledger"]["nodes"]
    assert [e["kind"] for e in nodes] == [e["kind"] for e in entries]
    assert all(e["actor"] for e in nodes)


async def test_a_staff_only_offer_field_nulls_only_itself_in_my_offers(gql: GraphQLClient):
    # given: ann holds a threshold voucher and sees a reward
    shop = await _ann(gql)
    await shop.offer("REWARD", name="5 off", valueType="FIXED_AMOUNT", value="5", loyaltyPrice=30)
    query = """
    query MyOfferKinds {
      viewer { offers(first: 10) { nodes {
        kind offer { id name status uses createdAt } canRedeem vouchers { source status }
      } } }
    }"""
    # when
    body = await gql.execute(query, token=shop.customer("ann"), expect_errors=True)
    # then: each item says what it is; the staff-only fields of the offer are null, not it
    items = body["data"]["viewer"]["offers"]["nodes"]
    assert [(i["kind"], (i["offer"] or {}).get("name")) for i in items] == [
        ("THRESHOLD_VOUCHER", None),
        ("OFFER", "5 off"),
    ]
    assert items[0]["vouchers"] == [{"source": "THRESHOLD_REWARD", "status": "ACTIVE"}]
    assert items[1]["offer"]["status"] is None
    assert items[1]["offer"]["uses"] is None
    assert {tuple(e["path"][-2:]) for e in body["errors"]} == {
        ("offer", "status"), ("offer", "uses"), ("offer", "createdAt"),
    }  # fmt: skip


NODES = """
query Identities($b: ID!, $t: ID!, $e: ID!) {
  viewer {
    id
    balance { id available }
    tierProgress { id remaining nextTier { name } }
    balance2: balance { nextExpiry { id points } }
  }
  b: node(id: $b) { id ... on Balance { available } }
  t: node(id: $t) { id ... on TierProgress { remaining } }
  e: node(id: $e) { id ... on Expiry { points } }
}
"""


def _id_of(kind: str, customer_id: str) -> str:
    pk = base64.urlsafe_b64decode(customer_id).decode().split(":")[1]
    return base64.urlsafe_b64encode(f"{kind}:{pk}".encode()).decode()


async def test_balance_tier_progress_and_next_expiry_are_nodes_of_the_customer(
    gql: GraphQLClient,
):
    # given: points valid a year, a tier to reach
    shop = await Shop.open(gql, validityPolicy="FIXED_DAYS", validityDays=365)
    ann = await shop.register("ann", enroll=True)
    await shop.register("bob", enroll=True)
    body = await gql.execute(
        CREATE_TIER,
        {"input": {"siteId": shop.site_id, "name": "Gold", "rank": 1,
                   "metric": "POINTS_EARNED", "threshold": 1000}},
        token=shop.admin,
    )  # fmt: skip
    assert body["data"]["createTier"]["userErrors"] == []
    await shop.grant("ann", 300)
    ids = {"b": _id_of("Balance", ann), "t": _id_of("TierProgress", ann),
           "e": _id_of("Expiry", ann)}  # fmt: skip
    # when
    body = await gql.execute(NODES, ids, token=shop.customer("ann"))
    # then: each has the ID node(id:) answers it by, the same value both ways
    viewer = body["data"]["viewer"]
    assert viewer["balance"] == {"id": ids["b"], "available": 300}
    assert viewer["tierProgress"] == {
        "id": ids["t"],
        "remaining": 700,
        "nextTier": {"name": "Gold"},
    }
    assert viewer["balance2"]["nextExpiry"] == {"id": ids["e"], "points": 300}
    assert body["data"]["b"] == {"id": ids["b"], "available": 300}
    assert body["data"]["t"] == {"id": ids["t"], "remaining": 700}
    assert body["data"]["e"] == {"id": ids["e"], "points": 300}
    # and another customer cannot read them
    other = await gql.execute(NODES, ids, token=shop.customer("bob"))
    assert (other["data"]["b"], other["data"]["t"], other["data"]["e"]) == (None, None, None)


async def test_a_ledger_entrys_customer_is_the_customer(gql: GraphQLClient):
    # given
    shop = await _ann(gql)
    query = """
    query EntryCustomer {
      viewer { id name ledger(first: 1) { nodes { customer { id name balance { available } } } } }
    }"""
    # when
    body = await gql.execute(query, token=shop.customer("ann"))
    # then
    viewer: dict[str, Any] = body["data"]["viewer"]
    [entry] = viewer["ledger"]["nodes"]
    assert entry["customer"]["id"] == viewer["id"]
    assert entry["customer"]["name"] == viewer["name"]
    assert entry["customer"]["balance"]["available"] >= 0
