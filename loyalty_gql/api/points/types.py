"""GraphQL types of the ledger, balances and vouchers."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from loyalty_gql.api.core.arguments import refuse_query
from loyalty_gql.api.core.ids import to_global_id
from loyalty_gql.api.core.money import Money
from loyalty_gql.api.core.node import Node, build_node
from loyalty_gql.api.core.pagination import Connection
from loyalty_gql.api.core.permissions import (
    WITHIN_PARENT,
    CanSeeCustomer,
    CanServeSite,
)
from loyalty_gql.api.core.resolving import AppInfo
from loyalty_gql.api.core.scalars import BigInt
from loyalty_gql.db.models import LedgerEntryRow, PointAccountRow, VoucherRow
from loyalty_gql.domain.errors import ErrorCode, FieldProblem
from loyalty_gql.domain.points import (
    MAX_POINTS_BALANCE,
    EntryKind,
    SourceType,
    VoucherStatus,
    voucher_status,
)
from loyalty_gql.domain.values import Money as DomainMoney

if TYPE_CHECKING:
    from loyalty_gql.api.customers.types import Customer

MAX_WITHIN_DAYS = 3650
LazyCustomer = Annotated["Customer", strawberry.lazy("loyalty_gql.api.customers.types")]

strawberry.enum(EntryKind, description="What a ledger entry did to the customer's points.")
strawberry.enum(SourceType, description="What caused a ledger entry.")
strawberry.enum(VoucherStatus, description="Where a voucher is in its life.")


@strawberry.type(description="What caused a ledger entry.")
class EntrySource:
    """The cause of an entry."""

    type: SourceType = strawberry.field(description="Kind of cause.", metadata=WITHIN_PARENT)
    reference: str | None = strawberry.field(
        description="Order id, product id or other reference the shop gave.",
        metadata=WITHIN_PARENT,
    )
    activity_code: str | None = strawberry.field(
        description="The activity, for ACTIVITY entries.", metadata=WITHIN_PARENT
    )


@strawberry.type(description="One change of a customer's points; entries are never changed.")
class LedgerEntry(Node):
    """An append-only ledger entry."""

    pk: strawberry.Private[int]
    site_pk: strawberry.Private[int]
    customer_pk: strawberry.Private[int]
    reverses_pk: strawberry.Private[int | None]
    kind: EntryKind = strawberry.field(
        description="What the entry did.", permission_classes=[CanSeeCustomer]
    )
    points: int = strawberry.field(
        description="Change of available points (negative when taken).",
        permission_classes=[CanSeeCustomer],
    )
    pending_points: int = strawberry.field(
        description="Change of pending points.", permission_classes=[CanSeeCustomer]
    )
    balance_after: int = strawberry.field(
        description="Available points right after this entry.",
        permission_classes=[CanSeeCustomer],
    )
    source: EntrySource = strawberry.field(
        description="What caused the entry.", permission_classes=[CanSeeCustomer]
    )
    reason: str | None = strawberry.field(
        description="Why (admin adjustments, reversals).", permission_classes=[CanSeeCustomer]
    )
    actor: str | None = strawberry.field(
        description="Who made the change (role:subject); null with an error for a customer.",
        permission_classes=[CanServeSite],
    )
    created_at: datetime = strawberry.field(
        description="When the entry was written.", permission_classes=[CanSeeCustomer]
    )

    @strawberry.field(
        description="The entry this one activates or reverses.",
        permission_classes=[CanSeeCustomer],
    )
    async def reverses(self, info: AppInfo) -> LedgerEntry | None:
        """The earlier entry this one refers to."""
        if self.reverses_pk is None:
            return None
        row = await info.context.loaders.entry_by_id.load(self.reverses_pk)
        return LedgerEntry.from_row(row) if row else None

    @strawberry.field(description="Whose points changed.", permission_classes=[CanSeeCustomer])
    async def customer(self, info: AppInfo) -> LazyCustomer:
        """The customer of the entry, batched with the response's other customers."""
        row = await info.context.loaders.customer_by_id.load(self.customer_pk)
        if row is None:  # pragma: no cover - an entry's customer is never deleted
            raise LookupError(self.customer_pk)
        customer: Customer = build_node("Customer", row)
        return customer

    @classmethod
    def from_row(cls, row: LedgerEntryRow) -> LedgerEntry:
        """The GraphQL object of an entry row."""
        return cls(
            id=to_global_id("LedgerEntry", row.id),
            pk=row.id,
            site_pk=row.site_id,
            customer_pk=row.customer_id,
            reverses_pk=row.reverses_entry_id,
            kind=EntryKind(row.kind),
            points=row.points,
            pending_points=row.pending_points,
            balance_after=row.balance_after,
            source=EntrySource(
                type=SourceType(row.source_type),
                reference=row.source_ref,
                activity_code=row.activity_code,
            ),
            reason=row.reason,
            actor=row.actor,
            created_at=row.created_at,
        )


