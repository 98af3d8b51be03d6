"""Lists cost a fixed number of SQL statements, whatever their length."""

from __future__ import annotations

from tests.conftest import GraphQLClient, StatementCounter
from tests.support.operations import CONFIGURE_PROGRAM, GRANT_POINTS
from tests.support.shop import create_site, register

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


CUSTOMERS_WITH_POINTS = """
query($s: ID!, $n: Int) {
  customers(siteId: $s, first: $n) {
    edges { node {
      id
      balance { available pending lifetimeEarned expiringSoon nextExpiry { expiresAt points } }
      tier { id name }
      tierProgress { nextTier { name } value remaining }
      ledger(first: 5) { edges { node { kind points } } pageInfo { hasNextPage } }
      vouchers { code }
    } }
  }
}
"""

CREATE_TIER = """
mutation($input: CreateTierInput!) { createTier(input: $input) { tier { id } userErrors { code } } }
"""


async def test_balances_tiers_and_ledgers_of_100_customers_cost_as_much_as_of_1(
    gql: GraphQLClient, statements: StatementCounter
):
    # given: 101 enrolled customers, each in a tier with points and ledger entries
    site_id = await create_site(gql, "shop-a")
    admin = gql.token("admin", "shop-a")
    await gql.execute(
        CONFIGURE_PROGRAM,
        {"input": {"siteId": site_id, "validityPolicy": "FIXED_DAYS", "validityDays": 365}},
        token=admin,
    )
    for name, rank, threshold in (("Member", 1, 0), ("Gold", 2, 1_000_000)):
        await gql.execute(
            CREATE_TIER,
            {"input": {"siteId": site_id, "name": name, "rank": rank, "metric": "POINTS_EARNED",
                       "threshold": threshold, "windowMonths": 12}},
            token=admin,
        )  # fmt: skip
    for n in range(101):
        customer = await register(gql, "shop-a", site_id, f"c-{n:03}", enroll=True)
        for points in (100, 50):
            await gql.execute(
                GRANT_POINTS,
                {"input": {"customerId": customer["id"], "points": points, "reason": "test"}},
                token=admin,
            )
    await gql.execute(CUSTOMERS_WITH_POINTS, {"s": site_id, "n": 1}, token=admin)  # warm-up
    # when
    with statements:
        small = await gql.execute(CUSTOMERS_WITH_POINTS, {"s": site_id, "n": 1}, token=admin)
    for_one = list(statements.statements)
    with statements:
        large = await gql.execute(CUSTOMERS_WITH_POINTS, {"s": site_id, "n": 100}, token=admin)
    for_hundred = list(statements.statements)
    # then
    nodes = [e["node"] for e in large["data"]["customers"]["edges"]]
    assert len(small["data"]["customers"]["edges"]) == 1
    assert len(nodes) == 100
    assert {n["balance"]["available"] for n in nodes} == {150}
    assert {n["tier"]["name"] for n in nodes} == {"Member"}
    assert {len(n["ledger"]["edges"]) for n in nodes} == {2}
    assert len(for_one) == len(for_hundred), (for_one, for_hundred)
    # customers, accounts, ledger pages, vouchers, current tiers, the tier standing
    # (accounts, the site's tiers, windowed sums) and expiring lots: one query each
    assert len(for_hundred) == 9, for_hundred
