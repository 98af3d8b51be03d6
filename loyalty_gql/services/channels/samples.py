"""A test send: the site's template for an event, with sample data, e-mailed now to an
address an admin names (not from the outbox, not recorded, not retried)."""

from __future__ import annotations

import secrets

from loyalty_gql.db.engine import Database
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.services import notifications
from loyalty_gql.services.channels import email
from loyalty_gql.services.channels.config import ChannelConfig
from loyalty_gql.services.channels.email import Outcome
from loyalty_gql.services.channels.settings import channel_settings
from loyalty_gql.services.core.common import Clock


async def send_sample_email(
    db: Database, *, site_id: int, event: str, to: str, config: ChannelConfig, clock: Clock
) -> Outcome:
    """E-mail the site's words for ``event`` (sample variables) to ``to`` at once."""
    address = to.strip()
    if "@" not in address or len(address) > 254 or any(c.isspace() for c in address):
        raise DomainError.single(ErrorCode.INVALID_VALUE, "an e-mail address is needed", "to")
    rendered = await notifications.preview(
        db, site_id=site_id, event=event, event_id=None, template=None
    )
    async with db.read_sessions() as session:
        setting = await channel_settings(session, site_id)
    sender = setting.email_from or config.default_sender
    message = email.compose(
        sender=sender, to=address, rendered=rendered,
        message_id=f"<loyalty-sample-{secrets.token_hex(8)}@{email.sender_domain(sender)}>",
        unsubscribe_url=config.unsubscribe_url("sample"), at=clock(),
    )  # fmt: skip
    return await email.hand_over(
        config.smtp, sender=sender, to=address, message=message, within=config.timeout
    )