@strawberry.type(
    description="Points that expire on one date: a customer's next expiry (its ID is the "
    "customer's, one record per customer in client caches)."
)
class Expiry(Node):
    """Points due to expire together."""

    expires_at: datetime = strawberry.field(
        description="When the points expire: the end of their last valid day in the site's "
        "timezone (that zone's next midnight), so they are usable all of that day.",
        metadata=WITHIN_PARENT,
    )
    points: int = strawberry.field(description="How many expire then.", metadata=WITHIN_PARENT)


@strawberry.type(
    description=f"A customer's points. A customer holds at most {MAX_POINTS_BALANCE:,} "
    "points, available and pending together (a write that would go beyond is refused "
    "with BALANCE_LIMIT_REACHED), so balances are Int; lifetime totals grow without "
    "that bound and are BigInt."
)
class Balance(Node):
    """Balances derived from the ledger; always equal to the sums of its entries.

    Its global ID is the customer's (``Balance:<customer pk>``), so client caches keep one
    balance per customer and every query's selection of it lands in the same record."""

    customer_pk: strawberry.Private[int]
    rolling_expires_at: strawberry.Private[datetime | None]
    now: strawberry.Private[datetime]
    available: int = strawberry.field(
        description="Points that can be spent now.", metadata=WITHIN_PARENT
    )
    pending: int = strawberry.field(
        description="Points waiting for orders to complete.", metadata=WITHIN_PARENT
    )
    lifetime_earned: BigInt = strawberry.field(
        description="All points ever earned, less reversed earnings.", metadata=WITHIN_PARENT
    )
    lifetime_redeemed: BigInt = strawberry.field(
        description="All points ever spent, less reversed spends.", metadata=WITHIN_PARENT
    )
    lifetime_expired: BigInt = strawberry.field(
        description="All points that ever expired.", metadata=WITHIN_PARENT
    )

    async def _expiries(self, info: AppInfo) -> list[tuple[datetime, int]]:
        if self.rolling_expires_at is not None:
            return [(self.rolling_expires_at, self.available)] if self.available else []
        lots = await info.context.loaders.expiring_lots.load(self.customer_pk)
        return lots or []

    @strawberry.field(
        description="Points that expire within the next days.", metadata=WITHIN_PARENT
    )
    async def expiring_soon(
        self,
        info: AppInfo,
        within_days: Annotated[
            int, strawberry.argument(description="How many days ahead to look (1-3650).")
        ] = 30,
    ) -> int:
        """Points expiring before now + ``within_days``."""
        if not 1 <= within_days <= MAX_WITHIN_DAYS:
            refuse_query(
                [
                    FieldProblem(
                        ("withinDays",),
                        ErrorCode.INVALID_VALUE,
                        f"must be 1 to {MAX_WITHIN_DAYS} days",
                    )
                ]
            )
        window = timedelta(days=within_days)
        horizon = self.now + window
        expiries = await self._expiries(info)
        freshness = info.context.freshness
        later = [at for at, _ in expiries if at > horizon]
        if freshness is not None and later:  # the answer grows when those enter the window
            freshness.expires(min(later) - window)
        return sum(points for at, points in expiries if at <= horizon)

    @strawberry.field(description="The next points to expire, if any.", metadata=WITHIN_PARENT)
    async def next_expiry(self, info: AppInfo) -> Expiry | None:
        """The soonest expiry and its points."""
        return await self.soonest_expiry(info)

    async def soonest_expiry(self, info: AppInfo) -> Expiry | None:
        """The soonest expiry and its points (for the field and for ``node(id:)``)."""
        expiries = await self._expiries(info)
        if not expiries:
            return None
        at, points = expiries[0]
        return Expiry(id=to_global_id("Expiry", self.customer_pk), expires_at=at, points=points)

    @classmethod
    def of(cls, account: PointAccountRow | None, customer_pk: int, now: datetime) -> Balance:
        """The balance of an account (zero when the customer has none yet)."""
        balance_id = to_global_id("Balance", customer_pk)
        if account is None:
            return cls(
                id=balance_id, customer_pk=customer_pk, rolling_expires_at=None, now=now,
                available=0,
                pending=0, lifetime_earned=0, lifetime_redeemed=0, lifetime_expired=0,
            )  # fmt: skip
        return cls(
            id=balance_id,
            customer_pk=customer_pk,
            rolling_expires_at=account.rolling_expires_at,
            now=now,
            available=account.available,
            pending=account.pending,
            lifetime_earned=account.lifetime_earned,
            lifetime_redeemed=account.lifetime_redeemed,
            lifetime_expired=account.lifetime_expired,
        )


