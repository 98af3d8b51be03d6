"""Mutations on offers (admins of the site)."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.utils.str_converters import to_camel_case

from loyalty_gql.api.core.arguments import IDEMPOTENCY_KEY, INPUT
from loyalty_gql.api.core.errors import UserError
from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT, IsAdmin
from loyalty_gql.api.core.refusals import problems_under
from loyalty_gql.api.core.resolving import (
    OFFER,
    AppInfo,
    admin_site,
    managed,
    node_or_not_found,
    retry_of,
)
from loyalty_gql.api.offers.types import Offer
from loyalty_gql.db.models import OfferRow
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.offers import OfferKind, OfferScope, OfferTerms, OfferValueType
from loyalty_gql.services.offers import catalog as service

T = TypeVar("T")


@strawberry.input(description="Terms of an offer.")
class OfferTermsInput:
    """Terms common to every kind, and those of one kind."""

    name: str = strawberry.field(description="Name shown to customers.")
    value_type: OfferValueType = strawberry.field(description="Percent, amount or free item.")
    value: Decimal | None = strawberry.field(
        default=None, description="Percentage or amount; omit for a free item."
    )
    scope: OfferScope = strawberry.field(default=OfferScope.ORDER, description="Where it applies.")
    targets: list[str] = strawberry.field(
        default_factory=list, description="Category paths (shoes/running) or product ids."
    )
    description: str | None = strawberry.field(default=None, description="Text for customers.")
    image_url: str | None = strawberry.field(default=None, description="Picture (http(s) URL).")
    loyalty_price: int | None = strawberry.field(
        default=None, description="Points to get it (required for rewards)."
    )
    reward_points: int = strawberry.field(default=0, description="Points per order using it.")
    valid_from: datetime | None = strawberry.field(default=None, description="Start, with zone.")
    valid_until: datetime | None = strawberry.field(default=None, description="End, with zone.")
    max_uses: int | None = strawberry.field(default=None, description="Most uses in total.")
    max_uses_per_customer: int | None = strawberry.field(
        default=None, description="Most uses per customer."
    )
    minimum_order_value: Decimal = strawberry.field(
        default=Decimal(0), description="Smallest order it applies to."
    )
    customer_groups: list[str] = strawberry.field(
        default_factory=list, description="Limit to these customer groups."
    )
    tier_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Limit to these tiers."
    )
    badge_codes: list[str] = strawberry.field(
        default_factory=list, description="Limit to holders of one of these badges."
    )
    priority: int = strawberry.field(default=0, description="Higher applies first (-1000-1000).")
    exclusive: bool = strawberry.field(
        default=False,
        description=(
            "Stands alone at checkout; in a BEST_FOR_CUSTOMER stacking group it competes alone"
            " against the other offers together, and the lower total wins."
        ),
    )
    stacking_group: str | None = strawberry.field(
        default=None,
        description=(
            "Combination group; an exclusive offer's group counts only when its mode is"
            " BEST_FOR_CUSTOMER."
        ),
    )
    punches_required: int | None = strawberry.field(
        default=None, description="Punchcards: punches to complete the card (2-100)."
    )
    punch_minimum_quantity: int = strawberry.field(
        default=1, description="Punchcards: items a purchase needs to punch."
    )
    membership_fee_points: int | None = strawberry.field(
        default=None, description="Clubcards: fee in points."
    )
    coupon_code: str | None = strawberry.field(
        default=None, description="Coupons: one shared code (A-Z, 0-9, - and _)."
    )
    exchange_product_id: str | None = strawberry.field(
        default=None, description="Rewards: the product exchanged for points."
    )
    exchange_price: Decimal | None = strawberry.field(
        default=None, description="Rewards: the exchanged product's price (zero or a token)."
    )


@strawberry.input(description="A new offer; it starts as a DRAFT.")
class CreateOfferInput:
    """Site, kind and terms."""

    site_id: strawberry.ID = strawberry.field(description="Global ID of the site.")
    kind: OfferKind = strawberry.field(description="Which kind of offer.")
    terms: OfferTermsInput = strawberry.field(description="The offer's terms.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="New terms of an offer (the whole set); the kind stays.")
class UpdateOfferInput:
    """Which offer and its new terms."""

    offer_id: strawberry.ID = strawberry.field(description="Global ID of the offer.")
    terms: OfferTermsInput = strawberry.field(description="The offer's new terms.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="Which offer to act on.")
class OfferActionInput:
    """An offer."""

    offer_id: strawberry.ID = strawberry.field(description="Global ID of the offer.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="An offer after a change, or why it was refused.")
class OfferPayload:
    """Result of an offer mutation."""

    offer: Offer | None = strawberry.field(
        description="The offer as it is now.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing changed.", metadata=PUBLIC
    )


def _terms(kind: OfferKind, data: OfferTermsInput) -> OfferTerms:
    values: dict[str, Any] = dict(vars(data))
    values["targets"] = tuple(t.strip() for t in data.targets)
    values["customer_groups"] = tuple(g.strip() for g in data.customer_groups)
    values["tier_ids"] = tuple(parse_id(t, "Tier") for t in data.tier_ids)
    values["badge_codes"] = tuple(c.strip() for c in data.badge_codes)
    values["coupon_code"] = data.coupon_code.strip().upper() if data.coupon_code else None
    for name in ("valid_from", "valid_until"):
        moment = values[name]
        if moment is not None and moment.utcoffset() is None:
            raise DomainError.single(
                ErrorCode.INVALID_VALUE, "give a UTC offset, e.g. ...T00:00:00Z",
                "terms", to_camel_case(name),
            )  # fmt: skip
    return OfferTerms(kind=kind, **values)


async def offer_payload(info: AppInfo, row: OfferRow) -> OfferPayload:
    info.context.loaders.offer_by_id.clear(row.id)
    site = await info.context.loaders.site_by_id.load(row.site_id)
    return OfferPayload(offer=Offer.from_row(row, site.currency), user_errors=[])


async def admin_offer(info: AppInfo, offer_id: str) -> OfferRow:
    """The offer, if the caller administers its site; NOT_FOUND otherwise."""
    return await node_or_not_found(info, offer_id, OFFER, managed, field="offerId")


def _under_terms(work: Awaitable[T]) -> Awaitable[T]:
    """The service's problems with the terms sit under input.terms."""
    return problems_under("terms", work, own=("offerId", "siteId", "idempotencyKey", "terms"))


