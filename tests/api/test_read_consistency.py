"""The storefront never reads stale (#15): the badge, the dashboard and the customer's
checkout, read with a customer token, answer what the ledger, the offers and the clock say
at that moment, whatever a response cache on the read path remembers.

Every read here is sent once before the change under test (so a cache would hold the old
answer) and again after it, and must then equal a computation no cache can have answered
(`storefront_reads.fresh`, the staff's `customer(id:)`), the shop's ledger
(`ledgerEntries`), and what the test knows the change did.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.services.points.expiry import expire_points
from loyalty_gql.services.tiers import review_tiers
from tests.api.storefront_reads import (
    BADGE,
    DASHBOARD,
    DASHBOARD_OF_CUSTOMER,
    LEDGER_OF_CUSTOMER,
    dashboard_problems,
    fresh,
    without,
)
from tests.conftest import GraphQLClient
from tests.support.clock import Clock
from tests.support.operations import COMPLETE_ORDER, CREATE_TIER, REFUND_ORDER
from tests.support.shop import Shop, line

CHECKOUT_MINE = """
query MyBasket($input: CheckoutInput!) {
  checkout(input: $input) {
    total { amount } discount { amount } points
    appliedOffers { name amount { amount } }
    rejectedOffers { name code reason }
    pointsPayment { requested used amount { amount } refusal message }
  }
}
"""
UPDATE_OFFER = """
mutation($input: UpdateOfferInput!) { updateOffer(input: $input) { userErrors { code } } }
"""
UPDATE_CUSTOMER = """
mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { userErrors { code } } }
"""
UPDATE_TIER = """
mutation($input: UpdateTierInput!) { updateTier(input: $input) { userErrors { code } } }
"""
LEAVE = """
mutation($input: EnrollmentInput!) { leaveProgram(input: $input) { userErrors { code } } }
"""
PAY_WITH = 250
BASKET = [line("sku-1", 2, "10.00")]  # 18.00 after the 10% promotion on sku-1

OK = (True, None)
SHORT = (False, "INSUFFICIENT_POINTS")
THRESHOLD = "(threshold reward)"


@dataclass
class Reading:
    """What one customer's storefront read, once checked against a fresh computation."""

    badge: int
    viewer: dict[str, Any]
    quote: dict[str, Any]

    @property
    def offers(self) -> dict[str, tuple[bool, str | None]]:
        """My offers by name (a threshold-reward voucher, without an offer, as
        THRESHOLD): (canRedeem, reason)."""
        return {
            (n["offer"] or {"name": THRESHOLD})["name"]: (n["canRedeem"], n["reason"])
            for n in self.viewer["offers"]["nodes"]
        }

    @property
    def vouchers(self) -> list[str]:
        """The statuses of the customer's vouchers, newest first."""
        return [v["status"] for v in self.viewer["vouchers"]]


