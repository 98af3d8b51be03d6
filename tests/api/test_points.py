"""grantPoints, a customer's balance and ledger, the shop's ledgerEntries, and entry nodes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.services.points.expiry import expire_points
from tests.conftest import GraphQLClient
from tests.support.clock import Clock
from tests.support.operations import RECORD_ACTIVITY
from tests.support.shop import Shop, register

GRANT_POINTS = """
mutation Grant($input: GrantPointsInput!) {
  grantPoints(input: $input) {
    entry {
      id kind points pendingPoints balanceAfter reason actor createdAt
      source { type reference activityCode }
    }
    customer { id balance { available lifetimeEarned lifetimeRedeemed } }
    userErrors { field code message }
  }
}
"""


POINTS_FIELDS = """
fragment Points on Customer {
  balance {
    available pending lifetimeEarned lifetimeRedeemed
    soon: expiringSoon(withinDays: 10)
    later: expiringSoon(withinDays: 20)
    byDefault: expiringSoon
    nextExpiry { expiresAt points }
  }
  ledger(first: $first, after: $after) {
    edges {
      cursor
      node { kind points balanceAfter reason source { type reference activityCode } }
    }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""

VIEWER_POINTS = (
    """
query ViewerPoints($first: Int, $after: String) { viewer { ...Points } }
"""
    + POINTS_FIELDS
)

CUSTOMER_POINTS = (
    """
query CustomerPoints($id: ID!, $first: Int, $after: String) { customer(id: $id) { ...Points } }
"""
    + POINTS_FIELDS
)

LEDGER_ENTRIES = """
query LedgerEntries($siteId: ID!, $first: Int, $after: String, $filter: LedgerFilter) {
  ledgerEntries(siteId: $siteId, first: $first, after: $after, filter: $filter) {
    edges { node { points reason customer { id } } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""

ENTRY_NODE = """
query EntryNode($id: ID!) {
  node(id: $id) { __typename id ... on LedgerEntry { kind points reason } }
}
"""

LEDGER_SIZE = "query LedgerSize { viewer { ledger { edges { node { points } } } } }"

LEDGER_ACTORS = "query LedgerActors { viewer { ledger { edges { node { points actor } } } } }"


async def _shop(gql: GraphQLClient, code: str = "shop-a", **settings: Any) -> str:
    """A site whose program is on and enrols every registered customer."""
    shop = await Shop.open(gql, code, participation="ALL_REGISTERED_CUSTOMERS", **settings)
    return shop.site_id


async def _grant(
    gql: GraphQLClient,
    customer_id: str,
    points: int,
    reason: str = "goodwill",
    *,
    site: str = "shop-a",
    subject: str = "tester",
    **extra: Any,
) -> dict[str, Any]:
    body = await gql.execute(
        GRANT_POINTS,
        {"input": {"customerId": customer_id, "points": points, "reason": reason, **extra}},
        token=gql.token("admin", site, subject=subject),
    )
    payload: dict[str, Any] = body["data"]["grantPoints"]
    return payload


async def _ledger_points(gql: GraphQLClient, external_id: str, site: str = "shop-a") -> list[int]:
    body = await gql.execute(LEDGER_SIZE, token=gql.token("customer", site, subject=external_id))
    return [edge["node"]["points"] for edge in body["data"]["viewer"]["ledger"]["edges"]]


# grantPoints


async def test_a_positive_grant_adds_points_with_the_admin_and_reason_on_the_entry(
    gql: GraphQLClient, clock: Clock
):
    # given
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    # when
    payload = await _grant(gql, customer["id"], 150, "  late delivery  ", subject="alice")
    # then
    entry_id = payload["entry"]["id"]
    assert payload == {
        "entry": {
            "id": entry_id,
            "kind": "ADJUSTED",
            "points": 150,
            "pendingPoints": 0,
            "balanceAfter": 150,
            "reason": "late delivery",
            "actor": "admin:alice",
            "createdAt": clock.now.isoformat(),
            "source": {"type": "ADMIN", "reference": None, "activityCode": None},
        },
        "customer": {
            "id": customer["id"],
            "balance": {"available": 150, "lifetimeEarned": 150, "lifetimeRedeemed": 0},
        },
        "userErrors": [],
    }


async def test_a_negative_grant_removes_points(gql: GraphQLClient):
    # given
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    await _grant(gql, customer["id"], 100)
    # when
    payload = await _grant(gql, customer["id"], -30, "duplicate credit")
    # then
    assert payload["userErrors"] == []
    assert (payload["entry"]["kind"], payload["entry"]["points"]) == ("ADJUSTED", -30)
    assert payload["entry"]["balanceAfter"] == 70
    assert payload["entry"]["reason"] == "duplicate credit"
    assert payload["customer"]["balance"]["available"] == 70
    assert await _ledger_points(gql, "c-1") == [-30, 100]


async def test_removing_more_than_available_is_insufficient_points_and_changes_nothing(
    gql: GraphQLClient,
):
    # given
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    await _grant(gql, customer["id"], 20)
    # when
    payload = await _grant(gql, customer["id"], -50, "chargeback")
    # then
    assert payload == {
        "entry": None,
        "customer": None,
        "userErrors": [
            {
                "field": ["input", "points"],
                "code": "INSUFFICIENT_POINTS",
                "message": "50 points are needed but only 20 are available",
            }
        ],
    }
    assert await _ledger_points(gql, "c-1") == [20]


async def test_a_grant_needs_a_reason(gql: GraphQLClient):
    # given
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    # when
    empty = await _grant(gql, customer["id"], 10, "")
    blank = await _grant(gql, customer["id"], 10, "   ")
    # then
    for payload in (empty, blank):
        assert payload == {
            "entry": None,
            "customer": None,
            "userErrors": [
                {"field": ["input", "reason"], "code": "REQUIRED", "message": "give a reason"}
            ],
        }
    assert await _ledger_points(gql, "c-1") == []


async def test_granting_zero_points_is_invalid(gql: GraphQLClient):
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    payload = await _grant(gql, customer["id"], 0)
    assert payload["userErrors"] == [
        {
            "field": ["input", "points"],
            "code": "INVALID_VALUE",
            "message": "points must be a non-zero whole number",
        }
    ]
    assert await _ledger_points(gql, "c-1") == []


async def test_only_admins_grant_points(gql: GraphQLClient):
    # given
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    variables = {"input": {"customerId": customer["id"], "points": 10, "reason": "why not"}}
    # when
    service = await gql.execute(
        GRANT_POINTS, variables, token=gql.token("service", "shop-a"), expect_errors=True
    )
    own = await gql.execute(
        GRANT_POINTS,
        variables,
        token=gql.token("customer", "shop-a", subject="c-1"),
        expect_errors=True,
    )
    # then
    for body in (service, own):
        assert body["data"] is None
        assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
            ("Only an admin token may do this.", "FORBIDDEN")
        ]
    assert await _ledger_points(gql, "c-1") == []


async def test_an_admin_of_another_site_gets_not_found(gql: GraphQLClient):
    # given
    site_a = await _shop(gql, "shop-a")
    await _shop(gql, "shop-b")
    customer = await register(gql, "shop-a", site_a, "c-1")
    # when
    payload = await _grant(gql, customer["id"], 10, site="shop-b")
    # then
    assert payload == {
        "entry": None,
        "customer": None,
        "userErrors": [
            {"field": ["input", "customerId"], "code": "NOT_FOUND", "message": "no such customer"}
        ],
    }
    assert await _ledger_points(gql, "c-1") == []


async def test_a_grant_retried_with_its_key_writes_one_entry_and_replays_the_payload(
    gql: GraphQLClient, clock: Clock
):
    # given
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    # when
    first = await _grant(gql, customer["id"], 75, idempotencyKey="grant-1")
    clock.now += timedelta(minutes=5)
    second = await _grant(gql, customer["id"], 75, idempotencyKey="grant-1")
    # then
    assert first["userErrors"] == []
    assert second == first
    assert await _ledger_points(gql, "c-1") == [75]


async def test_a_grant_key_reused_with_other_points_is_refused(gql: GraphQLClient):
    # given
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    await _grant(gql, customer["id"], 75, idempotencyKey="grant-1")
    # when
    payload = await _grant(gql, customer["id"], 80, idempotencyKey="grant-1")
    # then
    assert payload == {
        "entry": None,
        "customer": None,
        "userErrors": [
            {
                "field": ["input", "idempotencyKey"],
                "code": "IDEMPOTENCY_KEY_REUSED",
                "message": "this idempotency key was already used with a different request",
            }
        ],
    }
    assert await _ledger_points(gql, "c-1") == [75]


# balance and ledger of one customer


async def _history(gql: GraphQLClient, clock: Clock) -> dict[str, Any]:
    """Points earned over 21 days on a site whose points last 30 days.

    Day 0: +100 (grant); day 10: +50 (newsletter); day 20: +200 (grant);
    day 21: -40 (grant, taken from the day-0 lot, which expires first).
    """
    site_id = await _shop(gql, validityPolicy="FIXED_DAYS", validityDays=30,
                          newsletterSignupPoints=50)  # fmt: skip
    customer = await register(gql, "shop-a", site_id, "c-1")
    start = clock.now
    await _grant(gql, customer["id"], 100, "welcome")
    clock.now = start + timedelta(days=10)
    signup = await gql.execute(
        RECORD_ACTIVITY,
        {"input": {"customerId": customer["id"], "activity": "NEWSLETTER_SIGNUP"}},
        token=gql.token("service", "shop-a"),
    )
    assert signup["data"]["recordActivity"]["userErrors"] == []
    clock.now = start + timedelta(days=20)
    await _grant(gql, customer["id"], 200, "apology")
    clock.now = start + timedelta(days=21)
    await _grant(gql, customer["id"], -40, "correction")
    clock.now = start + timedelta(days=22)
    return {"site_id": site_id, "customer": customer, "start": start}


def _entry(kind: str, points: int, after: int, reason: str | None, **source: Any) -> dict[str, Any]:
    found = {"type": "ADMIN", "reference": None, "activityCode": None, **source}
    return {
        "kind": kind,
        "points": points,
        "balanceAfter": after,
        "reason": reason,
        "source": found,
    }


async def test_the_viewer_sees_balance_expiries_and_ledger_newest_first(
    gql: GraphQLClient, clock: Clock
):
    # given
    history = await _history(gql, clock)
    start = history["start"]
    token = gql.token("customer", "shop-a", subject="c-1")
    # when
    page_1 = await gql.execute(VIEWER_POINTS, {"first": 3}, token=token)
    cursor = page_1["data"]["viewer"]["ledger"]["pageInfo"]["endCursor"]
    page_2 = await gql.execute(VIEWER_POINTS, {"first": 3, "after": cursor}, token=token)
    # then: the day-0 lot has 60 left and is valid through day 30 (it expires at the
    # midnight that ends it, 12 hours after the 30th noon), the newsletter's 50 through
    # day 40, the 200 through day 50
    viewer = page_1["data"]["viewer"]
    assert viewer["balance"] == {
        "available": 310,
        "pending": 0,
        "lifetimeEarned": 350,
        "lifetimeRedeemed": 0,
        "soon": 60,
        "later": 110,
        "byDefault": 310,
        "nextExpiry": {
            "expiresAt": (start + timedelta(days=30, hours=12)).isoformat(),
            "points": 60,
        },
    }
    assert [edge["node"] for edge in viewer["ledger"]["edges"]] == [
        _entry("ADJUSTED", -40, 310, "correction"),
        _entry("ADJUSTED", 200, 350, "apology"),
        _entry("EARNED", 50, 150, None, type="ACTIVITY", activityCode="NEWSLETTER_SIGNUP"),
    ]
    assert viewer["ledger"]["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "endCursor": viewer["ledger"]["edges"][-1]["cursor"],
    }
    rest = page_2["data"]["viewer"]["ledger"]
    assert [edge["node"] for edge in rest["edges"]] == [_entry("ADJUSTED", 100, 100, "welcome")]
    assert rest["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "endCursor": rest["edges"][-1]["cursor"],
    }


async def test_expiring_soon_outside_1_to_3650_days_is_refused_not_clamped(
    gql: GraphQLClient, clock: Clock
):
    # given: a customer with points
    await _history(gql, clock)
    token = gql.token("customer", "shop-a", subject="c-1")
    for days in (0, -5, 3651):
        # when
        body = await gql.execute(
            "query($d: Int!) { viewer { balance { available expiringSoon(withinDays: $d) } } }",
            {"d": days},
            token=token,
            expect_errors=True,
        )
        # then: an error on the argument, not a silent answer for another window
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["extensions"]["userErrors"] == [
            {"field": ["withinDays"], "code": "INVALID_VALUE", "message": "must be 1 to 3650 days"}
        ]
        assert error["path"] == ["viewer", "balance", "expiringSoon"]
    # and the edges of the range answer
    body = await gql.execute(
        "{ viewer { balance { a: expiringSoon(withinDays: 1)"
        " b: expiringSoon(withinDays: 3650) } } }",
        token=token,
    )
    assert body["data"]["viewer"]["balance"] == {"a": 0, "b": 310}


async def test_after_the_expiry_job_the_next_lot_is_the_next_expiry(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given
    history = await _history(gql, clock)
    start = history["start"]
    token = gql.token("customer", "shop-a", subject="c-1")
    clock.now = start + timedelta(days=31)
    # when
    await expire_points(db, clock=clock)
    body = await gql.execute(VIEWER_POINTS, {"first": 1}, token=token)
    # then: the day-0 lot's 60 points are gone; the newsletter's 50 expire next
    viewer = body["data"]["viewer"]
    assert viewer["balance"] == {
        "available": 250,
        "pending": 0,
        "lifetimeEarned": 350,
        "lifetimeRedeemed": 0,
        "soon": 50,
        "later": 250,
        "byDefault": 250,
        "nextExpiry": {
            "expiresAt": (start + timedelta(days=40, hours=12)).isoformat(),
            "points": 50,
        },
    }
    assert [edge["node"] for edge in viewer["ledger"]["edges"]] == [
        _entry("EXPIRED", -60, 250, None, type="EXPIRY")
    ]


async def test_staff_see_the_same_balance_and_ledger_through_customer(
    gql: GraphQLClient, clock: Clock
):
    # given
    history = await _history(gql, clock)
    customer_id = history["customer"]["id"]
    viewer = await gql.execute(
        VIEWER_POINTS, {"first": 10}, token=gql.token("customer", "shop-a", subject="c-1")
    )
    # when
    as_admin = await gql.execute(
        CUSTOMER_POINTS, {"id": customer_id, "first": 10}, token=gql.token("admin", "shop-a")
    )
    as_service = await gql.execute(
        CUSTOMER_POINTS, {"id": customer_id, "first": 10}, token=gql.token("service", "shop-a")
    )
    # then
    assert len(viewer["data"]["viewer"]["ledger"]["edges"]) == 4
    assert as_admin["data"]["customer"] == viewer["data"]["viewer"]
    assert as_service["data"]["customer"] == viewer["data"]["viewer"]


async def test_another_customer_and_another_sites_staff_see_no_balance(
    gql: GraphQLClient, clock: Clock
):
    # given
    history = await _history(gql, clock)
    await register(gql, "shop-a", history["site_id"], "c-2")
    await _shop(gql, "shop-b")
    variables = {"id": history["customer"]["id"], "first": 10}
    # when
    other = await gql.execute(
        CUSTOMER_POINTS, variables, token=gql.token("customer", "shop-a", subject="c-2")
    )
    stranger = await gql.execute(CUSTOMER_POINTS, variables, token=gql.token("admin", "shop-b"))
    # then
    assert other["data"]["customer"] is None
    assert stranger["data"]["customer"] is None


async def test_a_customer_does_not_see_who_changed_their_points(gql: GraphQLClient):
    # given
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    await _grant(gql, customer["id"], 10, subject="alice")
    # when
    body = await gql.execute(
        LEDGER_ACTORS,
        token=gql.token("customer", "shop-a", subject="c-1"),
        expect_errors=True,
    )
    # then
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert "admin:alice" not in str(body)


# the shop's ledger


async def _shop_ledger(gql: GraphQLClient, clock: Clock) -> dict[str, Any]:
    """Two customers of shop-a with entries on three days, and one of shop-b."""
    site_a = await _shop(gql, "shop-a", newsletterSignupPoints=5)
    site_b = await _shop(gql, "shop-b")
    ann = await register(gql, "shop-a", site_a, "ann")
    bob = await register(gql, "shop-a", site_a, "bob")
    cat = await register(gql, "shop-b", site_b, "cat")
    start = clock.now
    await _grant(gql, ann["id"], 10, "ann day 0")
    await _grant(gql, bob["id"], 20, "bob day 0")
    clock.now = start + timedelta(days=1)
    await _grant(gql, ann["id"], 30, "ann day 1")
    await gql.execute(
        RECORD_ACTIVITY,
        {"input": {"customerId": bob["id"], "activity": "NEWSLETTER_SIGNUP"}},
        token=gql.token("service", "shop-a"),
    )
    await _grant(gql, cat["id"], 99, "cat day 1", site="shop-b")
    clock.now = start + timedelta(days=2)
    await _grant(gql, ann["id"], -15, "ann day 2")
    return {"site_a": site_a, "site_b": site_b, "ann": ann, "bob": bob, "start": start}


def _reasons(body: dict[str, Any]) -> list[str | None]:
    return [edge["node"]["reason"] for edge in body["data"]["ledgerEntries"]["edges"]]


async def test_staff_page_through_the_shops_ledger_newest_first(gql: GraphQLClient, clock: Clock):
    # given
    shop = await _shop_ledger(gql, clock)
    service = gql.token("service", "shop-a")
    # when
    page_1 = await gql.execute(
        LEDGER_ENTRIES, {"siteId": shop["site_a"], "first": 3}, token=service
    )
    cursor = page_1["data"]["ledgerEntries"]["pageInfo"]["endCursor"]
    page_2 = await gql.execute(
        LEDGER_ENTRIES,
        {"siteId": shop["site_a"], "first": 3, "after": cursor},
        token=gql.token("admin", "shop-a"),
    )
    # then
    assert _reasons(page_1) == ["ann day 2", None, "ann day 1"]
    assert page_1["data"]["ledgerEntries"]["pageInfo"]["hasNextPage"] is True
    assert _reasons(page_2) == ["bob day 0", "ann day 0"]
    assert page_2["data"]["ledgerEntries"]["pageInfo"]["hasNextPage"] is False
    assert page_2["data"]["ledgerEntries"]["pageInfo"]["hasPreviousPage"] is True
    first_edge = page_1["data"]["ledgerEntries"]["edges"][0]["node"]
    assert first_edge == {
        "points": -15,
        "reason": "ann day 2",
        "customer": {"id": shop["ann"]["id"]},
    }


async def test_the_shops_ledger_filters_by_kind_customer_and_time(gql: GraphQLClient, clock: Clock):
    # given
    shop = await _shop_ledger(gql, clock)
    admin = gql.token("admin", "shop-a")
    start = shop["start"]

    async def entries(**wanted: Any) -> list[str | None]:
        body = await gql.execute(
            LEDGER_ENTRIES, {"siteId": shop["site_a"], "filter": wanted}, token=admin
        )
        return _reasons(body)

    # when / then
    assert await entries(kinds=["EARNED"]) == [None]
    assert await entries(kinds=["ADJUSTED", "EARNED"], customerId=shop["bob"]["id"]) == [
        None,
        "bob day 0",
    ]
    assert await entries(customerId=shop["ann"]["id"]) == ["ann day 2", "ann day 1", "ann day 0"]
    day_1 = start + timedelta(days=1)
    assert await entries(since=day_1.isoformat()) == ["ann day 2", None, "ann day 1"]
    assert await entries(until=day_1.isoformat()) == ["bob day 0", "ann day 0"]
    assert await entries(
        since=day_1.isoformat(), until=(day_1 + timedelta(days=1)).isoformat()
    ) == [None, "ann day 1"]


async def test_the_shops_ledger_is_for_its_staff_only(gql: GraphQLClient, clock: Clock):
    # given
    shop = await _shop_ledger(gql, clock)
    variables = {"siteId": shop["site_a"]}
    # when
    customer = await gql.execute(
        LEDGER_ENTRIES,
        variables,
        token=gql.token("customer", "shop-a", subject="ann"),
        expect_errors=True,
    )
    other_admin = await gql.execute(
        LEDGER_ENTRIES, variables, token=gql.token("admin", "shop-b"), expect_errors=True
    )
    other_service = await gql.execute(
        LEDGER_ENTRIES, variables, token=gql.token("service", "shop-b"), expect_errors=True
    )
    # then
    for body in (customer, other_admin, other_service):
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
        assert "ann day" not in str(body)


# ledger entries as nodes


async def test_a_ledger_entry_node_is_visible_to_its_customer_only(gql: GraphQLClient):
    # given
    site_id = await _shop(gql)
    await _shop(gql, "shop-b")
    ann = await register(gql, "shop-a", site_id, "ann")
    await register(gql, "shop-a", site_id, "bob")
    entry_id = (await _grant(gql, ann["id"], 10, "for ann"))["entry"]["id"]
    variables = {"id": entry_id}
    # when
    own = await gql.execute(
        ENTRY_NODE, variables, token=gql.token("customer", "shop-a", subject="ann")
    )
    other = await gql.execute(
        ENTRY_NODE, variables, token=gql.token("customer", "shop-a", subject="bob")
    )
    staff = await gql.execute(ENTRY_NODE, variables, token=gql.token("service", "shop-a"))
    stranger = await gql.execute(ENTRY_NODE, variables, token=gql.token("admin", "shop-b"))
    # then
    expected = {
        "__typename": "LedgerEntry",
        "id": entry_id,
        "kind": "ADJUSTED",
        "points": 10,
        "reason": "for ann",
    }
    assert own["data"]["node"] == expected
    assert staff["data"]["node"] == expected
    assert other["data"]["node"] is None
    assert stranger["data"]["node"] is None


async def test_one_grant_key_may_be_used_for_each_customer(gql: GraphQLClient):
    # given: keys are scoped per customer, so a campaign may use one key for everyone
    site_id = await _shop(gql)
    ann = await register(gql, "shop-a", site_id, "ann")
    bob = await register(gql, "shop-a", site_id, "bob")
    await _grant(gql, ann["id"], 25, "campaign", idempotencyKey="campaign-2026-01")
    # when
    payload = await _grant(gql, bob["id"], 25, "campaign", idempotencyKey="campaign-2026-01")
    # then
    assert payload["userErrors"] == []
    assert payload["customer"]["balance"]["available"] == 25
    assert await _ledger_points(gql, "bob") == [25]


async def test_a_ledger_filter_without_an_offset_is_a_bad_request(gql: GraphQLClient, clock: Clock):
    # given
    shop = await _shop_ledger(gql, clock)
    # when
    body = await gql.execute(
        LEDGER_ENTRIES,
        {"siteId": shop["site_a"], "filter": {"since": "2026-01-16T12:00:00"}},
        token=gql.token("admin", "shop-a"),
        expect_errors=True,
    )
    # then: the caller learns what is wrong instead of getting an internal error
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
