"""Notification templates: the shop's words for each event, by email and push.

Templates are jinja2, rendered in a sandbox (no attribute starting with ``_``,
no Python internals) with a documented set of variables, all strings, money
and dates already formatted in the site's locale. The HTML part of an email
is autoescaped; the subject, the text part and the push message are not.
"""

from __future__ import annotations

from loyalty_gql.services.notifications.events import (
    BODY_MAX,
    DEFAULT_TEMPLATES,
    EVENTS,
    OUTPUT_MAX,
    PARTS,
    RANGE_MAX,
    SAMPLE_CUSTOMER,
    SAMPLE_PAYLOAD,
    SUBJECT_MAX,
    VARIABLES,
    Rendered,
    Template,
)
from loyalty_gql.services.notifications.rendering import (
    SAMPLE,
    check_template,
    render,
    render_line,
    variables,
)
from loyalty_gql.services.notifications.templates import (
    preview,
    render_event,
    stored_templates,
    template_of,
    templates_of,
    update_template,
)

__all__ = [
    "BODY_MAX",
    "DEFAULT_TEMPLATES",
    "EVENTS",
    "OUTPUT_MAX",
    "PARTS",
    "RANGE_MAX",
    "SAMPLE",
    "SAMPLE_CUSTOMER",
    "SAMPLE_PAYLOAD",
    "SUBJECT_MAX",
    "VARIABLES",
    "Rendered",
    "Template",
    "check_template",
    "preview",
    "render",
    "render_event",
    "render_line",
    "stored_templates",
    "template_of",
    "templates_of",
    "update_template",
    "variables",
]