class Storefront:
    """One customer's storefront: the same reads each time (same documents, variables
    and token), each checked against what is true now."""

    def __init__(self, shop: Shop, external_id: str, **basket: Any) -> None:
        self.shop = shop
        self.gql: GraphQLClient = shop.gql
        self.token = shop.customer(external_id)
        self.customer_id = shop.customers[external_id]
        self.basket = {"siteId": shop.site_id, "lines": BASKET, "payWithPoints": PAY_WITH, **basket}

    def _basket(self) -> dict[str, Any]:
        return {"input": self.basket}

    async def _viewer(self, document: str) -> dict[str, Any]:
        body = await self.gql.execute(document, token=self.token)
        viewer: dict[str, Any] = body["data"]["viewer"]
        return viewer

    async def read(self, *, pays: bool = True) -> Reading:
        """Badge, dashboard (POST and GET) and checkout, as the storefront sends them,
        checked against fresh reads and the shop's ledger; ``pays``: whether the customer
        may pay with points (enrolled, program on)."""
        badge = (await self._viewer(BADGE))["balance"]["available"]
        viewer = await self._viewer(DASHBOARD)
        response = await self.gql.http.get(
            "/graphql",
            params={"query": DASHBOARD},
            headers={"authorization": f"Bearer {self.token}"},
        )
        by_get = response.json()["data"]["viewer"]
        quote = (await self.gql.execute(CHECKOUT_MINE, self._basket(), token=self.token))["data"]
        # what is true now: asked in ways no earlier request was
        document, alias = fresh(DASHBOARD)
        now = without(alias, (await self.gql.execute(document, token=self.token))["data"])
        staff = await self.gql.execute(
            DASHBOARD_OF_CUSTOMER, {"id": self.customer_id}, token=self.shop.admin
        )
        document, alias = fresh(CHECKOUT_MINE)
        quote_now = without(
            alias, (await self.gql.execute(document, self._basket(), token=self.token))["data"]
        )
        assert viewer == now["viewer"], _diff(viewer, now["viewer"])
        assert viewer == staff["data"]["customer"], _diff(viewer, staff["data"]["customer"])
        assert by_get == viewer
        assert quote == quote_now
        balance = viewer["balance"]
        assert badge == balance["available"]
        assert await self._ledger_sums() == (balance["available"], balance["pending"])
        assert dashboard_problems(viewer) == []
        payment = quote["checkout"]["pointsPayment"]
        if pays and balance["available"] >= PAY_WITH:
            assert (payment["used"], payment["refusal"]) == (PAY_WITH, None), payment["message"]
        else:
            assert payment["used"] == 0, payment
        return Reading(badge, viewer, quote["checkout"])

    async def glance(self) -> int:
        """Badge and dashboard only, checked against a fresh dashboard; the balance."""
        badge = (await self._viewer(BADGE))["balance"]["available"]
        viewer = await self._viewer(DASHBOARD)
        document, alias = fresh(DASHBOARD)
        now = without(alias, (await self.gql.execute(document, token=self.token))["data"])
        assert viewer == now["viewer"], _diff(viewer, now["viewer"])
        assert badge == viewer["balance"]["available"]
        assert dashboard_problems(viewer) == []
        available: int = badge
        return available

    async def _ledger_sums(self) -> tuple[int, int]:
        """The customer's available and pending points by the shop's ledger (staff)."""
        available = pending = 0
        after = None
        while True:
            body = await self.gql.execute(
                LEDGER_OF_CUSTOMER,
                {"s": self.shop.site_id, "c": self.customer_id, "after": after},
                token=self.shop.admin,
            )
            page = body["data"]["ledgerEntries"]
            available += sum(e["points"] for e in page["nodes"])
            pending += sum(e["pendingPoints"] for e in page["nodes"])
            if not page["pageInfo"]["hasNextPage"]:
                return available, pending
            after = page["pageInfo"]["endCursor"]


def _diff(seen: dict[str, Any], now: dict[str, Any]) -> str:
    changed = {k: (seen.get(k), now.get(k)) for k in {*seen, *now} if seen.get(k) != now.get(k)}
    return "stale fields (seen, now): " + json.dumps(changed, indent=1, default=str)


def _applied(reading: Reading) -> tuple[str, list[str]]:
    """The checkout's total and the offers it applied."""
    quote = reading.quote
    return quote["total"]["amount"], [o["name"] for o in quote["appliedOffers"]]


def _rejected(reading: Reading) -> list[tuple[str, str]]:
    """The offers and codes the checkout refused, and why."""
    return [(r["name"], r["reason"]) for r in reading.quote["rejectedOffers"]]


async def _tier(shop: Shop, name: str, rank: int, threshold: int, **extra: Any) -> str:
    body = await shop.gql.execute(
        CREATE_TIER,
        {"input": {"siteId": shop.site_id, "name": name, "rank": rank,
                   "metric": "POINTS_EARNED", "threshold": threshold, **extra}},
        token=shop.admin,
    )  # fmt: skip
    assert body["data"]["createTier"]["userErrors"] == [], body
    tier_id: str = body["data"]["createTier"]["tier"]["id"]
    return tier_id


def _reward(name: str, price: int, **extra: Any) -> dict[str, Any]:
    return {"name": name, "valueType": "FIXED_AMOUNT", "value": "2", "loyaltyPrice": price,
            **extra}  # fmt: skip


async def _ok(shop: Shop, mutation: str, **fields: Any) -> None:
    body = await shop.gql.execute(mutation, {"input": fields}, token=shop.admin)
    [payload] = body["data"].values()
    assert payload["userErrors"] == [], payload


