"""A `loyalty-gql worker` process SIGKILLed while the SMTP server holds its answer to a
message, then another worker: every e-mail arrives, and the only one that can arrive
twice is the one in flight, under the same Message-ID (the receiver counts them)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import ChannelDeliveryRow, OutboxEventRow
from loyalty_gql.domain.customers import CustomerProfile
from loyalty_gql.services import channels, customers
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.core.uow import UnitOfWork
from tests.conftest import DatabaseBackend
from tests.integration.ledger_helpers import SERVICE, shop
from tests.integration.smtp_receiver import Mailbox, smtp_receiver
from tests.support.clock import Clock

CLI = str(Path(sys.executable).with_name("loyalty-gql"))
LEASE_SECONDS = 4  # more than the send timeout (1 s) and its margin (2 s)


@pytest.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    """An SMTP server on 127.0.0.1."""
    async with smtp_receiver() as running:
        yield running


async def _thirty_rewards(db: Database, clock: Clock) -> list[int]:
    """A site with e-mail on, ten customers with addresses, three REWARD_EARNED events
    each in the outbox; their ids."""
    the_shop = await shop(db, clock, code="shop-k")
    await channels.update_channel_settings(
        db, site_id=the_shop.site_id,
        changes=channels.ChannelChanges(email_enabled=True, email_from="Shop <k@shop-k.test>"),
        new_vapid_key=None, clock=clock, retry=Idempotency("updateChannelSettings"),
    )  # fmt: skip
    ids = []
    for n in range(10):
        row = await customers.register_customer(
            db, site_id=the_shop.site_id, enroll=True, actor=SERVICE, clock=clock,
            profile=CustomerProfile(f"k-{n}", email=f"k{n}@example.com"),
        )  # fmt: skip
        ids.append(row.id)
    async with UnitOfWork(db) as uow:
        events = [
            OutboxEventRow(
                site_id=the_shop.site_id, customer_id=customer_id, kind="REWARD_EARNED",
                dedupe_key=f"kill:{customer_id}:{n}", created_at=clock.now,
                payload={"voucher_code": f"CODE-{customer_id}-{n}", "value_type": "PERCENT",
                         "value": "10", "points_spent": 500},
            )
            for customer_id in ids
            for n in range(3)
        ]  # fmt: skip
        uow.session.add_all(events)
        await uow.session.flush()
        event_ids = [event.id for event in events]
        await uow.commit()
    return event_ids


async def test_a_worker_killed_mid_send_and_another_deliver_every_email_none_twice(
    db: Database, backend: DatabaseBackend, clock: Clock, mailbox: Mailbox
) -> None:
    # given: thirty e-mails to send, and an SMTP server that holds its answers
    clock.now = datetime.now(UTC)
    event_ids = await _thirty_rewards(db, clock)
    env = {**os.environ, "LOYALTY_DATABASE_URL": backend.url, "LOYALTY_SMTP_URL": mailbox.url,
           "LOYALTY_CHANNEL_TIMEOUT": "1"}  # fmt: skip
    options = ["--lease-seconds", str(LEASE_SECONDS)]
    mailbox.hold()
    first = await asyncio.create_subprocess_exec(
        CLI, "worker", "--deliver-every", "0.2", *options, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        # when: the worker is killed (no clean-up) while its first message waits for 250
        await mailbox.wait_for(1, within=30)
        first.kill()
        await first.wait()
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
    [in_flight] = mailbox.messages
    mailbox.release()
    await asyncio.sleep(LEASE_SECONDS + 0.5)  # its leases run out
    second = await asyncio.create_subprocess_exec(
        CLI, "worker", "--once", *options, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(second.communicate(), timeout=60)
    # then: every e-mail arrived; the receiver's count of Message-IDs has each once,
    # except the one in flight at the kill, repeated under its Message-ID, byte for byte
    assert second.returncode == 0, err.decode()
    expected = {f"<loyalty-event-{n}.email@shop-k.test>" for n in event_ids}
    received = mailbox.ids()
    assert set(received) == expected
    assert {mid: n for mid, n in received.items() if n > 1} == {in_flight["Message-ID"]: 2}
    copies = [raw for raw, m in zip(mailbox.raw, mailbox.messages, strict=True)
              if m["Message-ID"] == in_flight["Message-ID"]]  # fmt: skip
    assert copies[0] == copies[1]
    async with db.read_sessions() as session:
        rows = list(await session.scalars(select(ChannelDeliveryRow)))
    assert len(rows) == 30
    assert {row.status for row in rows} == {"DELIVERED"}
    assert {row.lease_until for row in rows} == {None}
    by_attempts = sorted(row.attempts for row in rows)
    assert by_attempts[-1] == 2, "the claims the killed worker held count as attempts"
