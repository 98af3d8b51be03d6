"""Campaigns: earning rules evaluated by domain.campaigns.evaluate, their awards written
in the transaction of the event that earned them (an order, an activity, a tier...).

Lock order (PostgreSQL; SQLite's one write lock serialises anyway), the same in every
use case: the customer's account -> offers with a usage limit -> single-use codes ->
vouchers -> campaigns with a budget (each by id) -> offers without a limit. Recording
locks the budgeted campaigns the order touches while pricing, after the vouchers;
cancelling and refunding give budgets back after the vouchers and before the unlimited
offers' counters.
"""

from loyalty_gql.services.campaigns.awards import (
    EVENT,
    Awarded,
    activate_awards,
    apply_awards,
    give_back_budgets,
    take_back_award,
)
from loyalty_gql.services.campaigns.evaluation import NOTHING, evaluated, order_outcome
from loyalty_gql.services.campaigns.index import forget_site_campaigns, site_campaigns
from loyalty_gql.services.campaigns.triggers import (
    award_trigger,
    birthday_source_key,
    referral_source_key,
    take_back_trigger,
)

__all__ = [
    "EVENT",
    "NOTHING",
    "Awarded",
    "activate_awards",
    "apply_awards",
    "award_trigger",
    "birthday_source_key",
    "evaluated",
    "forget_site_campaigns",
    "give_back_budgets",
    "order_outcome",
    "referral_source_key",
    "site_campaigns",
    "take_back_award",
    "take_back_trigger",
]
