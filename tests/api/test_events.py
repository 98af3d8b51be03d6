"""`events(siteId:, filter:)`: a site's outbox for its staff, each event a Node, and
previewNotification by the event's global ID."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import GraphQLClient
from tests.support.clock import Clock
from tests.support.shop import Shop, line

EVENTS = """
query($s: ID!, $f: EventFilter, $first: Int, $last: Int, $after: String, $before: String) {
  events(siteId: $s, filter: $f, first: $first, last: $last, after: $after, before: $before) {
    edges { cursor node {
      id type occurredAt payload webhookId dispatchedAt customer { id externalId }
    } }
    pageInfo { hasNextPage hasPreviousPage }
  }
}
"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Event { type customer { externalId } } } }"
PREVIEW = """
query($s: ID!, $event: String!, $from: ID, $eventId: Int) {
  previewNotification(siteId: $s, event: $event, fromEvent: $from, eventId: $eventId) {
    emailSubject emailText pushBody
  }
}
"""


@dataclass
class Sites:
    """shop-a with ann and bob and their events over three days; shop-b with carl's."""

    gql: GraphQLClient
    a: Shop
    b: Shop
    clock: Clock

    async def events(
        self, shop: Shop | None = None, token: str | None = None, **variables: Any
    ) -> dict[str, Any]:
        """The events of ``shop`` (shop-a) as ``token`` (its admin); the connection."""
        shop = shop or self.a
        body = await self.gql.execute(
            EVENTS, {"s": shop.site_id, **variables}, token=token or shop.admin
        )
        found: dict[str, Any] = body["data"]["events"]
        return found

    async def listed(self, **variables: Any) -> list[tuple[str, str | None]]:
        """(type, customer's external id) of each event listed, in order."""
        page = await self.events(**variables)
        return [
            (e["node"]["type"], (e["node"]["customer"] or {}).get("externalId"))
            for e in page["edges"]
        ]


@pytest.fixture
async def sites(gql: GraphQLClient, clock: Clock) -> Sites:
    """Day 0: a coupon assigned to ann and bob; day 1: ann's order; day 2: bob's."""
    a = await Shop.open(gql, "shop-a")
    b = await Shop.open(gql, "shop-b")
    for shop, names in ((a, ("ann", "bob")), (b, ("carl",))):
        for name in names:
            await shop.register(name, enroll=True, name=name.title())
        coupon = await shop.offer("COUPON", name="Welcome", valueType="PERCENT", value="10")
        await shop.assign(coupon, *names)
    clock.day(1)
    await a.record("1001", "ann", lines=[line("sku-1", 1, "20.00")])
    clock.day(2)
    await a.record("1002", "bob", lines=[line("sku-1", 2, "20.00")])
    clock.day(3)
    return Sites(gql, a, b, clock)


async def test_a_sites_events_are_listed_newest_first_with_their_data(sites: Sites):
    # when
    page = await sites.events(first=10)
    # then
    assert await sites.listed(first=10) == [
        ("ORDER_RECORDED", "bob"),
        ("ORDER_RECORDED", "ann"),
        ("OFFER_ASSIGNED", "bob"),
        ("OFFER_ASSIGNED", "ann"),
    ]
    newest = page["edges"][0]["node"]
    assert newest["occurredAt"] == (sites.clock.start + timedelta(days=2)).isoformat()
    assert newest["payload"] == {
        "orderId": "1002", "status": "PLACED", "currency": "EUR", "total": "40.00",
        "refunded": "0.00", "points": newest["payload"]["points"], "pointsTakenBack": 0,
    }  # fmt: skip
    assert newest["dispatchedAt"] is None  # no worker ran
    assert newest["webhookId"].startswith("evt_")
    # each event is a Node: node(id:) gives it back
    body = await sites.gql.execute(NODE, {"id": newest["id"]}, token=sites.a.service)
    assert body["data"]["node"] == {
        "id": newest["id"],
        "type": "ORDER_RECORDED",
        "customer": {"externalId": "bob"},
    }


async def test_events_filter_by_type_customer_and_period(sites: Sites):
    start = sites.clock.start
    # then: by type, by customer, by period (from included, until excluded), together
    assert await sites.listed(f={"types": ["OFFER_ASSIGNED"]}) == [
        ("OFFER_ASSIGNED", "bob"),
        ("OFFER_ASSIGNED", "ann"),
    ]
    ann = sites.a.customers["ann"]
    assert await sites.listed(f={"customerId": ann}) == [
        ("ORDER_RECORDED", "ann"),
        ("OFFER_ASSIGNED", "ann"),
    ]
    day_1, day_2 = (start + timedelta(days=1)).isoformat(), (start + timedelta(days=2)).isoformat()
    assert await sites.listed(f={"from": day_1}) == [
        ("ORDER_RECORDED", "bob"),
        ("ORDER_RECORDED", "ann"),
    ]
    assert await sites.listed(f={"from": day_1, "until": day_2}) == [("ORDER_RECORDED", "ann")]
    assert await sites.listed(f={"until": day_1}) == [
        ("OFFER_ASSIGNED", "bob"),
        ("OFFER_ASSIGNED", "ann"),
    ]
    both = {"types": ["ORDER_RECORDED", "OFFER_ASSIGNED"], "customerId": ann, "until": day_1}
    assert await sites.listed(f=both) == [("OFFER_ASSIGNED", "ann")]
    # another site's customer has no events here
    carl = sites.b.customers["carl"]
    assert await sites.listed(f={"customerId": carl}) == []


