"""Points granted, spent, earned, activated and reversed, each once per key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CustomerRow, LedgerEntryRow, SiteRow
from loyalty_gql.db.repositories.customers import customer_by_id
from loyalty_gql.db.repositories.points.ledger import entry_by_id
from loyalty_gql.db.repositories.sites import site_by_id
from loyalty_gql.db.session import Session
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.points import SourceType, check_points
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import Idempotency, run_once
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.points.ledger import (
    AccountBook,
    Source,
    auto_key,
    ledger_key,
    open_book,
)

MAX_REASON = 500


MAX_REFERENCE = 200


@dataclass(frozen=True, slots=True)
class Participant:
    """A customer with their site, checked to take part in the program."""

    site: SiteRow
    customer: CustomerRow


async def participant(
    uow: UnitOfWork, customer_id: int, *, need_program: bool = True, need_enrolled: bool = True
) -> Participant:
    """The customer and site, refusing with PROGRAM_DISABLED or NOT_ENROLLED."""
    customer = await customer_by_id(uow.session, customer_id)
    if customer is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such customer", "customer_id")
    site = await site_by_id(uow.session, customer.site_id)
    if site is None:  # pragma: no cover - foreign key
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such site")
    if need_program and not site.program_enabled:
        raise DomainError.single(
            ErrorCode.PROGRAM_DISABLED, "the loyalty program of this site is switched off"
        )
    if need_enrolled and customer.enrolled_at is None:
        raise DomainError.single(
            ErrorCode.NOT_ENROLLED, "the customer is not enrolled in the program", "customer_id"
        )
    return Participant(site, customer)


async def open_customer_book(uow: UnitOfWork, who: Participant, now: datetime) -> AccountBook:
    return await open_book(uow, who.site, who.customer, now)


def _entry_outcome(entry: LedgerEntryRow) -> dict[str, Any]:
    return {"entry": entry.id}


async def load_entry(session: Session, stored: dict[str, Any]) -> LedgerEntryRow:
    entry = await entry_by_id(session, stored["entry"])
    if entry is None:  # pragma: no cover - entries are never deleted
        raise DomainError.single(ErrorCode.NOT_FOUND, "the entry is gone")
    return entry


def _entry_key(prefix: str, owner: int, idempotency_key: str | None) -> str:
    """The ledger key of an entry: derived from the caller's key, else a fresh one."""
    return ledger_key(prefix, owner, idempotency_key) if idempotency_key else auto_key(prefix)


async def _entry_once(
    db: Database,
    *,
    scope: str,
    retry: Idempotency,
    request: dict[str, Any],
    now: datetime,
    work: Callable[[UnitOfWork], Awaitable[LedgerEntryRow]],
) -> LedgerEntryRow:
    """run_once for use cases whose result is one ledger entry."""
    return await run_once(
        db, scope=scope, retry=retry, request=request, now=now,
        work=work, dump=_entry_outcome, load=load_entry,
    )  # fmt: skip


def _reason(reason: str | None, *, required: bool) -> str | None:
    text = (reason or "").strip()
    if required and not text:
        raise DomainError.single(ErrorCode.REQUIRED, "give a reason", "reason")
    if len(text) > MAX_REASON:
        raise DomainError.single(
            ErrorCode.INVALID_VALUE, f"at most {MAX_REASON} characters", "reason"
        )
    return text or None


async def grant_points(
    db: Database,
    *,
    customer_id: int,
    points: int,
    reason: str,
    actor: Actor,
    clock: Clock,
    retry: Idempotency,
) -> LedgerEntryRow:
    """An admin adds (positive) or removes (negative) points, with a reason."""
    check_points(points, allow_negative=True)
    why = _reason(reason, required=True)
    now = clock()

    async def work(uow: UnitOfWork) -> LedgerEntryRow:
        who = await participant(uow, customer_id, need_program=False, need_enrolled=points > 0)
        book = await open_customer_book(uow, who, now)
        source = Source(SourceType.ADMIN, str(actor), reason=why)
        key = _entry_key("grant", customer_id, retry.key)
        return await book.adjust(points, source, key)

    return await _entry_once(
        db, scope=f"customer:{customer_id}", retry=retry,
        request={"customer": customer_id, "points": points, "reason": why}, now=now, work=work,
    )  # fmt: skip


