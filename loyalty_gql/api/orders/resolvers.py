"""checkout, and the order lifecycle mutations."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from loyalty_gql.api.auth import Role
from loyalty_gql.api.core.errors import UserError
from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.node import ForbiddenError
from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT, Anyone, IsStaff
from loyalty_gql.api.core.resolving import (
    AppInfo,
    count_unknown_codes,
    refuse_code_guessing,
    retry_of,
    staff_site,
)
from loyalty_gql.api.orders.types import CheckoutQuote, Order
from loyalty_gql.api.sites.mutations import INPUT
from loyalty_gql.db.models import OrderRow
from loyalty_gql.db.repositories.orders import order_by_external_id
from loyalty_gql.domain.checkout import BasketLine
from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.values import Money as DomainMoney
from loyalty_gql.services import orders as order_service
from loyalty_gql.services.checkout import Basket, checkout

SITE_ID = "Global ID of the site."
ORDER_ID = "The shop's order id (1-128 characters), unique per site."


@strawberry.input(description="One line of a basket.")
class BasketLineInput:
    """A product, how many, and at what price."""

    product_id: str = strawberry.field(description="The product's id in the shop.")
    quantity: int = strawberry.field(description="How many (1-100,000).")
    unit_price: Decimal = strawberry.field(
        description="Price of one, in the site's currency, with at most its decimal places."
    )
    category: str = strawberry.field(
        default="", description="Category path such as shoes/running; category offers match it."
    )
    line_id: str | None = strawberry.field(
        default=None,
        description="Tells lines of one product apart; defaults to the product id.",
    )
    exclude_from_points: bool = strawberry.field(
        default=False, description="The line earns no points (gift cards, deposits, shipping)."
    )


@strawberry.input(description="A basket to price.")
class CheckoutInput:
    """The basket, and the codes, vouchers and points the customer chose."""

    site_id: strawberry.ID = strawberry.field(description=SITE_ID)
    lines: list[BasketLineInput] = strawberry.field(description="The lines (1-500).")
    customer_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Global ID of the customer (service and admin tokens); a customer token "
        "prices its own basket; without either the basket is a guest's.",
    )
    coupon_codes: list[str] = strawberry.field(
        default_factory=list, description="Coupon codes entered (up to 20)."
    )
    vouchers: list[str] = strawberry.field(
        default_factory=list, description="Codes of the customer's vouchers to use (up to 20)."
    )
    pay_with_points: int = strawberry.field(
        default=0, description="Points to pay with, at the site's point value."
    )


@strawberry.input(description="An order to record: the basket the customer bought.")
class RecordOrderInput:
    """The order id and the basket."""

    site_id: strawberry.ID = strawberry.field(description=SITE_ID)
    order_id: str = strawberry.field(description=ORDER_ID)
    lines: list[BasketLineInput] = strawberry.field(description="The lines (1-500).")
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global ID of the customer; null for a guest order."
    )
    coupon_codes: list[str] = strawberry.field(
        default_factory=list, description="Coupon codes entered."
    )
    vouchers: list[str] = strawberry.field(
        default_factory=list, description="Codes of the customer's vouchers used."
    )
    pay_with_points: int = strawberry.field(default=0, description="Points paid with.")


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


async def _basket(info: AppInfo, site_pk: int, data: CheckoutInput | RecordOrderInput) -> Basket:
    site = await info.context.loaders.site_by_id.load(site_pk)
    if site is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "siteId")
    problems = []
    parsed = []
    for index, line in enumerate(data.lines):
        try:
            price = DomainMoney.from_decimal(line.unit_price, site.currency).minor_units
        except (ValueError, ArithmeticError):
            problems.append(
                FieldProblem(
                    ("lines", str(index), "unitPrice"),
                    ErrorCode.INVALID_VALUE,
                    f"a {site.currency} amount with at most its decimal places",
                )
            )
            continue
        parsed.append(
            BasketLine(
                line_id=(line.line_id if line.line_id is not None else line.product_id).strip(),
                product_id=line.product_id.strip(),
                category=line.category.strip().strip("/"),
                quantity=line.quantity,
                unit_price=price,
                exclude_from_points=line.exclude_from_points,
            )
        )
    if problems:
        raise DomainError(problems)
    basket = Basket(
        tuple(parsed), tuple(data.coupon_codes), tuple(data.vouchers), data.pay_with_points
    )
    basket.check()
    return basket


@strawberry.type
class OrderQueries:
    """Pricing baskets and reading orders."""

    @strawberry.field(
        description="The price of a basket after every offer, and the points it earns. "
        "Changes nothing: call it on every basket change. Bad input is a top-level error "
        "whose extensions carry the code and userErrors.",
        permission_classes=[Anyone],
    )
    async def checkout(
        self, info: AppInfo, input: Annotated[CheckoutInput, strawberry.argument(description=INPUT)]
    ) -> CheckoutQuote:
        """Price a basket."""
        ctx = info.context
        access = ctx.access
        site_pk = parse_id(input.site_id, "Site")
        customer_pk: int | None = None
        if input.customer_id is not None:
            customer_pk = parse_id(input.customer_id, "Customer")
            if not access.serves_site(site_pk) and customer_pk != access.customer_id:
                raise ForbiddenError("Only the customer or the site's staff may price this basket.")
        elif access.role is Role.CUSTOMER:
            if not access.sees_site(site_pk) or access.customer_id is None:
                raise ForbiddenError("A customer prices baskets of their own site.")
            customer_pk = access.customer_id
        codes = bool(input.coupon_codes or input.vouchers)
        if codes:
            await refuse_code_guessing(info)
        basket = await _basket(info, site_pk, input)
        doc = await checkout(
            ctx.db, site_id=site_pk, customer_id=customer_pk, basket=basket, clock=ctx.clock
        )
        if codes:
            await count_unknown_codes(info, doc["rejected"])
        return CheckoutQuote.from_document(doc)

    @strawberry.field(
        description="A recorded order, by the shop's order id.", permission_classes=[IsStaff]
    )
    async def order(
        self,
        info: AppInfo,
        site_id: Annotated[strawberry.ID, strawberry.argument(description=SITE_ID)],
        order_id: Annotated[str, strawberry.argument(description=ORDER_ID)],
    ) -> Order | None:
        """One order."""
        site_pk = staff_site(info, site_id)
        async with info.context.db.read_sessions() as session:
            row = await order_by_external_id(session, site_pk, order_id.strip())
        return Order.from_row(row) if row is not None else None


def _order_payload(row: OrderRow) -> OrderPayload:
    return OrderPayload(order=Order.from_row(row), user_errors=[])


@strawberry.type
class OrderMutations:
    """The order lifecycle (the shop backend)."""

    @strawberry.mutation(
        description="Record an order: the same calculation as checkout, then vouchers and "
        "coupon uses consumed, punches added, points earned (pending until completion when "
        "the site says so). Idempotent on (site, orderId).",
        permission_classes=[IsStaff],
    )
    async def record_order(
        self,
        info: AppInfo,
        input: Annotated[RecordOrderInput, strawberry.argument(description=INPUT)],
    ) -> OrderPayload:
        """Record an order."""
        ctx = info.context
        site_pk = staff_site(info, input.site_id)
        customer_pk = (
            parse_id(input.customer_id, "Customer") if input.customer_id is not None else None
        )
        basket = await _basket(info, site_pk, input)
        row = await order_service.record_order(
            ctx.db, site_id=site_pk, order_id=input.order_id, customer_id=customer_pk,
            basket=basket, retry=retry_of(info, None), actor=ctx.actor, clock=ctx.clock,
        )  # fmt: skip
        return _order_payload(row)

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
        description="Record a refund (lines or an amount) and take back the points in "
        "proportion. Idempotent on refundId.",
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
