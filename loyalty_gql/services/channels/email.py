"""E-mail: a multipart message composed once per delivery, handed to the SMTP server."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

import aiosmtplib

from loyalty_gql.domain.channels import SmtpServer
from loyalty_gql.services.notifications import Rendered


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt went: ``error`` None when it arrived; ``permanent`` when trying
    again cannot help; ``gone`` when the address no longer exists (a push subscription)."""

    status_code: int | None
    error: str | None
    permanent: bool = False
    gone: bool = False


def sender_domain(sender: str) -> str:
    """The domain of a sender address (for Message-IDs)."""
    _, address = parseaddr(sender)
    return address.rpartition("@")[2] or "localhost"


def compose(
    *,
    sender: str,
    to: str,
    rendered: Rendered,
    message_id: str,
    unsubscribe_url: str,
    at: datetime,
) -> str:
    """The message every attempt sends: text and HTML alternatives, a stable Message-ID,
    and one-click unsubscribing (RFC 8058)."""
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = Address(addr_spec=to)
    message["Subject"] = rendered.email_subject
    message["Date"] = format_datetime(at)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(rendered.email_text)
    message.add_alternative(rendered.email_html, subtype="html")
    return message.as_string()


async def hand_over(
    server: SmtpServer | None, *, sender: str, to: str, message: str, within: float
) -> Outcome:
    """Send one message through the SMTP server: 5xx answers are permanent, the rest
    (4xx, connection trouble) worth trying again."""
    if server is None:
        return Outcome(None, "no SMTP server configured (LOYALTY_SMTP_URL)")
    _, envelope_from = parseaddr(sender)
    sending = aiosmtplib.send(
        message.encode(), sender=envelope_from, recipients=[to], hostname=server.host,
        port=server.port, use_tls=server.implicit_tls, start_tls=server.starttls,
        username=server.username, password=server.password, timeout=within,
        cert_bundle=server.ca_file,
    )  # fmt: skip
    try:
        await asyncio.wait_for(sending, within + 1)
    except aiosmtplib.SMTPRecipientsRefused as refused:
        codes = [r.code for r in refused.recipients]
        text = "; ".join(f"{r.code} {r.message}" for r in refused.recipients)
        return Outcome(max(codes, default=None), f"refused: {text}"[:1000], _permanent(codes))
    except aiosmtplib.SMTPAuthenticationError as answer:  # the credentials can be fixed
        return Outcome(answer.code, f"SMTP login refused: {answer.code} {answer.message}"[:1000])
    except aiosmtplib.SMTPResponseException as answer:
        error = f"SMTP {answer.code} {answer.message}"[:1000]
        return Outcome(answer.code, error, _permanent([answer.code]))
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as failure:
        return Outcome(None, f"{type(failure).__name__}: {failure}"[:1000])
    return Outcome(250, None)


def _permanent(codes: list[int]) -> bool:
    return bool(codes) and all(500 <= code < 600 for code in codes)
