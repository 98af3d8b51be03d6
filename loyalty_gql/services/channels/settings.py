"""What a site's admins set: its channels (on or off, events, sender, push link, VAPID
key), and sending a delivery again."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import ChannelDeliveryRow, ChannelSettingsRow
from loyalty_gql.db.repositories import channels as stored
from loyalty_gql.db.repositories.sites import site_by_id
from loyalty_gql.db.session import Session
from loyalty_gql.domain.channels import DEFAULT_EMAIL_EVENTS, DEFAULT_PUSH_EVENTS
from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.webhooks.deliveries import DeliveryStatus
from loyalty_gql.services import notifications
from loyalty_gql.services.channels.push import public_key
from loyalty_gql.services.core.common import Clock
from loyalty_gql.services.core.idempotency import Idempotency, run_once
from loyalty_gql.services.core.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class ChannelChanges:
    """What an admin changes of a site's channels (None: unchanged)."""

    email_enabled: bool | None = None
    email_from: str | None = None
    email_events: tuple[str, ...] | None = None
    push_enabled: bool | None = None
    push_events: tuple[str, ...] | None = None
    push_link: str | None = None
    vapid_subject: str | None = None


def default_settings(site_id: int) -> ChannelSettingsRow:
    """A site's channels before its admins set them: off, with the usual events."""
    return ChannelSettingsRow(
        site_id=site_id, email_enabled=False, email_from=None,
        email_events=list(DEFAULT_EMAIL_EVENTS), push_enabled=False,
        push_events=list(DEFAULT_PUSH_EVENTS), push_link="", vapid_private_key=None,
        vapid_subject=None,
    )  # fmt: skip


async def channel_settings(session: Session, site_id: int) -> ChannelSettingsRow:
    """The site's channel settings, or the defaults when none are stored."""
    return await stored.settings_of_site(session, site_id) or default_settings(site_id)


def _check(changes: ChannelChanges) -> None:
    problems = []
    for field, events in (("email_events", changes.email_events),
                          ("push_events", changes.push_events)):  # fmt: skip
        unknown = sorted(set(events or ()) - set(notifications.EVENTS))
        if unknown:
            problems.append(_invalid((field,), f"unknown events: {unknown}"))
    sender = changes.email_from
    if sender is not None and (problem := _sender_problem(sender)) is not None:
        problems.append(_invalid(("email_from",), problem))
    if changes.vapid_subject is not None and not changes.vapid_subject.startswith(
        ("mailto:", "https://")
    ):
        problems.append(_invalid(("vapid_subject",), "a mailto: or https: contact is needed"))
    if changes.push_link:
        try:
            notifications.render_line(changes.push_link, notifications.SAMPLE)
        except Exception as error:
            problems.append(_invalid(("push_link",), f"the link fails to render: {error}"))
    if problems:
        raise DomainError(problems)


async def update_channel_settings(
    db: Database,
    *,
    site_id: int,
    changes: ChannelChanges,
    new_vapid_key: str | None,
    clock: Clock,
    retry: Idempotency | None,
) -> ChannelSettingsRow:
    """Change a site's channels; with ``new_vapid_key`` the site signs pushes with its own
    key from now on (subscriptions made with the old one stop working)."""
    _check(changes)
    now = clock()

    async def work(uow: UnitOfWork) -> ChannelSettingsRow:
        if await site_by_id(uow.session, site_id) is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "site_id")
        row = await stored.settings_of_site(uow.session, site_id, lock=uow.is_postgres)
        if row is None:
            row = default_settings(site_id)
            uow.session.add(row)
        for name, value in _items(changes):
            setattr(row, name, list(value) if isinstance(value, tuple) else value)
        if new_vapid_key is not None:
            row.vapid_private_key = new_vapid_key
        row.updated_at = now
        await uow.session.flush()
        return row

    request = {k: list(v) if isinstance(v, tuple) else v for k, v in _items(changes)}
    return await run_once(
        db, scope=f"site:{site_id}", retry=retry,
        request={"channels": request, "new_key": new_vapid_key is not None}, now=now,
        work=work, dump=lambda row: {"site": row.site_id}, load=_load_settings,
    )  # fmt: skip


def _items(changes: ChannelChanges) -> list[tuple[str, Any]]:
    return [(name, getattr(changes, name)) for name in ChannelChanges.__slots__
            if getattr(changes, name) is not None]  # fmt: skip


def application_server_key(row: ChannelSettingsRow, deployment_key: str | None) -> str | None:
    """The public VAPID key browsers subscribe with for this site."""
    key = row.vapid_private_key or deployment_key
    return public_key(key) if key else None


async def retry_delivery(db: Database, *, delivery_id: int, clock: Clock) -> ChannelDeliveryRow:
    """Send a delivery again at once (a DEAD one gets a fresh set of attempts)."""
    async with UnitOfWork(db) as uow:
        row = await stored.delivery_by_id(uow.session, delivery_id)
        if row is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such delivery", "delivery_id")
        if row.status == DeliveryStatus.DELIVERED:
            raise DomainError.single(
                ErrorCode.INVALID_STATE, "the delivery was delivered already", "delivery_id"
            )
        if row.status == DeliveryStatus.DEAD:
            row.attempts = 0
        row.status = DeliveryStatus.PENDING
        row.next_attempt_at = clock()
        row.lease_until = None
        await uow.commit()
        return row


def _sender_problem(sender: str) -> str | None:
    _, address = parseaddr(sender)
    local, _, domain = address.partition("@")
    if "\r" in sender or "\n" in sender or not local or "." not in domain or len(sender) > 320:
        return "an address like Shop <news@shop.example> is needed"
    return None


def _invalid(path: tuple[str, ...], message: str) -> FieldProblem:
    return FieldProblem(path, ErrorCode.INVALID_VALUE, message)


async def _load_settings(session: Session, saved: dict[str, Any]) -> ChannelSettingsRow:
    return await channel_settings(session, saved["site"])
