"""Editing notification templates (admins)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty_gql.api.core.arguments import IDEMPOTENCY_KEY, INPUT
from loyalty_gql.api.core.errors import UserError
from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT, IsAdmin
from loyalty_gql.api.core.resolving import AppInfo, admin_site, retry_of
from loyalty_gql.api.notifications.types import EVENT, NotificationTemplate, template_of_input
from loyalty_gql.services import notifications as service


@strawberry.input(description="A site's new template for one event.")
class UpdateNotificationTemplateInput:
    """The site, the event and the five parts (jinja2)."""

    site_id: strawberry.ID = strawberry.field(description="Global ID of the site.")
    event: str = strawberry.field(description=EVENT)
    email_subject: str = strawberry.field(description="Subject of the email (up to 300 chars).")
    email_html: str = strawberry.field(description="HTML body of the email; autoescaped.")
    email_text: str = strawberry.field(description="Plain-text body of the email.")
    push_title: str = strawberry.field(description="Title of the push message (up to 300).")
    push_body: str = strawberry.field(description="Body of the push message.")
    locale: str | None = strawberry.field(
        default=None,
        description="The words for customers of this language (pl, de-AT); none: the "
        "site's own, which customers of other languages get.",
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="Result of updateNotificationTemplate.")
class UpdateNotificationTemplatePayload:
    """The template now in force, or why it was refused."""

    template: NotificationTemplate | None = strawberry.field(
        description="The stored template.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why the template was not stored.", metadata=PUBLIC
    )


@strawberry.type
class NotificationMutations:
    """Editing notification templates."""

    @strawberry.mutation(
        description="Change the site's template for one event.", permission_classes=[IsAdmin]
    )
    async def update_notification_template(
        self,
        info: AppInfo,
        input: Annotated[UpdateNotificationTemplateInput, strawberry.argument(description=INPUT)],
    ) -> UpdateNotificationTemplatePayload:
        """Store a template."""
        ctx = info.context
        site_pk = admin_site(info, input.site_id)
        row = await service.update_template(
            ctx.db, site_id=site_pk, event=input.event, template=template_of_input(input),
            actor=ctx.actor, clock=ctx.clock, retry=retry_of(info, input.idempotency_key),
            locale=input.locale or "",
        )  # fmt: skip
        return UpdateNotificationTemplatePayload(
            template=NotificationTemplate.of(row.event, service.template_of(row), is_default=False),
            user_errors=[],
        )
