"""What customers choose (their language, unsubscribes, push subscriptions) and what a
site's admins set (its channels), and sending a delivery again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import ChannelDeliveryRow, ChannelSettingsRow, PushSubscriptionRow
from loyalty_gql.db.repositories import channels as stored
from loyalty_gql.db.repositories.customers import customer_by_id
from loyalty_gql.db.repositories.sites import site_by_id
from loyalty_gql.db.session import Session
from loyalty_gql.domain.channels import (
    DEFAULT_EMAIL_EVENTS,
    DEFAULT_PUSH_EVENTS,
    Category,
    Channel,
    read_unsubscribe_token,
)
from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.webhooks import targets as webhook_targets
from loyalty_gql.domain.webhooks.deliveries import DeliveryStatus
from loyalty_gql.services import notifications
from loyalty_gql.services.channels.push import public_key
from loyalty_gql.services.core.common import Clock
from loyalty_gql.services.core.idempotency import Idempotency, run_once
from loyalty_gql.services.core.uow import UnitOfWork

MAX_SUBSCRIPTIONS = 10  # browsers and devices of one customer


MAX_ENDPOINT = 2000


async def unsubscribe(db: Database, *, secret: bytes, token: str, clock: Clock) -> bool:
    """Opt the customer a signed link names out of its category of e-mail; False when the
    link is not one of ours (or the customer is gone). Doing it twice changes nothing."""
    named = read_unsubscribe_token(secret, token)
    if named is None:
        return False
    customer_id, category = named
    async with UnitOfWork(db) as uow:
        customer = await customer_by_id(uow.session, customer_id)
        if customer is None:
            return False
        await stored.add_opt_out(
            uow.session,
            {"site_id": customer.site_id, "customer_id": customer.id, "channel": Channel.EMAIL,
             "category": category, "created_at": clock()},
        )  # fmt: skip
        await uow.commit()
    return True


async def choose_messages(
    db: Database,
    *,
    customer_id: int,
    channel: Channel,
    category: Category,
    receive: bool,
    clock: Clock,
) -> bool:
    """A customer's choice to receive (or not) one category of messages on one channel;
    marketing still needs their consent. Returns ``receive``."""
    async with UnitOfWork(db) as uow:
        customer = await customer_by_id(uow.session, customer_id)
        if customer is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such customer", "customer_id")
        if receive:
            await stored.remove_opt_out(uow.session, customer_id, channel, category)
        else:
            await stored.add_opt_out(
                uow.session,
                {"site_id": customer.site_id, "customer_id": customer_id, "channel": channel,
                 "category": category, "created_at": clock()},
            )  # fmt: skip
        await uow.commit()
    return receive


@dataclass(frozen=True, slots=True)
class PushKeys:
    """A browser's PushSubscription as its JSON gives it."""

    endpoint: str
    p256dh: str
    auth: str


async def register_push_subscription(
    db: Database,
    *,
    customer_id: int,
    keys: PushKeys,
    clock: Clock,
    retry: Idempotency | None,
    allow_private: bool = False,
) -> PushSubscriptionRow:
    """Keep the customer's browser subscription (again: its keys are replaced)."""
    endpoint = keys.endpoint.strip()
    problems = []
    if len(endpoint) > MAX_ENDPOINT:
        problems.append(_invalid(("endpoint",), f"at most {MAX_ENDPOINT} characters"))
    problem = webhook_targets.url_problem(endpoint, allow_private=allow_private)
    if problem is not None or (not endpoint.startswith("https://") and not allow_private):
        problems.append(_invalid(("endpoint",), problem or "a push service's https URL is needed"))
    for name, value, longest in (("p256dh", keys.p256dh, 200), ("auth", keys.auth, 100)):
        if not value or len(value) > longest or not _base64url(value):
            problems.append(_invalid(("keys", name), "base64url text from the subscription"))
    if problems:
        raise DomainError(problems)
    now = clock()

    async def work(uow: UnitOfWork) -> PushSubscriptionRow:
        customer = await customer_by_id(uow.session, customer_id)
        if customer is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such customer")
        row = await stored.subscription_of(uow.session, customer_id, endpoint)
        if row is None:
            held = await stored.subscriptions_of_customers(uow.session, [customer_id])
            if len(held.get(customer_id, [])) >= MAX_SUBSCRIPTIONS:
                raise DomainError.single(
                    ErrorCode.INVALID_STATE,
                    f"at most {MAX_SUBSCRIPTIONS} subscriptions; remove one first",
                    "endpoint",
                )
            row = PushSubscriptionRow(
                site_id=customer.site_id, customer_id=customer_id, endpoint=endpoint,
                created_at=now,
            )  # fmt: skip
            uow.session.add(row)
        row.p256dh, row.auth = keys.p256dh, keys.auth
        await uow.session.flush()
        return row

    return await run_once(
        db, scope=f"customer:{customer_id}", retry=retry,
        request={"endpoint": endpoint, "p256dh": keys.p256dh, "auth": keys.auth}, now=now,
        work=work, dump=lambda row: {"id": row.id}, load=_load_subscription,
    )  # fmt: skip


async def remove_push_subscription(db: Database, *, customer_id: int, endpoint: str) -> bool:
    """Forget the customer's subscription at ``endpoint``; False when there was none."""
    async with UnitOfWork(db) as uow:
        row = await stored.subscription_of(uow.session, customer_id, endpoint.strip())
        if row is None:
            return False
        await stored.remove_subscription(uow.session, row.id)
        await uow.commit()
    return True


async def set_customer_locale(
    db: Database, *, customer_id: int, locale: str | None, clock: Clock
) -> str | None:
    """Set the language the customer's messages are written in (None: the site's)."""
    if locale is not None:
        locale = locale.strip().replace("_", "-")
        parts = locale.split("-")
        if not locale or len(locale) > 35 or not all(p.isalnum() and len(p) <= 8 for p in parts):
            raise DomainError.single(
                ErrorCode.INVALID_VALUE, "a locale like pl or de-AT is needed", "locale"
            )
    async with UnitOfWork(db) as uow:
        customer = await customer_by_id(uow.session, customer_id)
        if customer is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such customer", "customer_id")
        customer.locale = locale
        customer.updated_at = clock()
        await uow.commit()
    return locale


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
    if changes.email_from is not None and "@" not in changes.email_from:
        problems.append(_invalid(("email_from",), "an address like Shop <news@shop.example>"))
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


def _invalid(path: tuple[str, ...], message: str) -> FieldProblem:
    return FieldProblem(path, ErrorCode.INVALID_VALUE, message)


def _base64url(text: str) -> bool:
    return all(c.isalnum() or c in "-_=" for c in text)


async def _load_subscription(session: Session, saved: dict[str, Any]) -> PushSubscriptionRow:
    found = await stored.subscriptions_by_ids(session, [saved["id"]])
    if saved["id"] not in found:
        raise DomainError.single(ErrorCode.NOT_FOUND, "the subscription was removed since")
    return found[saved["id"]]


async def _load_settings(session: Session, saved: dict[str, Any]) -> ChannelSettingsRow:
    return await channel_settings(session, saved["site"])
