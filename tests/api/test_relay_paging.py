"""Relay paging both ways: `first`/`after` and `last`/`before` on every connection, the
spec's first+last, cursors of another list refused, and totalCount where it is offered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import GraphQLClient, StatementCounter
from tests.support.shop import Shop

PAGE = """edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"""
ARGS = "first: $first, after: $after, last: $last, before: $before"
VARS = "$first: Int, $after: String, $last: Int, $before: String"

# every connection: its query, the path to it, and who reads it
CONNECTIONS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "customers": (
        f"query($s: ID!, {VARS}) {{ customers(siteId: $s, {ARGS}) {{ {PAGE} }} }}",
        ("customers",),
        "admin",
    ),
    "offers": (
        f"query($s: ID!, {VARS}) {{ offers(siteId: $s, {ARGS}) {{ {PAGE} }} }}",
        ("offers",),
        "admin",
    ),
    "exchanges": (
        f"query($s: ID!, {VARS}) {{ exchanges(siteId: $s, {ARGS}) {{ {PAGE} }} }}",
        ("exchanges",),
        "service",
    ),
    "ledgerEntries": (
        f"query($s: ID!, {VARS}) {{ ledgerEntries(siteId: $s, {ARGS}) {{ {PAGE} }} }}",
        ("ledgerEntries",),
        "admin",
    ),
    "events": (
        f"query($s: ID!, {VARS}) {{ events(siteId: $s, {ARGS}) {{ {PAGE} }} }}",
        ("events",),
        "service",
    ),
    "webhookDeliveries": (
        f"query($s: ID!, {VARS}) {{ webhookDeliveries(siteId: $s, {ARGS}) {{ {PAGE} }} }}",
        ("webhookDeliveries",),
        "admin",
    ),
    "Customer.ledger": (
        f"query({VARS}) {{ viewer {{ ledger({ARGS}) {{ {PAGE} }} }} }}",
        ("viewer", "ledger"),
        "customer",
    ),
    "myOffers": (
        f"query({VARS}) {{ viewer {{ offers({ARGS}) {{ {PAGE} }} }} }}",
        ("viewer", "offers"),
        "customer",
    ),
}


@dataclass
class World:
    """One site with something in every list, and the tokens that read them."""

    gql: GraphQLClient
    shop: Shop

    def token(self, role: str) -> str:
        """The token of ``role`` (the customer is ann, c-00)."""
        if role == "customer":
            return self.shop.customer("c-00")
        return self.shop.admin if role == "admin" else self.shop.service

    async def page(self, name: str, *, expect_errors: bool = False, **args: Any) -> dict[str, Any]:
        """One page of the connection ``name``; the connection (or the whole body)."""
        query, path, role = CONNECTIONS[name]
        body = await self.gql.execute(
            query, {"s": self.shop.site_id, **args}, token=self.token(role),
            expect_errors=expect_errors,
        )  # fmt: skip
        if expect_errors:
            return body
        found: dict[str, Any] = body["data"]
        for key in path:
            found = found[key]
        return found

    async def everything(self, name: str) -> list[str]:
        """The cursors of the whole list, in one page."""
        whole = await self.page(name, first=100)
        assert whole["pageInfo"]["hasNextPage"] is False
        return [e["cursor"] for e in whole["edges"]]

    async def walk(self, name: str, sizes: list[int], *, backward: bool) -> list[str]:
        """Page through the list with these page sizes (in turn), from the front with
        `first`/`after` or from the back with `last`/`before`; the cursors in list order,
        each page's pageInfo checked against the list as a whole."""
        whole = await self.everything(name)
        seen: list[str] = []
        cursor = None
        for turn in range(len(whole) + 1):
            size = sizes[turn % len(sizes)]
            args: dict[str, Any] = (
                {"last": size, "before": cursor} if backward else {"first": size, "after": cursor}
            )
            page = await self.page(name, **args)
            cursors = [e["cursor"] for e in page["edges"]]
            info = page["pageInfo"]
            assert info["startCursor"] == (cursors[0] if cursors else None)
            assert info["endCursor"] == (cursors[-1] if cursors else None)
            seen = [*cursors, *seen] if backward else [*seen, *cursors]
            more_this_way = len(seen) < len(whole)
            if backward:
                assert info["hasPreviousPage"] is more_this_way, (name, args, info)
                assert info["hasNextPage"] is (cursor is not None)
                cursor = info["startCursor"]
            else:
                assert info["hasNextPage"] is more_this_way, (name, args, info)
                assert info["hasPreviousPage"] is (cursor is not None)
                cursor = info["endCursor"]
            if not more_this_way:
                break
        return seen


