"""Web Push end to end: a customer registers a browser subscription, a reward is pushed
to a local push endpoint (127.0.0.1) that decrypts it with http_ece and the
subscription's keys into the rendered title, body and deep link, signed with the site's
VAPID key; a push service answering 410 removes the subscription. Also the admin API:
channel settings, the delivery log, a test e-mail."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import os
from collections.abc import AsyncIterator
from typing import Any

import http_ece
import httpx
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from sqlalchemy import func, select

from loyalty_gql.config import Settings
from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import OutboxEventRow, PushSubscriptionRow
from loyalty_gql.jobs.worker import deliver_to_customers
from loyalty_gql.services import channels
from tests.conftest import GraphQLClient
from tests.integration.receiver import Receiver, webhook_receiver
from tests.support.clock import Clock
from tests.support.shop import Shop

SITE_KEY = channels.new_vapid_key()
LINK = "https://shop-a.example/account/discounts?code={{ voucher_code }}"

SETTINGS_FIELDS = """settings { pushEnabled pushEvents pushLink applicationServerKey }
    userErrors { field code }"""
UPDATE_SETTINGS = f"""
mutation($input: UpdateChannelSettingsInput!) {{
  updateChannelSettings(input: $input) {{ {SETTINGS_FIELDS} }}
}}
"""
WEB_PUSH_KEY = "query($s: ID!) { webPushKey(siteId: $s) }"
REGISTER = """
mutation($input: RegisterPushSubscriptionInput!) {
  registerPushSubscription(input: $input) {
    subscription { endpoint } userErrors { field code }
  }
}
"""
REMOVE = """
mutation($input: RemovePushSubscriptionInput!) {
  removePushSubscription(input: $input) { removed userErrors { field code } }
}
"""
LOG = """
query($s: ID!, $c: Channel) {
  channelDeliveries(siteId: $s, channel: $c) {
    edges { node { channel event status attempts lastStatusCode lastError messageId } }
  }
}
"""


class Browser:
    """A browser's push subscription keys (RFC 8291): it decrypts what it is sent."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    def keys(self) -> dict[str, str]:
        """keys of its PushSubscription.toJSON()."""
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"p256dh": _b64(point), "auth": _b64(self.auth)}

    def read(self, body: bytes) -> Any:
        """The message, decrypted (aes128gcm) and parsed."""
        plain = http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth,
                                 version="aes128gcm")  # fmt: skip
        return orjson.loads(plain)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@pytest.fixture
def settings() -> Settings:
    """The push endpoint is on loopback; pushes are signed with the deployment's key."""
    return Settings(env="test", webhook_allow_private=True, vapid_private_key=SITE_KEY)


@pytest.fixture
async def push_service() -> AsyncIterator[Receiver]:
    """A push service on 127.0.0.1: it records each request and answers 201."""
    async with webhook_receiver() as running:
        running.respond(then=201)
        yield running


async def _deliver(db: Database, clock: Clock, settings: Settings) -> None:
    async with httpx.AsyncClient() as http:
        await deliver_to_customers(db, clock=clock, client=http, config=settings.channel_config())


async def _shop_with_push(gql: GraphQLClient) -> Shop:
    shop = await Shop.open(
        gql, "shop-a", participation="ALL_REGISTERED_CUSTOMERS",
        thresholdReward={"enabled": True, "points": 100, "valueType": "PERCENT", "value": "5"},
    )  # fmt: skip
    body = await gql.execute(
        UPDATE_SETTINGS,
        {"input": {"siteId": shop.site_id, "pushEnabled": True, "pushLink": LINK}},
        token=shop.admin,
    )
    payload = body["data"]["updateChannelSettings"]
    assert payload["userErrors"] == []
    assert payload["settings"]["pushEvents"] == [
        "REWARD_EARNED",
        "POINTS_EXPIRING",
        "VOUCHER_ISSUED",
    ]
    return shop


