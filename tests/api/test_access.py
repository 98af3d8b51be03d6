"""Who sees what: customers see themselves, admins their sites, anonymous nothing."""

from __future__ import annotations

from tests.conftest import GraphQLClient
from tests.support.operations import CONFIGURE_PROGRAM
from tests.support.shop import create_site, register

CUSTOMER = "query($id: ID!) { customer(id: $id) { id email } }"
CUSTOMERS = "query($s: ID!) { customers(siteId: $s) { edges { node { id } } } }"
SITE = "query($id: ID!) { site(id: $id) { id code } }"


async def _two_shops(gql: GraphQLClient) -> dict[str, str]:
    site_a = await create_site(gql, "shop-a")
    site_b = await create_site(gql, "shop-b")
    ann = await register(gql, "shop-a", site_a, "ann", email="ann@a.test")
    bob = await register(gql, "shop-a", site_a, "bob", email="bob@a.test")
    cat = await register(gql, "shop-b", site_b, "cat", email="cat@b.test")
    return {"a": site_a, "b": site_b, "ann": ann["id"], "bob": bob["id"], "cat": cat["id"]}


async def test_a_customer_token_sees_only_its_own_customer(gql: GraphQLClient):
    ids = await _two_shops(gql)
    ann = gql.token("customer", "shop-a", subject="ann")
    viewer = await gql.execute("{ viewer { id email } }", token=ann)
    own = await gql.execute(CUSTOMER, {"id": ids["ann"]}, token=ann)
    other = await gql.execute(CUSTOMER, {"id": ids["bob"]}, token=ann)
    node = await gql.execute(
        "query($id: ID!) { node(id: $id) { id } }", {"id": ids["bob"]}, token=ann
    )
    listing = await gql.execute(CUSTOMERS, {"s": ids["a"]}, token=ann, expect_errors=True)
    assert viewer["data"]["viewer"] == {"id": ids["ann"], "email": "ann@a.test"}
    assert own["data"]["customer"] == {"id": ids["ann"], "email": "ann@a.test"}
    assert other["data"]["customer"] is None
    assert node["data"]["node"] is None
    assert listing["data"] is None
    assert listing["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_customer_token_of_another_site_with_the_same_external_id_sees_nothing(
    gql: GraphQLClient,
):
    ids = await _two_shops(gql)
    stranger = gql.token("customer", "shop-b", subject="ann")
    assert (await gql.execute("{ viewer { id } }", token=stranger))["data"]["viewer"] is None
    other = await gql.execute(CUSTOMER, {"id": ids["ann"]}, token=stranger)
    assert other["data"]["customer"] is None


async def test_an_admin_of_site_a_sees_nothing_of_site_b(gql: GraphQLClient):
    ids = await _two_shops(gql)
    admin_a = gql.token("admin", "shop-a")
    sites = await gql.execute("{ sites { code } }", token=admin_a)
    site_b = await gql.execute(SITE, {"id": ids["b"]}, token=admin_a)
    cat = await gql.execute(CUSTOMER, {"id": ids["cat"]}, token=admin_a)
    listing = await gql.execute(CUSTOMERS, {"s": ids["b"]}, token=admin_a, expect_errors=True)
    configure = await gql.execute(
        CONFIGURE_PROGRAM,
        {"input": {"siteId": ids["b"], "enabled": False}},
        token=admin_a,
        expect_errors=True,
    )
    assert sites["data"]["sites"] == [{"code": "shop-a"}]
    assert site_b["data"]["site"] is None
    assert cat["data"]["customer"] is None
    assert listing["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert configure["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    b_program = await gql.execute(
        "query($id: ID!) { site(id: $id) { program { enabled } } }",
        {"id": ids["b"]},
        token=gql.token("admin", "shop-b"),
    )
    assert b_program["data"]["site"]["program"]["enabled"] is True


async def test_an_admin_of_both_sites_sees_both(gql: GraphQLClient):
    await _two_shops(gql)
    both = gql.token("admin", "shop-b", "shop-a")
    sites = await gql.execute("{ sites { code } }", token=both)
    assert sites["data"]["sites"] == [{"code": "shop-a"}, {"code": "shop-b"}]


async def test_a_service_token_serves_only_its_site(gql: GraphQLClient):
    ids = await _two_shops(gql)
    service_a = gql.token("service", "shop-a")
    register_b = await gql.execute(
        """mutation($s: ID!) { registerCustomer(input: {siteId: $s, externalId: "x"}) {
             customer { id } userErrors { code } } }""",
        {"s": ids["b"]},
        token=service_a,
        expect_errors=True,
    )
    configure = await gql.execute(
        CONFIGURE_PROGRAM,
        {"input": {"siteId": ids["a"], "enabled": False}},
        token=service_a,
        expect_errors=True,
    )
    assert register_b["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert configure["errors"][0]["message"] == "Only an admin token may do this."


async def test_anonymous_requests_see_no_customer_data(gql: GraphQLClient):
    ids = await _two_shops(gql)
    viewer = await gql.execute("{ viewer { id email } }")
    customer = await gql.execute(CUSTOMER, {"id": ids["ann"]}, expect_errors=True)
    listing = await gql.execute(CUSTOMERS, {"s": ids["a"]}, expect_errors=True)
    sites = await gql.execute("{ sites { code } }", expect_errors=True)
    assert viewer["data"]["viewer"] is None
    assert customer["data"]["customer"] is None
    assert customer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert listing["data"] is None
    assert sites["data"] is None
    assert "ann@a.test" not in str([customer, listing])
