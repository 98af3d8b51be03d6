"""E-mail to customers end to end, through a real SMTP server on 127.0.0.1 (aiosmtpd):
the scripted day of #6 mails each message once, the reward e-mail holds its voucher
code, the one-click unsubscribe link works and stops the next marketing mail, a server
that refuses three times gets the mail on the fourth attempt, and customers read their
own language."""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.config import Settings
from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import ChannelDeliveryRow, OutboxEventRow, VoucherRow
from loyalty_gql.domain.channels import parse_smtp_url
from loyalty_gql.jobs.worker import deliver_to_customers, run_worker
from loyalty_gql.services import channels
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.points.expiry import warn_expiring
from loyalty_gql.services.webhooks import MAX_ATTEMPTS, backoff
from tests.conftest import GraphQLClient
from tests.integration.smtp_receiver import Mailbox, Tls, smtp_receiver
from tests.support.certificates import certificates
from tests.support.clock import Clock
from tests.support.operations import COMPLETE_ORDER
from tests.support.shop import Shop, line

SENDER = "Shop A <hello@shop-a.test>"
PUNCHCARD: dict[str, Any] = {"valueType": "FREE_ITEM", "punchesRequired": 10, "scope": "CATEGORY",
             "targets": ["drinks/coffee"]}  # fmt: skip


@pytest.fixture
def settings() -> Settings:
    """Unsubscribe links point at the app under test."""
    return Settings(env="test", public_url="http://testserver")


@dataclass(frozen=True)
class Mail:
    """An SMTP server on 127.0.0.1, and the workers' channel settings that send to it."""

    box: Mailbox
    config: channels.ChannelConfig


@pytest.fixture
async def mail(settings: Settings) -> AsyncIterator[Mail]:
    """An SMTP server that accepts every message unless told otherwise."""
    async with smtp_receiver() as running:
        config = dataclasses.replace(settings.channel_config(), smtp=parse_smtp_url(running.url))
        yield Mail(running, config)


async def deliver(db: Database, clock: Clock, config: channels.ChannelConfig) -> None:
    """One e-mail and push step of the worker: dispatch, then send what is due."""
    async with httpx.AsyncClient() as http:
        await deliver_to_customers(db, clock=clock, client=http, config=config)


async def email_on(db: Database, clock: Clock, shop: Shop, **changes: Any) -> None:
    """Switch the shop's e-mail on (with its sender and default events)."""
    await channels.update_channel_settings(
        db, site_id=parse_id(shop.site_id, "Site"),
        changes=channels.ChannelChanges(email_enabled=True, email_from=SENDER, **changes),
        new_vapid_key=None, clock=clock, retry=Idempotency("updateChannelSettings"),
    )  # fmt: skip


async def events_of(db: Database, *kinds: str) -> list[OutboxEventRow]:
    """The outbox events of these kinds, oldest first."""
    async with db.read_sessions() as session:
        rows = await session.scalars(
            select(OutboxEventRow).where(OutboxEventRow.kind.in_(kinds)).order_by(OutboxEventRow.id)
        )
        return list(rows)


async def deliveries(db: Database) -> list[ChannelDeliveryRow]:
    """Every channel delivery, oldest first."""
    async with db.read_sessions() as session:
        rows = await session.scalars(select(ChannelDeliveryRow).order_by(ChannelDeliveryRow.id))
        return list(rows)


def text_of(message: EmailMessage) -> str:
    """The plain-text part."""
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    """The HTML part."""
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def mid(event: OutboxEventRow) -> str:
    """The Message-ID an event's e-mail carries."""
    return f"<loyalty-event-{event.id}.email@shop-a.test>"


async def run_once(db: Database, clock: Clock, config: channels.ChannelConfig) -> None:
    """One pass of every job of the worker."""
    async with httpx.AsyncClient() as http:
        await run_worker(
            db, clock=clock, stop=asyncio.Event(), once=True, client=http, channel_config=config
        )


# -- the scripted day ----------------------------------------------------------------------


