"""Channels that reach the customer: e-mail (SMTP) and Web Push.

They run on the outbox and the delivery rules of webhooks: `dispatch` turns each
outbox event into at most one delivery per channel and address (unique on event,
channel and address), with the exact message every attempt sends; `send_due` claims due
deliveries (row locks, then a lease; the attempt is counted at the claim), sends them
within the lease and records the answer; failures back off (`backoff`), and after
MAX_ATTEMPTS a delivery is DEAD until `retry_delivery`. A customer gets a message when
the site sends that event on the channel, they did not opt out of its category, and
marketing only with their consent. See sending.py for what "never twice" means.
"""

from __future__ import annotations

from loyalty_gql.services.channels.choices import (
    PushKeys,
    choose_messages,
    register_push_subscription,
    remove_push_subscription,
    set_customer_locale,
    unsubscribe,
)
from loyalty_gql.services.channels.config import ChannelConfig
from loyalty_gql.services.channels.dispatch import dispatch
from loyalty_gql.services.channels.email import Outcome
from loyalty_gql.services.channels.push import new_vapid_key, public_key
from loyalty_gql.services.channels.samples import send_sample_email
from loyalty_gql.services.channels.sending import send_due
from loyalty_gql.services.channels.settings import (
    ChannelChanges,
    application_server_key,
    channel_settings,
    retry_delivery,
    update_channel_settings,
)

__all__ = [
    "ChannelChanges",
    "ChannelConfig",
    "Outcome",
    "PushKeys",
    "application_server_key",
    "channel_settings",
    "choose_messages",
    "dispatch",
    "new_vapid_key",
    "public_key",
    "register_push_subscription",
    "remove_push_subscription",
    "retry_delivery",
    "send_due",
    "send_sample_email",
    "set_customer_locale",
    "unsubscribe",
    "update_channel_settings",
]
