"""Notification templates, their variables and rendered notifications as GraphQL types."""

from __future__ import annotations

from typing import Protocol

import strawberry

from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT
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


class TemplateSource(Protocol):
    """An input carrying the five parts of a template."""

    email_subject: str
    email_html: str
    email_text: str
    push_title: str
    push_body: str


def template_of_input(source: TemplateSource) -> service.Template:
    """The template an input spells out."""
    return service.Template(
        email_subject=source.email_subject,
        email_html=source.email_html,
        email_text=source.email_text,
        push_title=source.push_title,
        push_body=source.push_body,
    )
