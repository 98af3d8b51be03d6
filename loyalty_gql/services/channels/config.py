"""What the channels need from the deployment: the SMTP server, the default sender, the
public address unsubscribe links point to and their key, and the VAPID key."""

from __future__ import annotations

from dataclasses import dataclass

from loyalty_gql.domain.channels import SmtpServer

SEND_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """The deployment's channel settings (a site's own, in ChannelSettingsRow, win)."""

    smtp: SmtpServer | None = None
    default_sender: str = "loyalty@localhost"
    public_url: str = "http://127.0.0.1:8000"
    link_secret: bytes = b"development-only"
    vapid_private_key: str | None = None
    vapid_subject: str = "mailto:loyalty@localhost"
    allow_private: bool = False  # push endpoints on loopback and private networks
    timeout: float = SEND_TIMEOUT_SECONDS

    def unsubscribe_url(self, token: str) -> str:
        """The link a message's List-Unsubscribe header carries."""
        return f"{self.public_url.rstrip('/')}/unsubscribe/{token}"
