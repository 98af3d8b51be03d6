"""Reading and previewing notification templates (admins)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.permissions import IsAdmin
from loyalty_gql.api.core.resolving import AppInfo, admin_site
from loyalty_gql.api.notifications.types import (
    EVENT,
    NotificationTemplate,
    NotificationTemplateInput,
    RenderedNotification,
    TemplateVariable,
    template_of_input,
)
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.services import notifications as service


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
        *,
        site_id: Annotated[
            strawberry.ID, strawberry.argument(description="Global ID of the site.")
        ],
        event: Annotated[str, strawberry.argument(description=EVENT)],
        event_id: Annotated[
            int | None,
            strawberry.argument(
                description="Id of a delivered or pending event of the site (its webhook "
                "payload's id) to render with its data; sample data when omitted.",
                deprecation_reason="Use `fromEvent`, the event's global ID (from `events`).",
            ),
        ] = None,
        template: Annotated[
            NotificationTemplateInput | None,
            strawberry.argument(description="A template to try; the site's own when omitted."),
        ] = None,
        from_event: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Global ID of an event of the site (see `events`) to render with "
                "its data; sample data when omitted (and eventId too)."
            ),
        ] = None,
    ) -> RenderedNotification:
        """The rendered notification."""
        site_pk = admin_site(info, site_id)
        if from_event is not None and event_id is not None:
            raise DomainError.single(
                ErrorCode.INVALID_VALUE,
                "name the event once: fromEvent (its global ID) or the deprecated eventId",
                "from_event",
            )
        rendered = await service.preview(
            info.context.db,
            site_id=site_pk,
            event=event,
            event_id=parse_id(from_event, "Event") if from_event is not None else event_id,
            event_field="from_event" if from_event is not None else "event_id",
            template=template_of_input(template) if template is not None else None,
        )
        return RenderedNotification(
            email_subject=rendered.email_subject,
            email_html=rendered.email_html,
            email_text=rendered.email_text,
            push_title=rendered.push_title,
            push_body=rendered.push_body,
        )
