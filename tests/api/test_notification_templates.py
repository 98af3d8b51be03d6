"""Notification templates: defaults, editing, refusing unsafe templates, previews."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import NotificationTemplateRow, OutboxEventRow, SiteRow
from loyalty_gql.db.versions import scoped
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.notifications import EVENTS, VARIABLES
from tests.conftest import GraphQLClient
from tests.support.operations import CONFIGURE_PROGRAM
from tests.support.shop import create_site, register

TEMPLATES = """
query Templates($siteId: ID!) {
  notificationTemplates(siteId: $siteId) {
    event emailSubject emailHtml emailText pushTitle pushBody isDefault
  }
}
"""

VARIABLES_QUERY = "query { notificationVariables { name description } }"

UPDATE = """
mutation Update($input: UpdateNotificationTemplateInput!) {
  updateNotificationTemplate(input: $input) {
    template { event emailSubject emailHtml emailText pushTitle pushBody isDefault }
    userErrors { field code message }
  }
}
"""

PREVIEW = """
query Preview($siteId: ID!, $event: String!, $eventId: Int, $template: NotificationTemplateInput) {
  previewNotification(siteId: $siteId, event: $event, eventId: $eventId, template: $template) {
    emailSubject emailHtml emailText pushTitle pushBody
  }
}
"""

GRANT_POINTS = """
mutation Grant($input: GrantPointsInput!) {
  grantPoints(input: $input) { userErrors { field code message } }
}
"""

TEMPLATE: dict[str, str] = {
    "emailSubject": "Reward for {{ customer_name }}",
    "emailHtml": "<p>{{ customer_name }}: {{ voucher_code }} ({{ voucher_value }})</p>",
    "emailText": "{{ customer_name }}: {{ voucher_code }} ({{ voucher_value }})",
    "pushTitle": "Reward!",
    "pushBody": "{{ voucher_code }} by {{ expiry_date }}",
}


def _admin(gql: GraphQLClient, site: str = "shop-a") -> str:
    return gql.token("admin", site)


async def _update(
    gql: GraphQLClient, site_id: str, event: str = "REWARD_EARNED", **changes: Any
) -> dict[str, Any]:
    body = await gql.execute(
        UPDATE,
        {"input": {"siteId": site_id, "event": event, **TEMPLATE, **changes}},
        token=_admin(gql),
    )
    payload: dict[str, Any] = body["data"]["updateNotificationTemplate"]
    return payload


async def _templates(gql: GraphQLClient, site_id: str, site: str = "shop-a") -> dict[str, Any]:
    body = await gql.execute(TEMPLATES, {"siteId": site_id}, token=_admin(gql, site))
    return {t["event"]: t for t in body["data"]["notificationTemplates"]}


async def _stored(db: Database) -> list[NotificationTemplateRow]:
    async with db.read_sessions() as session:
        return list(await session.scalars(select(NotificationTemplateRow)))


async def test_every_event_has_a_default_template(gql: GraphQLClient):
    # given
    site_id = await create_site(gql, "shop-a")
    # when
    templates = await _templates(gql, site_id)
    # then
    assert set(templates) == set(EVENTS)
    assert all(t["isDefault"] for t in templates.values())
    assert all(t["emailSubject"] and t["emailText"] for t in templates.values())


async def test_the_variables_are_documented(gql: GraphQLClient):
    # given
    await create_site(gql, "shop-a")
    # when
    body = await gql.execute(VARIABLES_QUERY, token=_admin(gql))
    # then
    found = {v["name"]: v["description"] for v in body["data"]["notificationVariables"]}
    assert found == VARIABLES
    assert {"customer_name", "points", "voucher_code", "expiry_date", "tier_name"} <= set(found)


async def test_an_updated_template_is_listed_and_other_sites_keep_the_default(
    gql: GraphQLClient, db: Database
):
    # given
    site_a = await create_site(gql, "shop-a")
    site_b = await create_site(gql, "shop-b")
    # when
    payload = await _update(gql, site_a)
    # then
    assert payload["userErrors"] == []
    assert payload["template"] == {"event": "REWARD_EARNED", **TEMPLATE, "isDefault": False}
    mine = await _templates(gql, site_a)
    assert mine["REWARD_EARNED"] == payload["template"]
    assert mine["POINTS_EXPIRING"]["isDefault"] is True
    theirs = await _templates(gql, site_b, "shop-b")
    assert all(t["isDefault"] for t in theirs.values())
    [row] = await _stored(db)
    assert row.updated_by == "admin:tester"


async def test_updating_again_replaces_the_template(gql: GraphQLClient, db: Database):
    # given
    site_id = await create_site(gql, "shop-a")
    await _update(gql, site_id)
    # when
    payload = await _update(gql, site_id, pushTitle="Again")
    # then
    assert payload["template"]["pushTitle"] == "Again"
    assert [row.push_title for row in await _stored(db)] == ["Again"]


async def test_an_admin_of_another_site_is_forbidden(gql: GraphQLClient, db: Database):
    # given
    site_a = await create_site(gql, "shop-a")
    await create_site(gql, "shop-b")
    other = _admin(gql, "shop-b")
    # when
    listed = await gql.execute(TEMPLATES, {"siteId": site_a}, token=other, expect_errors=True)
    updated = await gql.execute(
        UPDATE,
        {"input": {"siteId": site_a, "event": "REWARD_EARNED", **TEMPLATE}},
        token=other,
        expect_errors=True,
    )
    previewed = await gql.execute(
        PREVIEW, {"siteId": site_a, "event": "REWARD_EARNED"}, token=other, expect_errors=True
    )
    service = await gql.execute(
        TEMPLATES, {"siteId": site_a}, token=gql.token("service", "shop-a"), expect_errors=True
    )
    # then
    for body in (listed, updated, previewed, service):
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await _stored(db) == []


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{% for x in ().__class__.__base__.__subclasses__() %}{% endfor %}",
    ],
)
@pytest.mark.parametrize("field", ["emailHtml", "emailSubject", "pushBody"])
async def test_a_template_reaching_python_internals_is_refused(
    gql: GraphQLClient, db: Database, source: str, field: str
):
    # given
    site_id = await create_site(gql, "shop-a")
    # when
    payload = await _update(gql, site_id, **{field: source})
    # then
    assert payload["template"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == ("INVALID_VALUE", ["input", field])
    assert await _stored(db) == []


async def test_a_syntax_error_and_an_unknown_event_are_refused(gql: GraphQLClient, db: Database):
    # given
    site_id = await create_site(gql, "shop-a")
    # when
    broken = await _update(gql, site_id, emailText="Hello {{ customer_name ")
    unknown = await _update(gql, site_id, event="NO_SUCH_EVENT")
    # then
    assert [(e["code"], e["field"]) for e in broken["userErrors"]] == [
        ("INVALID_VALUE", ["input", "emailText"])
    ]
    assert [(e["code"], e["field"]) for e in unknown["userErrors"]] == [
        ("INVALID_VALUE", ["input", "event"])
    ]
    assert await _stored(db) == []


async def test_a_retry_with_the_same_key_replays(gql: GraphQLClient, db: Database):
    # given
    site_id = await create_site(gql, "shop-a")
    first = await _update(gql, site_id, idempotencyKey="k-1")
    # when
    again = await _update(gql, site_id, idempotencyKey="k-1")
    other = await _update(gql, site_id, idempotencyKey="k-1", pushTitle="Other")
    # then
    assert again == first
    assert [(e["code"], e["field"]) for e in other["userErrors"]] == [
        ("IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"])
    ]
    assert len(await _stored(db)) == 1


async def _preview(gql: GraphQLClient, site_id: str, **variables: Any) -> dict[str, Any]:
    body = await gql.execute(
        PREVIEW, {"siteId": site_id, "event": "REWARD_EARNED", **variables}, token=_admin(gql)
    )
    rendered: dict[str, Any] = body["data"]["previewNotification"]
    return rendered


async def test_a_sample_preview_escapes_html_only_in_the_html_part(gql: GraphQLClient):
    # given
    site_id = await create_site(gql, "shop-a")
    template = {**TEMPLATE, "emailHtml": "<p>{{ '<b>' ~ site_name }}</p>", "emailText": "<b>"}
    # when
    rendered = await _preview(gql, site_id, template=template)
    default = await _preview(gql, site_id)
    # then
    assert rendered["emailHtml"] == "<p>&lt;b&gt;Shop shop-a</p>"
    assert rendered["emailText"] == "<b>"
    assert rendered["emailSubject"] == "Reward for Alex Example"
    assert "Shop shop-a" in default["emailSubject"]
    assert "SAMPLE-CODE1" in default["pushBody"]


async def test_an_unsafe_template_is_refused_in_a_preview(gql: GraphQLClient):
    # given
    site_id = await create_site(gql, "shop-a")
    # when
    body = await gql.execute(
        PREVIEW,
        {
            "siteId": site_id,
            "event": "REWARD_EARNED",
            "template": {**TEMPLATE, "pushBody": "{{ ''.__class__ }}"},
        },
        token=_admin(gql),
        expect_errors=True,
    )
    # then
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "INVALID_VALUE"


async def _reward_event(gql: GraphQLClient, db: Database, site_id: str) -> tuple[int, str]:
    """Register Eva <b>, give her enough points for the threshold reward; the event."""
    admin = _admin(gql)
    reward = {
        "enabled": True,
        "points": 500,
        "valueType": "FIXED_AMOUNT",
        "value": "10",
        "minimumOrderValue": "20",
        "validityDays": 30,
    }
    body = await gql.execute(
        CONFIGURE_PROGRAM,
        {
            "input": {
                "siteId": site_id,
                "participation": "ALL_REGISTERED_CUSTOMERS",
                "thresholdReward": reward,
            }
        },
        token=admin,
    )
    assert body["data"]["configureProgram"]["userErrors"] == []
    customer = await register(
        gql, "shop-a", site_id, "c-1", name="Eva <b>", email="eva@example.com"
    )
    body = await gql.execute(
        GRANT_POINTS,
        {"input": {"customerId": customer["id"], "points": 500, "reason": "test"}},
        token=admin,
    )
    assert body["data"]["grantPoints"]["userErrors"] == []
    async with db.read_sessions() as session:
        event = await session.scalar(
            select(OutboxEventRow).where(OutboxEventRow.kind == "REWARD_EARNED")
        )
    assert event is not None
    return event.id, event.payload["voucher_code"]


async def test_a_preview_of_a_real_event_shows_the_customer_and_the_voucher(
    gql: GraphQLClient, db: Database
):
    # given
    site_id = await create_site(gql, "shop-a")
    event_id, code = await _reward_event(gql, db, site_id)
    await _update(gql, site_id)
    # when
    rendered = await _preview(gql, site_id, eventId=event_id)
    # then
    assert rendered["emailSubject"] == "Reward for Eva <b>"
    assert rendered["emailText"] == f"Eva <b>: {code} (€10.00)"
    assert rendered["emailHtml"] == f"<p>Eva &lt;b&gt;: {code} (€10.00)</p>"
    assert rendered["pushBody"] == f"{code} by Feb 14, 2026"


async def test_money_and_dates_follow_the_sites_locale(gql: GraphQLClient, db: Database):
    # given
    site_id = await create_site(gql, "shop-a")
    event_id, code = await _reward_event(gql, db, site_id)
    await _update(gql, site_id)
    async with UnitOfWork(db) as uow:
        await uow.session.execute(scoped(update(SiteRow)).values(locale="de"))
        await uow.commit()
    # when
    rendered = await _preview(gql, site_id, eventId=event_id)
    # then
    assert rendered["emailText"] == f"Eva <b>: {code} (10,00\xa0€)"
    assert rendered["pushBody"] == f"{code} by 14.02.2026"


async def test_a_preview_of_another_sites_event_is_not_found(gql: GraphQLClient, db: Database):
    # given
    site_a = await create_site(gql, "shop-a")
    event_id, _ = await _reward_event(gql, db, site_a)
    site_b = await create_site(gql, "shop-b")
    # when
    body = await gql.execute(
        PREVIEW,
        {"siteId": site_b, "event": "REWARD_EARNED", "eventId": event_id},
        token=_admin(gql, "shop-b"),
        expect_errors=True,
    )
    wrong_kind = await gql.execute(
        PREVIEW,
        {"siteId": site_a, "event": "TIER_CHANGED", "eventId": event_id},
        token=_admin(gql),
        expect_errors=True,
    )
    # then
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert wrong_kind["errors"][0]["extensions"]["code"] == "INVALID_VALUE"
