"""The ledger's write primitives, used inside another service's transaction.

`open_book` locks a customer's account; every method of the book appends one
entry and changes the account, the lots and the daily rollup in the same
transaction, so the account always equals its ledger. Use cases (grant, spend,
activities, orders, offers) compose these; only they commit.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from loyalty_gql.db.models import (
    CustomerRow,
    LedgerEntryRow,
    PointLotRow,
    SiteRow,
    VoucherRow,
)
from loyalty_gql.db.repositories.points import ledger as repo
from loyalty_gql.domain.codes import random_code
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.points import (
    EntryKind,
    SourceType,
    Take,
    VoucherStatus,
    plan_give_back,
    rolling_expiry,
    threshold_conversions,
)
from loyalty_gql.domain.tiers import TierMetric
from loyalty_gql.domain.values import Money
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.points.ledger_entries import EntryWriter, Source
from loyalty_gql.services.tiers import upgrade_if_qualified

__all__ = [
    "HASHED_KEY_ABOVE",
    "MAX_KEY",
    "MAX_THRESHOLD_REWARDS_AT_ONCE",
    "AccountBook",
    "Source",
    "auto_key",
    "entry_by_key",
    "ledger_key",
    "new_voucher_code",
    "open_book",
]

MAX_THRESHOLD_REWARDS_AT_ONCE = 1000


MAX_KEY = 250
HASHED_KEY_ABOVE = 200  # room for derived keys (threshold, reward) built on top of a key


def auto_key(prefix: str) -> str:
    """A fresh ledger idempotency key for entries nobody will retry by key."""
    return f"{prefix}:{uuid.uuid4().hex}"


def ledger_key(*parts: object) -> str:
    """A ledger idempotency key from its parts; long ones are hashed to fit the column."""
    # ":" inside a part is escaped, so ("a:b", "c") and ("a", "b:c") stay different
    key = ":".join(str(part).replace("\\", "\\\\").replace(":", "\\:") for part in parts)
    if len(key) <= HASHED_KEY_ABOVE:
        return key
    return f"{parts[0]}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


class AccountBook(EntryWriter):
    """One customer's locked account within a transaction."""

    async def earn(
        self, points: int, source: Source, key: str, *, pending: bool = False
    ) -> LedgerEntryRow:
        """Add points, available at once or pending until activated."""
        if pending:
            return await self._append(
                EntryKind.PENDING, source, key, points=0, pending_points=points
            )
        entry = await self._append(
            EntryKind.EARNED, source, key, points=points, earned_points=points
        )
        await self._new_lot(entry, points)
        await self._after_gain(key)
        return entry

    async def activate(
        self, pending_entry: LedgerEntryRow, key: str, *, pending_reversed: int | None = None
    ) -> LedgerEntryRow:
        """Make what is left of a PENDING entry available. ``pending_reversed``: the
        pending points its reversals moved, when the caller read them in this
        transaction (under the account's lock); read here otherwise."""
        if pending_entry.kind != EntryKind.PENDING.value:
            raise DomainError.single(ErrorCode.NOT_PENDING, "only pending points can be activated")
        if pending_reversed is None:
            _, pending_reversed, _ = await repo.reversed_so_far(self.session, pending_entry.id)
        left = pending_entry.pending_points + pending_reversed
        if left <= 0:
            raise DomainError.single(ErrorCode.NOT_PENDING, "nothing of this entry is pending")
        source = Source(SourceType(pending_entry.source_type), "system", pending_entry.source_ref)
        entry = await self._append(
            EntryKind.ACTIVATED,
            source,
            key,
            points=left,
            pending_points=-left,
            earned_points=left,
            reverses=pending_entry.id,
        )
        if pending_entry.source_type == SourceType.ORDER.value:
            # the order's points arrive now: under ROLLING_DAYS they count from now
            self._extend_rolling_expiry()
        await self._new_lot(entry, left)
        await self._after_gain(key)
        return entry

    async def spend(self, points: int, source: Source, key: str) -> LedgerEntryRow:
        """Take points from the lots that expire soonest; INSUFFICIENT_POINTS otherwise."""
        takes = await self._plan_spend(points)
        entry = await self._append(
            EntryKind.REDEEMED, source, key, points=-points, redeemed_points=points
        )
        await self._move(entry, takes)
        return entry

    async def adjust(self, points: int, source: Source, key: str) -> LedgerEntryRow:
        """An admin's correction: positive adds a lot, negative spends from lots."""
        if points > 0:
            entry = await self._append(
                EntryKind.ADJUSTED, source, key, points=points, earned_points=points
            )
            await self._new_lot(entry, points)
            await self._after_gain(key)
            return entry
        takes = await self._plan_spend(-points)
        entry = await self._append(EntryKind.ADJUSTED, source, key, points=points)
        await self._move(entry, takes)
        return entry

    async def reverse(
        self, original: LedgerEntryRow, points: int | None, source: Source, key: str
    ) -> LedgerEntryRow:
        """Undo an entry in whole (``points`` None) or in part."""
        kind = EntryKind(original.kind)
        if kind in (EntryKind.REVERSED, EntryKind.EXPIRED):
            raise DomainError.single(
                ErrorCode.INVALID_VALUE, f"{kind.value} entries cannot be reversed", "entry_id"
            )
        done, done_pending, done_earned = await repo.reversed_so_far(self.session, original.id)
        if kind is EntryKind.PENDING:
            left = original.pending_points + done_pending
            amount = _reversal_amount(points, left)
            return await self._append(
                EntryKind.REVERSED, source, key, points=0, pending_points=-amount,
                reverses=original.id,
            )  # fmt: skip
        if original.points > 0:
            voided = done_earned if original.earned_points > 0 else done
            return await self._reverse_gain(original, points, voided, source, key)
        return await self._reverse_spend(original, points, done, source, key)

    async def reversible(self, gain: LedgerEntryRow) -> int:
        """The most a reversal of ``gain`` can void now: the points the customer holds,
        and the gain's points that expired since (written off, nothing to take)."""
        _, forgivable = await self._own_lot(gain)
        return self.account.available + forgivable

    async def expire_lots(self, lots: list[PointLotRow], key: str) -> LedgerEntryRow | None:
        """Expire what is left in ``lots`` (all of them due); None when nothing is left."""
        takes = [Take(lot.id, -lot.remaining) for lot in lots if lot.remaining > 0]
        total = -sum(t.points for t in takes)
        if total == 0:
            return None
        source = Source(SourceType.EXPIRY, "system:expiry")
        entry = await self._append(
            EntryKind.EXPIRED, source, key, points=-total, expired_points=total
        )
        await self._move(entry, takes, lots={lot.id: lot for lot in lots})
        return entry

    async def note_order(self, spent: Money | None) -> None:
        """An order happened: reset the rolling expiry clock and count the spend."""
        self.account.last_order_at = self.now
        self._extend_rolling_expiry()
        minor = spent.minor_units if spent else 0
        self.account.lifetime_spent_minor += minor
        await repo.add_to_customer_day(
            self.session,
            site_id=self.site.id,
            customer_id=self.customer.id,
            day=self.now.date(),
            spent_minor=minor,
            orders=1,
        )
        await upgrade_if_qualified(self, TierMetric.AMOUNT_SPENT)

    async def _own_lot(self, gain: LedgerEntryRow) -> tuple[PointLotRow | None, int]:
        """The lot a gain created, and how many of its points expired and were not
        written off yet (read once per reversal: reversible() then reverse())."""
        if gain.id not in self._own_lots:
            lot = await repo.lot_of_entry(self.session, gain.id)
            forgivable = (
                await repo.expired_not_forgiven(self.session, lot.id, gain.id) if lot else 0
            )
            self._own_lots[gain.id] = (lot, forgivable)
        return self._own_lots[gain.id]

    def _extend_rolling_expiry(self) -> None:
        """Under ROLLING_DAYS, all points now expire N days from now (never sooner)."""
        renewed = rolling_expiry(
            self.settings.validity_policy,
            self.settings.validity_days,
            self.now,
            self.settings.zone,
        )
        current = self.account.rolling_expires_at
        if renewed is not None and (current is None or renewed > current):
            self.account.rolling_expires_at = renewed

    async def _reverse_gain(
        self, original: LedgerEntryRow, points: int | None, done: int, source: Source, key: str
    ) -> LedgerEntryRow:
        left = original.points + done
        amount = _reversal_amount(points, left)
        lot, forgivable = await self._own_lot(original)
        self._own_lots.pop(original.id)  # this reversal changes what is forgivable
        # Take back from the entry's own lot first. Of the rest, what expired is
        # not taken again; what the customer spent comes from their other lots.
        own = min(lot.remaining, amount) if lot else 0
        takes = [Take(lot.id, -own)] if lot and own else []
        from_others = max(0, amount - own - forgivable)
        if from_others:
            takes += await self._plan_spend(from_others, exclude=lot.id if lot else None)
        taken = own + from_others
        earned = -amount if original.earned_points > 0 else 0
        # Points voided but not taken had expired: they were never earned, so they never
        # expired either (counted back on the day they expired).
        forgiven = amount - taken if earned else 0
        expired_day = await repo.last_expiry_day(self.session, lot.id) if lot and forgiven else None
        entry = await self._append(
            EntryKind.REVERSED, source, key, points=-taken, earned_points=earned,
            expired_points=-forgiven, reverses=original.id, day=original.created_at.date(),
            expired_day=expired_day, earned_at=original.created_at,
        )  # fmt: skip
        await self._move(entry, takes)
        return entry

    async def _reverse_spend(
        self, original: LedgerEntryRow, points: int | None, done: int, source: Source, key: str
    ) -> LedgerEntryRow:
        left = -original.points - done
        amount = _reversal_amount(points, left)
        voucher = await repo.voucher_of_entry(self.session, original.id)
        if voucher is not None:
            self._cancel_voucher(voucher, amount, left)
        net = await repo.net_movements_of_entry(self.session, original.id)
        gives = plan_give_back([Take(lot_id, p) for lot_id, p in net if p < 0], amount)
        redeemed = -amount if original.redeemed_points > 0 else 0
        expired = -amount if original.expired_points > 0 else 0
        entry = await self._append(
            EntryKind.REVERSED, source, key, points=amount, redeemed_points=redeemed,
            expired_points=expired, reverses=original.id, day=original.created_at.date(),
        )  # fmt: skip
        await self._give_back(entry, gives)
        if voucher is None:
            await self._after_gain(key)  # a cancelled reward must not turn into a new one
        return entry

    def _cancel_voucher(self, voucher: VoucherRow, amount: int, left: int) -> None:
        """The points of a voucher come back only whole, and only while it is unused."""
        if voucher.status != VoucherStatus.ACTIVE or amount != left:
            raise DomainError.single(
                ErrorCode.INVALID_VALUE,
                "the points bought a voucher: only an unused voucher can be refunded, in full",
                "entry_id",
            )
        voucher.status = VoucherStatus.CANCELLED

    async def _after_gain(self, key: str) -> None:
        await upgrade_if_qualified(self)
        await self._convert_threshold_rewards(key)

    async def _convert_threshold_rewards(self, key: str) -> None:
        reward = self.settings.threshold_reward
        if not (reward.enabled and self.settings.enabled):
            return
        count = min(
            threshold_conversions(self.account.available, reward.points),
            MAX_THRESHOLD_REWARDS_AT_ONCE,
        )
        for n in range(count):
            source = Source(SourceType.THRESHOLD_REWARD, "system:threshold-reward")
            spend_key = ledger_key("threshold", key, n)
            entry = await self.spend(reward.points, source, spend_key)
            voucher = VoucherRow(
                site_id=self.site.id,
                customer_id=self.customer.id,
                code=new_voucher_code(),
                source=SourceType.THRESHOLD_REWARD.value,
                value_type=reward.value_type.value,
                value=reward.value,
                minimum_order_minor=Money.from_decimal(
                    reward.minimum_order_value, self.settings.currency
                ).minor_units,
                currency=self.settings.currency,
                status=VoucherStatus.ACTIVE,
                points_spent=reward.points,
                ledger_entry_id=entry.id,
                issued_at=self.now,
                expires_at=self.now + timedelta(days=reward.validity_days),
            )
            self.session.add(voucher)
            await self.session.flush()
            self.vouchers.append(voucher)
            await repo.add_event_once(
                self.session,
                site_id=self.site.id,
                customer_id=self.customer.id,
                kind="REWARD_EARNED",
                dedupe_key=ledger_key("reward", spend_key),
                payload={
                    "voucher_id": voucher.id,
                    "voucher_code": voucher.code,
                    "value_type": voucher.value_type,
                    "value": str(voucher.value),
                    "currency": voucher.currency,
                    "minimum_order_value": str(reward.minimum_order_value),
                    "expires_at": voucher.expires_at.isoformat() if voucher.expires_at else None,
                    "points_spent": reward.points,
                },
                now=self.now,
            )