async def test_an_unknown_event_type_is_a_bad_request(sites: Sites):
    # when
    body = await sites.gql.execute(
        EVENTS, {"s": sites.a.site_id, "f": {"types": ["ORDER_EATEN"]}}, token=sites.a.admin,
        expect_errors=True,
    )  # fmt: skip
    # then
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "unknown event types ORDER_EATEN" in error["message"]


async def test_events_page_backwards_in_the_same_order(sites: Sites):
    # when: the last two, then the two before them
    last = await sites.events(last=2)
    before = await sites.events(last=2, before=last["edges"][0]["cursor"])
    # then
    types = [e["node"]["type"] for e in before["edges"] + last["edges"]]
    assert types == ["ORDER_RECORDED", "ORDER_RECORDED", "OFFER_ASSIGNED", "OFFER_ASSIGNED"]
    assert last["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True}
    assert before["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False}


async def test_customers_and_other_sites_staff_cannot_read_a_sites_events(sites: Sites):
    # given
    gql, a, b = sites.gql, sites.a, sites.b
    newest = (await sites.events(first=1))["edges"][0]["node"]["id"]
    # when
    as_customer = await gql.execute(
        EVENTS, {"s": a.site_id}, token=a.customer("ann"), expect_errors=True
    )
    as_other_admin = await gql.execute(EVENTS, {"s": a.site_id}, token=b.admin, expect_errors=True)
    node_as_other = await gql.execute(NODE, {"id": newest}, token=b.service)
    node_as_customer = await gql.execute(NODE, {"id": newest}, token=a.customer("bob"))
    own = await sites.events(b)
    # then
    assert as_customer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert as_customer["data"] is None
    assert as_other_admin["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert node_as_other["data"]["node"] is None
    assert node_as_customer["data"]["node"] is None  # even bob's own event: staff only
    # shop-b's admin sees only shop-b's one event
    assert [(e["node"]["type"], e["node"]["customer"]["externalId"]) for e in own["edges"]] == [
        ("OFFER_ASSIGNED", "carl")
    ]


async def test_preview_notification_renders_an_event_named_by_its_global_id(sites: Sites):
    # given
    gql, a = sites.gql, sites.a
    event = (await sites.events(first=1))["edges"][0]["node"]
    pk = int(event["webhookId"].removeprefix("evt_"))
    variables = {"s": a.site_id, "event": "ORDER_RECORDED"}
    # when
    by_id = await gql.execute(PREVIEW, {**variables, "from": event["id"]}, token=a.admin)
    by_number = await gql.execute(PREVIEW, {**variables, "eventId": pk}, token=a.admin)
    sample = await gql.execute(PREVIEW, variables, token=a.admin)
    # then: the event's own data, as the deprecated integer id gives it
    rendered = by_id["data"]["previewNotification"]
    assert rendered == by_number["data"]["previewNotification"]
    assert "1002" in rendered["emailText"] + rendered["emailSubject"] + rendered["pushBody"]
    assert rendered != sample["data"]["previewNotification"]


async def test_preview_notification_refuses_an_event_named_twice_or_not_its_own(sites: Sites):
    # given
    gql, a, b = sites.gql, sites.a, sites.b
    event = (await sites.events(first=1))["edges"][0]["node"]
    pk = int(event["webhookId"].removeprefix("evt_"))
    variables = {"s": a.site_id, "event": "ORDER_RECORDED"}
    # when
    both = await gql.execute(
        PREVIEW, {**variables, "from": event["id"], "eventId": pk}, token=a.admin,
        expect_errors=True,
    )  # fmt: skip
    other_site = await gql.execute(
        PREVIEW, {**variables, "s": b.site_id, "from": event["id"]}, token=b.admin,
        expect_errors=True,
    )  # fmt: skip
    not_an_event = await gql.execute(
        PREVIEW, {**variables, "from": a.customers["ann"]}, token=a.admin, expect_errors=True
    )
    # then
    [error] = both["errors"]
    assert error["extensions"]["code"] == "INVALID_VALUE"
    assert "name the event once" in error["message"]
    assert other_site["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    [error] = not_an_event["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "is not a valid ID of a Event" in error["message"]
