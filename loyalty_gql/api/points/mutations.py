"""Mutations on points: activities and grants."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from loyalty_gql.api.core.arguments import IDEMPOTENCY_KEY, INPUT
from loyalty_gql.api.core.errors import UserError
from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.node import build_node
from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT, IsAdmin, IsStaff
from loyalty_gql.api.core.resolving import (
    CUSTOMER,
    AppInfo,
    managed,
    node_or_not_found,
    retry_of,
    served,
)
from loyalty_gql.api.points.types import LedgerEntry
from loyalty_gql.db.models import LedgerEntryRow
from loyalty_gql.domain.points import MAX_POINTS_BALANCE, MAX_POINTS_PER_ENTRY
from loyalty_gql.services import points as points_service
from loyalty_gql.services.gamification.progress import on_activity

if TYPE_CHECKING:
    from loyalty_gql.api.customers.types import Customer

LazyCustomer = Annotated["Customer", strawberry.lazy("loyalty_gql.api.customers.types")]


@strawberry.input(description="An activity of a customer that may earn points.")
class RecordActivityInput:
    """What the customer did."""

    customer_id: strawberry.ID = strawberry.field(description="Global ID of the customer.")
    activity: str = strawberry.field(
        description="NEWSLETTER_SIGNUP, PRODUCT_REVIEW, REFERRAL, or a custom code of the site."
    )
    reference: str | None = strawberry.field(
        default=None, description="The reviewed product's id, or another reference."
    )
    referred_customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="For REFERRAL: the new customer this customer brought."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="Result of recordActivity.")
class RecordActivityPayload:
    """The points earned, or why none were."""

    entry: LedgerEntry | None = strawberry.field(
        description="The EARNED entry; null for a referral, which earns on the first order.",
        metadata=WITHIN_PARENT,
    )
    customer: LazyCustomer | None = strawberry.field(
        description="The customer, with their new balance.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why no points were earned.", metadata=PUBLIC
    )


@strawberry.input(description="Points an admin adds or removes, with a reason.")
class GrantPointsInput:
    """An admin adjustment."""

    customer_id: strawberry.ID = strawberry.field(description="Global ID of the customer.")
    points: int = strawberry.field(
        description=f"Positive adds, negative removes; at most {MAX_POINTS_PER_ENTRY:,} "
        f"either way, and a customer holds at most {MAX_POINTS_BALANCE:,} points "
        "(BALANCE_LIMIT_REACHED beyond)."
    )
    reason: str = strawberry.field(description="Why; kept in the ledger.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="Result of grantPoints.")
class GrantPointsPayload:
    """The adjustment, or why it was refused."""

    entry: LedgerEntry | None = strawberry.field(
        description="The ADJUSTED entry.", metadata=WITHIN_PARENT
    )
    customer: LazyCustomer | None = strawberry.field(
        description="The customer, with their new balance.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing changed.", metadata=PUBLIC
    )


async def _staff_customer(info: AppInfo, customer_id: str, *, admin: bool) -> int:
    """The customer's pk if the caller serves (or, with ``admin``, manages) its site."""
    may = managed if admin else served
    row = await node_or_not_found(info, customer_id, CUSTOMER, may, field="customerId")
    return row.id


async def _customer_after(info: AppInfo, pk: int) -> LazyCustomer | None:
    info.context.loaders.account_by_customer.clear(pk)
    row = await info.context.loaders.customer_by_id.load(pk)
    return build_node("Customer", row) if row else None


@strawberry.type
class PointsMutations:
    """Changing points."""

    @strawberry.mutation(
        description="Reward a customer's activity (the shop backend).",
        permission_classes=[IsStaff],
    )
    async def record_activity(
        self,
        info: AppInfo,
        input: Annotated[RecordActivityInput, strawberry.argument(description=INPUT)],
    ) -> RecordActivityPayload:
        """Record an activity."""
        ctx = info.context
        pk = await _staff_customer(info, input.customer_id, admin=False)
        referred = (
            parse_id(input.referred_customer_id, "Customer") if input.referred_customer_id else None
        )
        result = await points_service.record_activity(
            ctx.db,
            customer_id=pk,
            activity=input.activity,
            reference=input.reference,
            referred_customer_id=referred,
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
            on_earned=on_activity,  # gamification: activities count towards challenges
        )
        entry = LedgerEntry.from_row(result) if isinstance(result, LedgerEntryRow) else None
        return RecordActivityPayload(
            entry=entry, customer=await _customer_after(info, pk), user_errors=[]
        )

    @strawberry.mutation(
        description="Add or remove points for a customer, with a reason.",
        permission_classes=[IsAdmin],
    )
    async def grant_points(
        self,
        info: AppInfo,
        input: Annotated[GrantPointsInput, strawberry.argument(description=INPUT)],
    ) -> GrantPointsPayload:
        """Adjust a customer's points."""
        ctx = info.context
        pk = await _staff_customer(info, input.customer_id, admin=True)
        row = await points_service.grant_points(
            ctx.db,
            customer_id=pk,
            points=input.points,
            reason=input.reason,
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )
        return GrantPointsPayload(
            entry=LedgerEntry.from_row(row),
            customer=await _customer_after(info, pk),
            user_errors=[],
        )
