"""The storefront never reads stale under load (#15): writers and readers at once against
a real server (`loyalty-gql serve` on 127.0.0.1, two workers on PostgreSQL, one on SQLite,
stopped by its pid), each request on a new connection so they spread over the workers.

One writer per customer grants points, records and completes orders, buys rewards and
deducts points, in turn; an admin raises a reward's price step by step; readers meanwhile
ask for the badge and the dashboard with customer tokens. Every dashboard must agree with
itself (its balance is its newest ledger entry's, a reward dearer than the balance cannot
be bought, its next tier is the one above its tier) and every read must be monotonic: a
read sent after a write's response arrived shows that write (or a later one: its entry,
its price, its tier), whichever worker answers it and whatever it cached.

A dashboard is one state of the customer's data: its balance and tier (the points
account), its ledger page and its tier progress come from separate statements, and when
a write commits between them the customer's read versions move, so the endpoint reads
it all again (api/http.py, CONSISTENT_TRIES). Every dashboard must therefore agree with
itself: its balance is its newest entry's balanceAfter, its next tier is the one above
its tier, and My offers agrees with its balance.

Marked ``concurrency(across_processes=True)``: the readers and writers race in the server,
outside the test's process, so SQLite (one writer at a time, readers beside it) runs it too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from loyalty_gql.config import Settings
from loyalty_gql.db.engine import Database
from loyalty_gql.services.points.verify import verify_ledger
from tests.api.storefront_reads import (
    BADGE,
    DASHBOARD,
    DASHBOARD_OF_CUSTOMER,
    LEDGER_OF_CUSTOMER,
    dashboard_problems,
    entry_pk,
)
from tests.conftest import BACKEND, DatabaseBackend, GraphQLClient
from tests.support.operations import COMPLETE_ORDER, CREATE_TIER
from tests.support.server import running_server
from tests.support.shop import Shop, line

pytestmark = pytest.mark.concurrency(across_processes=True)

ONE_SNAPSHOT = True
"""Whether a dashboard's balance and ledger page come from one state (see above)."""
WORKERS = 2 if BACKEND == "postgres" else 1
CUSTOMERS = 4
ROUNDS = 4
READERS = 4
PRICES = (150, 400, 800, 1500)
RAISED = "r400"  # the reward whose price the admin raises by 10 points per step
TIERS = {"Silver": (1, 500), "Gold": (2, 1500)}  # name: (rank, points earned)
NEWEST = """
query($id: ID!) { customer(id: $id) { tier { rank } ledger(first: 1) { nodes { id } } } }
"""
UPDATE_OFFER = """
mutation($input: UpdateOfferInput!) { updateOffer(input: $input) { userErrors { code } } }
"""


@pytest.fixture
async def server(db: Database, backend: DatabaseBackend, tmp_path: Path) -> AsyncIterator[str]:
    """`loyalty-gql serve` with WORKERS workers on the test database, rate limits off;
    its base URL. Stopped by its pid."""
    async with running_server(backend.url, tmp_path / "server.log", workers=WORKERS) as base:
        yield base


@dataclass
class Read:
    """One read as it went: whose, which document, when it was sent, what it answered."""

    customer: str
    document: str
    sent: float
    viewer: dict[str, Any]


