"""Coupon code batches and product exchanges (admins and the shop backend)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from loyalty_gql.api.context import Context
from loyalty_gql.api.core.arguments import IDEMPOTENCY_KEY, INPUT
from loyalty_gql.api.core.errors import UserError
from loyalty_gql.api.core.ids import to_global_id
from loyalty_gql.api.core.money import Money
from loyalty_gql.api.core.node import Node, build_node
from loyalty_gql.api.core.pagination import (
    AFTER_ARG,
    BEFORE_ARG,
    FIRST_ARG,
    LAST_ARG,
    CountedConnection,
    connect,
    page_of,
)
from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT, CanServeSite, IsAdmin, IsStaff
from loyalty_gql.api.core.resolving import (
    AppInfo,
    NodeKind,
    managed,
    node_or_not_found,
    retry_of,
    staff_site,
)
from loyalty_gql.api.offers.mutations import admin_offer
from loyalty_gql.api.offers.types import Offer
from loyalty_gql.db.models import ExchangeRow
from loyalty_gql.db.repositories.offers.exchanges import (
    count_exchanges,
    exchange_by_id,
    exchange_page,
)
from loyalty_gql.domain.offers import ExchangeStatus
from loyalty_gql.domain.values import Money as DomainMoney
from loyalty_gql.services.offers import exchanges as service

if TYPE_CHECKING:
    from loyalty_gql.api.customers.types import Customer

LazyCustomer = Annotated["Customer", strawberry.lazy("loyalty_gql.api.customers.types")]

strawberry.enum(
    ExchangeStatus, description="Where a product exchange is: to hand over, or handed over."
)


@strawberry.type(description="Points a customer exchanged for a product, to hand over.")
class Exchange(Node):
    """A product exchange."""

    pk: strawberry.Private[int]
    site_pk: strawberry.Private[int]
    offer_pk: strawberry.Private[int]
    customer_pk: strawberry.Private[int]
    status: ExchangeStatus = strawberry.field(
        description="PENDING until an admin confirms the hand-over, then CONFIRMED.",
        permission_classes=[CanServeSite],
    )
    offer_id: strawberry.ID = strawberry.field(
        description="Global ID of the reward offer.",
        permission_classes=[CanServeSite],
        deprecation_reason="Use offer { id }.",
    )
    customer_id: strawberry.ID = strawberry.field(
        description="Global ID of the customer.",
        permission_classes=[CanServeSite],
        deprecation_reason="Use customer { id }.",
    )
    voucher_code: str = strawberry.field(
        description="Code of the voucher the customer got.", permission_classes=[CanServeSite]
    )
    product_id: str = strawberry.field(
        description="The product to hand over.", permission_classes=[CanServeSite]
    )
    price: Money = strawberry.field(
        description="The product's price for accounting (zero or a token amount).",
        permission_classes=[CanServeSite],
    )
    points: int = strawberry.field(
        description="Points the customer paid.", permission_classes=[CanServeSite]
    )
    created_at: datetime = strawberry.field(
        description="When the customer exchanged the points.", permission_classes=[CanServeSite]
    )
    confirmed_at: datetime | None = strawberry.field(
        description="When an admin confirmed the hand-over.", permission_classes=[CanServeSite]
    )
    confirmed_by: str | None = strawberry.field(
        description="Who confirmed it.", permission_classes=[CanServeSite]
    )

    @strawberry.field(description="The reward offer.", permission_classes=[CanServeSite])
    async def offer(self, info: AppInfo) -> Offer:
        """The offer, batched with the response's other offers."""
        row = await info.context.loaders.offer_by_id.load(self.offer_pk)
        site = await info.context.loaders.site_by_id.load(self.site_pk)
        if row is None or site is None:  # pragma: no cover - offers are deleted softly
            raise LookupError(self.offer_pk)
        return Offer.from_row(row, site.currency)

    @strawberry.field(
        description="The customer who exchanged the points.", permission_classes=[CanServeSite]
    )
    async def customer(self, info: AppInfo) -> LazyCustomer:
        """The customer, batched with the response's other customers."""
        row = await info.context.loaders.customer_by_id.load(self.customer_pk)
        if row is None:  # pragma: no cover - customers are never deleted
            raise LookupError(self.customer_pk)
        customer: Customer = build_node("Customer", row)
        return customer


async def _exchange_row(ctx: Context, pk: int) -> ExchangeRow | None:
    async with ctx.db.read_sessions() as session:
        return await exchange_by_id(session, pk)


EXCHANGE: NodeKind[ExchangeRow] = NodeKind("Exchange", _exchange_row)