async def _subscribe(
    gql: GraphQLClient, shop: Shop, who: str, endpoint: str, browser: Browser
) -> None:
    body = await gql.execute(
        REGISTER,
        {"input": {"endpoint": endpoint, "keys": browser.keys()}},
        token=shop.customer(who),
    )
    assert body["data"]["registerPushSubscription"] == {
        "subscription": {"endpoint": endpoint},
        "userErrors": [],
    }


async def test_a_reward_is_pushed_once_and_decrypts_to_the_rendered_message_and_link(
    gql: GraphQLClient, db: Database, clock: Clock, settings: Settings, push_service: Receiver
) -> None:
    # given: Ann's browser subscribed with the site's public key
    shop = await _shop_with_push(gql)
    await shop.register("ann", name="Ann")
    key = await gql.execute(WEB_PUSH_KEY, {"s": shop.site_id}, token=shop.customer("ann"))
    assert key["data"]["webPushKey"] == channels.public_key(SITE_KEY)
    browser = Browser()
    await _subscribe(gql, shop, "ann", f"{push_service.url}/push/ann", browser)
    # when: she earns a reward, and the worker runs twice
    await shop.grant("ann", 150)
    await _deliver(db, clock, settings)
    await _deliver(db, clock, settings)
    # then: one push, encrypted for her browser, with the rendered words and link
    [request] = push_service.requests
    async with db.read_sessions() as session:
        [event] = await session.scalars(
            select(OutboxEventRow).where(OutboxEventRow.kind == "REWARD_EARNED")
        )
    code = event.payload["voucher_code"]
    assert request.path == "/push/ann"
    assert browser.read(request.body) == {
        "title": "You earned a reward at Shop shop-a",
        "body": f"Your voucher worth 5%: {code}",
        "url": f"https://shop-a.example/account/discounts?code={code}",
    }
    assert request.headers["content-encoding"] == "aes128gcm"
    assert request.headers["topic"] == f"event-{event.id}"
    assert int(request.headers["ttl"]) > 0
    assert request.headers["authorization"].endswith(f"k={channels.public_key(SITE_KEY)}")
    assert Vapid02.verify(request.headers["authorization"])
    log = await gql.execute(LOG, {"s": shop.site_id, "c": "PUSH"}, token=shop.admin)
    assert [e["node"] for e in log["data"]["channelDeliveries"]["edges"]] == [
        {"channel": "PUSH", "event": "REWARD_EARNED", "status": "DELIVERED", "attempts": 1,
         "lastStatusCode": 201, "lastError": None, "messageId": f"event-{event.id}"}
    ]  # fmt: skip


async def test_a_subscription_the_push_service_says_is_gone_is_removed(
    gql: GraphQLClient, db: Database, clock: Clock, settings: Settings, push_service: Receiver
) -> None:
    # given: Ann's subscription, which the push service no longer knows
    shop = await _shop_with_push(gql)
    await shop.register("ann")
    await _subscribe(gql, shop, "ann", f"{push_service.url}/push/ann", Browser())
    push_service.always(410)
    # when
    await shop.grant("ann", 150)
    await _deliver(db, clock, settings)
    # then: the delivery is dead at once, the subscription gone; later rewards push nothing
    log = await gql.execute(LOG, {"s": shop.site_id, "c": "PUSH"}, token=shop.admin)
    [entry] = [e["node"] for e in log["data"]["channelDeliveries"]["edges"]]
    assert (entry["status"], entry["attempts"], entry["lastStatusCode"]) == ("DEAD", 1, 410)
    assert entry["lastError"] == "subscription gone"
    async with db.read_sessions() as session:
        assert await session.scalar(select(func.count()).select_from(PushSubscriptionRow)) == 0
    await shop.grant("ann", 150)
    await _deliver(db, clock, settings)
    assert len(push_service.requests) == 1