async def test_the_scripted_day_mails_each_message_once_and_unsubscribing_stops_marketing(
    gql: GraphQLClient, http: httpx.AsyncClient, db: Database, clock: Clock, mail: Mail
) -> None:
    # given: a shop whose points last 30 days, warned 7 days before, with a threshold
    # reward and its e-mail on; Ann agreed to marketing, Bob did not
    shop = await Shop.open(
        gql, "shop-a", participation="ALL_REGISTERED_CUSTOMERS", validityPolicy="FIXED_DAYS",
        validityDays=30, expiryWarningDays=[7],
        thresholdReward={"enabled": True, "points": 500, "valueType": "PERCENT", "value": "10",
                         "validityDays": 60},
    )  # fmt: skip
    await email_on(db, clock, shop)
    await shop.register("ann", name="Ann", email="ann@example.com", marketingConsent=True)
    await shop.register("bob", name="Bob", email="bob@example.com")
    mailbox, config = mail.box, mail.config
    # the day: orders, Ann passes the threshold, both get an offer
    for order_id, who, price in (("o-1", "ann", "80.00"), ("o-2", "bob", "15.00")):
        recorded = await shop.record(order_id, who, lines=[line("p1", 1, price)])
        assert recorded["userErrors"] == [], recorded
    completed = await shop.step(COMPLETE_ORDER, "o-1")
    assert completed["userErrors"] == [], completed
    await shop.grant("ann", 600)
    await shop.grant("bob", 100)
    spring = await shop.offer("PUNCHCARD", name="Coffee card", **PUNCHCARD)
    await shop.assign(spring, "ann", "bob")
    # 23 days later both are warned that their points expire
    clock.now += timedelta(days=23)
    assert await warn_expiring(db, clock=clock) == 2
    await run_once(db, clock, config)
    # then: each e-mail arrived once, Bob had no marketing mail, orders none
    rewards = await events_of(db, "REWARD_EARNED")  # 80 EUR of order and 600 points: two
    assert len(rewards) == 2
    warnings = await events_of(db, "POINTS_EXPIRING")
    assert len(warnings) == 2
    [ann_offer, bob_offer] = await events_of(db, "OFFER_ASSIGNED")
    assert await events_of(db, "ORDER_RECORDED")
    expected = [*rewards, *warnings, ann_offer]
    assert mailbox.ids() == Counter({mid(event): 1 for event in expected})
    assert mid(bob_offer) not in mailbox.ids()
    # each reward e-mail: to Ann, from the shop, text and HTML, with its voucher's code
    async with db.read_sessions() as session:
        codes = {v.code for v in await session.scalars(select(VoucherRow))}
    for reward in rewards:
        [reward_mail] = [m for m in mailbox.messages if m["Message-ID"] == mid(reward)]
        code = reward.payload["voucher_code"]
        assert code in codes
        assert str(reward_mail["To"]) == "ann@example.com"
        assert str(reward_mail["From"]) == SENDER
        assert reward_mail["Subject"] == "You earned a reward at Shop shop-a"
        assert f"Your code: {code}" in text_of(reward_mail)
        assert code in html_of(reward_mail)
    assert reward_mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mailbox.envelopes[0][0] == "hello@shop-a.test"
    # when: Ann unsubscribes from marketing with the one-click link of the offer e-mail
    [offer_mail] = [m for m in mailbox.messages if m["Message-ID"] == mid(ann_offer)]
    link = "".join(str(offer_mail["List-Unsubscribe"]).split()).strip("<>")  # may be folded
    assert link.startswith("http://testserver/unsubscribe/")
    page = await http.get(link)
    assert page.status_code == 200
    assert "Unsubscribe" in page.text
    form = {"content-type": "application/x-www-form-urlencoded"}
    done = await http.post(link, content=b"List-Unsubscribe=One-Click", headers=form)
    assert done.status_code == 200, done.text
    forged = await http.post(link[:-3] + "AAA", content=b"List-Unsubscribe=One-Click")
    assert forged.status_code == 404
    # and the shop sends another offer, and warns again a week later
    summer = await shop.offer("PUNCHCARD", name="Tea card", **PUNCHCARD)
    await shop.assign(summer, "ann")
    await shop.grant("ann", 10)
    mailbox.messages.clear()
    await run_once(db, clock, config)
    # then: no marketing mail for Ann any more; nothing is sent twice
    assert len(await events_of(db, "OFFER_ASSIGNED")) == 3
    assert mailbox.messages == []
    assert {d.status for d in await deliveries(db)} == {"DELIVERED"}
    assert {d.attempts for d in await deliveries(db)} == {1}