REWARD_TERMS: dict[str, Any] = {"valueType": "PERCENT", "value": "5", "loyaltyPrice": 10}


async def _world(gql: GraphQLClient) -> World:
    # a threshold of 100 points turns points into vouchers (My offers lists them first)
    shop = await Shop.open(
        gql,
        thresholdReward={"enabled": True, "points": 100, "valueType": "PERCENT", "value": "10"},
    )
    for n in range(13):
        await shop.register(f"c-{n:02}", email=f"c{n:02}@a.test", enroll=True)
    for n in range(5):
        await shop.offer("REWARD", name=f"r{n}", **REWARD_TERMS)
    mug = await shop.offer(
        "REWARD", name="Mug", valueType="FREE_ITEM", loyaltyPrice=5,
        exchangeProductId="mug-1", exchangePrice="0.01",
    )  # fmt: skip
    coupon = await shop.offer("COUPON", name="Welcome", valueType="PERCENT", value="10")
    await shop.assign(coupon, *(f"c-{n:02}" for n in range(5, 11)))
    await shop.grant("c-00", 250)  # two threshold vouchers
    for _ in range(6):
        await shop.grant("c-00", 7)
    for n in range(1, 6):  # five exchanges, five VOUCHER_ISSUED events
        await shop.grant(f"c-{n:02}", 20)
        await shop.voucher(f"c-{n:02}", mug)
    return World(gql, shop)


@pytest.fixture
async def world(gql: GraphQLClient) -> World:
    """The site, its customers, offers, ledger, exchanges and events."""
    return await _world(gql)


async def test_every_list_holds_several_pages(world: World):
    # then: each list is long enough for the walks below to cross pages
    lengths = {name: len(await world.everything(name)) for name in CONNECTIONS}
    print(f"\nlist lengths: {lengths}")  # noqa: T201
    assert lengths == {
        "customers": 13,
        "offers": 7,
        "exchanges": 5,
        "ledgerEntries": 9 + 5 * 2,  # ann's, and five grants and purchases
        "events": 2 + 6 + 5,  # two threshold rewards, six assignments, five vouchers bought
        "webhookDeliveries": 0,  # no endpoint
        "Customer.ledger": 1 + 2 + 6,  # a grant, two threshold vouchers, six grants
        "myOffers": 2 + 6,  # two threshold vouchers, then six rewards for sale
    }
    # an empty list is empty from either end
    empty = {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None,
             "endCursor": None}  # fmt: skip
    assert await world.page("webhookDeliveries", last=3) == {"edges": [], "pageInfo": empty}
    assert await world.page("webhookDeliveries", first=3) == {"edges": [], "pageInfo": empty}


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_walking_forwards_and_backwards_gives_the_same_items(
    world: World, data: st.DataObject
):
    # given: a list and random page sizes for each direction
    name = data.draw(st.sampled_from(sorted(set(CONNECTIONS) - {"webhookDeliveries"})))
    forward_sizes = data.draw(st.lists(st.integers(1, 6), min_size=1, max_size=4))
    backward_sizes = data.draw(st.lists(st.integers(1, 6), min_size=1, max_size=4))
    # when
    whole = await world.everything(name)
    forwards = await world.walk(name, forward_sizes, backward=False)
    backwards = await world.walk(name, backward_sizes, backward=True)
    # then: the same items, in the list's own order, both ways
    assert forwards == whole
    assert backwards == whole