@dataclass
class Race:
    """Four customers' writers, an admin raising a price and readers, on one server.

    Each write's response time is noted with the customer's newest ledger entry right
    after it (one writer per customer: nobody else moves it), and each price with the
    time its edit was answered: a read sent later must show at least that."""

    server: str
    settings: Settings
    shop: Shop
    rewards: dict[str, str]
    names: list[str]
    tokens: dict[str, str]
    floors: dict[str, list[tuple[float, int, int]]] = field(default_factory=dict)
    prices: list[tuple[float, int]] = field(default_factory=list)
    reads: list[Read] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def client(self, *, keep_alive: bool = True) -> httpx.AsyncClient:
        """A client of the server; without ``keep_alive``, a new connection per request
        (so requests spread over the workers)."""
        limits = httpx.Limits(max_keepalive_connections=None if keep_alive else 0)
        return httpx.AsyncClient(base_url=self.server, timeout=60, limits=limits)

    async def writer(self, name: str) -> None:
        """The customer's rounds: +300, an order of 10.00 (+100 once completed), the
        150-point reward bought, -50; one write at a time."""
        async with self.client() as http:
            gql = GraphQLClient(http, self.settings)
            shop = Shop(gql, self.shop.site_id, self.shop.code)
            shop.customers = self.shop.customers
            for n in range(ROUNDS):
                order = f"{name}-{n}"
                for write in (
                    shop.grant(name, 300),
                    shop.record(order, name, lines=[line("sku-1", 1, "10.00")]),
                    shop.step(COMPLETE_ORDER, order),
                    shop.voucher(name, self.rewards["r150"]),
                    shop.grant(name, -50),
                ):
                    outcome = await write
                    arrived = time.monotonic()
                    if isinstance(outcome, dict):
                        assert outcome["userErrors"] == [], outcome
                    body = await gql.execute(NEWEST, {"id": shop.customers[name]}, token=shop.admin)
                    customer = body["data"]["customer"]
                    [entry] = customer["ledger"]["nodes"]
                    rank = (customer["tier"] or {"rank": 0})["rank"]
                    self.floors.setdefault(name, []).append((arrived, entry_pk(entry["id"]), rank))

    async def pricer(self) -> None:
        """The admin raises RAISED's price by 10 points at a time."""
        async with self.client() as http:
            gql = GraphQLClient(http, self.settings)
            for step in range(1, 2 * ROUNDS + 1):
                price = 400 + 10 * step
                terms = {"name": RAISED, "valueType": "FIXED_AMOUNT", "value": "1",
                         "loyaltyPrice": price}  # fmt: skip
                body = await gql.execute(
                    UPDATE_OFFER, {"input": {"offerId": self.rewards[RAISED], "terms": terms}},
                    token=self.shop.admin,
                )  # fmt: skip
                assert body["data"]["updateOffer"]["userErrors"] == []
                self.prices.append((time.monotonic(), price))
                await asyncio.sleep(0.05)

    async def reader(self, first: int) -> None:
        """Badges and dashboards of the customers in turn, until the writers are done
        (and at least one of each per customer)."""
        async with self.client(keep_alive=False) as http:
            n = first
            while not self.done.is_set() or n < first + 2 * CUSTOMERS:
                name = self.names[n % CUSTOMERS]
                document = (BADGE, DASHBOARD)[n // CUSTOMERS % 2]
                sent = time.monotonic()
                response = await http.post(
                    "/graphql", json={"query": document},
                    headers={"authorization": f"Bearer {self.tokens[name]}"},
                )  # fmt: skip
                body = response.json()
                assert response.status_code == 200, body
                assert "errors" not in body, body
                self.reads.append(Read(name, document, sent, body["data"]["viewer"]))
                n += 1

    async def run(self) -> None:
        """Writers, the pricer and readers at once."""
        readers = [asyncio.create_task(self.reader(i)) for i in range(READERS)]
        await asyncio.gather(*(self.writer(name) for name in self.names), self.pricer())
        self.done.set()
        await asyncio.gather(*readers)

    def problems(self, read: Read, ledger: list[tuple[int, int]]) -> list[str]:
        """What is wrong with one read, given the customer's whole ledger (entry pk,
        balanceAfter): it disagrees with itself, shows another customer's entry, or
        misses a write whose response had arrived before it was sent."""
        before = [(pk, rank) for at, pk, rank in self.floors[read.customer] if at < read.sent]
        floor, rank = max(before, default=(0, 0))
        # the balances the customer had from the floor's entry on
        possible = {after for pk, after in ledger if pk >= floor} | ({0} if floor == 0 else set())
        available = read.viewer["balance"]["available"]
        problems = []
        if available not in possible:
            problems.append(f"available {available} is from before entry {floor}")
        if read.document is not DASHBOARD:
            return problems
        problems += dashboard_problems(read.viewer, ledger=ONE_SNAPSHOT)
        entries = read.viewer["ledger"]["nodes"]
        newest = entry_pk(entries[0]["id"]) if entries else 0
        if newest < floor:
            problems.append(f"newest entry {newest}, but {floor} was written before the read")
        if newest and newest not in {pk for pk, _ in ledger}:
            problems.append(f"entry {newest} is not the customer's")
        tier = read.viewer["tier"]
        if (tier or {"rank": 0})["rank"] < rank:
            problems.append(f"tier {tier}, but the customer reached rank {rank} before the read")
        upcoming = read.viewer["tierProgress"]["nextTier"]
        above = [n for n, (r, _) in TIERS.items() if r > (tier or {"rank": 0})["rank"]]
        if ONE_SNAPSHOT and (upcoming or {}).get("name") != (above[0] if above else None):
            problems.append(f"tier {tier} but next tier {upcoming}")
        raised = max((price for at, price in self.prices if at < read.sent), default=400)
        [item] = [i for i in read.viewer["offers"]["nodes"] if i["offer"]["name"] == RAISED]
        if item["offer"]["loyaltyPrice"] < raised:
            problems.append(f"{RAISED} at {item['offer']['loyaltyPrice']}, {raised} before")
        return problems


async def test_reads_racing_writes_agree_with_themselves_and_never_go_back(
    server: str, settings: Settings, db: Database
):
    # given: a shop with two tiers, four rewards and four customers, through the server
    async with httpx.AsyncClient(base_url=server, timeout=60) as http:
        gql = GraphQLClient(http, settings)
        shop = await Shop.open(gql)
        for tier, (rank, threshold) in TIERS.items():
            body = await gql.execute(
                CREATE_TIER,
                {"input": {"siteId": shop.site_id, "name": tier, "rank": rank,
                           "metric": "POINTS_EARNED", "threshold": threshold}},
                token=shop.admin,
            )  # fmt: skip
            assert body["data"]["createTier"]["userErrors"] == []
        rewards = {}
        for price in PRICES:
            terms: dict[str, Any] = {"name": f"r{price}", "valueType": "FIXED_AMOUNT", "value": "1",
                     "loyaltyPrice": price}  # fmt: skip
            rewards[f"r{price}"] = await shop.offer("REWARD", **terms)
        names = [f"c{n}" for n in range(CUSTOMERS)]
        for name in names:
            await shop.register(name, enroll=True)
        race = Race(server, settings, shop, rewards, names, {n: shop.customer(n) for n in names})
        # when
        await race.run()
        # then: every read agrees with the ledger as the shop sees it now
        ledgers = {name: await _ledger(gql, shop, name) for name in names}
        final = {}
        for name in names:
            body = await gql.execute(
                DASHBOARD_OF_CUSTOMER, {"id": shop.customers[name]}, token=shop.admin
            )
            final[name] = body["data"]["customer"]
    # 5 entries a round (grant, order, completion, reward, grant), each round +200
    assert {name: len(ledgers[name]) for name in names} == dict.fromkeys(names, 5 * ROUNDS)
    problems = [
        f"{read.customer}: {problem}"
        for read in race.reads
        for problem in race.problems(read, ledgers[read.customer])
    ]
    assert problems == [], f"{len(problems)} in {len(race.reads)} reads: {problems[:10]}"
    assert {r.document for r in race.reads} == {BADGE, DASHBOARD}
    for name in names:
        assert final[name]["balance"]["available"] == ledgers[name][-1][1] == 200 * ROUNDS
        assert dashboard_problems(final[name]) == []
        assert final[name]["tier"]["name"] == "Gold"  # 4 rounds of 400 points earned
    assert await verify_ledger(db) == []


async def _ledger(gql: GraphQLClient, shop: Shop, name: str) -> list[tuple[int, int]]:
    """The customer's ledger, oldest first: (entry pk, balanceAfter)."""
    entries: list[tuple[int, int]] = []
    after = None
    while True:
        body = await gql.execute(
            LEDGER_OF_CUSTOMER,
            {"s": shop.site_id, "c": shop.customers[name], "after": after},
            token=shop.admin,
        )
        page = body["data"]["ledgerEntries"]
        entries += [(entry_pk(e["id"]), e["balanceAfter"]) for e in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            return sorted(entries)
        after = page["pageInfo"]["endCursor"]