# -- retries -------------------------------------------------------------------------------


async def test_a_server_refusing_three_times_gets_the_mail_on_the_fourth_attempt(
    gql: GraphQLClient, db: Database, clock: Clock, mail: Mail
) -> None:
    # given: Ann earns a reward while the SMTP server answers 451 three times
    shop = await Shop.open(
        gql, "shop-a", participation="ALL_REGISTERED_CUSTOMERS",
        thresholdReward={"enabled": True, "points": 100, "valueType": "PERCENT", "value": "5"},
    )  # fmt: skip
    await email_on(db, clock, shop)
    await shop.register("ann", email="ann@example.com")
    await shop.grant("ann", 150)
    mailbox, config = mail.box, mail.config
    mailbox.refuse(3)
    # when: the worker runs as each backoff passes
    for attempt in range(1, 4):
        await deliver(db, clock, config)
        [row] = await deliveries(db)
        assert (row.status, row.attempts) == ("PENDING", attempt)
        assert row.last_error is not None
        assert row.last_error.startswith("SMTP 451")
        assert row.last_status_code == 451
        await deliver(db, clock, config)
        assert mailbox.refused == attempt, "tried again before its backoff"
        clock.now += backoff(attempt)
    await deliver(db, clock, config)
    # then
    [row] = await deliveries(db)
    assert (row.status, row.attempts, row.last_error) == ("DELIVERED", 4, None)
    assert mailbox.refused == 3
    [message] = mailbox.messages
    assert message["Message-ID"] == row.message_id


async def test_mail_nobody_accepts_ends_dead_after_eight_attempts_and_a_retry_sends_it(
    gql: GraphQLClient, db: Database, clock: Clock, mail: Mail
) -> None:
    # given: an SMTP server that does not answer at all (nobody listens on its port)
    shop = await Shop.open(
        gql, "shop-a", participation="ALL_REGISTERED_CUSTOMERS",
        thresholdReward={"enabled": True, "points": 100, "valueType": "PERCENT", "value": "5"},
    )  # fmt: skip
    await email_on(db, clock, shop)
    await shop.register("ann", email="ann@example.com")
    await shop.grant("ann", 150)
    mailbox, good = mail.box, mail.config
    assert good.smtp is not None
    nobody = dataclasses.replace(good, smtp=dataclasses.replace(good.smtp, port=1))
    # when: every attempt fails until none are left
    for _ in range(20):
        await deliver(db, clock, nobody)
        clock.now += timedelta(hours=7)
    [row] = await deliveries(db)
    assert (row.status, row.attempts) == ("DEAD", 8)
    assert row.last_error is not None
    # then: retrying it sends it, once the server is back
    await channels.retry_delivery(db, delivery_id=row.id, clock=clock)
    await deliver(db, clock, good)
    [row] = await deliveries(db)
    assert (row.status, row.attempts) == ("DELIVERED", 1)
    assert len(mailbox.messages) == 1


async def test_a_mailbox_the_server_says_does_not_exist_is_dead_at_once(
    gql: GraphQLClient, db: Database, clock: Clock, mail: Mail
) -> None:
    # given: the server answers 550 (a permanent refusal)
    shop = await Shop.open(
        gql, "shop-a", participation="ALL_REGISTERED_CUSTOMERS",
        thresholdReward={"enabled": True, "points": 100, "valueType": "PERCENT", "value": "5"},
    )  # fmt: skip
    await email_on(db, clock, shop)
    await shop.register("ann", email="gone@example.com")
    await shop.grant("ann", 150)
    mail.box.refuse(1, "550 5.1.1 No such mailbox")
    # when
    await deliver(db, clock, mail.config)
    clock.now += timedelta(days=1)
    await deliver(db, clock, mail.config)
    # then: not tried again
    [row] = await deliveries(db)
    assert (row.status, row.attempts, row.last_status_code) == ("DEAD", 1, 550)
    assert mail.box.messages == []


