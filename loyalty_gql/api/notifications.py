"""Notification templates: listing, editing and previewing them (admins)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty_gql.api.core.errors import UserError
from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT, IsAdmin
from loyalty_gql.api.core.resolving import AppInfo, admin_site
from loyalty_gql.api.sites.mutations import IDEMPOTENCY_KEY, INPUT
from loyalty_gql.services import notifications as service

EVENT = "The event, for example REWARD_EARNED (see the events outbox deliveries carry)."


@strawberry.type(description="A site's words for one event: an email and a push message.")
class NotificationTemplate:
    """jinja2 sources; see notificationVariables for what they may use."""

    event: str = strawberry.field(description=EVENT, metadata=WITHIN_PARENT)
    email_subject: str = strawberry.field(
        description="Subject of the email (plain text).", metadata=WITHIN_PARENT
    )
    email_html: str = strawberry.field(
        description="HTML body of the email; variables are HTML-escaped.", metadata=WITHIN_PARENT
    )
    email_text: str = strawberry.field(
        description="Plain-text body of the email.", metadata=WITHIN_PARENT
    )
    push_title: str = strawberry.field(
        description="Title of the push message.", metadata=WITHIN_PARENT
    )
    push_body: str = strawberry.field(
        description="Body of the push message.", metadata=WITHIN_PARENT
    )
    is_default: bool = strawberry.field(
        description="Whether this is the built-in default (the site has not changed it).",
        metadata=WITHIN_PARENT,
    )

    @classmethod
    def of(
        cls, event: str, template: service.Template, *, is_default: bool
    ) -> NotificationTemplate:
        """The GraphQL value of a template."""
        return cls(
            event=event,
            email_subject=template.email_subject,
            email_html=template.email_html,
            email_text=template.email_text,
            push_title=template.push_title,
            push_body=template.push_body,
            is_default=is_default,
        )


@strawberry.type(description="A notification rendered for one event, ready to send.")
class RenderedNotification:
    """The rendered email and push message."""

    email_subject: str = strawberry.field(
        description="Subject of the email.", metadata=WITHIN_PARENT
    )
    email_html: str = strawberry.field(
        description="HTML body of the email.", metadata=WITHIN_PARENT
    )
    email_text: str = strawberry.field(
        description="Plain-text body of the email.", metadata=WITHIN_PARENT
    )
    push_title: str = strawberry.field(
        description="Title of the push message.", metadata=WITHIN_PARENT
    )
    push_body: str = strawberry.field(
        description="Body of the push message.", metadata=WITHIN_PARENT
    )


@strawberry.type(description="A variable templates may use, as {{ name }}.")
class TemplateVariable:
    """One documented template variable."""

    name: str = strawberry.field(description="Name of the variable.", metadata=PUBLIC)
    description: str = strawberry.field(description="What it holds.", metadata=PUBLIC)


@strawberry.input(description="A template to preview instead of the stored one.")
class NotificationTemplateInput:
    """jinja2 sources of the five parts."""

    email_subject: str = strawberry.field(description="Subject of the email.")
    email_html: str = strawberry.field(description="HTML body of the email.")
    email_text: str = strawberry.field(description="Plain-text body of the email.")
    push_title: str = strawberry.field(description="Title of the push message.")
    push_body: str = strawberry.field(description="Body of the push message.")


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


def _template(
    source: NotificationTemplateInput | UpdateNotificationTemplateInput,
) -> service.Template:
    return service.Template(
        email_subject=source.email_subject,
        email_html=source.email_html,
        email_text=source.email_text,
        push_title=source.push_title,
        push_body=source.push_body,
    )


@strawberry.type
class NotificationQueries:
    """Reading and previewing notification templates."""

    @strawberry.field(
        description="The site's template for every event (defaults where not changed).",
        permission_classes=[IsAdmin],
    )
    async def notification_templates(
        self,
        info: AppInfo,
        site_id: Annotated[
            strawberry.ID, strawberry.argument(description="Global ID of the site.")
        ],
    ) -> list[NotificationTemplate]:
        """Every event's template."""
        site_pk = admin_site(info, site_id)
        async with info.context.db.read_sessions() as session:
            stored = await service.stored_templates(session, site_pk)
        return [
            NotificationTemplate.of(
                event, stored.get(event, default), is_default=event not in stored
            )
            for event, default in service.DEFAULT_TEMPLATES.items()
        ]

    @strawberry.field(description="The variables templates may use.", permission_classes=[IsAdmin])
    def notification_variables(self) -> list[TemplateVariable]:
        """The documented variables."""
        return [
            TemplateVariable(name=name, description=description)
            for name, description in service.VARIABLES.items()
        ]

    @strawberry.field(
        description="Render a template with sample data, or with a real event of the site.",
        permission_classes=[IsAdmin],
    )
    async def preview_notification(
        self,
        info: AppInfo,
        site_id: Annotated[
            strawberry.ID, strawberry.argument(description="Global ID of the site.")
        ],
        event: Annotated[str, strawberry.argument(description=EVENT)],
        event_id: Annotated[
            int | None,
            strawberry.argument(
                description="Id of a delivered or pending event of the site (its webhook "
                "payload's id) to render with its data; sample data when omitted."
            ),
        ] = None,
        template: Annotated[
            NotificationTemplateInput | None,
            strawberry.argument(description="A template to try; the site's own when omitted."),
        ] = None,
    ) -> RenderedNotification:
        """The rendered notification."""
        site_pk = admin_site(info, site_id)
        rendered = await service.preview(
            info.context.db,
            site_id=site_pk,
            event=event,
            event_id=event_id,
            template=_template(template) if template is not None else None,
        )
        return RenderedNotification(
            email_subject=rendered.email_subject,
            email_html=rendered.email_html,
            email_text=rendered.email_text,
            push_title=rendered.push_title,
            push_body=rendered.push_body,
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
            ctx.db, site_id=site_pk, event=input.event, template=_template(input),
            actor=ctx.actor, clock=ctx.clock, idempotency_key=input.idempotency_key,
        )  # fmt: skip
        return UpdateNotificationTemplatePayload(
            template=NotificationTemplate.of(row.event, service.template_of(row), is_default=False),
            user_errors=[],
        )
