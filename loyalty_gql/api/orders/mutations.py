"""The order lifecycle: record, complete, cancel and refund orders."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from loyalty_gql.api.core.arguments import INPUT
from loyalty_gql.api.core.errors import UserError
from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT, IsStaff
from loyalty_gql.api.core.resolving import (
    AppInfo,
    retry_of,
    staff_site,
)
from loyalty_gql.api.orders.baskets import ORDER_ID, SITE_ID, RecordOrderInput, basket_in
from loyalty_gql.api.orders.types import NotApplied, Order, not_applied
from loyalty_gql.db.models import OrderRow
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.orders import QuoteExpectation
from loyalty_gql.domain.values import Money as DomainMoney
from loyalty_gql.services import orders as order_service


@strawberry.input(description="Which order.")
class OrderInput:
    """A site and the shop's order id."""

    site_id: strawberry.ID = strawberry.field(description=SITE_ID)
    order_id: str = strawberry.field(description=ORDER_ID)


@strawberry.input(description="A quantity of one order line refunded.")
class RefundLineInput:
    """A line and how many of it."""

    line_id: str = strawberry.field(description="The line's id (its product id by default).")
    quantity: int = strawberry.field(description="How many of it were refunded.")


@strawberry.input(description="A refund of an order: some lines, or an amount.")
class RefundOrderInput:
    """Exactly one of lines and amount."""

    site_id: strawberry.ID = strawberry.field(description=SITE_ID)
    order_id: str = strawberry.field(description=ORDER_ID)
    refund_id: str = strawberry.field(
        description="The shop's refund id; the same refund sent again changes nothing."
    )
    lines: list[RefundLineInput] | None = strawberry.field(
        default=None, description="Lines refunded (their paid price, in proportion)."
    )
    amount: Decimal | None = strawberry.field(
        default=None, description="Money refunded from the order's total."
    )


@strawberry.type(description="Result of an order mutation.")
class OrderPayload:
    """The order as it stands, or why nothing happened."""

    order: Order | None = strawberry.field(description="The order.", metadata=WITHIN_PARENT)
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed.", metadata=PUBLIC
    )


@strawberry.type(description="Result of recordOrder.")
class RecordOrderPayload:
    """The order as recorded, what of the request it left out, or why nothing happened."""

    order: Order | None = strawberry.field(description="The order.", metadata=WITHIN_PARENT)
    not_applied: list[NotApplied] = strawberry.field(
        description="The coupon codes and vouchers of the request that the order did not "
        "apply, with the reason (used meanwhile, expired, not combinable...); the order's "
        "total is without them. Empty when all applied or nothing was recorded.",
        metadata=WITHIN_PARENT,
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed.", metadata=PUBLIC
    )


def _expectation(currency: str, data: RecordOrderInput) -> QuoteExpectation:
    total = None
    if data.expected_total is not None:
        try:
            total = DomainMoney.from_decimal(data.expected_total, currency).minor_units
        except (ValueError, ArithmeticError):
            raise DomainError.single(
                ErrorCode.INVALID_VALUE, f"a {currency} amount with at most its decimal places",
                "expected_total",
            ) from None  # fmt: skip
    return QuoteExpectation(total, data.expected_points, data.expected_points_paid)


def _order_payload(row: OrderRow) -> OrderPayload:
    return OrderPayload(order=Order.from_row(row), user_errors=[])


@strawberry.type
class OrderMutations:
    """The order lifecycle (the shop backend)."""

    @strawberry.mutation(
        description="Record an order: the same calculation as checkout, then vouchers and "
        "coupon uses consumed, punches added, points earned (pending until completion when "
        "the site says so). Idempotent on (site, orderId). Send expectedTotal (and "
        "expectedPoints, expectedPointsPaid) from the quote the customer accepted: when the "
        "recalculation differs, QUOTE_CHANGED and nothing is recorded. Without them the order "
        "is recorded as recalculated, and notApplied lists the codes and vouchers it left "
        "out.",
        permission_classes=[IsStaff],
    )
    async def record_order(
        self,
        info: AppInfo,
        input: Annotated[RecordOrderInput, strawberry.argument(description=INPUT)],
    ) -> RecordOrderPayload:
        """Record an order."""
        ctx = info.context
        site_pk = staff_site(info, input.site_id)
        customer_pk = (
            parse_id(input.customer_id, "Customer") if input.customer_id is not None else None
        )
        # the prices are read in the currency of the site the service reads under the
        # order's lock: no read of the site here
        row = await order_service.record_order(
            ctx.db, site_id=site_pk, order_id=input.order_id, customer_id=customer_pk,
            basket=lambda currency: basket_in(currency, input), retry=retry_of(info, None),
            actor=ctx.actor, clock=ctx.clock,
            expected=lambda currency: _expectation(currency, input),
        )  # fmt: skip
        return RecordOrderPayload(
            order=Order.from_row(row), not_applied=not_applied(row.quote), user_errors=[]
        )

    @strawberry.mutation(
        description="Complete an order: its pending points become available. Idempotent.",
        permission_classes=[IsStaff],
    )
    async def complete_order(
        self, info: AppInfo, input: Annotated[OrderInput, strawberry.argument(description=INPUT)]
    ) -> OrderPayload:
        """Complete an order."""
        ctx = info.context
        site_pk = staff_site(info, input.site_id)
        row = await order_service.complete_order(
            ctx.db, site_id=site_pk, order_id=input.order_id, retry=retry_of(info, None),
            actor=ctx.actor, clock=ctx.clock,
        )  # fmt: skip
        return _order_payload(row)

    @strawberry.mutation(
        description="Cancel an order and undo it: points it earned taken back, points and "
        "vouchers it used given back, coupon uses and punches removed. Idempotent.",
        permission_classes=[IsStaff],
    )
    async def cancel_order(
        self, info: AppInfo, input: Annotated[OrderInput, strawberry.argument(description=INPUT)]
    ) -> OrderPayload:
        """Cancel an order."""
        ctx = info.context
        site_pk = staff_site(info, input.site_id)
        row = await order_service.cancel_order(
            ctx.db, site_id=site_pk, order_id=input.order_id, retry=retry_of(info, None),
            actor=ctx.actor, clock=ctx.clock,
        )  # fmt: skip
        return _order_payload(row)

    @strawberry.mutation(
        description="Record a refund (lines or an amount): the points the order earned are "
        "taken back and the points it paid with given back, in proportion and cumulatively "
        "(by the site's points rounding; all of them once the order is refunded in full); "
        "a voucher it used is active again (until its own expiry) once every line it took "
        "something off, or the whole order, is refunded; the refunded money no longer counts "
        "for AMOUNT_SPENT tiers. Idempotent on refundId.",
        permission_classes=[IsStaff],
    )
    async def refund_order(
        self,
        info: AppInfo,
        input: Annotated[RefundOrderInput, strawberry.argument(description=INPUT)],
    ) -> OrderPayload:
        """Refund an order."""
        ctx = info.context
        refund = order_service.RefundRequest(
            refund_id=input.refund_id.strip(),
            lines=tuple(
                order_service.RefundLine(line.line_id.strip(), line.quantity)
                for line in input.lines or ()
            ),
            amount=input.amount,
        )
        site_pk = staff_site(info, input.site_id)
        row = await order_service.refund_order(
            ctx.db, site_id=site_pk, order_id=input.order_id, refund=refund,
            retry=retry_of(info, None), actor=ctx.actor, clock=ctx.clock,
        )  # fmt: skip
        return _order_payload(row)
