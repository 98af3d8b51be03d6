"""Changing a site's channels, a test send and retries (admins); customers' push
subscriptions and the language of their messages."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty_gql.api.channels.types import ChannelDelivery, ChannelSettings, PushSubscription
from loyalty_gql.api.core.arguments import IDEMPOTENCY_KEY, INPUT
from loyalty_gql.api.core.errors import UserError
from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.node import ForbiddenError
from loyalty_gql.api.core.permissions import (
    PUBLIC,
    WITHIN_PARENT,
    IsAdmin,
    IsCustomer,
    IsStaffOrCustomer,
)
from loyalty_gql.api.core.resolving import AppInfo, admin_site, retry_of, visible_customer
from loyalty_gql.db.repositories.channels import delivery_by_id
from loyalty_gql.domain.channels import Category, Channel
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.services import channels as service


@strawberry.input(description="Changes to a site's e-mail and Web Push; omitted fields stay.")
class UpdateChannelSettingsInput:
    """The site and what changes."""

    site_id: strawberry.ID = strawberry.field(description="Global ID of the site.")
    email_enabled: bool | None = strawberry.field(default=None, description="Send e-mail.")
    email_from: str | None = strawberry.field(
        default=None, description="The sender, like Shop <news@shop.example>."
    )
    email_events: list[str] | None = strawberry.field(default=None, description="Events to e-mail.")
    push_enabled: bool | None = strawberry.field(default=None, description="Send Web Push.")
    push_events: list[str] | None = strawberry.field(default=None, description="Events to push.")
    push_link: str | None = strawberry.field(
        default=None,
        description="Where opening a push leads, jinja2 with the templates' variables, e.g. "
        "https://shop.example/account/discounts.",
    )
    vapid_subject: str | None = strawberry.field(
        default=None, description="mailto: or https: contact for push services."
    )
    new_vapid_key: bool = strawberry.field(
        default=False,
        description="Give the site its own VAPID key (subscriptions made with the previous "
        "key stop receiving pushes).",
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="Result of updateChannelSettings.")
class ChannelSettingsPayload:
    """The settings now in force, or why nothing changed."""

    settings: ChannelSettings | None = strawberry.field(
        description="The settings.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing changed.", metadata=PUBLIC
    )


@strawberry.input(description="A test e-mail of one event's template, with sample data.")
class SendTestEmailInput:
    """The site, the event and where to send it."""

    site_id: strawberry.ID = strawberry.field(description="Global ID of the site.")
    event: str = strawberry.field(description="The event kind whose template is sent.")
    to: str = strawberry.field(description="The address to send it to.")


@strawberry.type(description="Result of sendTestEmail.")
class SendTestEmailPayload:
    """Whether the SMTP server took the message."""

    delivered: bool = strawberry.field(description="The server accepted it.", metadata=PUBLIC)
    error: str | None = strawberry.field(description="Why it did not.", metadata=PUBLIC)
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was sent.", metadata=PUBLIC
    )


@strawberry.input(description="An e-mail or push delivery to send again.")
class RetryChannelDeliveryInput:
    """Which delivery."""

    delivery_id: strawberry.ID = strawberry.field(description="Global ID of the delivery.")


@strawberry.type(description="Result of retryChannelDelivery.")
class RetryChannelDeliveryPayload:
    """The delivery, due again."""

    delivery: ChannelDelivery | None = strawberry.field(
        description="The delivery.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why it was not retried.", metadata=PUBLIC
    )


@strawberry.input(description="The keys of a browser's PushSubscription (its toJSON()).")
class PushKeysInput:
    """The subscription's public key and secret."""

    p256dh: str = strawberry.field(description="keys.p256dh, base64url.")
    auth: str = strawberry.field(description="keys.auth, base64url.")