async def test_a_claim_too_short_for_a_send_is_given_back_unsent_and_uncounted(
    gql: GraphQLClient, db: Database, clock: Clock, mail: Mail
) -> None:
    # given: a reward to mail, and a worker whose lease (5 s) is shorter than a send may take
    shop = await Shop.open(
        gql, "shop-a", participation="ALL_REGISTERED_CUSTOMERS",
        thresholdReward={"enabled": True, "points": 100, "valueType": "PERCENT", "value": "5"},
    )  # fmt: skip
    await email_on(db, clock, shop)
    await shop.register("ann", email="ann@example.com")
    await shop.grant("ann", 150)
    await channels.dispatch(db, clock=clock, config=mail.config)
    # when
    async with httpx.AsyncClient() as http:
        short = await channels.send_due(
            db, clock=clock, config=mail.config, client=http, lease=timedelta(seconds=5)
        )
        [row] = await deliveries(db)
        usual = await channels.send_due(db, clock=clock, config=mail.config, client=http)
    # then: the short claim sent nothing and left no trace; the next one sent it
    assert short == 0
    assert (row.status, row.attempts, row.lease_until) == ("PENDING", 0, None)
    assert usual == 1
    assert len(mail.box.messages) == 1


async def test_a_delivery_whose_last_claims_worker_died_is_dead_after_the_last_attempt(
    gql: GraphQLClient, db: Database, clock: Clock, mail: Mail
) -> None:
    # given: a delivery whose eighth claim ran out (its worker died mid-send)
    shop = await Shop.open(
        gql, "shop-a", participation="ALL_REGISTERED_CUSTOMERS",
        thresholdReward={"enabled": True, "points": 100, "valueType": "PERCENT", "value": "5"},
    )  # fmt: skip
    await email_on(db, clock, shop)
    await shop.register("ann", email="ann@example.com")
    await shop.grant("ann", 150)
    await channels.dispatch(db, clock=clock, config=mail.config)
    async with UnitOfWork(db) as uow:
        [row] = await uow.session.scalars(select(ChannelDeliveryRow))
        row.attempts, row.lease_until = MAX_ATTEMPTS, clock.now - timedelta(seconds=1)
        await uow.commit()
    # when
    await deliver(db, clock, mail.config)
    # then: not sent a ninth time
    [row] = await deliveries(db)
    assert (row.status, row.attempts) == ("DEAD", MAX_ATTEMPTS)
    assert row.last_error == (
        f"the worker stopped during attempt {MAX_ATTEMPTS} (it may have been sent); not tried again"
    )
    assert mail.box.messages == []


# -- languages -----------------------------------------------------------------------------


SET_LOCALE = """
mutation($input: SetCustomerLocaleInput!) {
  setCustomerLocale(input: $input) { locale userErrors { field code } }
}
"""
UPDATE_TEMPLATE = """
mutation($input: UpdateNotificationTemplateInput!) {
  updateNotificationTemplate(input: $input) { template { event } userErrors { field code } }
}
"""


