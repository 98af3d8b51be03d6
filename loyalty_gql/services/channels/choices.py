"""What customers choose: their language, unsubscribes and opt-outs, push subscriptions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import PushSubscriptionRow
from loyalty_gql.db.repositories import channels as stored
from loyalty_gql.db.repositories.customers import customer_by_id
from loyalty_gql.db.session import Session
from loyalty_gql.domain.channels import (
    Category,
    Channel,
    read_unsubscribe_token,
)
from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.webhooks import targets as webhook_targets
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
        # the customer's row locked (PostgreSQL; SQLite has one writer): two registrations
        # of one browser at once, or past the cap, take turns instead of one failing
        customer = await customer_by_id(uow.session, customer_id, lock=uow.is_postgres)
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


def _invalid(path: tuple[str, ...], message: str) -> FieldProblem:
    return FieldProblem(path, ErrorCode.INVALID_VALUE, message)


def _base64url(text: str) -> bool:
    return all(c.isalnum() or c in "-_=" for c in text)


async def _load_subscription(session: Session, saved: dict[str, Any]) -> PushSubscriptionRow:
    found = await stored.subscriptions_by_ids(session, [saved["id"]])
    if saved["id"] not in found:
        raise DomainError.single(ErrorCode.NOT_FOUND, "the subscription was removed since")
    return found[saved["id"]]