# -- 1. read your writes ----------------------------------------------------------------------


@dataclass
class Scene:
    """Tiers Silver (500 points earned) and Gold (2000), five rewards, a 10% promotion on
    sku-1; ann with nothing yet, bob with 500 points. Every ``sees`` reads ann's and
    bob's storefronts the same way, so each read after a write was also sent before it."""

    shop: Shop
    ann: Storefront
    bob: Storefront
    silver: str
    gold: str
    offers: dict[str, str]
    promotion: dict[str, Any]

    async def sees(
        self, *, available: int, pending: int = 0, tier: str | None = None,
        offers: Mapping[str, tuple[bool, str | None]], vouchers: list[str] | None = None,
        pays: bool = True,
    ) -> Reading:  # fmt: skip
        """ann's storefront, checked, with her balance, tier, My offers and vouchers."""
        reading = await self.ann.read(pays=pays)
        assert reading.badge == available
        assert reading.viewer["balance"]["pending"] == pending
        assert (reading.viewer["tier"] or {}).get("name") == tier
        assert reading.offers == offers
        assert reading.vouchers == (vouchers or [])
        await self.bob.glance()  # primed and checked too: ann's writes must not reach it
        return reading


async def _scene(gql: GraphQLClient) -> Scene:
    shop = await Shop.open(gql, validityPolicy="FIXED_DAYS", validityDays=365, pointValue="0.01")
    silver = await _tier(shop, "Silver", 1, 500)
    gold = await _tier(shop, "Gold", 2, 2000)
    await shop.register("ann", enroll=True)
    await shop.register("bob", enroll=True)
    offers = {
        "cheap": await shop.offer("REWARD", **_reward("cheap", 200)),
        "dear": await shop.offer("REWARD", **_reward("dear", 900)),
        "vip": await shop.offer("REWARD", **_reward("vip", 50, customerGroups=["vip"])),
        "golden": await shop.offer("REWARD", **_reward("golden", 50, tierIds=[gold])),
        "last one": await shop.offer("REWARD", **_reward("last one", 100, maxUses=1)),
    }
    promotion: dict[str, Any] = {
        "name": "sku-1 sale", "valueType": "PERCENT", "value": "10", "scope": "PRODUCT",
        "targets": ["sku-1"],
    }  # fmt: skip
    offers["sku-1 sale"] = await shop.offer("PROMOTION", **promotion)
    await shop.grant("bob", 500)
    return Scene(
        shop, Storefront(shop, "ann"), Storefront(shop, "bob"), silver, gold, offers, promotion
    )


CLOSED = {"vip": (False, "NOT_IN_GROUP"), "golden": (False, "NOT_IN_TIER")}


