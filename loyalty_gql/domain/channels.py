"""Channels that reach the customer (e-mail, Web Push): which events go where, what is
marketing, the SMTP server's address, the identity of a message, and signed links."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qs, unquote, urlsplit


class Channel(StrEnum):
    """How a message reaches the customer; stored as these strings."""

    EMAIL = "EMAIL"
    PUSH = "PUSH"


class Category(StrEnum):
    """Transactional messages follow what the customer did (a reward, points that expire);
    marketing needs their consent and stops when they unsubscribe from it."""

    TRANSACTIONAL = "TRANSACTIONAL"
    MARKETING = "MARKETING"


MARKETING_EVENTS = frozenset({"OFFER_ASSIGNED"})


DEFAULT_EMAIL_EVENTS = ("REWARD_EARNED", "POINTS_EXPIRING", "VOUCHER_ISSUED", "OFFER_ASSIGNED")


DEFAULT_PUSH_EVENTS = ("REWARD_EARNED", "POINTS_EXPIRING", "VOUCHER_ISSUED")


def category_of(event: str) -> Category:
    """Whether an event's message is marketing or transactional."""
    return Category.MARKETING if event in MARKETING_EVENTS else Category.TRANSACTIONAL


def may_send(category: Category, *, marketing_consent: bool, opted_out: set[Category]) -> bool:
    """Whether a customer is sent a message: not after they opted out of its category,
    and marketing only with their consent."""
    if category in opted_out:
        return False
    return category != Category.MARKETING or marketing_consent


def message_id(event_id: int, channel: Channel, domain: str) -> str:
    """The Message-ID of an event's message on a channel: the same on every attempt, so
    a receiver recognises a retry."""
    return f"<loyalty-event-{event_id}.{channel.lower()}@{domain}>"


def push_topic(event_id: int) -> str:
    """The Web Push Topic of an event's message (RFC 8030 5.4: at most 32 URL-safe
    characters): a push service keeps one undelivered message per topic."""
    return f"event-{event_id}"


class SmtpUrlError(ValueError):
    """LOYALTY_SMTP_URL is not an smtp:// or smtps:// URL with a host."""


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where mail is handed over: smtps (TLS from the start), or smtp with STARTTLS
    (``starttls=true``, required then; the default on port 587) or without it."""

    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None
    ca_file: str | None = None  # CA certificates to verify the server with (default: system)


def parse_smtp_url(url: str) -> SmtpServer:
    """smtp://[user[:password]@]host[:port][?starttls=true|false][&cafile=PATH] or
    smtps://... (the password percent-encoded)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        msg = "LOYALTY_SMTP_URL must be smtp://host[:port] or smtps://host[:port]"
        raise SmtpUrlError(msg)
    implicit = parts.scheme == "smtps"
    try:
        port = parts.port or (465 if implicit else 587)
    except ValueError as error:
        raise SmtpUrlError(str(error)) from None
    query = {k.lower(): v[-1] for k, v in parse_qs(parts.query).items()}
    starttls_text = query.get("starttls", "true" if port == 587 else "false").lower()
    if starttls_text not in ("true", "false"):
        msg = "starttls must be true or false"
        raise SmtpUrlError(msg)
    return SmtpServer(
        host=parts.hostname,
        port=port,
        implicit_tls=implicit,
        starttls=not implicit and starttls_text == "true",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        ca_file=query.get("cafile") or None,
    )


def _mac(secret: bytes, text: str) -> str:
    digest = hmac.new(secret, text.encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def unsubscribe_token(secret: bytes, customer_id: int, category: Category) -> str:
    """A link's token: the customer and category, signed (it never expires: RFC 8058
    asks that the link keep working)."""
    text = f"{customer_id}.{category.lower()}"
    return f"{text}.{_mac(secret, text)}"


def read_unsubscribe_token(secret: bytes, token: str) -> tuple[int, Category] | None:
    """The customer and category a token names, or None when it is not ours."""
    customer, _, rest = token.partition(".")
    category, _, mac = rest.partition(".")
    if not customer.isdigit() or category.upper() not in Category.__members__:
        return None
    if not hmac.compare_digest(mac, _mac(secret, f"{customer}.{category}")):
        return None
    return int(customer), Category(category.upper())