@strawberry.type
class OfferMutations:
    """Managing offers."""

    @strawberry.mutation(description="Create an offer as a DRAFT.", permission_classes=[IsAdmin])
    async def create_offer(
        self,
        info: AppInfo,
        input: Annotated[CreateOfferInput, strawberry.argument(description=INPUT)],
    ) -> OfferPayload:
        """Create an offer."""
        ctx = info.context
        site_pk = admin_site(info, input.site_id)
        terms = _terms(input.kind, input.terms)
        row = await _under_terms(
            service.create_offer(
                ctx.db,
                site_id=site_pk,
                terms=terms,
                actor=ctx.actor,
                clock=ctx.clock,
                retry=retry_of(info, input.idempotency_key),
            )
        )
        return await offer_payload(info, row)

    @strawberry.mutation(
        description="Replace an offer's terms (not of a deleted one).",
        permission_classes=[IsAdmin],
    )
    async def update_offer(
        self,
        info: AppInfo,
        input: Annotated[UpdateOfferInput, strawberry.argument(description=INPUT)],
    ) -> OfferPayload:
        """Update an offer."""
        ctx = info.context
        current = await admin_offer(info, input.offer_id)
        terms = _terms(OfferKind(current.kind), input.terms)
        row = await _under_terms(
            service.update_offer(
                ctx.db,
                offer_id=current.id,
                changes=service.OfferChanges.every_term(terms),
                actor=ctx.actor,
                clock=ctx.clock,
                retry=retry_of(info, input.idempotency_key),
            )
        )
        return await offer_payload(info, row)

    @strawberry.mutation(
        description="Publish an offer: customers see it and checkout applies it.",
        permission_classes=[IsAdmin],
    )
    async def publish_offer(
        self,
        info: AppInfo,
        input: Annotated[OfferActionInput, strawberry.argument(description=INPUT)],
    ) -> OfferPayload:
        """Publish."""
        return await _change(info, input, "publish")

    @strawberry.mutation(
        description="Take an offer off the storefront (it can be published again).",
        permission_classes=[IsAdmin],
    )
    async def unpublish_offer(
        self,
        info: AppInfo,
        input: Annotated[OfferActionInput, strawberry.argument(description=INPUT)],
    ) -> OfferPayload:
        """Unpublish."""
        return await _change(info, input, "unpublish")

    @strawberry.mutation(
        description="Delete an offer: gone from the storefront; its history keeps resolving.",
        permission_classes=[IsAdmin],
    )
    async def delete_offer(
        self,
        info: AppInfo,
        input: Annotated[OfferActionInput, strawberry.argument(description=INPUT)],
    ) -> OfferPayload:
        """Delete (softly)."""
        return await _change(info, input, "delete")

    @strawberry.mutation(
        description='Copy an offer as a new DRAFT "Copy of ...": same terms, no uses, new codes.',
        permission_classes=[IsAdmin],
    )
    async def copy_offer(
        self,
        info: AppInfo,
        input: Annotated[OfferActionInput, strawberry.argument(description=INPUT)],
    ) -> OfferPayload:
        """Copy."""
        ctx = info.context
        original = await admin_offer(info, input.offer_id)
        row = await service.copy_offer(
            ctx.db,
            offer_id=original.id,
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )
        return await offer_payload(info, row)


async def _change(info: AppInfo, data: OfferActionInput, action: str) -> OfferPayload:
    ctx = info.context
    current = await admin_offer(info, data.offer_id)
    row = await _under_terms(
        service.change_status(
            ctx.db,
            offer_id=current.id,
            action=action,
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, data.idempotency_key),
        )
    )
    return await offer_payload(info, row)
