"""Tables, one module per area. Names are the shop's words; every row belongs to one site.

Importing this package registers every table with ``Base.metadata`` (migrations and
relationships by name need them all).
"""

from loyalty_gql.db.models.base import NAMING, Base, BigId
from loyalty_gql.db.models.campaigns import CampaignAwardRow, CampaignRow
from loyalty_gql.db.models.channels import (
    ChannelDeliveryRow,
    ChannelOptOutRow,
    ChannelSettingsRow,
    PushSubscriptionRow,
)
from loyalty_gql.db.models.core import AuditTrailRow, IdempotencyRecordRow, OutboxEventRow
from loyalty_gql.db.models.customers import CustomerRow, EnrollmentEventRow, ReferralRow
from loyalty_gql.db.models.gamification import (
    BadgeTypeRow,
    ChallengeCompletionRow,
    ChallengeFactRow,
    ChallengeProgressRow,
    ChallengeRow,
    CustomerBadgeRow,
)
from loyalty_gql.db.models.leaderboards import (
    LeaderboardAwardRow,
    LeaderboardRow,
    LeaderboardScoreCountRow,
    LeaderboardScoreRow,
)
from loyalty_gql.db.models.notifications import (
    NotificationTemplateRow,
    WebhookDeliveryRow,
    WebhookEndpointRow,
)
from loyalty_gql.db.models.offers import (
    CouponCodeRow,
    ExchangeRow,
    OfferAssignmentRow,
    OfferCustomerUseRow,
    OfferRow,
    OfferUseCountRow,
    StackingGroupRow,
)
from loyalty_gql.db.models.orders import (
    OrderLineRow,
    OrderOfferRow,
    OrderPunchRow,
    OrderRefundRow,
    OrderRow,
)
from loyalty_gql.db.models.points import (
    CustomerDayRow,
    LedgerEntryRow,
    LotMovementRow,
    PointAccountRow,
    PointLotRow,
    VoucherRow,
)
from loyalty_gql.db.models.sites import SiteRow
from loyalty_gql.db.models.tiers import TierRow

__all__ = [
    "NAMING",
    "AuditTrailRow",
    "BadgeTypeRow",
    "Base",
    "BigId",
    "CampaignAwardRow",
    "CampaignRow",
    "ChallengeCompletionRow",
    "ChallengeFactRow",
    "ChallengeProgressRow",
    "ChallengeRow",
    "ChannelDeliveryRow",
    "ChannelOptOutRow",
    "ChannelSettingsRow",
    "CouponCodeRow",
    "CustomerBadgeRow",
    "CustomerDayRow",
    "CustomerRow",
    "EnrollmentEventRow",
    "ExchangeRow",
    "IdempotencyRecordRow",
    "LeaderboardAwardRow",
    "LeaderboardRow",
    "LeaderboardScoreCountRow",
    "LeaderboardScoreRow",
    "LedgerEntryRow",
    "LotMovementRow",
    "NotificationTemplateRow",
    "OfferAssignmentRow",
    "OfferCustomerUseRow",
    "OfferRow",
    "OfferUseCountRow",
    "OrderLineRow",
    "OrderOfferRow",
    "OrderPunchRow",
    "OrderRefundRow",
    "OrderRow",
    "OutboxEventRow",
    "PointAccountRow",
    "PointLotRow",
    "PushSubscriptionRow",
    "ReferralRow",
    "SiteRow",
    "StackingGroupRow",
    "TierRow",
    "VoucherRow",
    "WebhookDeliveryRow",
    "WebhookEndpointRow",
]
