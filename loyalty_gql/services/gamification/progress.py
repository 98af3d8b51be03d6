"""Challenge progress, kept in the transaction of the fact that makes it: a completed
order (``on_order_completed``), a cancelled or refunded one (``on_order_uncounted``), a
recorded activity (``on_activity``). Completions are recorded under a unique number and
rewarded once: points through the ledger, a voucher of an offer, a badge.

While a site has no published challenge (``sites.live_challenges`` is 0) the hooks
return before any statement. A completion already rewarded stays when an order it
counted is cancelled, unless the challenge reverses (``reverse_on_cancel``): its points
are then taken back (vouchers and badges given stay)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from loyalty_gql.db.models import (
    ChallengeCompletionRow,
    ChallengeFactRow,
    ChallengeProgressRow,
    ChallengeRow,
    LedgerEntryRow,
    OrderLineRow,
    OrderRow,
)
from loyalty_gql.db.repositories import gamification as repo
from loyalty_gql.db.repositories.orders import ledger_entry, lines_of_order
from loyalty_gql.db.repositories.points.ledger import add_event_once
from loyalty_gql.domain.gamification.challenges import (
    Challenge,
    Fact,
    FactKind,
    FactLine,
    GoalKind,
    Progress,
    milestones_crossed,
    progress,
)
from loyalty_gql.domain.gamification.rewards import RewardKind
from loyalty_gql.domain.points import SourceType
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.gamification.badges import GrantKind, GrantSource, grant_badge
from loyalty_gql.services.gamification.challenges import challenge_of
from loyalty_gql.services.leaderboards import count_challenge_completed
from loyalty_gql.services.offers.gifts import give_offer_voucher
from loyalty_gql.services.points.ledger import AccountBook, Source, ledger_key

ACTOR = "system:challenge"


def order_key(order: OrderRow) -> str:
    """The fact key of an order."""
    return f"order:{order.id}"


def fact_of(row: ChallengeFactRow) -> Fact:
    """The domain's fact of a row."""
    return Fact(
        key=row.fact_key,
        kind=FactKind(row.kind),
        at=row.at,
        counts=row.counts,
        amount_minor=row.amount_minor,
        lines=tuple(
            FactLine(str(line["product_id"]), str(line["category"]), int(line["paid_minor"]))
            for line in row.lines
        ),
        activity_code=row.activity_code,
    )


def _needs_lines(row: ChallengeRow) -> bool:
    kind = GoalKind(row.goal_kind)
    return kind is GoalKind.DISTINCT_PRODUCTS or (kind is GoalKind.AMOUNT and bool(row.categories))


def _lines(lines: Sequence[OrderLineRow]) -> list[dict[str, object]]:
    return [
        {
            "product_id": line.product_id,
            "category": line.category,
            "paid_minor": max(line.final_minor - line.refunded_minor, 0),
        }
        for line in sorted(lines, key=lambda line: line.line_id)
        if line.refunded_quantity < line.quantity
    ]


async def _open_for(book: AccountBook, kind: FactKind, activity: str | None) -> list[ChallengeRow]:
    """The site's open challenges this customer takes part in that count this kind of fact."""
    rows = await repo.open_challenges(book.session, book.site.id, book.now)
    groups, tier_id = book.customer.groups, book.account.tier_id
    found = []
    for row in rows:
        challenge = challenge_of(row)
        if not challenge.audience.admits(groups, tier_id):
            continue
        counts = challenge.goal.counts if challenge.goal.kind is GoalKind.COUNT else FactKind.ORDER
        if counts is not kind:
            continue
        if kind is FactKind.ACTIVITY and challenge.goal.activity_code != activity:
            continue
        found.append(row)
    return found


async def on_order_completed(uow: UnitOfWork, book: AccountBook, order: OrderRow) -> None:
    """The order counts now towards the open challenges the customer takes part in."""
    if not book.site.live_challenges:
        return
    rows = await _open_for(book, FactKind.ORDER, None)
    if not rows:
        return
    lines = (
        _lines(list((await lines_of_order(uow.session, order.id)).values()))
        if any(_needs_lines(row) for row in rows)
        else []
    )
    for row in rows:
        uow.session.add(
            ChallengeFactRow(
                challenge_id=row.id,
                customer_id=book.customer.id,
                fact_key=order_key(order),
                kind=FactKind.ORDER.value,
                at=book.now,
                counts=True,
                amount_minor=max(order.total_minor - order.refunded_minor, 0),
                lines=lines if _needs_lines(row) else [],
            )
        )
    await uow.session.flush()
    await _settle(uow, book, rows)