async def spend_points(
    db: Database,
    *,
    customer_id: int,
    points: int,
    source_ref: str | None,
    actor: Actor,
    clock: Clock,
    retry: Idempotency,
) -> LedgerEntryRow:
    """Spend a customer's points (oldest-expiring first); INSUFFICIENT_POINTS otherwise."""
    check_points(points)
    now = clock()

    async def work(uow: UnitOfWork) -> LedgerEntryRow:
        who = await participant(uow, customer_id)
        book = await open_customer_book(uow, who, now)
        key = _entry_key("spend", customer_id, retry.key)
        return await book.spend(points, Source(SourceType.OFFER, str(actor), source_ref), key)

    return await _entry_once(
        db, scope=f"customer:{customer_id}", retry=retry,
        request={"customer": customer_id, "points": points, "ref": source_ref}, now=now, work=work,
    )  # fmt: skip


async def earn_points(
    db: Database,
    *,
    customer_id: int,
    points: int,
    pending: bool,
    source: SourceType,
    source_ref: str | None,
    actor: Actor,
    clock: Clock,
    retry: Idempotency,
) -> LedgerEntryRow:
    """Credit points (pending or available); an ORDER source also resets rolling expiry."""
    check_points(points)
    now = clock()

    async def work(uow: UnitOfWork) -> LedgerEntryRow:
        who = await participant(uow, customer_id)
        book = await open_customer_book(uow, who, now)
        key = _entry_key("earn", customer_id, retry.key)
        if source is SourceType.ORDER:
            await book.note_order(None)
        return await book.earn(points, Source(source, str(actor), source_ref), key, pending=pending)

    return await _entry_once(
        db, scope=f"customer:{customer_id}", retry=retry,
        request={"customer": customer_id, "points": points, "pending": pending,
                 "source": source.value, "ref": source_ref}, now=now, work=work,
    )  # fmt: skip  # fmt: skip


async def activate_points(
    db: Database, *, entry_id: int, actor: Actor, clock: Clock, retry: Idempotency
) -> LedgerEntryRow:
    """Make a PENDING entry's points available."""
    now = clock()

    async def work(uow: UnitOfWork) -> LedgerEntryRow:
        pending = await _entry(uow, entry_id)
        who = await participant(uow, pending.customer_id, need_program=False)
        book = await open_customer_book(uow, who, now)
        key = ledger_key("activate", entry_id, retry.key or "")
        return await book.activate(pending, key)

    return await _entry_once(
        db, scope=f"entry:{entry_id}", retry=retry,
        request={"entry": entry_id}, now=now, work=work,
    )  # fmt: skip


async def reverse_entry(
    db: Database,
    *,
    entry_id: int,
    points: int | None,
    reason: str | None,
    actor: Actor,
    clock: Clock,
    retry: Idempotency,
) -> LedgerEntryRow:
    """Undo an entry in whole or in part (refunds, cancellations, corrections)."""
    why = _reason(reason, required=False)
    now = clock()

    async def work(uow: UnitOfWork) -> LedgerEntryRow:
        original = await _entry(uow, entry_id)
        who = await participant(uow, original.customer_id, need_program=False, need_enrolled=False)
        book = await open_customer_book(uow, who, now)
        key = _entry_key("reverse", entry_id, retry.key)
        source = Source(SourceType.REVERSAL, str(actor), original.source_ref, why)
        return await book.reverse(original, points, source, key)

    return await _entry_once(
        db, scope=f"entry:{entry_id}", retry=retry,
        request={"entry": entry_id, "points": points, "reason": why}, now=now, work=work,
    )  # fmt: skip


async def _entry(uow: UnitOfWork, entry_id: int) -> LedgerEntryRow:
    entry = await entry_by_id(uow.session, entry_id)
    if entry is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such ledger entry", "entry_id")
    return entry
