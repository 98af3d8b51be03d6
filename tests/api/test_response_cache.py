"""The response cache of customers' reads: a repeat costs one statement, and nothing it
serves is older than the last write or the clock allows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from loyalty_gql.api import loaders
from loyalty_gql.db.engine import Database
from loyalty_gql.db.repositories.points.ledger import accounts_by_customer_ids, ledger_pages
from loyalty_gql.services.core.common import Actor, system_clock
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.points.entries import grant_points
from tests.conftest import GraphQLClient, StatementCounter
from tests.support.clock import Clock
from tests.support.shop import Shop

BADGE = "query { viewer { balance { available } } }"
EXPIRING = """
query($d: Int!) { viewer { balance { available expiringSoon(withinDays: $d) } } }
"""
VOUCHERS = "query { viewer { vouchers { code status expiresAt } } }"
MY_OFFERS = "query { viewer { offers(first: 20) { nodes { offer { name } canRedeem reason } } } }"
OFFER_EDIT = """
mutation($input: UpdateOfferInput!) { updateOffer(input: $input) { userErrors { code } } }
"""


async def _shop(gql: GraphQLClient, **settings: Any) -> Shop:
    shop = await Shop.open(gql, **settings)
    await shop.register("ann", enroll=True)
    await shop.register("bob", enroll=True)
    return shop


async def test_a_repeated_badge_costs_one_statement_and_the_same_answer(
    gql: GraphQLClient, statements: StatementCounter
):
    # given
    shop = await _shop(gql)
    await shop.grant("ann", 120)
    ann = shop.customer("ann")
    first = await gql.execute(BADGE, token=ann)
    # when
    with statements:
        again = await gql.execute(BADGE, token=ann)
    # then: only the versions were read
    assert again["data"] == first["data"]
    assert again["data"]["viewer"]["balance"]["available"] == 120
    assert len(statements.statements) == 1, statements.statements
    assert "data_version" in statements.statements[0]


async def test_a_write_between_two_reads_shows_in_the_second(gql: GraphQLClient):
    # given
    shop = await _shop(gql)
    await shop.grant("ann", 120)
    ann = shop.customer("ann")
    await gql.execute(BADGE, token=ann)
    # when
    await shop.grant("ann", 30)
    body = await gql.execute(BADGE, token=ann)
    # then
    assert body["data"]["viewer"]["balance"]["available"] == 150


async def test_customers_never_see_each_others_answers(gql: GraphQLClient):
    # given
    shop = await _shop(gql)
    await shop.grant("ann", 120)
    await shop.grant("bob", 7)
    # when
    ann = await gql.execute(BADGE, token=shop.customer("ann"))
    bob = await gql.execute(BADGE, token=shop.customer("bob"))
    ann_again = await gql.execute(BADGE, token=shop.customer("ann"))
    # then
    assert ann["data"]["viewer"]["balance"]["available"] == 120
    assert bob["data"]["viewer"]["balance"]["available"] == 7
    assert ann_again["data"] == ann["data"]


async def test_variables_are_part_of_the_question(gql: GraphQLClient, clock: Clock):
    # given: 100 points that expire in 365 days
    shop = await _shop(gql, validityPolicy="FIXED_DAYS", validityDays=365)
    await shop.grant("ann", 100)
    ann = shop.customer("ann")
    # when
    soon = await gql.execute(EXPIRING, {"d": 30}, token=ann)
    year = await gql.execute(EXPIRING, {"d": 400}, token=ann)
    # then
    assert soon["data"]["viewer"]["balance"]["expiringSoon"] == 0
    assert year["data"]["viewer"]["balance"]["expiringSoon"] == 100


async def test_points_entering_the_window_show_without_any_write(gql: GraphQLClient, clock: Clock):
    # given: 100 points that expire at the end of the 365th day, read 40 days before
    shop = await _shop(gql, validityPolicy="FIXED_DAYS", validityDays=365)
    await shop.grant("ann", 100)
    ann = shop.customer("ann")
    clock.day(325)
    before = await gql.execute(EXPIRING, {"d": 30}, token=ann)
    # when: ten days later, nothing written
    clock.day(336)
    after = await gql.execute(EXPIRING, {"d": 30}, token=ann)
    # then
    assert before["data"]["viewer"]["balance"]["expiringSoon"] == 0
    assert after["data"]["viewer"]["balance"]["expiringSoon"] == 100


async def test_a_voucher_expires_in_a_cached_answer_at_its_instant(
    gql: GraphQLClient, clock: Clock
):
    # given: a voucher valid 10 days, read just before it ends
    shop = await _shop(gql)
    ends = clock.now + timedelta(days=10)
    reward = await shop.offer(
        "REWARD", name="5 off", valueType="FIXED_AMOUNT", value="5", loyaltyPrice=100,
        validUntil=ends.isoformat(),
    )  # fmt: skip
    await shop.grant("ann", 100)
    await shop.voucher("ann", reward)
    ann = shop.customer("ann")
    [voucher] = (await gql.execute(VOUCHERS, token=ann))["data"]["viewer"]["vouchers"]
    assert voucher["status"] == "ACTIVE"
    # when: the clock passes its expiry by a second
    body = await gql.execute(VOUCHERS, token=ann)
    assert body["data"]["viewer"]["vouchers"][0]["status"] == "ACTIVE"
    clock.now += timedelta(days=10, seconds=1)
    body = await gql.execute(VOUCHERS, token=ann)
    # then
    assert body["data"]["viewer"]["vouchers"][0]["status"] == "EXPIRED"


async def test_an_offer_edit_shows_in_every_customers_my_offers(gql: GraphQLClient):
    # given: a reward both customers can afford, both have read My offers
    shop = await _shop(gql)
    terms: dict[str, Any] = {
        "name": "5 off",
        "valueType": "FIXED_AMOUNT",
        "value": "5",
        "loyaltyPrice": 100,
    }
    reward = await shop.offer("REWARD", **terms)
    await shop.grant("ann", 150)
    await shop.grant("bob", 150)
    for who in ("ann", "bob"):
        body = await gql.execute(MY_OFFERS, token=shop.customer(who))
        assert body["data"]["viewer"]["offers"]["nodes"][0]["canRedeem"] is True
    # when: the admin raises its price beyond their points
    edited = await gql.execute(
        OFFER_EDIT, {"input": {"offerId": reward, "terms": {**terms, "loyaltyPrice": 200}}},
        token=shop.admin,
    )  # fmt: skip
    assert edited["data"]["updateOffer"]["userErrors"] == []
    # then
    for who in ("ann", "bob"):
        body = await gql.execute(MY_OFFERS, token=shop.customer(who))
        [item] = body["data"]["viewer"]["offers"]["nodes"]
        assert item["canRedeem"] is False
        assert item["reason"] == "INSUFFICIENT_POINTS"


DASHBOARD = """
query { viewer {
  balance { available }
  ledger(first: 1) { nodes { points balanceAfter } }
} }
"""


async def test_a_write_landing_between_the_reads_of_an_answer_is_read_again(
    gql: GraphQLClient, statements: StatementCounter, monkeypatch: Any
):
    # given: the customer's account is read after a grant that lands in the middle of
    # the dashboard's reads (after the first reading of the versions)
    shop = await _shop(gql)
    await shop.grant("ann", 100)
    ann = shop.customer("ann")
    read_accounts = accounts_by_customer_ids
    writes: list[int] = []

    async def accounts_after_a_grant(session: Any, ids: Any) -> Any:
        if not writes:
            writes.append(1)
            await shop.grant("ann", 5)
        return await read_accounts(session, ids)

    monkeypatch.setattr(loaders, "accounts_by_customer_ids", accounts_after_a_grant)
    # when
    with statements:
        body = await gql.execute(DASHBOARD, token=ann)
    # then: the answer is one state, the one after the grant
    viewer = body["data"]["viewer"]
    assert viewer["balance"]["available"] == 105
    assert viewer["ledger"]["nodes"] == [{"points": 5, "balanceAfter": 105}]
    version_reads = [s for s in statements.statements if "c.data_version" in s]
    assert len(version_reads) == 3  # before, after (moved: read again), after again


TWO_PARTS = """query Dashboard { viewer { balance { available }
  ledger(first: 3) { nodes { points balanceAfter } } } }"""


async def test_a_write_landing_inside_every_read_still_answers_one_state(
    gql: GraphQLClient, db: Database, monkeypatch: Any
) -> None:
    # given: a member with 100 points, and a write of theirs (a grant of 7) that commits
    # between the dashboard's balance and its ledger page, on every try
    shop = await Shop.open(gql)
    await shop.register("ann", enroll=True)
    await shop.grant("ann", 100)
    real_pages = ledger_pages
    grants = []

    async def pages_after_a_write(session: Any, customer_ids: Any, window: Any) -> Any:
        grants.append(
            await grant_points(
                db,
                customer_id=customer_ids[0],
                points=7,
                reason="lands mid-read",
                actor=Actor("admin", "test"),
                clock=system_clock,
                retry=Idempotency("grantPoints"),
            )
        )
        return await real_pages(session, customer_ids, window)

    monkeypatch.setattr(loaders, "ledger_pages", pages_after_a_write)
    # when
    body = await gql.execute(TWO_PARTS, token=shop.customer("ann"))
    # then: the ledger read after a grant, and then again in one snapshot: the answer is
    # one state, the balance that of its newest entry (without one, each try would see
    # the grant that landed after its balance was read)
    viewer = body["data"]["viewer"]
    assert len(grants) == 2
    assert viewer["balance"]["available"] == viewer["ledger"]["nodes"][0]["balanceAfter"]
    assert viewer["balance"]["available"] in (107, 114)
    # and nothing is kept of it: the next read (no more writes) sees all of both grants
    monkeypatch.setattr(loaders, "ledger_pages", real_pages)
    body = await gql.execute(TWO_PARTS, token=shop.customer("ann"))
    viewer = body["data"]["viewer"]
    assert viewer["balance"]["available"] == 114
    assert viewer["ledger"]["nodes"][0]["balanceAfter"] == 114
