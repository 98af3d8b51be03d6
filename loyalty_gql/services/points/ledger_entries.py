"""An account's low-level writes: appending an entry with its deltas, the daily rollup,
lots and their movements. `AccountBook` builds its operations on them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from loyalty_gql.db.models import (
    CustomerRow,
    LedgerEntryRow,
    LotMovementRow,
    PointAccountRow,
    PointLotRow,
    SiteRow,
    TierRow,
    VoucherRow,
)
from loyalty_gql.db.repositories.points import ledger as repo
from loyalty_gql.db.repositories.sites import settings_of
from loyalty_gql.db.repositories.tiers import tiers_of_site
from loyalty_gql.db.rows import insert_new
from loyalty_gql.db.session import Session
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.points import (
    EntryKind,
    Lot,
    SourceType,
    Take,
    check_balance,
    lot_expiry,
    plan_spend,
)
from loyalty_gql.domain.sites import ProgramSettings
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.leaderboards.scores import count_points_earned


@dataclass(frozen=True, slots=True)
class Source:
    """What caused an entry: its type, a reference (order id, product id...) and who."""

    type: SourceType
    actor: str
    ref: str | None = None
    reason: str | None = None
    activity_code: str | None = None


class EntryWriter:
    """One customer's locked account within a transaction: the writes every operation
    is made of."""

    def __init__(
        self,
        uow: UnitOfWork,
        site: SiteRow,
        customer: CustomerRow,
        account: PointAccountRow,
        now: datetime,
        *,
        tiers: list[TierRow] | None = None,
    ) -> None:
        self.uow = uow
        self.site = site
        self.settings: ProgramSettings = settings_of(site)
        self.customer = customer
        self.account = account
        self.now = now
        self.vouchers: list[VoucherRow] = []
        self._lots: dict[int, PointLotRow] = {}
        self._own_lots: dict[int, tuple[PointLotRow | None, int]] = {}
        self._tiers = tiers  # the site's tiers, when read with the account

    @property
    def session(self) -> Session:
        """The transaction's session."""
        return self.uow.session

    async def tiers(self) -> list[TierRow]:
        """The site's tiers, lowest rank first: read once per book (every upgrade check
        of the transaction uses them; nothing in it changes them)."""
        if self._tiers is None:
            self._tiers = await tiers_of_site(self.session, self.site.id)
        return self._tiers

    async def _give_back(self, entry: LedgerEntryRow, gives: list[Take]) -> None:
        """Return points to the lots a spend used. A lot whose earning was reversed has
        no room for them; that share goes to a new lot with the expiry of the lots the
        reversal took the spent points from, so the customer keeps their dates."""
        lots = await repo.lots_by_ids(self.session, [g.lot_id for g in gives])
        kept: list[Take] = []
        for give in gives:
            lot = lots[give.lot_id]
            voided = await repo.voided_points(self.session, lot.entry_id)
            room = max(0, lot.points - voided - lot.remaining)
            if give.points <= room:
                kept.append(give)
                continue
            if room:
                kept.append(Take(lot.id, room))
            expiry = await repo.latest_expiry_taken_by_reversals(self.session, lot.entry_id)
            self.session.add(
                PointLotRow(
                    site_id=self.site.id,
                    customer_id=self.customer.id,
                    entry_id=entry.id,
                    points=give.points - room,
                    remaining=give.points - room,
                    expires_at=expiry if expiry is not None else lot.expires_at,
                    created_at=self.now,
                )
            )
        await self._move(entry, kept, lots=lots)

    async def _plan_spend(self, points: int, exclude: int | None = None) -> list[Take]:
        if points > self.account.available:
            raise DomainError.single(
                ErrorCode.INSUFFICIENT_POINTS,
                f"{points} points are needed but only {self.account.available} are available",
                "points",
            )
        rows = await repo.open_lots_in_spending_order(
            self.session, self.customer.id, points, exclude=exclude
        )
        self._lots = {row.id: row for row in rows}
        return plan_spend([Lot(r.id, r.remaining, r.expires_at) for r in rows], points)

    async def _append(
        self,
        kind: EntryKind,
        source: Source,
        key: str,
        *,
        points: int,
        pending_points: int = 0,
        earned_points: int = 0,
        redeemed_points: int = 0,
        expired_points: int = 0,
        reverses: int | None = None,
        day: date | None = None,
        expired_day: date | None = None,
        earned_at: datetime | None = None,
    ) -> LedgerEntryRow:
        account = self.account
        check_balance(account.available + account.pending, points + pending_points)
        account.available += points
        account.pending += pending_points
        account.lifetime_earned += earned_points
        account.lifetime_redeemed += redeemed_points
        account.lifetime_expired += expired_points
        account.entry_count += 1
        account.updated_at = self.now
        if account.available < 0 or account.pending < 0:  # pragma: no cover - planned away
            msg = f"entry would overdraw account {account.customer_id}"
            raise AssertionError(msg)
        entry = LedgerEntryRow(
            site_id=self.site.id,
            customer_id=self.customer.id,
            kind=kind.value,
            points=points,
            pending_points=pending_points,
            earned_points=earned_points,
            redeemed_points=redeemed_points,
            expired_points=expired_points,
            balance_after=account.available,
            source_type=source.type.value,
            source_ref=source.ref,
            activity_code=source.activity_code,
            reason=source.reason,
            actor=source.actor,
            idempotency_key=key,
            reverses_entry_id=reverses,
            created_at=self.now,
        )
        await insert_new(self.session, entry)
        flow_day = day or self.now.date()
        await self._add_to_days(
            (flow_day, "points_earned", earned_points),
            (flow_day, "points_redeemed", redeemed_points),
            (expired_day or flow_day, "points_expired", expired_points),
            (self.now.date(), "points_change", points),
        )
        if earned_points and source.type is not SourceType.LEADERBOARD:
            # leaderboards of points earned (a reversal counts in its earning's period;
            # a prize does not count); nothing when the site has no live board
            await count_points_earned(
                self.uow, self.site, self.customer.id, earned_points, earned_at or self.now
            )
        return entry

    async def _add_to_days(self, *amounts: tuple[date, str, int]) -> None:
        """The daily rollup, one upsert a day: gains, spends and expiries on their flow
        day (a reversal's is the day of what it reverses), the balance's change today."""
        days: dict[date, dict[str, int]] = {}
        for day, column, value in amounts:
            if value:
                days.setdefault(day, {})[column] = value
        for day, columns in days.items():
            await repo.add_to_customer_day(
                self.session, site_id=self.site.id, customer_id=self.customer.id, day=day,
                **columns,
            )  # fmt: skip

    async def _new_lot(self, entry: LedgerEntryRow, points: int) -> None:
        expires_at = lot_expiry(
            self.settings.validity_policy,
            self.settings.validity_days,
            self.now,
            self.settings.zone,
        )
        self.session.add(
            PointLotRow(
                site_id=self.site.id,
                customer_id=self.customer.id,
                entry_id=entry.id,
                points=points,
                remaining=points,
                expires_at=expires_at,
                created_at=self.now,
            )
        )
        await self.session.flush()

    async def _move(
        self,
        entry: LedgerEntryRow,
        takes: list[Take],
        lots: dict[int, PointLotRow] | None = None,
    ) -> None:
        known = {**self._lots, **(lots or {})}
        missing = [t.lot_id for t in takes if t.lot_id not in known]
        if missing:
            known.update(await repo.lots_by_ids(self.session, missing))
        for take in takes:
            lot = known[take.lot_id]
            lot.remaining += take.points
            self.session.add(LotMovementRow(entry_id=entry.id, lot_id=lot.id, points=take.points))
        self._lots = {}
        await self.session.flush()