async def _exchange(info: AppInfo, row: ExchangeRow) -> Exchange:
    site = await info.context.loaders.site_by_id.load(row.site_id)
    return Exchange(
        id=to_global_id("Exchange", row.id),
        pk=row.id,
        site_pk=row.site_id,
        offer_pk=row.offer_id,
        customer_pk=row.customer_id,
        status=ExchangeStatus(row.status),
        offer_id=to_global_id("Offer", row.offer_id),
        customer_id=to_global_id("Customer", row.customer_id),
        voucher_code=row.voucher_code,
        product_id=row.product_id,
        price=Money.of(DomainMoney(row.price_minor, site.currency)),
        points=row.points,
        created_at=row.created_at,
        confirmed_at=row.confirmed_at,
        confirmed_by=row.confirmed_by,
    )


@strawberry.input(description="A batch of unique codes for a coupon.")
class GenerateCouponCodesInput:
    """Which coupon and how many codes."""

    offer_id: strawberry.ID = strawberry.field(description="Global ID of the coupon offer.")
    count: int = strawberry.field(description="How many codes (1-10,000).")
    prefix: str = strawberry.field(default="", description="Start of every code, e.g. SPRING-.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="Result of generateCouponCodes.")
class GenerateCouponCodesPayload:
    """The new codes."""

    codes: list[str] = strawberry.field(description="The codes generated.", metadata=PUBLIC)
    user_errors: list[UserError] = strawberry.field(description="Why none were.", metadata=PUBLIC)


@strawberry.input(description="An exchange handed over.")
class ConfirmExchangeInput:
    """Which exchange."""

    exchange_id: strawberry.ID = strawberry.field(description="Global ID of the exchange.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="Result of confirmExchange.")
class ConfirmExchangePayload:
    """The exchange, confirmed."""

    exchange: Exchange | None = strawberry.field(
        description="The exchange.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why it was not confirmed.", metadata=PUBLIC
    )


@strawberry.type(
    name="ExchangeConnection", description="A page of a site's exchanges, and how many match."
)
class ExchangeConnection(CountedConnection[Exchange]):
    """Exchanges, newest first."""


@strawberry.type
class ExchangeQueries:
    """Listing exchanges."""

    @strawberry.field(
        description="The shop's product exchanges, newest first.", permission_classes=[IsStaff]
    )
    async def exchanges(
        self,
        info: AppInfo,
        *,
        site_id: Annotated[
            strawberry.ID, strawberry.argument(description="Global ID of the site.")
        ],
        status: Annotated[
            ExchangeStatus | None,
            strawberry.argument(description="PENDING or CONFIRMED; all when omitted."),
        ] = None,
        first: FIRST_ARG = None,
        after: AFTER_ARG = None,
        last: LAST_ARG = None,
        before: BEFORE_ARG = None,
    ) -> ExchangeConnection:
        """A page of exchanges."""
        ctx = info.context
        site_pk = staff_site(info, site_id)
        page = page_of(
            "exchanges", first=first, last=last, after=after, before=before,
            default=ctx.settings.default_page_size, maximum=ctx.settings.max_page_size,
        )  # fmt: skip
        async with ctx.db.read_sessions() as session:
            rows = await exchange_page(session, site_pk, page.window(), status=status)
        nodes = {row.id: await _exchange(info, row) for row in rows}

        async def count() -> int:
            async with ctx.db.read_sessions() as session:
                return await count_exchanges(session, site_pk, status=status)

        return connect(
            ExchangeConnection, rows, page, "exchanges",
            key=lambda r: [r.id], node=lambda r: nodes[r.id], count=count,
        )  # fmt: skip


@strawberry.type
class ExchangeMutations:
    """Coupon codes and exchanges."""

    @strawberry.mutation(
        description="Generate a batch of unique codes for a coupon.", permission_classes=[IsAdmin]
    )
    async def generate_coupon_codes(
        self,
        info: AppInfo,
        input: Annotated[GenerateCouponCodesInput, strawberry.argument(description=INPUT)],
    ) -> GenerateCouponCodesPayload:
        """Generate codes."""
        ctx = info.context
        offer = await admin_offer(info, input.offer_id)
        batch = await service.generate_coupon_codes(
            ctx.db, offer_id=offer.id, count=input.count, prefix=input.prefix,
            actor=ctx.actor, clock=ctx.clock, retry=retry_of(info, input.idempotency_key),
        )  # fmt: skip
        return GenerateCouponCodesPayload(codes=batch.codes, user_errors=[])

    @strawberry.mutation(
        description="Confirm that an exchanged product was handed over.",
        permission_classes=[IsAdmin],
    )
    async def confirm_exchange(
        self,
        info: AppInfo,
        input: Annotated[ConfirmExchangeInput, strawberry.argument(description=INPUT)],
    ) -> ConfirmExchangePayload:
        """Confirm an exchange."""
        ctx = info.context
        found = await node_or_not_found(
            info, input.exchange_id, EXCHANGE, managed, field="exchangeId"
        )
        row = await service.confirm_exchange(
            ctx.db, exchange_id=found.id, actor=ctx.actor, clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )  # fmt: skip
        return ConfirmExchangePayload(exchange=await _exchange(info, row), user_errors=[])
