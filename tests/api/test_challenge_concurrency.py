"""50 orders of one customer completed at once complete a challenge exactly once."""

from __future__ import annotations

import asyncio

import pytest

from loyalty_gql.db.engine import Database
from loyalty_gql.services.gamification.verify import verify_gamification
from loyalty_gql.services.points.verify import verify_ledger
from tests.conftest import GraphQLClient
from tests.support.gamification import challenge, my_challenges, stored_counts
from tests.support.operations import COMPLETE_ORDER
from tests.support.shop import Shop, line

pytestmark = [pytest.mark.postgres, pytest.mark.concurrency]

ORDERS = 50


async def test_fifty_orders_completed_at_once_complete_the_challenge_once(
    gql: GraphQLClient, db: Database
):
    # given: "three orders" once, and 50 recorded orders of ann
    shop = await Shop.open(gql)
    await challenge(
        shop, "three", goalKind="COUNT", target=3, rewards=[{"kind": "POINTS", "points": 700}]
    )
    await shop.register("ann", enroll=True)
    for n in range(ORDERS):
        recorded = await shop.record(f"o-{n}", "ann", lines=[line("sku-1", 1, "5.00")])
        assert recorded["userErrors"] == [], recorded
    # when: all 50 are completed at the same moment
    done = await asyncio.gather(*(shop.step(COMPLETE_ORDER, f"o-{n}") for n in range(ORDERS)))
    # then: every order completed; one completion, one reward entry, one event
    assert [d["userErrors"] for d in done] == [[]] * ORDERS
    assert await stored_counts(db) == (1, 1, 1)
    mine = (await my_challenges(shop, "ann"))["three"]
    assert (mine["value"], mine["completed"], mine["finished"]) == (3, 1, True)
    assert await verify_ledger(db) == []
    assert await verify_gamification(db) == []
