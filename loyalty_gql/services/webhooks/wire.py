"""The webhook body: the published wire format every delivery sends, built here only.

This is the one module of services/ that spells names in camelCase (``eventId``,
``externalId``, and the event payload's keys through ``camel_keys``): receivers read the
body as JSON in the shape documented for shops, while the code and the stored outbox
payloads speak snake_case. Change the body here, and only knowingly: a receiver's
parser depends on it.
"""

from __future__ import annotations

from typing import Any

import orjson

from loyalty_gql.db.models import CustomerRow, OutboxEventRow, SiteRow
from loyalty_gql.domain.spelling import camel_keys
from loyalty_gql.services.notifications import Rendered


def body(
    event: OutboxEventRow,
    site: SiteRow,
    customer: CustomerRow | None,
    rendered: Rendered | None,
) -> str:
    """The JSON every attempt of this event sends (fixed, so its signature is too);
    ``rendered`` is None when the event's notification failed to render."""
    document = {
        "type": event.kind,
        "timestamp": event.created_at.isoformat(),
        "data": {
            "eventId": event.id,
            "site": site.code,
            "customer": None if customer is None else {
                "externalId": customer.external_id, "email": customer.email,
                "name": customer.name,
            },
            "payload": camel_keys(event.payload),
            "notification": None if rendered is None else _notification(rendered),
        },
    }  # fmt: skip
    return orjson.dumps(document).decode()


def _notification(rendered: Rendered) -> dict[str, Any]:
    return {
        "email": {
            "subject": rendered.email_subject,
            "html": rendered.email_html,
            "text": rendered.email_text,
        },
        "push": {"title": rendered.push_title, "body": rendered.push_body},
    }