async def test_pages_either_way_meet_in_the_middle(world: World):
    # given
    whole = await world.everything("customers")
    # when: the page before the 7th customer, and the page after the 6th
    before = await world.page("customers", last=3, before=whole[6])
    after = await world.page("customers", first=3, after=whole[5])
    # then
    assert [e["cursor"] for e in before["edges"]] == whole[3:6]
    assert before["pageInfo"] == {
        "hasNextPage": True, "hasPreviousPage": True,
        "startCursor": whole[3], "endCursor": whole[5],
    }  # fmt: skip
    assert [e["cursor"] for e in after["edges"]] == whole[6:9]
    # the very start and end
    first_three = await world.page("customers", last=5, before=whole[3])
    assert [e["cursor"] for e in first_three["edges"]] == whole[:3]
    assert first_three["pageInfo"]["hasPreviousPage"] is False
    tail = await world.page("customers", last=2)
    assert [e["cursor"] for e in tail["edges"]] == whole[-2:]
    assert tail["pageInfo"]["hasNextPage"] is False
    assert tail["pageInfo"]["hasPreviousPage"] is True


@pytest.mark.parametrize("name", ["customers", "offers", "myOffers"])
async def test_first_and_last_together_follow_the_relay_algorithm(world: World, name: str):
    # given: the whole list (13 customers, ascending; 7 offers, newest first; 8 in My offers)
    whole = await world.everything(name)
    n = len(whole)

    async def cut(**args: Any) -> tuple[list[str], bool, bool]:
        page = await world.page(name, **args)
        info = page["pageInfo"]
        return [e["cursor"] for e in page["edges"]], info["hasPreviousPage"], info["hasNextPage"]

    # then: `first` cuts from the front, then `last` from what first left; hasNextPage
    # says whether more than `first`, hasPreviousPage whether more than `last` lie between
    # the cursors (the spec's HasNextPage and HasPreviousPage)
    assert await cut(first=5, last=2) == (whole[3:5], True, True)
    assert await cut(first=3, last=5) == (whole[0:3], n > 5, True)
    assert await cut(first=5, last=2, after=whole[n - 4]) == (whole[n - 2 :], True, False)
    assert await cut(first=10, after=whole[1], before=whole[5]) == (whole[2:5], True, False)
    assert await cut(last=10, after=whole[1], before=whole[5]) == (whole[2:5], False, True)
    assert await cut(first=2, last=2, after=whole[1], before=whole[5]) == (
        whole[2:4], True, True
    )  # fmt: skip
    assert await cut(first=0, last=3) == ([], n > 3, n > 0)
    assert await cut(last=0) == ([], n > 0, False)


async def test_a_cursor_of_another_list_is_refused(world: World):
    # given: cursors of the customers, the site's ledger and a customer's ledger
    customer_cursor = (await world.everything("customers"))[0]
    entry_cursor = (await world.everything("ledgerEntries"))[0]
    own_entry_cursor = (await world.everything("Customer.ledger"))[0]
    # when: each is passed to another list, as `after` and as `before`
    refused = [
        await world.page("offers", expect_errors=True, first=2, after=customer_cursor),
        await world.page("events", expect_errors=True, last=2, before=customer_cursor),
        await world.page("Customer.ledger", expect_errors=True, first=2, after=entry_cursor),
        await world.page("ledgerEntries", expect_errors=True, last=2, before=own_entry_cursor),
        await world.page("myOffers", expect_errors=True, first=2, after=own_entry_cursor),
    ]
    # then: a bad request naming the list, not another list's page
    for body in refused:
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "is a cursor of another list" in error["message"], error
    assert "not of `offers`" in refused[0]["errors"][0]["message"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"last": 101}, "`last` may be at most 100; page with `before`"),
        ({"first": 101}, "`first` may be at most 100; page with `after`"),
        ({"last": -1}, "`last` must not be negative"),
        ({"before": "not a cursor"}, "'not a cursor' is not a valid cursor"),
        ({"last": 2, "before": "WyJjdXN0b21lcnMiLDBd"}, "is not a valid cursor"),  # id 0
    ],
)
async def test_bad_paging_arguments_are_bad_requests(
    world: World, args: dict[str, Any], message: str
):
    # when
    body = await world.page("customers", expect_errors=True, **args)
    # then
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert message in error["message"]


