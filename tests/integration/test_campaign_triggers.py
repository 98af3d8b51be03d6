"""award_trigger, the entry point of the campaigns of events that are not orders
(birthdays and referrals call it too): once per campaign and source key, also when two
calls race; and `verify` catches a budget that its awards do not explain."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, update

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CampaignAwardRow, CampaignRow, CustomerRow, SiteRow
from loyalty_gql.db.versions import scoped
from loyalty_gql.domain.campaigns import Trigger
from loyalty_gql.services.campaigns import award_trigger
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.points.verify import verify_ledger
from tests.conftest import GraphQLClient
from tests.support.clock import Clock
from tests.support.shop import Shop

CREATE = """
mutation($input: CreateCampaignInput!) {
  createCampaign(input: $input) { campaign { id } userErrors { field code message } }
}
"""
PUBLISH = """
mutation($input: CampaignActionInput!) {
  publishCampaign(input: $input) { userErrors { field code message } }
}
"""


async def _birthday_shop(gql: GraphQLClient) -> Shop:
    """A site with a birthday campaign of 100 points, budget 150; ann enrolled."""
    shop = await Shop.open(gql)
    await shop.register("ann", enroll=True)
    body = await gql.execute(
        CREATE,
        {"input": {"siteId": shop.site_id, "campaign": {
            "name": "Birthday", "trigger": "BIRTHDAY",
            "effect": {"kind": "FIXED_POINTS", "points": 100},
            "limits": {"budgetPoints": 150}}}},
        token=shop.admin,
    )  # fmt: skip
    campaign_id = body["data"]["createCampaign"]["campaign"]["id"]
    body = await gql.execute(PUBLISH, {"input": {"campaignId": campaign_id}}, token=shop.admin)
    assert body["data"]["publishCampaign"]["userErrors"] == []
    return shop


async def _birthday(db: Database, clock: Clock, key: str) -> list[int]:
    """award_trigger(BIRTHDAY) for ann in its own transaction; the points awarded."""
    async with UnitOfWork(db) as uow:
        customer = await uow.session.scalar(
            select(CustomerRow).where(CustomerRow.external_id == "ann")
        )
        assert customer is not None
        site = await uow.session.get(SiteRow, customer.site_id)
        assert site is not None
        awarded = await award_trigger(
            uow, site, customer, Trigger.BIRTHDAY, clock(), source_key=key
        )
        await uow.commit()
    return [a.row.points for a in awarded]


async def test_an_event_is_awarded_once_per_campaign_and_key(
    gql: GraphQLClient, db: Database, clock: Clock
) -> None:
    # given
    shop = await _birthday_shop(gql)
    # when: the job runs twice for this year, and twice at the same moment
    first = await _birthday(db, clock, "birthday:ann:2026")
    again = await _birthday(db, clock, "birthday:ann:2026")
    racing = await asyncio.gather(
        _birthday(db, clock, "birthday:ann:2027"), _birthday(db, clock, "birthday:ann:2027")
    )
    # then: 100 the first time, nothing again; next year's once, cut to the budget's 50
    assert (first, again) == ([100], [])
    assert sorted(racing) == [[], [50]]
    assert (await shop.balance("ann"))["available"] == 150
    assert await verify_ledger(db) == []
    # and once the budget is spent, nothing more
    assert await _birthday(db, clock, "birthday:ann:2028") == []


async def test_verify_reports_a_budget_its_awards_do_not_explain(
    gql: GraphQLClient, db: Database, clock: Clock
) -> None:
    # given: an award of 100 points
    await _birthday_shop(gql)
    assert await _birthday(db, clock, "birthday:ann:2026") == [100]
    async with db.read_sessions() as session:
        assert await session.scalar(select(func.sum(CampaignAwardRow.points))) == 100
    # when: the budget spent is changed behind the awards' back
    async with UnitOfWork(db) as uow:
        await uow.session.execute(scoped(update(CampaignRow)).values(budget_spent=120))
        await uow.commit()
    # then
    assert [str(d) for d in await verify_ledger(db)] == [
        "customer 0: campaign 1 budget spent (of 150) is 120, the ledger says 100"
    ]


UPDATE = """
mutation($input: UpdateCampaignInput!) {
  updateCampaign(input: $input) {
    campaign { budgetSpent budgetLeft } userErrors { field code message }
  }
}
"""


async def test_a_budget_given_later_counts_what_the_awards_hold(
    gql: GraphQLClient, db: Database, clock: Clock
) -> None:
    # given: the birthday campaign's budget taken away, and an award of 100 without it
    shop = await _birthday_shop(gql)
    campaign_id = "Q2FtcGFpZ246MQ=="
    terms = {"name": "Birthday", "trigger": "BIRTHDAY",
             "effect": {"kind": "FIXED_POINTS", "points": 100}}  # fmt: skip
    body = await gql.execute(
        UPDATE, {"input": {"campaignId": campaign_id, "campaign": terms}}, token=shop.admin
    )
    assert body["data"]["updateCampaign"]["campaign"] == {"budgetSpent": 0, "budgetLeft": None}
    assert await _birthday(db, clock, "birthday:ann:2026") == [100]
    # when: a budget below what it gave, then one above
    low = {**terms, "limits": {"budgetPoints": 99}}
    body = await gql.execute(
        UPDATE, {"input": {"campaignId": campaign_id, "campaign": low}}, token=shop.admin
    )
    assert [e["code"] for e in body["data"]["updateCampaign"]["userErrors"]] == ["INVALID_VALUE"]
    high = {**terms, "limits": {"budgetPoints": 250}}
    body = await gql.execute(
        UPDATE, {"input": {"campaignId": campaign_id, "campaign": high}}, token=shop.admin
    )
    # then: the award counts against it
    assert body["data"]["updateCampaign"]["campaign"] == {"budgetSpent": 100, "budgetLeft": 150}
    assert await verify_ledger(db) == []