async def test_customers_register_and_remove_their_subscriptions_and_bad_ones_are_refused(
    gql: GraphQLClient, push_service: Receiver
) -> None:
    # given
    shop = await _shop_with_push(gql)
    await shop.register("ann")
    endpoint = f"{push_service.url}/push/ann"
    await _subscribe(gql, shop, "ann", endpoint, Browser())
    ann = shop.customer("ann")
    # when / then: a bad URL and bad keys are user errors
    wrong = {"endpoint": "ftp://push.example/x", "keys": {"p256dh": "a b", "auth": ""}}
    bad = await gql.execute(REGISTER, {"input": wrong}, token=ann)
    assert bad["data"]["registerPushSubscription"] == {
        "subscription": None,
        "userErrors": [{"field": ["input", "endpoint"], "code": "INVALID_VALUE"},
                       {"field": ["input", "keys", "p256dh"], "code": "INVALID_VALUE"},
                       {"field": ["input", "keys", "auth"], "code": "INVALID_VALUE"}],
    }  # fmt: skip
    # removing works once
    first = await gql.execute(REMOVE, {"input": {"endpoint": endpoint}}, token=ann)
    again = await gql.execute(REMOVE, {"input": {"endpoint": endpoint}}, token=ann)
    assert first["data"]["removePushSubscription"] == {"removed": True, "userErrors": []}
    assert again["data"]["removePushSubscription"] == {"removed": False, "userErrors": []}
    # an admin's token is not a customer's
    refused = await gql.execute(REMOVE, {"input": {"endpoint": endpoint}}, token=shop.admin,
                                expect_errors=True)  # fmt: skip
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


