"""GraphQL type of an offer."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry

from loyalty_gql.api.core.ids import to_global_id
from loyalty_gql.api.core.money import Money
from loyalty_gql.api.core.node import Node, builds_node
from loyalty_gql.api.core.pagination import CountedConnection
from loyalty_gql.api.core.permissions import CanSeeSite, CanServeSite
from loyalty_gql.api.core.resolving import AppInfo
from loyalty_gql.api.insight.types import OfferPerformance
from loyalty_gql.api.tiers.types import Tier
from loyalty_gql.db.models import OfferRow
from loyalty_gql.domain.offers import OfferKind, OfferScope, OfferStatus, OfferValueType
from loyalty_gql.domain.values import Money as DomainMoney

strawberry.enum(OfferKind, description="The five kinds of offer.")
strawberry.enum(OfferStatus, description="Where an offer is in its life.")
strawberry.enum(OfferValueType, description="What an offer takes off.")
strawberry.enum(OfferScope, description="Which part of a basket an offer applies to.")


def _see(description: str) -> Any:
    return strawberry.field(description=description, permission_classes=[CanSeeSite])


def _staff(description: str) -> Any:
    return strawberry.field(description=description, permission_classes=[CanServeSite])


@strawberry.type(
    description="An offer of a site: reward, coupon, punchcard, promotion or clubcard."
)
class Offer(Node):
    """An offer and its terms."""

    pk: strawberry.Private[int]
    site_pk: strawberry.Private[int]
    tier_pks: strawberry.Private[list[int]]
    copied_from_pk: strawberry.Private[int | None]
    kind: OfferKind = _see("Reward, coupon, punchcard, promotion or clubcard.")
    status: OfferStatus | None = _staff("Draft, published, unpublished or deleted.")
    name: str = _see("Name shown to customers.")
    description: str | None = _see("Text shown to customers.")
    image_url: str | None = _see("Picture shown to customers.")
    value_type: OfferValueType = _see("Percent, fixed amount or a free item.")
    value: Decimal | None = _see(
        "The percentage, or the amount in the site's currency; null for a free item."
    )
    scope: OfferScope = _see("Whole order, categories, sub-categories or products.")
    targets: list[str] = _see("Category paths or product ids the offer applies to.")
    loyalty_price: int | None = _see("Points a customer pays to get the offer.")
    reward_points: int = _see("Points handed out when an order uses the offer.")
    valid_from: datetime | None = _see("Start of validity; null is now.")
    valid_until: datetime | None = _see("End of validity; null is open-ended.")
    max_uses: int | None = _see("Most uses in total; null is no limit.")
    max_uses_per_customer: int | None = _see("Most uses per customer.")
    row_uses: strawberry.Private[int]
    minimum_order_value: Money = _see("Smallest order the offer applies to.")
    customer_groups: list[str] = _see("Customer groups it is limited to; empty is everyone.")
    badge_codes: list[str] = _see("Badges whose holders it is limited to; empty is everyone.")
    priority: int = _see("Higher applies first at checkout.")
    exclusive: bool = _see(
        "Whether the offer stands alone at checkout; in a BEST_FOR_CUSTOMER stacking group it"
        " competes alone against the other offers together, and the lower total wins."
    )
    stacking_group: str | None = _see(
        "Offers in one group combine by the group's mode; an exclusive offer's group counts"
        " only when its mode is BEST_FOR_CUSTOMER."
    )
    punches_required: int | None = _see("Punches that complete a punchcard.")
    punch_minimum_quantity: int = _see("Items a purchase needs to punch.")
    membership_fee_points: int | None = _see("A clubcard's fee in points.")
    coupon_code: str | None = _staff("The shared code of a coupon.")
    exchange_product_id: str | None = _see("The product a reward exchanges points for.")
    exchange_price: Money | None = _see("What the exchanged product costs (zero or a token).")
    created_at: datetime | None = _staff("When the offer was created.")
    updated_at: datetime | None = _staff("When its terms or status last changed.")
    published_at: datetime | None = _staff("When it was last published.")
    deleted_at: datetime | None = _staff("When it was deleted.")

    @strawberry.field(description="Uses so far.", permission_classes=[CanServeSite])
    async def uses(self, info: AppInfo) -> int | None:
        """The offer row's count and, for an offer without a limit, its shards' (db/models
        OfferUseCountRow), batched with the response's other offers."""
        on_shards = await info.context.loaders.offer_shard_uses.load(self.pk)
        return self.row_uses + (on_shards or 0)

    @strawberry.field(
        description="Tiers the offer is limited to; empty is every tier.",
        permission_classes=[CanSeeSite],
    )
    async def tiers(self, info: AppInfo) -> list[Tier]:
        """The tiers of the offer."""
        rows = await info.context.loaders.tier_by_id.load_many(self.tier_pks)
        return [Tier.from_row(row) for row in rows if row]

    @strawberry.field(
        description="The offer this one was copied from.", permission_classes=[CanServeSite]
    )
    async def copied_from(self, info: AppInfo) -> Offer | None:
        """The original of a copy."""
        if self.copied_from_pk is None:
            return None
        row = await info.context.loaders.offer_by_id.load(self.copied_from_pk)
        site = await info.context.loaders.site_by_id.load(self.site_pk)
        return Offer.from_row(row, site.currency) if row and site else None

    @strawberry.field(
        description="How the offer did on every order that used it (admins and the shop "
        "backend; null with an error for anyone else).",
        permission_classes=[CanServeSite],
    )
    async def performance(self, info: AppInfo) -> OfferPerformance | None:
        """Uses, buyers, discount and revenue, batched with the response's other offers."""
        use = await info.context.loaders.offer_performance.load(self.pk)
        site = await info.context.loaders.site_by_id.load(self.site_pk)
        return OfferPerformance.of(use, site.currency if site else "XXX")

    @classmethod
    def from_row(cls, row: OfferRow, currency: str) -> Offer:
        """The GraphQL object of an offer row."""
        price = row.exchange_price_minor
        return cls(
            id=to_global_id("Offer", row.id),
            pk=row.id,
            site_pk=row.site_id,
            tier_pks=list(row.tier_ids),
            copied_from_pk=row.copied_from_id,
            kind=OfferKind(row.kind),
            status=OfferStatus(row.status),
            name=row.name,
            description=row.description,
            image_url=row.image_url,
            value_type=OfferValueType(row.value_type),
            value=row.value,
            scope=OfferScope(row.scope),
            targets=list(row.targets),
            loyalty_price=row.loyalty_price,
            reward_points=row.reward_points,
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            max_uses=row.max_uses,
            max_uses_per_customer=row.max_uses_per_customer,
            row_uses=row.uses,
            minimum_order_value=Money.of(DomainMoney(row.minimum_order_minor, currency)),
            customer_groups=list(row.customer_groups),
            badge_codes=list(row.badge_codes or ()),
            priority=row.priority,
            exclusive=row.exclusive,
            stacking_group=row.stacking_group,
            punches_required=row.punches_required,
            punch_minimum_quantity=row.punch_minimum_quantity,
            membership_fee_points=row.membership_fee_points,
            coupon_code=row.coupon_code,
            exchange_product_id=row.exchange_product_id,
            exchange_price=None if price is None else Money.of(DomainMoney(price, currency)),
            created_at=row.created_at,
            updated_at=row.updated_at,
            published_at=row.published_at,
            deleted_at=row.deleted_at,
        )


@strawberry.type(
    name="OfferConnection", description="A page of a site's offers, and how many match."
)
class OfferConnection(CountedConnection[Offer]):
    """Offers, newest first."""


builds_node("Offer", Offer.from_row)