@strawberry.type(description="A discount the customer owns, to apply at checkout.")
class Voucher(Node):
    """A voucher, for example from the threshold reward."""

    pk: strawberry.Private[int]
    site_pk: strawberry.Private[int]
    customer_pk: strawberry.Private[int]
    code: str = strawberry.field(
        description="Code to enter at checkout.", permission_classes=[CanSeeCustomer]
    )
    stored_status: strawberry.Private[str]
    source: SourceType = strawberry.field(
        description="Where the voucher came from.", permission_classes=[CanSeeCustomer]
    )
    percent_off: Decimal | None = strawberry.field(
        description="Percentage off, for percentage vouchers.",
        permission_classes=[CanSeeCustomer],
    )
    amount_off: Money | None = strawberry.field(
        description="Amount off, for fixed-amount vouchers.", permission_classes=[CanSeeCustomer]
    )
    minimum_order_value: Money = strawberry.field(
        description="Smallest order it applies to.", permission_classes=[CanSeeCustomer]
    )
    points_spent: int = strawberry.field(
        description="Points converted into this voucher.", permission_classes=[CanSeeCustomer]
    )
    issued_at: datetime = strawberry.field(
        description="When it was issued.", permission_classes=[CanSeeCustomer]
    )
    expires_at: datetime | None = strawberry.field(
        description="When it stops being usable.", permission_classes=[CanSeeCustomer]
    )

    @strawberry.field(
        description="ACTIVE, USED, EXPIRED (past expiresAt) or CANCELLED.",
        permission_classes=[CanSeeCustomer],
    )
    def status(self, info: AppInfo) -> VoucherStatus:
        """The voucher's status now."""
        return voucher_status(self.stored_status, self.expires_at, info.context.clock())

    @classmethod
    def from_row(cls, row: VoucherRow) -> Voucher:
        """The GraphQL object of a voucher row."""
        percent = row.value if row.value_type == "PERCENT" else None
        amount = Money.from_decimal(row.value, row.currency) if percent is None else None
        return cls(
            id=to_global_id("Voucher", row.id),
            pk=row.id,
            site_pk=row.site_id,
            customer_pk=row.customer_id,
            code=row.code,
            stored_status=row.status,
            source=SourceType(row.source),
            percent_off=percent,
            amount_off=amount,
            minimum_order_value=Money.of(DomainMoney(row.minimum_order_minor, row.currency)),
            points_spent=row.points_spent,
            issued_at=row.issued_at,
            expires_at=row.expires_at,
        )


@strawberry.type(
    name="LedgerEntryConnection",
    description="A page of ledger entries; a customer's ledger also says how long it is.",
)
class LedgerEntryConnection(Connection[LedgerEntry]):
    """Ledger entries, newest first."""

    @strawberry.field(
        description="How many entries the customer's ledger holds (`Customer.ledger`, one "
        "indexed count, only when asked for); null for the whole shop's `ledgerEntries`, "
        "which grows without bound (page through it instead).",
        metadata=WITHIN_PARENT,
    )
    async def total_count(self) -> int | None:
        """The number of entries, where the list offers it."""
        return await self.count() if self.count is not None else None