async def test_a_customer_in_polish_gets_the_polish_words_another_the_sites(
    gql: GraphQLClient, db: Database, clock: Clock, mail: Mail
) -> None:
    # given: the shop's Polish words for a reward; Ann reads Polish, Bob the shop's language
    shop = await Shop.open(
        gql, "shop-a", participation="ALL_REGISTERED_CUSTOMERS",
        thresholdReward={"enabled": True, "points": 100, "valueType": "PERCENT", "value": "5"},
    )  # fmt: skip
    await email_on(db, clock, shop)
    polish = {"emailSubject": "Masz nagrodę w {{ site_name }}",
              "emailHtml": "<p>Twój kod: {{ voucher_code }}</p>",
              "emailText": "Twój kod: {{ voucher_code }}", "pushTitle": "Nagroda",
              "pushBody": "Kod {{ voucher_code }}"}  # fmt: skip
    body = await gql.execute(
        UPDATE_TEMPLATE,
        {"input": {"siteId": shop.site_id, "event": "REWARD_EARNED", "locale": "pl", **polish}},
        token=shop.admin,
    )
    assert body["data"]["updateNotificationTemplate"]["userErrors"] == []
    await shop.register("ann", email="ann@example.com")
    await shop.register("bob", email="bob@example.com")
    chosen = await gql.execute(
        SET_LOCALE, {"input": {"locale": "pl-PL"}}, token=shop.customer("ann")
    )
    assert chosen["data"]["setCustomerLocale"] == {"locale": "pl-PL", "userErrors": []}
    # when
    await shop.grant("ann", 150)
    await shop.grant("bob", 150)
    await deliver(db, clock, mail.config)
    # then
    [to_ann] = mail.box.to("ann@example.com")
    [to_bob] = mail.box.to("bob@example.com")
    assert to_ann["Subject"] == "Masz nagrodę w Shop shop-a"
    assert text_of(to_ann).startswith("Twój kod: ")
    assert to_bob["Subject"] == "You earned a reward at Shop shop-a"


async def test_in_a_polish_shop_customers_without_a_locale_read_its_own_words(
    gql: GraphQLClient, db: Database, clock: Clock, mail: Mail
) -> None:
    # given: a shop whose own language is Polish, with its own words and words for "pl";
    # Bob has no locale and earns first, Ann chose pl
    shop = await Shop.open(
        gql, "shop-a", participation="ALL_REGISTERED_CUSTOMERS", locale="pl",
        thresholdReward={"enabled": True, "points": 100, "valueType": "PERCENT", "value": "5"},
    )  # fmt: skip
    await email_on(db, clock, shop)
    for locale, subject in (("", "Nagroda (sklep)"), ("pl", "Nagroda (pl)")):
        code = "{{ voucher_code }}"
        words = {"emailSubject": subject, "emailHtml": f"<p>{code}</p>", "emailText": code,
                 "pushTitle": subject, "pushBody": "-"}  # fmt: skip
        body = await gql.execute(
            UPDATE_TEMPLATE,
            {"input": {"siteId": shop.site_id, "event": "REWARD_EARNED", "locale": locale,
                       **words}},
            token=shop.admin,
        )  # fmt: skip
        assert body["data"]["updateNotificationTemplate"]["userErrors"] == []
    await shop.register("bob", email="bob@example.com")
    await shop.register("ann", email="ann@example.com")
    chosen = await gql.execute(SET_LOCALE, {"input": {"locale": "pl"}}, token=shop.customer("ann"))
    assert chosen["data"]["setCustomerLocale"]["userErrors"] == []
    # when: both rewards are dispatched in one batch, Bob's first
    await shop.grant("bob", 150)
    await shop.grant("ann", 150)
    await deliver(db, clock, mail.config)
    # then
    [to_bob] = mail.box.to("bob@example.com")
    [to_ann] = mail.box.to("ann@example.com")
    assert (to_bob["Subject"], to_ann["Subject"]) == ("Nagroda (sklep)", "Nagroda (pl)")


# -- two workers ---------------------------------------------------------------------------