class Dns:
    """A stand-in resolver with fixed answers."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers

    async def __call__(self, host: str, port: int) -> list[str]:
        return self.answers[host]


async def _push_to_a_name(
    gql: GraphQLClient, db: Database, clock: Clock, *, config: channels.ChannelConfig,
    dns: Dns, port: int | None,
) -> Shop:  # fmt: skip
    """Ann subscribed at push.example.test (resolved by ``dns``) earns a reward."""
    shop = await _shop_with_push(gql)
    await shop.register("ann")
    await _subscribe(gql, shop, "ann", f"http://push.example.test:{port}/push", Browser())
    await shop.grant("ann", 150)
    async with httpx.AsyncClient() as http:
        await deliver_to_customers(db, clock=clock, client=http, config=config, resolve=dns)
    return shop


async def test_a_push_endpoint_whose_name_resolves_to_a_private_address_is_refused(
    gql: GraphQLClient, db: Database, clock: Clock, settings: Settings, push_service: Receiver
) -> None:
    # given / when: the endpoint's name resolves to a private address, and the worker
    # sends to public addresses only
    public_only = dataclasses.replace(settings.channel_config(), allow_private=False)
    dns = Dns({"push.example.test": ["10.1.2.3"]})
    shop = await _push_to_a_name(
        gql, db, clock, config=public_only, dns=dns, port=httpx.URL(push_service.url).port
    )
    # then: nothing was sent; the delivery is dead with the reason
    assert push_service.requests == []
    log = await gql.execute(LOG, {"s": shop.site_id, "c": "PUSH"}, token=shop.admin)
    [entry] = [e["node"] for e in log["data"]["channelDeliveries"]["edges"]]
    assert entry["status"] == "DEAD"
    assert entry["lastError"] == (
        "refused: push.example.test resolves to 10.1.2.3, a non-public address (private)"
    )


async def test_a_push_goes_to_the_address_its_name_was_checked_at(
    gql: GraphQLClient, db: Database, clock: Clock, settings: Settings, push_service: Receiver
) -> None:
    # given / when: the endpoint's name resolves (for the worker) to the push service here
    port = httpx.URL(push_service.url).port
    dns = Dns({"push.example.test": ["127.0.0.1"]})
    await _push_to_a_name(gql, db, clock, config=settings.channel_config(), dns=dns, port=port)
    # then: the connection went to that address, the request names the host
    [request] = push_service.requests
    assert (request.path, request.headers["host"]) == ("/push", f"push.example.test:{port}")


async def test_a_customer_keeps_at_most_ten_subscriptions(
    gql: GraphQLClient, push_service: Receiver
) -> None:
    # given: ten browsers subscribed
    shop = await _shop_with_push(gql)
    await shop.register("ann")
    for n in range(10):
        await _subscribe(gql, shop, "ann", f"{push_service.url}/push/{n}", Browser())
    # when: an eleventh, and the first again (new keys)
    more = await gql.execute(
        REGISTER,
        {"input": {"endpoint": f"{push_service.url}/push/10", "keys": Browser().keys()}},
        token=shop.customer("ann"),
    )
    # then: refused; renewing one it has is not another
    refused = [{"field": ["input", "endpoint"], "code": "INVALID_STATE"}]
    assert more["data"]["registerPushSubscription"] == {"subscription": None, "userErrors": refused}
    await _subscribe(gql, shop, "ann", f"{push_service.url}/push/0", Browser())


CHOOSE = """
mutation($input: ChooseMessagesInput!) {
  chooseMessages(input: $input) { receive userErrors { field code } }
}
"""


async def test_a_customer_who_turns_off_transactional_pushes_gets_none_until_back_on(
    gql: GraphQLClient, db: Database, clock: Clock, settings: Settings, push_service: Receiver
) -> None:
    # given: Ann subscribed, then turned transactional pushes off
    shop = await _shop_with_push(gql)
    await shop.register("ann")
    await _subscribe(gql, shop, "ann", f"{push_service.url}/push/ann", Browser())
    choice = {"channel": "PUSH", "category": "TRANSACTIONAL"}
    off = await gql.execute(
        CHOOSE, {"input": {**choice, "receive": False}}, token=shop.customer("ann")
    )
    assert off["data"]["chooseMessages"] == {"receive": False, "userErrors": []}
    # when: a reward, then pushes back on and another reward
    await shop.grant("ann", 100)
    await _deliver(db, clock, settings)
    nothing = list(push_service.requests)
    on = await gql.execute(
        CHOOSE, {"input": {**choice, "receive": True}}, token=shop.customer("ann")
    )
    assert on["data"]["chooseMessages"] == {"receive": True, "userErrors": []}
    await shop.grant("ann", 100)
    await _deliver(db, clock, settings)
    # then
    assert nothing == []
    assert len(push_service.requests) == 1


async def test_one_browser_registered_many_times_at_once_is_one_subscription(
    gql: GraphQLClient, db: Database, push_service: Receiver
) -> None:
    # given: ann, and twelve registrations of one browser and of twelve others at once
    shop = await _shop_with_push(gql)
    await shop.register("ann")
    same = {"endpoint": f"{push_service.url}/push/one", "keys": Browser().keys()}
    others = [
        {"endpoint": f"{push_service.url}/push/{n}", "keys": Browser().keys()} for n in range(12)
    ]
    # when
    answers = await asyncio.gather(
        *(gql.execute(REGISTER, {"input": i}, token=shop.customer("ann")) for i in [same] * 12),
        *(gql.execute(REGISTER, {"input": i}, token=shop.customer("ann")) for i in others),
    )
    # then: never an internal error; one row for the one browser, and the cap held
    payloads = [a["data"]["registerPushSubscription"] for a in answers]
    assert all("errors" not in a for a in answers), answers
    assert all(p["subscription"] for p in payloads[:12])
    codes = {e["code"] for p in payloads[12:] for e in p["userErrors"]}
    assert codes <= {"INVALID_STATE"}
    async with db.read_sessions() as session:
        assert await session.scalar(select(func.count()).select_from(PushSubscriptionRow)) == 10