async def test_points_writes_show_in_the_next_badge_dashboard_and_checkout(gql: GraphQLClient):
    # given
    scene = await _scene(gql)
    shop = scene.shop
    start = await scene.sees(
        available=0, offers={"last one": SHORT, **CLOSED, "dear": SHORT, "cheap": SHORT}
    )
    assert start.viewer["tierProgress"] == {
        "nextTier": {"id": scene.silver, "name": "Silver", "threshold": 500},
        "metric": "POINTS_EARNED", "value": 0, "remaining": 500,
    }  # fmt: skip
    assert start.quote["pointsPayment"]["message"] == "only 0 points are available"
    # when: an admin grant; then
    await shop.grant("ann", 300)
    open_ = {"last one": OK, **CLOSED, "dear": SHORT, "cheap": OK}
    seen = await scene.sees(available=300, offers=open_)
    assert seen.viewer["tierProgress"]["value"] == 300
    assert seen.viewer["ledger"]["nodes"][0]["points"] == 300
    # when: an order of 18.00 (180 points, pending until completed), then its completion
    placed = await shop.record("o-1", "ann", lines=BASKET)
    assert placed["userErrors"] == [], placed
    await scene.sees(available=300, pending=180, offers=open_)
    assert (await shop.step(COMPLETE_ORDER, "o-1"))["userErrors"] == []
    seen = await scene.sees(available=480, offers=open_)
    assert seen.viewer["tierProgress"]["value"] == 480
    # when: ann buys a reward with points
    await shop.voucher("ann", scene.offers["cheap"])
    await scene.sees(available=280, offers=open_, vouchers=["ACTIVE"])
    # when: a grant that takes ann into Silver, then a deduction (she stays Silver)
    await shop.grant("ann", 400)
    seen = await scene.sees(available=680, tier="Silver", offers=open_, vouchers=["ACTIVE"])
    assert seen.viewer["tierProgress"] == {
        "nextTier": {"id": scene.gold, "name": "Gold", "threshold": 2000},
        "metric": "POINTS_EARNED", "value": 880, "remaining": 1120,
    }  # fmt: skip
    await shop.grant("ann", -100)
    await scene.sees(available=580, tier="Silver", offers=open_, vouchers=["ACTIVE"])
    # when: an order paid partly with points (2.50 of 18.00), then refunded in full
    paid = await shop.record("o-2", "ann", lines=BASKET, payWithPoints=PAY_WITH)
    assert (paid["userErrors"], paid["order"]["pointsPaid"]) == ([], PAY_WITH), paid
    earned = paid["order"]["pointsEarned"]
    await scene.sees(
        available=330, pending=earned, tier="Silver", offers=open_, vouchers=["ACTIVE"]
    )
    refund = await shop.step(
        REFUND_ORDER, "o-2", refundId="r-1", lines=[{"lineId": "sku-1", "quantity": 2}]
    )
    assert refund["userErrors"] == [], refund
    await scene.sees(available=580, tier="Silver", offers=open_, vouchers=["ACTIVE"])
    # and bob's storefront never moved with ann's
    assert (await scene.bob.read()).badge == 500


async def test_offer_edits_show_in_the_next_dashboard_and_checkout(gql: GraphQLClient):
    # given: ann holds 1000 points
    scene = await _scene(gql)
    shop, offers = scene.shop, scene.offers
    await shop.grant("ann", 1000)
    seen = await scene.sees(
        available=1000, tier="Silver", offers={"last one": OK, **CLOSED, "dear": OK, "cheap": OK}
    )
    assert _applied(seen) == ("15.50", ["sku-1 sale"])  # 18.00 less 2.50 in points
    # when: the admin raises the dear reward's price beyond ann's points
    await _ok(shop, UPDATE_OFFER, offerId=offers["dear"], terms=_reward("dear", 1200))
    seen = await scene.sees(
        available=1000, tier="Silver",
        offers={"last one": OK, **CLOSED, "dear": SHORT, "cheap": OK},
    )  # fmt: skip
    [dear] = [n["offer"] for n in seen.viewer["offers"]["nodes"] if n["offer"]["name"] == "dear"]
    assert dear["loyaltyPrice"] == 1200
    # when: the admin unpublishes the cheap one
    await shop.act("unpublishOffer", offers["cheap"])
    await scene.sees(
        available=1000, tier="Silver", offers={"last one": OK, **CLOSED, "dear": SHORT}
    )
    # when: bob buys the last one, its only use: ann can no longer
    await shop.voucher("bob", offers["last one"])
    used_up = {"last one": (False, "USAGE_LIMIT_REACHED"), **CLOSED, "dear": SHORT}
    await scene.sees(available=1000, tier="Silver", offers=used_up)
    # when: the promotion takes 20% now
    promotion = {**scene.promotion, "value": "20"}
    await _ok(shop, UPDATE_OFFER, offerId=offers["sku-1 sale"], terms=promotion)
    seen = await scene.sees(available=1000, tier="Silver", offers=used_up)
    assert _applied(seen) == ("13.50", ["sku-1 sale"])
    # when: the promotion is unpublished
    await shop.act("unpublishOffer", offers["sku-1 sale"])
    seen = await scene.sees(available=1000, tier="Silver", offers=used_up)
    assert _applied(seen) == ("17.50", [])
    assert (await scene.bob.read()).badge == 400


