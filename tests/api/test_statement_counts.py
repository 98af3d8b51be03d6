"""Lists cost a fixed number of SQL statements, whatever their length."""

from __future__ import annotations

from tests.api.helpers import create_site, register
from tests.conftest import GraphQLClient, StatementCounter

CUSTOMERS = """
query($s: ID!, $n: Int) {
  customers(siteId: $s, first: $n) {
    edges { cursor node { id externalId email name groups enrolled site { id code } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def test_customers_first_100_runs_as_many_statements_as_first_1(
    gql: GraphQLClient, statements: StatementCounter
):
    # given
    site_id = await create_site(gql, "shop-a")
    for n in range(101):
        await register(gql, "shop-a", site_id, f"c-{n:03}", email=f"c{n}@a.test")
    admin = gql.token("admin", "shop-a")
    await gql.execute(CUSTOMERS, {"s": site_id, "n": 1}, token=admin)  # warm the token cache
    # when
    with statements:
        small = await gql.execute(CUSTOMERS, {"s": site_id, "n": 1}, token=admin)
    for_one = list(statements.statements)
    with statements:
        large = await gql.execute(CUSTOMERS, {"s": site_id, "n": 100}, token=admin)
    for_hundred = list(statements.statements)
    # then
    assert len(small["data"]["customers"]["edges"]) == 1
    assert len(large["data"]["customers"]["edges"]) == 100
    assert len(for_one) == len(for_hundred)
    # the page itself, and the sites of its customers in one batch
    selects = [s for s in for_hundred if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, for_hundred
    assert "FROM customers" in selects[0]
    assert "FROM sites" in selects[1]