async def on_order_uncounted(
    uow: UnitOfWork,
    book: AccountBook,
    order: OrderRow,
    *,
    in_full: bool,
    lines: Sequence[OrderLineRow] | None = None,
) -> None:
    """A cancellation or refund: the order takes back the progress it made (all of it
    ``in_full``, else what was refunded of its amount and lines). Only an order that was
    completed ever counted."""
    if order.completed_at is None:
        return
    facts = await repo.facts_by_key(uow.session, book.customer.id, order_key(order))
    if not facts:
        return
    for fact in facts:
        fact.counts = fact.counts and not in_full
        fact.amount_minor = max(order.total_minor - order.refunded_minor, 0)
        if lines is not None and fact.lines:
            fact.lines = _lines(lines)
    await uow.session.flush()
    rows = await repo.challenges_by_ids(uow.session, sorted({f.challenge_id for f in facts}))
    await _settle(uow, book, [rows[pk] for pk in sorted(rows)])


async def on_activity(uow: UnitOfWork, book: AccountBook, entry: LedgerEntryRow) -> None:
    """A rewarded activity counts towards the open challenges counting its code."""
    if not book.site.live_challenges or entry.activity_code is None:
        return
    rows = await _open_for(book, FactKind.ACTIVITY, entry.activity_code)
    if not rows:
        return
    for row in rows:
        uow.session.add(
            ChallengeFactRow(
                challenge_id=row.id,
                customer_id=book.customer.id,
                fact_key=f"activity:{entry.id}",
                kind=FactKind.ACTIVITY.value,
                at=book.now,
                counts=True,
                amount_minor=0,
                lines=[],
                activity_code=entry.activity_code,
            )
        )
    await uow.session.flush()
    await _settle(uow, book, rows)


async def _settle(uow: UnitOfWork, book: AccountBook, rows: Sequence[ChallengeRow]) -> None:
    """Measure each challenge again from its facts: record and reward new completions,
    reverse those no longer supported (reverse_on_cancel), keep the progress and announce
    the milestones passed."""
    session, customer_id, now = uow.session, book.customer.id, book.now
    ids = [row.id for row in rows]
    facts = await repo.facts_of(session, customer_id, ids)
    done = await repo.completions_of(session, customer_id, ids)
    stored = await repo.progress_rows(session, customer_id, ids)
    zone = book.settings.zone
    for row in rows:
        challenge = challenge_of(row)
        recorded = [c for c in done[row.id] if c.reversed_at is None]
        numbered = max((c.number for c in done[row.id]), default=0)
        result = progress(
            challenge,
            [fact_of(f) for f in facts[row.id]],
            [(c.completed_at, c.fact_key or "") for c in recorded],
            now,
            zone,
        )
        for number in result.to_reverse:
            await _reverse(book, row, recorded[number - 1])
        for offset, (at, key) in enumerate(zip(result.due, result.due_keys, strict=True)):
            await _complete(
                uow, book, row, challenge, number=numbered + offset + 1, at=at, fact_key=key
            )
        await _note(uow, book, row, stored.get(row.id), result)


async def _note(
    uow: UnitOfWork,
    book: AccountBook,
    row: ChallengeRow,
    previous: ChallengeProgressRow | None,
    result: Progress,
) -> None:
    """Keep the progress; a CHALLENGE_PROGRESS event for the highest milestone passed."""
    now = book.now
    same_round = previous is not None and previous.completed == result.completed
    before = previous.value if previous is not None and same_round else 0
    if previous is None:
        previous = ChallengeProgressRow(
            challenge_id=row.id, customer_id=book.customer.id, value=0, completed=0, updated_at=now
        )
        uow.session.add(previous)
    previous.value, previous.completed, previous.updated_at = (
        result.value,
        result.completed,
        now,
    )
    crossed = () if result.finished else milestones_crossed(result.target, before, result.value)
    if crossed and not (result.completion_due and result.value >= result.target):
        mark = crossed[-1]
        await add_event_once(
            uow.session,
            site_id=row.site_id,
            customer_id=book.customer.id,
            kind="CHALLENGE_PROGRESS",
            dedupe_key=ledger_key(
                "challenge-progress", row.id, book.customer.id, result.completed, mark
            ),
            payload={
                "challenge_id": row.id,
                "challenge_code": row.code,
                "challenge_name": row.name,
                "progress_value": result.value,
                "progress_target": result.target,
                "milestone": mark,
                "ends_at": result.ends_at.isoformat() if result.ends_at else None,
            },
            now=now,
        )
    await uow.session.flush()


