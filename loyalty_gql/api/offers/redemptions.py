"""Mutations that hand offers to customers: redeeming one for points, assigning one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from loyalty_gql.api.core.arguments import IDEMPOTENCY_KEY, INPUT
from loyalty_gql.api.core.errors import UserError
from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.node import build_node
from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT, IsAdmin, IsStaffOrCustomer
from loyalty_gql.api.core.resolving import (
    TIER,
    AppInfo,
    node_or_not_found,
    retry_of,
    visible_customer,
)
from loyalty_gql.api.offers.mutations import admin_offer, offer_payload
from loyalty_gql.api.offers.types import Offer
from loyalty_gql.api.points.types import Voucher
from loyalty_gql.services.offers import assignments, redemptions
from loyalty_gql.services.offers.assignments import Audience

if TYPE_CHECKING:
    from loyalty_gql.api.customers.types import Customer

LazyCustomer = Annotated["Customer", strawberry.lazy("loyalty_gql.api.customers.types")]


@strawberry.input(description="An offer a customer buys with points.")
class RedeemOfferInput:
    """Which offer, for whom."""

    offer_id: strawberry.ID = strawberry.field(description="Global ID of the offer.")
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global ID of the customer; omit with a customer token."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="Result of redeemOffer.")
class RedeemOfferPayload:
    """The voucher bought, or why the offer could not be bought."""

    voucher: Voucher | None = strawberry.field(
        description="The voucher to use at checkout (null for a clubcard membership).",
        metadata=WITHIN_PARENT,
    )
    customer: LazyCustomer | None = strawberry.field(
        description="The customer, with their new balance.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was bought (not enough points, expired, limit reached...).",
        metadata=PUBLIC,
    )


@strawberry.type
class RedemptionMutations:
    """Buying offers with points."""

    @strawberry.mutation(
        description="Buy an offer at its loyalty price: one spend of points, one voucher.",
        permission_classes=[IsStaffOrCustomer],
    )
    async def redeem_offer(
        self,
        info: AppInfo,
        input: Annotated[RedeemOfferInput, strawberry.argument(description=INPUT)],
    ) -> RedeemOfferPayload:
        """Redeem an offer."""
        ctx = info.context
        customer_pk = await visible_customer(info, input.customer_id)
        bought = await redemptions.redeem_offer(
            ctx.db,
            customer_id=customer_pk,
            offer_id=parse_id(input.offer_id, "Offer"),
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )
        ctx.loaders.account_by_customer.clear(customer_pk)
        row = await ctx.loaders.customer_by_id.load(customer_pk)
        return RedeemOfferPayload(
            voucher=Voucher.from_row(bought.voucher) if bought.voucher else None,
            customer=build_node("Customer", row) if row else None,
            user_errors=[],
        )


@strawberry.input(description="Who gets an offer: listed customers, a customer group or a tier.")
class AssignOfferInput:
    """An offer and exactly one audience."""

    offer_id: strawberry.ID = strawberry.field(description="Global ID of the offer.")
    customer_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Up to 10,000 customers (enrolled customers of the site)."
    )
    customer_group: str | None = strawberry.field(
        default=None, description="Every enrolled customer of this group."
    )
    tier_id: strawberry.ID | None = strawberry.field(
        default=None, description="Every customer now in this tier."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="Result of assignOffer.")
class AssignOfferPayload:
    """How many customers got the offer."""

    offer: Offer | None = strawberry.field(description="The offer.", metadata=WITHIN_PARENT)
    assigned_count: int = strawberry.field(
        description="Customers who got the offer now.", metadata=PUBLIC
    )
    already_assigned_count: int = strawberry.field(
        description="Customers of the audience who had it already.", metadata=PUBLIC
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nobody got it.", metadata=PUBLIC
    )


@strawberry.type
class AssignmentMutations:
    """Giving offers to customers."""

    @strawberry.mutation(
        description="Give a punchcard, clubcard, coupon or reward to many customers at once.",
        permission_classes=[IsAdmin],
    )
    async def assign_offer(
        self,
        info: AppInfo,
        input: Annotated[AssignOfferInput, strawberry.argument(description=INPUT)],
    ) -> AssignOfferPayload:
        """Assign an offer."""
        ctx = info.context
        offer = await admin_offer(info, input.offer_id)
        audience = Audience(
            customer_ids=tuple(parse_id(c, "Customer") for c in input.customer_ids or ()),
            group=input.customer_group,
            tier_id=parse_id(input.tier_id, "Tier") if input.tier_id else None,
        )
        if input.tier_id:
            await node_or_not_found(
                info, input.tier_id, TIER, lambda _, tier: tier.site_id == offer.site_id,
                field="tierId",
            )  # fmt: skip
        done = await assignments.assign_offer(
            ctx.db,
            offer_id=offer.id,
            audience=audience,
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )
        payload = await offer_payload(info, offer)
        return AssignOfferPayload(
            offer=payload.offer,
            assigned_count=done.assigned,
            already_assigned_count=done.already,
            user_errors=[],
        )