async def test_profile_tier_and_program_changes_show_in_the_next_dashboard(
    gql: GraphQLClient, db: Database, clock: Clock
):
    # given: ann holds 600 points (Silver)
    scene = await _scene(gql)
    shop = scene.shop
    await shop.grant("ann", 600)
    offers = {"last one": OK, **CLOSED, "dear": SHORT, "cheap": OK}
    seen = await scene.sees(available=600, tier="Silver", offers=offers)
    points = seen.quote["points"]
    # when: the shop puts ann in the vip group
    await _ok(shop, UPDATE_CUSTOMER, customerId=scene.ann.customer_id, groups=["vip"])
    offers["vip"] = OK
    await scene.sees(available=600, tier="Silver", offers=offers)
    # when: Silver earns double
    await _ok(shop, UPDATE_TIER, tierId=scene.silver, earnMultiplier="2")
    seen = await scene.sees(available=600, tier="Silver", offers=offers)
    assert seen.quote["points"] == 2 * points
    # when: Gold needs 600 only: ann reaches it, and the review moves her up (a job)
    await _ok(shop, UPDATE_TIER, tierId=scene.gold, threshold=600)
    seen = await scene.sees(available=600, tier="Silver", offers=offers)
    assert (seen.viewer["tierProgress"]["value"], seen.viewer["tierProgress"]["remaining"]) == (
        600, 0,
    )  # fmt: skip
    assert await review_tiers(db, clock=clock) == 1
    offers["golden"] = OK
    seen = await scene.sees(available=600, tier="Gold", offers=offers)
    assert seen.viewer["tierProgress"]["nextTier"] is None
    assert seen.quote["points"] == points  # Gold earns once
    # when: the program is switched off, and on again
    await shop.configure(enabled=False)
    off = dict.fromkeys(offers, (False, "PROGRAM_DISABLED"))
    await scene.sees(available=600, tier="Gold", offers=off, pays=False)
    await shop.configure(enabled=True)
    await scene.sees(available=600, tier="Gold", offers=offers)
    # when: ann leaves the program
    body = await gql.execute(
        LEAVE, {"input": {"customerId": scene.ann.customer_id}}, token=shop.service
    )
    assert body["data"]["leaveProgram"]["userErrors"] == []
    out = dict.fromkeys(offers, (False, "NOT_ENROLLED"))
    await scene.sees(available=600, tier="Gold", offers=out, pays=False)


# -- 2. time alone ----------------------------------------------------------------------------


async def test_vouchers_and_offers_start_and_end_on_the_clock_alone(
    gql: GraphQLClient, clock: Clock
):
    # given: ann buys the winter reward (its voucher lasts as long as the offer: one day);
    # the spring reward and a 10% flash sale on sku-1 run from day 2 to day 4
    t0 = clock.now
    winter_ends = t0 + timedelta(days=1)
    spring, spring_ends = t0 + timedelta(days=2), t0 + timedelta(days=4)
    shop = await Shop.open(gql, pointValue="0.01")
    await shop.register("ann", enroll=True)
    await shop.grant("ann", 1000)
    winter = await shop.offer(
        "REWARD", **_reward("winter", 100, validUntil=winter_ends.isoformat())
    )
    window = {"validFrom": spring.isoformat(), "validUntil": spring_ends.isoformat()}
    await shop.offer("REWARD", **_reward("spring", 100, **window))
    flash: dict[str, Any] = {
        "name": "flash", "valueType": "PERCENT", "value": "10", "scope": "PRODUCT",
        "targets": ["sku-1"], **window,
    }  # fmt: skip
    await shop.offer("PROMOTION", **flash)
    code = await shop.voucher("ann", winter)
    ann = Storefront(shop, "ann", vouchers=[code])
    not_started, ended = (False, "OFFER_NOT_STARTED"), (False, "OFFER_EXPIRED")

    async def at(moment: datetime) -> Reading:
        clock.now = moment
        reading = await ann.read()
        assert reading.badge == 900
        return reading

    # when / then: the voucher is good until its expiresAt, and not from then on
    for moment in (t0, winter_ends - timedelta(seconds=1)):
        seen = await at(moment)
        assert seen.vouchers == ["ACTIVE"]
        assert seen.offers == {"spring": not_started, "winter": OK}
        assert _applied(seen) == ("15.50", ["winter"])  # 20.00 - 2.00 - 2.50 in points
        assert _rejected(seen) == [("flash", "NOT_STARTED")]
    seen = await at(winter_ends)
    assert seen.vouchers == ["EXPIRED"]
    assert seen.offers == {"spring": not_started, "winter": ended}
    assert _applied(seen) == ("17.50", [])
    assert _rejected(seen) == [("flash", "NOT_STARTED"), ("winter", "EXPIRED")]
    # ... the spring reward and the flash sale start at their validFrom
    seen = await at(spring - timedelta(seconds=1))
    assert (seen.offers["spring"], _applied(seen)) == (not_started, ("17.50", []))
    assert _rejected(seen) == [("flash", "NOT_STARTED"), ("winter", "EXPIRED")]
    for moment in (spring, spring_ends - timedelta(seconds=1)):
        seen = await at(moment)
        assert (seen.offers["spring"], _applied(seen)) == (OK, ("15.50", ["flash"]))
        assert _rejected(seen) == [("winter", "EXPIRED")]
    # ... and end at their validUntil
    seen = await at(spring_ends)
    assert (seen.offers["spring"], _applied(seen)) == (ended, ("17.50", []))
    assert _rejected(seen) == [("winter", "EXPIRED")]