@strawberry.input(description="A browser's Web Push subscription of the signed-in customer.")
class RegisterPushSubscriptionInput:
    """The subscription as the browser gives it."""

    endpoint: str = strawberry.field(description="The push service's https URL.")
    keys: PushKeysInput = strawberry.field(description="Its keys.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="Result of registerPushSubscription.")
class PushSubscriptionPayload:
    """The subscription, or why it was refused."""

    subscription: PushSubscription | None = strawberry.field(description="It.", metadata=PUBLIC)
    user_errors: list[UserError] = strawberry.field(
        description="Why it was refused.", metadata=PUBLIC
    )


@strawberry.input(description="A Web Push subscription the customer no longer wants.")
class RemovePushSubscriptionInput:
    """Which subscription, by its endpoint."""

    endpoint: str = strawberry.field(description="The push service's URL.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="Result of removePushSubscription.")
class RemovePushSubscriptionPayload:
    """Whether there was one."""

    removed: bool = strawberry.field(description="A subscription was removed.", metadata=PUBLIC)
    user_errors: list[UserError] = strawberry.field(description="Why not.", metadata=PUBLIC)


@strawberry.input(description="The language a customer's messages are written in.")
class SetCustomerLocaleInput:
    """Whose, and which."""

    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global ID of the customer; omit with a customer token."
    )
    locale: str | None = strawberry.field(description="Like pl or de-AT; null: the site's.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="Result of setCustomerLocale.")
class SetCustomerLocalePayload:
    """The locale now in force."""

    locale: str | None = strawberry.field(description="The customer's locale.", metadata=PUBLIC)
    user_errors: list[UserError] = strawberry.field(description="Why not.", metadata=PUBLIC)


@strawberry.input(description="Whether a customer receives one kind of message on a channel.")
class ChooseMessagesInput:
    """Whose choice, and what."""

    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global ID of the customer; omit with a customer token."
    )
    channel: Channel = strawberry.field(description="E-mail or push.")
    category: Category = strawberry.field(
        description="Transactional or marketing (marketing also needs marketingConsent)."
    )
    receive: bool = strawberry.field(description="false: no more of these; true: again.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="Result of chooseMessages.")
class ChooseMessagesPayload:
    """The choice now in force."""

    receive: bool | None = strawberry.field(description="Whether they get them.", metadata=PUBLIC)
    user_errors: list[UserError] = strawberry.field(description="Why not.", metadata=PUBLIC)


def _customer_of_token(info: AppInfo) -> int:
    customer = info.context.access.customer_id
    if customer is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such customer")
    return customer


@strawberry.type
class ChannelMutations:
    """Channels, test sends, retries, push subscriptions and locales."""

    @strawberry.mutation(
        description="Change the site's e-mail and Web Push settings.", permission_classes=[IsAdmin]
    )
    async def update_channel_settings(
        self,
        info: AppInfo,
        input: Annotated[UpdateChannelSettingsInput, strawberry.argument(description=INPUT)],
    ) -> ChannelSettingsPayload:
        """Store the settings."""
        ctx = info.context
        site_pk = admin_site(info, input.site_id)
        changes = service.ChannelChanges(
            email_enabled=input.email_enabled, email_from=input.email_from,
            email_events=tuple(input.email_events) if input.email_events is not None else None,
            push_enabled=input.push_enabled,
            push_events=tuple(input.push_events) if input.push_events is not None else None,
            push_link=input.push_link, vapid_subject=input.vapid_subject,
        )  # fmt: skip
        row = await service.update_channel_settings(
            ctx.db, site_id=site_pk, changes=changes,
            new_vapid_key=service.new_vapid_key() if input.new_vapid_key else None,
            clock=ctx.clock, retry=retry_of(info, input.idempotency_key),
        )  # fmt: skip
        key = service.application_server_key(row, ctx.settings.vapid_private_key)
        return ChannelSettingsPayload(settings=ChannelSettings.from_row(row, key), user_errors=[])

    @strawberry.mutation(
        description="E-mail one event's template, with sample data, to an address now.",
        permission_classes=[IsAdmin],
    )
    async def send_test_email(
        self,
        info: AppInfo,
        input: Annotated[SendTestEmailInput, strawberry.argument(description=INPUT)],
    ) -> SendTestEmailPayload:
        """Send a sample."""
        ctx = info.context
        site_pk = admin_site(info, input.site_id)
        outcome = await service.send_sample_email(
            ctx.db, site_id=site_pk, event=input.event, to=input.to,
            config=ctx.settings.channel_config(), clock=ctx.clock,
        )  # fmt: skip
        return SendTestEmailPayload(
            delivered=outcome.error is None, error=outcome.error, user_errors=[]
        )

    @strawberry.mutation(
        description="Send an e-mail or push delivery again now (a dead one gets fresh attempts).",
        permission_classes=[IsAdmin],
    )
    async def retry_channel_delivery(
        self,
        info: AppInfo,
        input: Annotated[RetryChannelDeliveryInput, strawberry.argument(description=INPUT)],
    ) -> RetryChannelDeliveryPayload:
        """Retry a delivery."""
        ctx = info.context
        pk = parse_id(input.delivery_id, "ChannelDelivery")
        async with ctx.db.read_sessions() as session:
            found = await delivery_by_id(session, pk)
        if found is None or not ctx.access.manages_site(found.site_id):
            raise ForbiddenError("Only an admin of the site may do this.")
        row = await service.retry_delivery(ctx.db, delivery_id=pk, clock=ctx.clock)
        return RetryChannelDeliveryPayload(delivery=ChannelDelivery.from_row(row), user_errors=[])

    @strawberry.mutation(
        description="Keep a browser's Web Push subscription of the signed-in customer.",
        permission_classes=[IsCustomer],
    )
    async def register_push_subscription(
        self,
        info: AppInfo,
        input: Annotated[RegisterPushSubscriptionInput, strawberry.argument(description=INPUT)],
    ) -> PushSubscriptionPayload:
        """Register a subscription."""
        ctx = info.context
        keys = service.PushKeys(input.endpoint, input.keys.p256dh, input.keys.auth)
        row = await service.register_push_subscription(
            ctx.db, customer_id=_customer_of_token(info), keys=keys, clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
            allow_private=ctx.settings.webhook_allow_private,
        )  # fmt: skip
        return PushSubscriptionPayload(subscription=PushSubscription.from_row(row), user_errors=[])

    @strawberry.mutation(
        description="Forget a Web Push subscription of the signed-in customer.",
        permission_classes=[IsCustomer],
    )
    async def remove_push_subscription(
        self,
        info: AppInfo,
        input: Annotated[RemovePushSubscriptionInput, strawberry.argument(description=INPUT)],
    ) -> RemovePushSubscriptionPayload:
        """Remove a subscription (removing it again changes nothing)."""
        removed = await service.remove_push_subscription(
            info.context.db, customer_id=_customer_of_token(info), endpoint=input.endpoint
        )
        return RemovePushSubscriptionPayload(removed=removed, user_errors=[])

    @strawberry.mutation(
        description="Whether a customer gets one category of messages on one channel (an "
        "e-mail's unsubscribe link does the same for its category).",
        permission_classes=[IsStaffOrCustomer],
    )
    async def choose_messages(
        self,
        info: AppInfo,
        input: Annotated[ChooseMessagesInput, strawberry.argument(description=INPUT)],
    ) -> ChooseMessagesPayload:
        """Opt out or back in."""
        ctx = info.context
        customer = await visible_customer(info, input.customer_id)
        receive = await service.choose_messages(
            ctx.db, customer_id=customer, channel=input.channel, category=input.category,
            receive=input.receive, clock=ctx.clock,
        )  # fmt: skip
        return ChooseMessagesPayload(receive=receive, user_errors=[])

    @strawberry.mutation(
        description="Set the language a customer's e-mails and pushes are written in.",
        permission_classes=[IsStaffOrCustomer],
    )
    async def set_customer_locale(
        self,
        info: AppInfo,
        input: Annotated[SetCustomerLocaleInput, strawberry.argument(description=INPUT)],
    ) -> SetCustomerLocalePayload:
        """Set (or clear) the locale."""
        ctx = info.context
        customer = await visible_customer(info, input.customer_id)
        locale = await service.set_customer_locale(
            ctx.db, customer_id=customer, locale=input.locale, clock=ctx.clock
        )
        return SetCustomerLocalePayload(locale=locale, user_errors=[])
