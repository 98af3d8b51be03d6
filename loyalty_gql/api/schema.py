"""The schema: every area's queries and mutations."""

from __future__ import annotations

from functools import lru_cache

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from loyalty_gql.api.campaigns.mutations import CampaignMutations
from loyalty_gql.api.campaigns.queries import CampaignQueries
from loyalty_gql.api.campaigns.types import Campaign
from loyalty_gql.api.channels.mutations import ChannelMutations
from loyalty_gql.api.channels.queries import ChannelQueries
from loyalty_gql.api.core.arguments import guard_arguments
from loyalty_gql.api.core.input_builders import plan_inputs
from loyalty_gql.api.core.rules import say_the_rules
from loyalty_gql.api.core.scalars import SCALARS
from loyalty_gql.api.customers.mutations import CustomerMutations
from loyalty_gql.api.customers.queries import CustomerQueries
from loyalty_gql.api.customers.types import Customer
from loyalty_gql.api.gamification.mutations import GamificationMutations
from loyalty_gql.api.gamification.queries import GamificationQueries
from loyalty_gql.api.insight.queries import InsightQueries
from loyalty_gql.api.leaderboards.mutations import LeaderboardMutations
from loyalty_gql.api.leaderboards.queries import LeaderboardQueries
from loyalty_gql.api.node_query import NodeQueries
from loyalty_gql.api.notifications.events import Event, EventQueries
from loyalty_gql.api.notifications.mutations import NotificationMutations
from loyalty_gql.api.notifications.queries import NotificationQueries
from loyalty_gql.api.offers.exchanges import Exchange, ExchangeMutations, ExchangeQueries
from loyalty_gql.api.offers.mutations import OfferMutations
from loyalty_gql.api.offers.queries import OfferQueries
from loyalty_gql.api.offers.redemptions import AssignmentMutations, RedemptionMutations
from loyalty_gql.api.offers.stacking import StackingGroupMutations, StackingGroupQueries
from loyalty_gql.api.offers.types import Offer
from loyalty_gql.api.orders.mutations import OrderMutations
from loyalty_gql.api.orders.queries import OrderQueries
from loyalty_gql.api.orders.types import Order
from loyalty_gql.api.points.mutations import PointsMutations
from loyalty_gql.api.points.queries import PointsQueries
from loyalty_gql.api.points.types import LedgerEntry, Voucher
from loyalty_gql.api.sites.mutations import SiteMutations
from loyalty_gql.api.sites.queries import SiteQueries
from loyalty_gql.api.sites.types import Site
from loyalty_gql.api.subscriptions import Subscription
from loyalty_gql.api.tiers.mutations import TierMutations
from loyalty_gql.api.tiers.queries import TierQueries
from loyalty_gql.api.tiers.types import Tier
from loyalty_gql.api.webhooks.mutations import WebhookMutations
from loyalty_gql.api.webhooks.queries import WebhookQueries
from loyalty_gql.api.webhooks.types import WebhookDelivery, WebhookEndpoint

Query = merge_types(
    "Query",
    (
        NodeQueries,
        SiteQueries,
        CustomerQueries,
        PointsQueries,
        TierQueries,
        OfferQueries,
        CampaignQueries,
        ExchangeQueries,
        OrderQueries,
        StackingGroupQueries,
        WebhookQueries,
        ChannelQueries,
        NotificationQueries,
        EventQueries,
        InsightQueries,
        LeaderboardQueries,
        GamificationQueries,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        SiteMutations,
        CustomerMutations,
        PointsMutations,
        TierMutations,
        OfferMutations,
        CampaignMutations,
        RedemptionMutations,
        AssignmentMutations,
        ExchangeMutations,
        OrderMutations,
        StackingGroupMutations,
        WebhookMutations,
        ChannelMutations,
        NotificationMutations,
        LeaderboardMutations,
        GamificationMutations,
    ),
)
Query.__strawberry_definition__.description = (  # type: ignore[attr-defined]
    "Everything that can be read. A field that ends 'Admins only.' needs an admin token "
    "of the site, one that ends 'Staff only' an admin or the shop backend's service token. "
    "Such a field of an object a customer can read is nullable: asked with a customer token "
    "it is null with a FORBIDDEN error for that field alone, and the object stays."
)
Mutation.__strawberry_definition__.description = "Everything that can be changed."  # type: ignore[attr-defined]
Subscription.__strawberry_definition__.description = (  # type: ignore[attr-defined]
    "Updates pushed over WebSocket at /graphql (graphql-transport-ws), authenticated with "
    "the token in connection_init's payload."
)


def build_schema() -> strawberry.Schema:
    """The schema. Its protective rules are applied by loyalty_gql.api.executor."""
    built = strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[
            Site,
            Customer,
            LedgerEntry,
            Tier,
            Voucher,
            Offer,
            Campaign,
            Exchange,
            Order,
            WebhookEndpoint,
            WebhookDelivery,
            Event,
        ],
        config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALARS),
    )
    say_the_rules(built)
    return built


schema = build_schema()
guard_arguments(schema._schema)
plan_inputs(schema)


@lru_cache
def printed_schema() -> str:
    """The SDL of the schema, as committed in schema.graphql."""
    return schema.as_str() + "\n"