async def test_points_enter_expiring_soon_on_the_clock_and_leave_with_the_expiry_job(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given: points last 30 days on a New York shop: 500 earned on 15 January are valid
    # through 14 February there, so they expire at 05:00 UTC on 15 February; 200 earned
    # on 25 January will expire on 25 February
    shop = await Shop.open(gql, validityPolicy="FIXED_DAYS", validityDays=30,
                           timezone="America/New_York", pointValue="0.01")  # fmt: skip
    await shop.register("ann", enroll=True)
    await shop.grant("ann", 500)
    first = datetime(2026, 2, 15, 5, 0, tzinfo=UTC)
    second = datetime(2026, 2, 25, 5, 0, tzinfo=UTC)
    ann = Storefront(shop, "ann")
    within_7 = WithinDays(shop, "ann", 7)

    async def at(moment: datetime) -> tuple[int, int, dict[str, Any], int]:
        clock.now = moment
        reading = await ann.read()
        balance = reading.viewer["balance"]
        return reading.badge, balance["expiringSoon"], balance["nextExpiry"], await within_7.read()

    next_first = {"expiresAt": first.isoformat(), "points": 500}
    next_second = {"expiresAt": second.isoformat(), "points": 200}
    # when / then: the dashboard's 30 days reach each lot 30 days before it expires
    assert await at(clock.now) == (500, 0, next_first, 0)
    assert await at(first - timedelta(days=30, seconds=1)) == (500, 0, next_first, 0)
    assert await at(first - timedelta(days=30)) == (500, 500, next_first, 0)
    clock.now = datetime(2026, 1, 25, 12, 0, tzinfo=UTC)
    await shop.grant("ann", 200)
    assert await at(clock.now) == (700, 500, next_first, 0)
    assert await at(second - timedelta(days=30, seconds=1)) == (700, 500, next_first, 0)
    assert await at(second - timedelta(days=30)) == (700, 700, next_first, 0)
    # ... and 7 days 7 days before
    assert await at(first - timedelta(days=7, seconds=1)) == (700, 700, next_first, 0)
    assert await at(first - timedelta(days=7)) == (700, 700, next_first, 500)
    # ... past the expiry nothing changes until the expiry job writes it down
    assert await at(first - timedelta(seconds=1)) == (700, 700, next_first, 500)
    assert await at(first) == (700, 700, next_first, 500)
    assert await expire_points(db, clock=clock) == 1
    assert await at(first) == (200, 200, next_second, 0)
    assert await at(second - timedelta(days=7)) == (200, 200, next_second, 200)


async def test_a_threshold_voucher_shows_when_earned_and_expires_on_the_clock(
    gql: GraphQLClient, clock: Clock
):
    # given: 500 points turn into a 5.00 voucher valid 30 days; ann holds 400
    reward = {"enabled": True, "points": 500, "valueType": "FIXED_AMOUNT", "value": "5",
              "validityDays": 30}  # fmt: skip
    shop = await Shop.open(gql, thresholdReward=reward, pointValue="0.01")
    await shop.register("ann", enroll=True)
    await shop.grant("ann", 400)
    ann = Storefront(shop, "ann")
    seen = await ann.read()
    assert (seen.badge, seen.vouchers, seen.offers) == (400, [], {})
    # when: a grant takes her over the threshold
    clock.now += timedelta(hours=1)
    await shop.grant("ann", 200)
    # then: the voucher is hers, and the points it took are gone
    seen = await ann.read()
    assert (seen.badge, seen.vouchers, seen.offers) == (100, ["ACTIVE"], {THRESHOLD: (False, None)})
    [voucher] = seen.viewer["vouchers"]
    expires = clock.now + timedelta(days=30)
    assert voucher["expiresAt"] == expires.isoformat()
    # when / then: it expires by the clock alone, at its expiresAt
    clock.now = expires - timedelta(seconds=1)
    assert (await ann.read()).vouchers == ["ACTIVE"]
    clock.now = expires
    assert (await ann.read()).vouchers == ["EXPIRED"]


class WithinDays:
    """The badge with expiringSoon of a customer-chosen window, from a variable."""

    DOCUMENT = "query Soon($d: Int!) { viewer { balance { expiringSoon(withinDays: $d) } } }"

    def __init__(self, shop: Shop, external_id: str, days: int) -> None:
        self.gql = shop.gql
        self.token = shop.customer(external_id)
        self.days = days

    async def read(self) -> int:
        """expiringSoon(withinDays: days), checked against a fresh read."""
        body = await self.gql.execute(self.DOCUMENT, {"d": self.days}, token=self.token)
        document, alias = fresh(self.DOCUMENT)
        now = await self.gql.execute(document, {"d": self.days}, token=self.token)
        assert body["data"] == without(alias, now["data"])
        soon: int = body["data"]["viewer"]["balance"]["expiringSoon"]
        return soon


async def test_tier_progress_moves_when_its_window_passes_and_the_review_follows(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given: Silver and Gold count the points of the last month; ann earns 300 on
    # 15 January and 200 on 20 January (Silver at once)
    shop = await Shop.open(gql, pointValue="0.01")
    await _tier(shop, "Silver", 1, 400, windowMonths=1)
    await _tier(shop, "Gold", 2, 1000, windowMonths=1)
    await shop.register("ann", enroll=True)
    await shop.grant("ann", 300)
    clock.now = datetime(2026, 1, 20, 9, 0, tzinfo=UTC)
    await shop.grant("ann", 200)
    ann = Storefront(shop, "ann")

    async def at(moment: datetime) -> tuple[str | None, dict[str, Any]]:
        clock.now = moment
        reading = await ann.read()
        assert reading.badge == 500
        progress = reading.viewer["tierProgress"]
        return (reading.viewer["tier"] or {}).get("name"), {
            "next": (progress["nextTier"] or {}).get("name"),
            "value": progress["value"],
            "remaining": progress["remaining"],
        }

    # when / then: the window drops 15 January at midnight UTC on 16 February
    last_day = datetime(2026, 2, 15, 23, 59, 59, tzinfo=UTC)
    assert await at(clock.now) == ("Silver", {"next": "Gold", "value": 500, "remaining": 500})
    assert await at(last_day) == ("Silver", {"next": "Gold", "value": 500, "remaining": 500})
    moved = last_day + timedelta(seconds=1)
    assert await at(moved) == ("Silver", {"next": "Gold", "value": 200, "remaining": 800})
    # ... and 20 January on 21 February
    assert await at(moved + timedelta(days=5)) == (
        "Silver", {"next": "Gold", "value": 0, "remaining": 1000},
    )  # fmt: skip
    # ... where the review takes ann down (a job's write)
    assert await review_tiers(db, clock=clock) == 1
    assert await at(clock.now) == (None, {"next": "Silver", "value": 0, "remaining": 400})


# -- 4. one document, many callers ------------------------------------------------------------


async def test_one_dashboard_document_answers_each_caller_with_their_own_data(gql: GraphQLClient):
    # given: ann (300 points) and bob (700) on shop-a, and another ann on shop-b (50)
    shop_a, shop_b = await Shop.open(gql, "shop-a"), await Shop.open(gql, "shop-b")
    for shop, external_id, points in (
        (shop_a, "ann", 300), (shop_a, "bob", 700), (shop_b, "ann", 50),
    ):  # fmt: skip
        await shop.register(external_id, enroll=True)
        await shop.grant(external_id, points)
    readers = [(shop_a.customer("ann"), 300), (shop_a.customer("bob"), 700),
               (shop_b.customer("ann"), 50)]  # fmt: skip
    nobody = shop_a.customer("nobody")  # a customer the shop has not registered yet
    others = [shop_a.admin, shop_a.service, nobody, None]
    seen_entries = set()
    for _ in range(2):
        for token, points in readers:
            # when
            badge = await gql.execute(BADGE, token=token)
            dashboard = (await gql.execute(DASHBOARD, token=token))["data"]["viewer"]
            # then: each customer's own points and ledger
            assert badge["data"] == {"viewer": {"balance": {"available": points}}}
            assert dashboard["balance"]["available"] == points
            [entry] = dashboard["ledger"]["nodes"]
            assert (entry["points"], entry["balanceAfter"]) == (points, points)
            seen_entries.add((token, entry["id"]))
        # ... and staff, a customer the shop has not registered and a guest: no viewer
        for caller in others:
            assert (await gql.execute(DASHBOARD, token=caller))["data"] == {"viewer": None}
            assert (await gql.execute(BADGE, token=caller))["data"] == {"viewer": None}
    assert len({entry for _, entry in seen_entries}) == len(seen_entries) == 3
    # when: the shop registers the customer its token named before
    await shop_a.register("nobody", enroll=True)
    await shop_a.grant("nobody", 20)
    # then: the same token reads them now
    badge = await gql.execute(BADGE, token=nobody)
    assert badge["data"] == {"viewer": {"balance": {"available": 20}}}
    dashboard = await gql.execute(DASHBOARD, token=nobody)
    assert dashboard["data"]["viewer"]["balance"]["available"] == 20


SOON_AND_LEDGER = """
query SoonAndLedger($d: Int!, $n: Int!) {
  viewer { balance { expiringSoon(withinDays: $d) } ledger(first: $n) { nodes { points } } }
}
"""
TWO_OPERATIONS = """
query Badge { viewer { balance { available } } }
query MyTier { viewer { tier { name } } }
"""


async def test_the_same_document_with_other_variables_or_operation_answers_them(
    gql: GraphQLClient, clock: Clock
):
    # given: points last 30 days; ann earned 100 on day 0 and 200 on day 20 (Silver)
    shop = await Shop.open(gql, validityPolicy="FIXED_DAYS", validityDays=30)
    await _tier(shop, "Silver", 1, 250)
    await shop.register("ann", enroll=True)
    await shop.grant("ann", 100)
    clock.now += timedelta(days=20)
    await shop.grant("ann", 200)
    token = shop.customer("ann")

    async def soon(days: int, entries: int) -> dict[str, Any]:
        body = await gql.execute(SOON_AND_LEDGER, {"d": days, "n": entries}, token=token)
        viewer: dict[str, Any] = body["data"]["viewer"]
        return viewer

    async def operation(name: str, method: str = "POST") -> dict[str, Any]:
        request = {"query": TWO_OPERATIONS, "operationName": name}
        headers = {"authorization": f"Bearer {token}"}
        if method == "GET":
            response = await gql.http.get("/graphql", params=request, headers=headers)
        else:
            response = await gql.http.post("/graphql", json=request, headers=headers)
        data: dict[str, Any] = response.json()["data"]
        return data

    # when / then: the day-0 lot expires in 11 days, the day-20 one in 31
    for _ in range(2):
        assert await soon(15, 1) == {
            "balance": {"expiringSoon": 100}, "ledger": {"nodes": [{"points": 200}]},
        }  # fmt: skip
        assert await soon(40, 2) == {
            "balance": {"expiringSoon": 300},
            "ledger": {"nodes": [{"points": 200}, {"points": 100}]},
        }
        # ... and one document of two operations answers the one named
        for method in ("POST", "GET"):
            assert await operation("Badge", method) == {"viewer": {"balance": {"available": 300}}}
            assert await operation("MyTier", method) == {"viewer": {"tier": {"name": "Silver"}}}
