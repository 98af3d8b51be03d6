"""The admin API of e-mail and push (#19): a site's channel settings (bad ones are user
errors and change nothing), who may read and change them, a test e-mail through a real
SMTP server on 127.0.0.1, the delivery log across channels, and customers' locales."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from loyalty_gql.config import Settings
from loyalty_gql.db.engine import Database
from loyalty_gql.jobs.worker import deliver_to_customers
from loyalty_gql.services import channels
from tests.conftest import GraphQLClient
from tests.integration.receiver import Receiver, webhook_receiver
from tests.integration.smtp_receiver import Mailbox, smtp_receiver
from tests.support.clock import Clock
from tests.support.shop import Shop

DEPLOYMENT_KEY = channels.new_vapid_key()
FIELDS = """emailEnabled emailFrom emailEvents pushEnabled pushEvents pushLink vapidSubject
    applicationServerKey"""
SETTINGS = f"query($s: ID!) {{ channelSettings(siteId: $s) {{ {FIELDS} }} }}"
UPDATE = f"""
mutation($input: UpdateChannelSettingsInput!) {{
  updateChannelSettings(input: $input) {{ settings {{ {FIELDS} }} userErrors {{ field code }} }}
}}
"""
TEST_EMAIL = """
mutation($input: SendTestEmailInput!) {
  sendTestEmail(input: $input) { delivered error userErrors { field code } }
}
"""
LOG = """
query($s: ID!, $c: Channel) {
  channelDeliveries(siteId: $s, channel: $c) { edges { node { channel event status target } } }
}
"""
SET_LOCALE = """
mutation($input: SetCustomerLocaleInput!) {
  setCustomerLocale(input: $input) { locale userErrors { field code } }
}
"""
REGISTER_PUSH = """
mutation($input: RegisterPushSubscriptionInput!) {
  registerPushSubscription(input: $input) { userErrors { field code } }
}
"""
RFC8291_P256DH = (  # the user agent's public key of RFC 8291's example
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
)
DEFAULTS = {
    "emailEnabled": False, "emailFrom": None,
    "emailEvents": ["REWARD_EARNED", "POINTS_EXPIRING", "VOUCHER_ISSUED", "OFFER_ASSIGNED"],
    "pushEnabled": False, "pushEvents": ["REWARD_EARNED", "POINTS_EXPIRING", "VOUCHER_ISSUED"],
    "pushLink": "", "vapidSubject": None,
    "applicationServerKey": channels.public_key(DEPLOYMENT_KEY),
}  # fmt: skip


@pytest.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    """An SMTP server on 127.0.0.1."""
    async with smtp_receiver() as running:
        yield running


@pytest.fixture
def settings(mailbox: Mailbox) -> Settings:
    """The app sends test e-mails to ``mailbox`` and allows push endpoints on loopback."""
    return Settings(
        env="test", smtp_url=mailbox.url, vapid_private_key=DEPLOYMENT_KEY,
        webhook_allow_private=True,
    )  # fmt: skip


@pytest.fixture
async def push_service() -> AsyncIterator[Receiver]:
    """A push service on 127.0.0.1 answering 201."""
    async with webhook_receiver() as running:
        running.respond(then=201)
        yield running


async def test_bad_settings_are_user_errors_and_change_nothing(gql: GraphQLClient) -> None:
    # given
    shop = await Shop.open(gql, "shop-a")
    # when
    body = await gql.execute(
        UPDATE,
        {"input": {"siteId": shop.site_id, "emailEnabled": True, "emailFrom": "nobody",
                   "emailEvents": ["REWARD_EARNED", "NO_SUCH_EVENT"], "vapidSubject": "me",
                   "pushLink": "{{ voucher_code.__class__ }}"}},
        token=shop.admin,
    )  # fmt: skip
    # then
    assert body["data"]["updateChannelSettings"] == {
        "settings": None,
        "userErrors": [
            {"field": ["input", "emailEvents"], "code": "INVALID_VALUE"},
            {"field": ["input", "emailFrom"], "code": "INVALID_VALUE"},
            {"field": ["input", "vapidSubject"], "code": "INVALID_VALUE"},
            {"field": ["input", "pushLink"], "code": "INVALID_VALUE"},
        ],
    }
    after = await gql.execute(SETTINGS, {"s": shop.site_id}, token=shop.admin)
    assert after["data"]["channelSettings"] == DEFAULTS


@pytest.mark.parametrize(
    "sender", ["Shop <a@b.example>\r\nBcc: x@evil.example", "Shop", "a@localhost", "@x.example"]
)
async def test_a_sender_that_is_no_address_or_smuggles_headers_is_refused(
    gql: GraphQLClient, sender: str
) -> None:
    shop = await Shop.open(gql, "shop-a")
    body = await gql.execute(
        UPDATE, {"input": {"siteId": shop.site_id, "emailFrom": sender}}, token=shop.admin
    )
    assert body["data"]["updateChannelSettings"]["userErrors"] == [
        {"field": ["input", "emailFrom"], "code": "INVALID_VALUE"}
    ]


async def test_only_the_sites_admins_read_and_change_its_channels(gql: GraphQLClient) -> None:
    # given
    shop = await Shop.open(gql, "shop-a")
    other = await Shop.open(gql, "shop-b")
    await shop.register("ann")
    change = {"input": {"siteId": shop.site_id, "emailEnabled": True}}
    # when / then
    for token in (other.admin, shop.customer("ann"), shop.service):
        read = await gql.execute(SETTINGS, {"s": shop.site_id}, token=token, expect_errors=True)
        write = await gql.execute(UPDATE, change, token=token, expect_errors=True)
        assert read["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert write["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await gql.execute(SETTINGS, {"s": shop.site_id}, token=shop.admin))["data"][
        "channelSettings"
    ] == DEFAULTS


async def test_a_site_gets_its_own_vapid_key_and_keeps_its_settings(gql: GraphQLClient) -> None:
    # given
    shop = await Shop.open(gql, "shop-a")
    # when
    body = await gql.execute(
        UPDATE,
        {"input": {"siteId": shop.site_id, "pushEnabled": True, "newVapidKey": True,
                   "pushLink": "https://shop-a.example/account/discounts",
                   "vapidSubject": "mailto:ops@shop-a.example", "idempotencyKey": "k1"}},
        token=shop.admin,
    )  # fmt: skip
    retried = await gql.execute(
        UPDATE,
        {"input": {"siteId": shop.site_id, "pushEnabled": True, "newVapidKey": True,
                   "pushLink": "https://shop-a.example/account/discounts",
                   "vapidSubject": "mailto:ops@shop-a.example", "idempotencyKey": "k1"}},
        token=shop.admin,
    )  # fmt: skip
    # then: a key of its own, once for the retried request
    settings = body["data"]["updateChannelSettings"]["settings"]
    assert settings["applicationServerKey"] not in (None, DEFAULTS["applicationServerKey"])
    assert retried["data"]["updateChannelSettings"]["settings"] == settings
    assert settings["pushLink"] == "https://shop-a.example/account/discounts"
    assert settings["vapidSubject"] == "mailto:ops@shop-a.example"


async def test_a_test_email_arrives_with_sample_data_and_bad_addresses_are_refused(
    gql: GraphQLClient, mailbox: Mailbox
) -> None:
    # given
    shop = await Shop.open(gql, "shop-a")
    sample = {"siteId": shop.site_id, "event": "REWARD_EARNED", "to": "ops@shop-a.example"}
    # when
    sent = await gql.execute(TEST_EMAIL, {"input": sample}, token=shop.admin)
    bad = await gql.execute(TEST_EMAIL, {"input": {**sample, "to": "not an address"}},
                            token=shop.admin)  # fmt: skip
    unknown = await gql.execute(TEST_EMAIL, {"input": {**sample, "event": "NOPE"}},
                                token=shop.admin)  # fmt: skip
    # then
    assert sent["data"]["sendTestEmail"] == {"delivered": True, "error": None, "userErrors": []}
    [message] = mailbox.messages
    assert str(message["To"]) == "ops@shop-a.example"
    assert message["Subject"] == "You earned a reward at Shop shop-a"
    assert "SAMPLE-CODE1" in str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert bad["data"]["sendTestEmail"]["userErrors"] == [
        {"field": ["input", "to"], "code": "INVALID_VALUE"}
    ]
    assert unknown["data"]["sendTestEmail"]["userErrors"] == [
        {"field": ["input", "event"], "code": "INVALID_VALUE"}
    ]
    assert len(mailbox.messages) == 1


async def test_the_delivery_log_shows_email_and_push_and_filters_by_channel(
    gql: GraphQLClient, db: Database, clock: Clock, settings: Settings, push_service: Receiver
) -> None:
    # given: e-mail and push on; Ann has an address and a browser subscription
    shop = await Shop.open(
        gql, "shop-a", participation="ALL_REGISTERED_CUSTOMERS",
        thresholdReward={"enabled": True, "points": 100, "valueType": "PERCENT", "value": "5"},
    )  # fmt: skip
    on = {"siteId": shop.site_id, "emailEnabled": True, "pushEnabled": True}
    assert (await gql.execute(UPDATE, {"input": on}, token=shop.admin))["data"][
        "updateChannelSettings"
    ]["userErrors"] == []
    await shop.register("ann", email="ann@example.com")
    keys = {"p256dh": RFC8291_P256DH, "auth": "tBHItJI5svbpez7KI4CCXg"}
    pushed = await gql.execute(
        REGISTER_PUSH, {"input": {"endpoint": f"{push_service.url}/p", "keys": keys}},
        token=shop.customer("ann"),
    )  # fmt: skip
    assert pushed["data"]["registerPushSubscription"]["userErrors"] == []
    # when
    await shop.grant("ann", 150)
    async with httpx.AsyncClient() as http:
        await deliver_to_customers(db, clock=clock, client=http, config=settings.channel_config())
    # then
    every = await gql.execute(LOG, {"s": shop.site_id}, token=shop.admin)
    emails = await gql.execute(LOG, {"s": shop.site_id, "c": "EMAIL"}, token=shop.admin)
    nodes = [e["node"] for e in every["data"]["channelDeliveries"]["edges"]]
    assert sorted((n["channel"], n["event"], n["status"]) for n in nodes) == [
        ("EMAIL", "REWARD_EARNED", "DELIVERED"), ("PUSH", "REWARD_EARNED", "DELIVERED")
    ]  # fmt: skip
    assert [e["node"]["target"] for e in emails["data"]["channelDeliveries"]["edges"]] == [
        "ann@example.com"
    ]


async def test_customers_set_their_own_locale_and_staff_any_of_the_site(
    gql: GraphQLClient,
) -> None:
    # given
    shop = await Shop.open(gql, "shop-a")
    bob = await shop.register("bob")
    await shop.register("ann")
    # when
    own = await gql.execute(SET_LOCALE, {"input": {"locale": "pl"}}, token=shop.customer("ann"))
    by_shop = await gql.execute(
        SET_LOCALE, {"input": {"customerId": bob, "locale": "de-AT"}}, token=shop.service
    )
    bad = await gql.execute(
        SET_LOCALE, {"input": {"locale": "p l; drop"}}, token=shop.customer("ann")
    )
    # then
    assert own["data"]["setCustomerLocale"] == {"locale": "pl", "userErrors": []}
    assert by_shop["data"]["setCustomerLocale"] == {"locale": "de-AT", "userErrors": []}
    assert bad["data"]["setCustomerLocale"] == {
        "locale": None,
        "userErrors": [{"field": ["input", "locale"], "code": "INVALID_VALUE"}],
    }
