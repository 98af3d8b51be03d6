"""registerCustomer, updateCustomer, enrolment, and the customer queries."""

from __future__ import annotations

from tests.conftest import GraphQLClient
from tests.support.operations import REGISTER_CUSTOMER
from tests.support.shop import create_site, register

UPDATE_CUSTOMER = """
mutation Update($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) {
    customer { id email name groups marketingConsent }
    userErrors { field code message }
  }
}
"""

ENROLL = """
mutation Enroll($input: EnrollmentInput!) {
  enrollCustomer(input: $input) {
    customer { id enrolled enrolledAt }
    userErrors { field code message }
  }
}
"""

LEAVE = """
mutation Leave($input: EnrollmentInput!) {
  leaveProgram(input: $input) {
    customer { id enrolled }
    userErrors { field code message }
  }
}
"""

CUSTOMERS = """
query Customers($siteId: ID!, $first: Int, $after: String, $search: String) {
  customers(siteId: $siteId, first: $first, after: $after, search: $search) {
    edges { cursor node { externalId } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""


async def test_register_twice_with_one_key_makes_one_customer_and_replays(gql: GraphQLClient):
    # given
    site_id = await create_site(gql, "shop-a")
    service = gql.token("service", "shop-a")
    variables = {
        "input": {
            "siteId": site_id,
            "externalId": "c-1",
            "email": "Ann@Example.com",
            "idempotencyKey": "reg-c-1",
        }
    }
    # when
    first = await gql.execute(REGISTER_CUSTOMER, variables, token=service)
    second = await gql.execute(REGISTER_CUSTOMER, variables, token=service)
    # then
    assert first["data"] == second["data"]
    assert first["data"]["registerCustomer"]["customer"]["email"] == "ann@example.com"
    page = await gql.execute(CUSTOMERS, {"siteId": site_id}, token=service)
    assert [e["node"]["externalId"] for e in page["data"]["customers"]["edges"]] == ["c-1"]


async def test_same_key_with_other_input_is_idempotency_key_reused(gql: GraphQLClient):
    # given
    site_id = await create_site(gql, "shop-a")
    service = gql.token("service", "shop-a")
    base = {"siteId": site_id, "externalId": "c-1", "idempotencyKey": "k1"}
    await gql.execute(REGISTER_CUSTOMER, {"input": base}, token=service)
    # when
    body = await gql.execute(
        REGISTER_CUSTOMER, {"input": {**base, "externalId": "c-2"}}, token=service
    )
    # then
    payload = body["data"]["registerCustomer"]
    assert payload["customer"] is None
    assert payload["userErrors"] == [
        {
            "field": ["input", "idempotencyKey"],
            "code": "IDEMPOTENCY_KEY_REUSED",
            "message": "this idempotency key was already used with a different request",
        }
    ]
    page = await gql.execute(CUSTOMERS, {"siteId": site_id}, token=service)
    assert [e["node"]["externalId"] for e in page["data"]["customers"]["edges"]] == ["c-1"]


async def test_registering_the_same_external_id_again_returns_the_customer(gql: GraphQLClient):
    site_id = await create_site(gql, "shop-a")
    first = await register(gql, "shop-a", site_id, "c-1", email="a@b.co")
    again = await register(gql, "shop-a", site_id, "c-1", email="a@b.co")
    assert again["id"] == first["id"]


async def test_registering_an_external_id_with_other_details_is_already_exists(
    gql: GraphQLClient,
):
    site_id = await create_site(gql, "shop-a")
    await register(gql, "shop-a", site_id, "c-1", email="a@b.co")
    body = await gql.execute(
        REGISTER_CUSTOMER,
        {"input": {"siteId": site_id, "externalId": "c-1", "email": "other@b.co"}},
        token=gql.token("service", "shop-a"),
    )
    errors = body["data"]["registerCustomer"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [
        (["input", "externalId"], "ALREADY_EXISTS")
    ]


async def test_invalid_profile_fields_are_user_errors(gql: GraphQLClient):
    site_id = await create_site(gql, "shop-a")
    body = await gql.execute(
        REGISTER_CUSTOMER,
        {
            "input": {
                "siteId": site_id,
                "externalId": "",
                "email": "not-an-email",
                "groups": ["ok", "bad group!"],
            }
        },
        token=gql.token("service", "shop-a"),
    )
    payload = body["data"]["registerCustomer"]
    assert payload["customer"] is None
    assert {(tuple(e["field"]), e["code"]) for e in payload["userErrors"]} == {
        (("input", "externalId"), "INVALID_VALUE"),
        (("input", "email"), "INVALID_VALUE"),
        (("input", "groups"), "INVALID_VALUE"),
    }


async def test_enrolment_is_explicit_recorded_and_reversible(gql: GraphQLClient, clock):
    # given
    site_id = await create_site(gql, "shop-a")
    customer = await register(gql, "shop-a", site_id, "c-1")
    assert customer["enrolled"] is False
    service = gql.token("service", "shop-a")
    # when
    enrolled = await gql.execute(ENROLL, {"input": {"customerId": customer["id"]}}, token=service)
    again = await gql.execute(ENROLL, {"input": {"customerId": customer["id"]}}, token=service)
    left = await gql.execute(LEAVE, {"input": {"customerId": customer["id"]}}, token=service)
    # then
    assert enrolled["data"]["enrollCustomer"]["customer"] == {
        "id": customer["id"],
        "enrolled": True,
        "enrolledAt": clock.now.isoformat(),
    }
    assert again["data"]["enrollCustomer"]["userErrors"][0]["code"] == "ALREADY_ENROLLED"
    assert left["data"]["leaveProgram"]["customer"]["enrolled"] is False
    left_again = await gql.execute(LEAVE, {"input": {"customerId": customer["id"]}}, token=service)
    assert left_again["data"]["leaveProgram"]["userErrors"][0]["code"] == "NOT_ENROLLED"


async def test_a_customer_enrols_themselves_with_their_own_token(gql: GraphQLClient):
    site_id = await create_site(gql, "shop-a")
    await register(gql, "shop-a", site_id, "c-1")
    body = await gql.execute(
        ENROLL, {"input": {}}, token=gql.token("customer", "shop-a", subject="c-1")
    )
    assert body["data"]["enrollCustomer"]["customer"]["enrolled"] is True


async def test_enrolment_needs_the_program_switched_on(gql: GraphQLClient):
    site_id = await create_site(gql, "shop-off", enabled=False)
    customer = await register(gql, "shop-off", site_id, "c-1")
    body = await gql.execute(
        ENROLL, {"input": {"customerId": customer["id"]}}, token=gql.token("service", "shop-off")
    )
    assert body["data"]["enrollCustomer"]["userErrors"][0]["code"] == "PROGRAM_DISABLED"


async def test_update_changes_only_the_given_fields(gql: GraphQLClient):
    site_id = await create_site(gql, "shop-a")
    customer = await register(
        gql, "shop-a", site_id, "c-1", email="a@b.co", name="Ann", groups=["vip"]
    )
    body = await gql.execute(
        UPDATE_CUSTOMER,
        {"input": {"customerId": customer["id"], "name": "Ann B.", "groups": ["vip", "staff"]}},
        token=gql.token("admin", "shop-a"),
    )
    assert body["data"]["updateCustomer"]["customer"] == {
        "id": customer["id"],
        "email": "a@b.co",
        "name": "Ann B.",
        "groups": ["staff", "vip"],
        "marketingConsent": False,
    }


async def test_customers_pages_with_cursors_and_searches(gql: GraphQLClient):
    # given
    site_id = await create_site(gql, "shop-a")
    for n in range(5):
        await register(gql, "shop-a", site_id, f"c-{n}", email=f"user{n}@shop.test")
    service = gql.token("service", "shop-a")
    # when
    first = await gql.execute(CUSTOMERS, {"siteId": site_id, "first": 2}, token=service)
    cursor = first["data"]["customers"]["pageInfo"]["endCursor"]
    rest = await gql.execute(
        CUSTOMERS, {"siteId": site_id, "first": 10, "after": cursor}, token=service
    )
    found = await gql.execute(CUSTOMERS, {"siteId": site_id, "search": "USER3@"}, token=service)
    # then
    page_1 = first["data"]["customers"]
    page_2 = rest["data"]["customers"]
    assert [e["node"]["externalId"] for e in page_1["edges"]] == ["c-0", "c-1"]
    assert page_1["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["externalId"] for e in page_2["edges"]] == ["c-2", "c-3", "c-4"]
    assert page_2["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "endCursor": page_2["edges"][-1]["cursor"],
    }
    assert [e["node"]["externalId"] for e in found["data"]["customers"]["edges"]] == ["c-3"]


async def test_customer_by_external_id_and_node(gql: GraphQLClient):
    site_id = await create_site(gql, "shop-a")
    customer = await register(gql, "shop-a", site_id, "c-9", name="Nine")
    admin = gql.token("admin", "shop-a")
    body = await gql.execute(
        """query($s: ID!, $id: ID!) {
             customerByExternalId(siteId: $s, externalId: "c-9") { id name }
             missing: customerByExternalId(siteId: $s, externalId: "nope") { id }
             node(id: $id) { id ... on Customer { externalId } }
           }""",
        {"s": site_id, "id": customer["id"]},
        token=admin,
    )
    assert body["data"] == {
        "customerByExternalId": {"id": customer["id"], "name": "Nine"},
        "missing": None,
        "node": {"id": customer["id"], "externalId": "c-9"},
    }