TOTALS = """
query($s: ID!, $c: ID!) {
  customers(siteId: $s, first: 1) { totalCount }
  searched: customers(siteId: $s, first: 1, search: "c1") { totalCount }
  offers(siteId: $s, first: 1) { totalCount }
  coupons: offers(siteId: $s, first: 1, filter: {kinds: [COUPON]}) { totalCount }
  exchanges(siteId: $s, first: 1) { totalCount }
  pending: exchanges(siteId: $s, first: 1, status: CONFIRMED) { totalCount }
  ledgerEntries(siteId: $s, first: 1) { totalCount }
  customer(id: $c) { ledger(first: 1) { totalCount } }
}
"""


async def test_total_counts_count_the_whole_filtered_list(world: World):
    # when
    body = await world.gql.execute(
        TOTALS, {"s": world.shop.site_id, "c": world.shop.customers["c-00"]},
        token=world.shop.admin,
    )  # fmt: skip
    data = body["data"]
    # then
    assert data == {
        "customers": {"totalCount": 13},
        "searched": {"totalCount": 3},  # c10, c11, c12 by email prefix
        "offers": {"totalCount": 7},
        "coupons": {"totalCount": 1},
        "exchanges": {"totalCount": 5},
        "pending": {"totalCount": 0},
        "ledgerEntries": {"totalCount": None},  # unbounded: not offered
        "customer": {"ledger": {"totalCount": 9}},
    }


CUSTOMERS = "query($s: ID!) { customers(siteId: $s, first: 5) { edges { node { id } } } }"
COUNTED = "query($s: ID!) { customers(siteId: $s, first: 5) { totalCount edges { node { id } } } }"
LEDGERS = """
query($s: ID!, $n: Int) { customers(siteId: $s, first: $n) {
  edges { node { ledger(first: 2) { totalCount edges { node { points } } } } } } }
"""


async def test_total_count_is_one_statement_only_when_selected(
    world: World, statements: StatementCounter
):
    # given
    gql, shop = world.gql, world.shop
    await gql.execute(CUSTOMERS, {"s": shop.site_id}, token=shop.admin)  # warm the caches
    # when
    with statements:
        await gql.execute(CUSTOMERS, {"s": shop.site_id}, token=shop.admin)
    plain = list(statements.statements)
    with statements:
        await gql.execute(COUNTED, {"s": shop.site_id}, token=shop.admin)
    counted = list(statements.statements)
    with statements:
        await gql.execute(LEDGERS, {"s": shop.site_id, "n": 1}, token=shop.admin)
    one_ledger = list(statements.statements)
    with statements:
        await gql.execute(LEDGERS, {"s": shop.site_id, "n": 13}, token=shop.admin)
    thirteen_ledgers = list(statements.statements)
    # then: the page alone, then one COUNT more; thirteen ledgers' counts in one statement
    print(f"\nstatements: plain {len(plain)}, counted {len(counted)}, ledgers of 1 "  # noqa: T201
          f"{len(one_ledger)}, of 13 {len(thirteen_ledgers)}")  # fmt: skip
    assert len(counted) == len(plain) + 1
    assert sum("count(" in s.lower() for s in counted) == 1
    assert not any("count(" in s.lower() for s in plain)
    assert len(one_ledger) == len(thirteen_ledgers)
    assert sum("count(" in s.lower() for s in thirteen_ledgers) == 1
