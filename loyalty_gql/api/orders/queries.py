"""checkout (pricing a basket) and reading an order."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty_gql.api.auth import Role
from loyalty_gql.api.core.arguments import INPUT
from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.node import ForbiddenError
from loyalty_gql.api.core.permissions import Anyone, IsStaff
from loyalty_gql.api.core.resolving import (
    AppInfo,
    count_unknown_codes,
    refuse_code_guessing,
    staff_site,
)
from loyalty_gql.api.orders.baskets import ORDER_ID, SITE_ID, CheckoutInput, basket_of
from loyalty_gql.api.orders.types import CheckoutQuote, Order
from loyalty_gql.db.repositories.orders import order_by_external_id
from loyalty_gql.services.checkout import checkout


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
            if ctx.freshness is not None:  # every try of a code counts against guessing
                ctx.freshness.refuse()
        basket = await basket_of(info, site_pk, input)
        answer = await checkout(
            ctx.db, site_id=site_pk, customer_id=customer_pk, basket=basket, clock=ctx.clock
        )
        doc = answer.document
        if answer.until is not None and ctx.freshness is not None:
            ctx.freshness.expires(answer.until)  # a campaign starts, ends or its hours turn
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
