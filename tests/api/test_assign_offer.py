"""assignOffer: one call gives an offer to up to 10,000 customers, never twice."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select

from loyalty_gql.api.core.ids import to_global_id
from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CustomerRow, OfferAssignmentRow, OutboxEventRow
from loyalty_gql.db.repositories.sites import sites_by_codes
from loyalty_gql.db.versions import scoped
from tests.conftest import GraphQLClient
from tests.support.clock import Clock
from tests.support.operations import CREATE_OFFER
from tests.support.shop import create_site, register

ASSIGN = """
mutation($input: AssignOfferInput!) {
  assignOffer(input: $input) {
    offer { id name } assignedCount alreadyAssignedCount userErrors { field code message }
  }
}
"""
PUNCHCARD = {"name": "Coffee card", "valueType": "FREE_ITEM", "punchesRequired": 10,
             "scope": "CATEGORY", "targets": ["drinks/coffee"]}  # fmt: skip


async def _punchcard(gql: GraphQLClient, site_id: str) -> str:
    body = await gql.execute(
        CREATE_OFFER,
        {"input": {"siteId": site_id, "kind": "PUNCHCARD", "terms": PUNCHCARD}},
        token=gql.token("admin", "shop-a"),
    )
    offer_id: str = body["data"]["createOffer"]["offer"]["id"]
    return offer_id


async def _assign(gql: GraphQLClient, offer_id: str, **audience: Any) -> dict[str, Any]:
    body = await gql.execute(
        ASSIGN, {"input": {"offerId": offer_id, **audience}}, token=gql.token("admin", "shop-a")
    )
    payload: dict[str, Any] = body["data"]["assignOffer"]
    return payload


async def _count(db: Database, table: Any) -> int:
    async with db.read_sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_10000_customers_in_one_call_and_a_retry_assigns_nothing_twice(
    gql: GraphQLClient, db: Database, clock: Clock
):
    # given: a site with 10,000 enrolled customers (written in bulk)
    site_id = await create_site(gql, "shop-a")
    async with db.read_sessions() as session:
        site = (await sites_by_codes(session, ["shop-a"]))["shop-a"]
    async with db.write_sessions() as session, session.begin():
        await session.execute(
            scoped(insert(CustomerRow)),
            [
                {"site_id": site.id, "external_id": f"c-{n}", "groups": [],
                 "marketing_consent": False, "enrolled_at": clock.now,
                 "created_at": clock.now, "updated_at": clock.now}
                for n in range(10_000)
            ],
        )  # fmt: skip
        ids = list(await session.scalars(select(CustomerRow.id).order_by(CustomerRow.id)))
    offer_id = await _punchcard(gql, site_id)
    customer_ids = [to_global_id("Customer", pk) for pk in ids]
    # when
    first = await _assign(gql, offer_id, customerIds=customer_ids, idempotencyKey="launch")
    retry = await _assign(gql, offer_id, customerIds=customer_ids, idempotencyKey="launch")
    again = await _assign(gql, offer_id, customerIds=customer_ids[:10])
    # then
    assert (first["assignedCount"], first["alreadyAssignedCount"]) == (10_000, 0)
    assert retry == first
    assert (again["assignedCount"], again["alreadyAssignedCount"]) == (0, 10)
    assert await _count(db, OfferAssignmentRow) == 10_000
    assert await _count(db, OutboxEventRow) == 10_000


async def test_a_group_or_a_tier_is_an_audience(gql: GraphQLClient):
    site_id = await create_site(gql, "shop-a")
    for n, groups in enumerate((["vip"], ["vip", "staff"], [])):
        await register(gql, "shop-a", site_id, f"c-{n}", groups=groups, enroll=True)
    await register(gql, "shop-a", site_id, "not-enrolled", groups=["vip"])
    offer_id = await _punchcard(gql, site_id)
    vip = await _assign(gql, offer_id, customerGroup="vip")
    staff = await _assign(gql, offer_id, customerGroup="staff")
    assert (vip["assignedCount"], vip["alreadyAssignedCount"]) == (2, 0)
    assert (staff["assignedCount"], staff["alreadyAssignedCount"]) == (0, 1)


async def test_bad_audiences_are_user_errors(gql: GraphQLClient):
    site_id = await create_site(gql, "shop-a")
    other = await create_site(gql, "shop-b")
    outsider = await register(gql, "shop-b", other, "x", enroll=True)
    offer_id = await _punchcard(gql, site_id)
    none = await _assign(gql, offer_id)
    both = await _assign(gql, offer_id, customerGroup="vip", customerIds=[outsider["id"]])
    foreign = await _assign(gql, offer_id, customerIds=[outsider["id"]])
    assert [e["code"] for e in none["userErrors"]] == ["INVALID_VALUE"]
    assert [e["code"] for e in both["userErrors"]] == ["INVALID_VALUE"]
    assert [(e["field"], e["code"]) for e in foreign["userErrors"]] == [
        (["input", "customerIds"], "NOT_FOUND")
    ]


async def test_promotions_are_not_assigned(gql: GraphQLClient):
    site_id = await create_site(gql, "shop-a")
    customer = await register(gql, "shop-a", site_id, "c-1", enroll=True)
    body = await gql.execute(
        CREATE_OFFER,
        {"input": {"siteId": site_id, "kind": "PROMOTION",
                   "terms": {"name": "p", "valueType": "PERCENT", "value": "5"}}},
        token=gql.token("admin", "shop-a"),
    )  # fmt: skip
    payload = await _assign(
        gql, body["data"]["createOffer"]["offer"]["id"], customerIds=[customer["id"]]
    )
    assert [e["code"] for e in payload["userErrors"]] == ["INVALID_VALUE"]