@pytest.mark.concurrency
async def test_two_workers_side_by_side_mail_each_of_200_rewards_once(
    gql: GraphQLClient, db: Database, clock: Clock, mail: Mail
) -> None:
    # given: 200 customers, each earning a reward
    shop = await Shop.open(
        gql, "shop-a", participation="ALL_REGISTERED_CUSTOMERS",
        thresholdReward={"enabled": True, "points": 100, "valueType": "PERCENT", "value": "5"},
    )  # fmt: skip
    await email_on(db, clock, shop)
    for n in range(200):
        await shop.register(f"c{n}", email=f"c{n}@example.com")
        await shop.grant(f"c{n}", 100)
    rewards = await events_of(db, "REWARD_EARNED")
    assert len(rewards) == 200
    # when: two workers dispatch and send at the same time
    await asyncio.gather(deliver(db, clock, mail.config), deliver(db, clock, mail.config))
    # then: every reward mailed once
    assert mail.box.ids() == Counter({mid(event): 1 for event in rewards})
    rows = await deliveries(db)
    assert Counter((row.status, row.attempts) for row in rows) == {("DELIVERED", 1): 200}


# -- TLS and credentials -------------------------------------------------------------------


def _server_tls(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context for localhost, and the CA file that verifies it."""
    ca = certificates(tmp_path, "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context, ca


@pytest.mark.parametrize("implicit", [False, True], ids=["smtp+STARTTLS", "smtps"])
async def test_mail_goes_over_tls_with_the_urls_credentials(
    gql: GraphQLClient, db: Database, clock: Clock, tmp_path: Path, implicit: bool
) -> None:
    # given: a server that wants TLS and a login; URLs with the right and a wrong password
    context, ca = _server_tls(tmp_path)
    shop = await Shop.open(
        gql, "shop-a", participation="ALL_REGISTERED_CUSTOMERS",
        thresholdReward={"enabled": True, "points": 100, "valueType": "PERCENT", "value": "5"},
    )  # fmt: skip
    await email_on(db, clock, shop)
    await shop.register("ann", email="ann@example.com")
    await shop.grant("ann", 150)
    tls = Tls(context, implicit=implicit, login=("mailer", "s3cr:t"))
    async with smtp_receiver(tls) as mailbox:
        scheme, starttls = ("smtps", "false") if implicit else ("smtp", "true")
        base = f"{scheme}://mailer:{{}}@localhost:{mailbox.port}?starttls={starttls}&cafile={ca}"
        wrong = channels.ChannelConfig(smtp=parse_smtp_url(base.format("nope")))
        right = channels.ChannelConfig(smtp=parse_smtp_url(base.format("s3cr%3At")))
        # when: first with the wrong password, then (after its backoff) the right one
        await deliver(db, clock, wrong)
        [refused] = await deliveries(db)
        clock.now += backoff(1)
        await deliver(db, clock, right)
    # then: the login refusal was an attempt to try again, the mail went over TLS
    assert refused.status == "PENDING"
    assert refused.last_error is not None
    assert "login refused" in refused.last_error
    [row] = await deliveries(db)
    assert (row.status, row.attempts) == ("DELIVERED", 2)
    assert mailbox.logins == ["mailer"]
    [message] = mailbox.messages
    assert message["Message-ID"] == row.message_id


async def test_an_address_smtp_cannot_carry_is_dead_in_the_log_and_holds_up_nobody(
    gql: GraphQLClient, db: Database, clock: Clock, mail: Mail
) -> None:
    # given: an address the shop accepted but SMTP without SMTPUTF8 cannot carry, and Ann's
    shop = await Shop.open(
        gql, "shop-a", participation="ALL_REGISTERED_CUSTOMERS",
        thresholdReward={"enabled": True, "points": 100, "valueType": "PERCENT", "value": "5"},
    )  # fmt: skip
    await email_on(db, clock, shop)
    await shop.register("jo", email="jörg@example.com")
    await shop.register("ann", email="ann@example.com")
    await shop.grant("jo", 100)
    await shop.grant("ann", 100)
    # when
    await deliver(db, clock, mail.config)
    # then: Ann's mail went; Jörg's is dead, saying why
    assert [str(m["To"]) for m in mail.box.messages] == ["ann@example.com"]
    by_target = {row.target: row for row in await deliveries(db)}
    dead = by_target["jörg@example.com"]
    assert (dead.status, dead.attempts) == ("DEAD", 0)
    assert dead.last_error is not None
    assert dead.last_error.startswith("cannot compose the e-mail")
    assert by_target["ann@example.com"].status == "DELIVERED"