async def open_book(
    uow: UnitOfWork, site: SiteRow, customer: CustomerRow, now: datetime
) -> AccountBook:
    """Lock the customer's account (creating it if needed) and return its book (with
    the site's tiers, read in the same query)."""
    account, tiers = await repo.locked_account_and_tiers(
        uow.session, site.id, customer.id, now, lock=uow.is_postgres
    )
    return AccountBook(uow, site, customer, account, now, tiers=tiers)


async def entry_by_key(uow: UnitOfWork, site_id: int, key: str) -> LedgerEntryRow | None:
    """The entry written earlier under ``key``, if any."""
    return await repo.entry_by_key(uow.session, site_id, key)


def _reversal_amount(points: int | None, left: int) -> int:
    if left <= 0:
        raise DomainError.single(
            ErrorCode.ALREADY_REVERSED, "this entry has already been reversed in full", "entry_id"
        )
    if points is None:
        return left
    if points <= 0:
        raise DomainError.single(ErrorCode.INVALID_VALUE, "points must be positive", "points")
    if points > left:
        raise DomainError.single(
            ErrorCode.INVALID_VALUE, f"only {left} points of this entry are left to reverse",
            "points",
        )  # fmt: skip
    return points


def new_voucher_code() -> str:
    """A fresh voucher code of 12 characters."""
    return random_code(12)