async def _complete(
    uow: UnitOfWork,
    book: AccountBook,
    row: ChallengeRow,
    challenge: Challenge,
    *,
    number: int,
    at: datetime,
    fact_key: str,
) -> None:
    """Record completion ``number`` and give its rewards, once."""
    session, customer, now = uow.session, book.customer, book.now
    completion_id = await repo.insert_completion_once(
        session,
        site_id=row.site_id,
        challenge_id=row.id,
        customer_id=customer.id,
        number=number,
        completed_at=at,
        fact_key=fact_key,
        now=now,
    )
    if completion_id is None:
        return  # recorded (and rewarded) by another transaction
    await count_challenge_completed(uow, book.site, customer.id, at)  # leaderboards
    completion = await repo.completion_by_id(session, completion_id)
    assert completion is not None  # noqa: S101 - inserted above
    points = sum(r.points for r in challenge.rewards if r.kind is RewardKind.POINTS)
    if points:
        source = Source(
            SourceType.CHALLENGE, ACTOR, f"challenge:{row.code}", reason=f"completed {row.name}"
        )
        entry = await book.earn(
            points, source, ledger_key("challenge", row.id, customer.id, number)
        )
        completion.ledger_entry_id = entry.id
    voucher_codes: list[str] = []
    for reward in challenge.rewards:
        if reward.kind is RewardKind.VOUCHER and reward.offer_id is not None:
            voucher = await give_offer_voucher(uow, book.site, customer, reward.offer_id, now)
            if voucher is not None:
                completion.voucher_ids = [*completion.voucher_ids, voucher.id]
                voucher_codes.append(voucher.code)
    for stored in row.rewards:
        if stored.get("kind") == RewardKind.BADGE.value and stored.get("badge_code"):
            code = str(stored["badge_code"])
            source_ = GrantSource(GrantKind.CHALLENGE, ACTOR, ref=f"challenge:{row.code}")
            if await grant_badge(uow, book.site, customer, code, source=source_, at=now):
                completion.badge_codes = [*completion.badge_codes, code]
    await add_event_once(
        session,
        site_id=row.site_id,
        customer_id=customer.id,
        kind="CHALLENGE_COMPLETED",
        dedupe_key=ledger_key("challenge-completed", row.id, customer.id, number),
        payload={
            "challenge_id": row.id,
            "challenge_code": row.code,
            "challenge_name": row.name,
            "number": number,
            "points": points,
            "voucher_codes": voucher_codes,
            "badge_codes": list(completion.badge_codes),
            "completed_at": at.isoformat(),
        },
        now=now,
    )
    await session.flush()


async def _reverse(
    book: AccountBook, row: ChallengeRow, completion: ChallengeCompletionRow
) -> None:
    """The shop reverses completions no longer supported: the reward's points go back
    (what the customer still has of them); vouchers and badges given stay."""
    completion.reversed_at = book.now
    await count_challenge_completed(
        book.uow, book.site, book.customer.id, completion.completed_at, completions=-1
    )  # leaderboards
    entry = await ledger_entry(book.session, completion.ledger_entry_id)
    if entry is not None:
        taking = min(entry.points, await book.reversible(entry))
        if taking > 0:
            source = Source(
                SourceType.CHALLENGE, ACTOR, f"challenge:{row.code}", reason="completion reversed"
            )
            key = ledger_key("challenge-reverse", row.id, completion.customer_id, completion.number)
            await book.reverse(entry, taking, source, key)
    await book.session.flush()
