"""A real SMTP server on loopback for e-mail tests (aiosmtpd, served in the test's event
loop on 127.0.0.1 and a free port). Every message it accepts is kept, parsed; it can
refuse the next messages with a 4xx answer, and hold its answer to DATA (the message is
kept on arrival) so a test can kill a sender mid-send.

    async with smtp_receiver() as mailbox:
        mailbox.refuse(3)            # 451, 451, 451, then 250
        ...
        await mailbox.wait_for(4)
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import warnings
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class Mailbox:
    """The server's handler, and how tests program and read it."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    refusals: int = 0
    refusal: str = "451 4.3.0 Try again later"
    refused: int = 0
    gate: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition, repr=False)

    def __post_init__(self) -> None:
        self.gate.set()

    @property
    def url(self) -> str:
        """LOYALTY_SMTP_URL of this server (no TLS on loopback)."""
        return f"smtp://{self.host}:{self.port}?starttls=false"

    def refuse(self, times: int, answer: str = "451 4.3.0 Try again later") -> None:
        """Answer the next ``times`` messages with ``answer`` (451: try again later)."""
        self.refusals = times
        self.refusal = answer

    def hold(self) -> None:
        """Keep the answer to DATA back (messages are still kept as they arrive)."""
        self.gate.clear()

    def release(self) -> None:
        """Answer held and later messages."""
        self.gate.set()

    def ids(self) -> Counter[str]:
        """How many times each Message-ID arrived."""
        return Counter(str(m["Message-ID"]) for m in self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        """The messages to ``address``, in arrival order."""
        return [m for m in self.messages if str(m["To"]) == address]

    async def wait_for(self, count: int, within: float = 10.0) -> None:
        """Wait until ``count`` messages have arrived."""

        async def enough() -> None:
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.messages) >= count)

        await asyncio.wait_for(enough(), within)

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        """Keep the message (or refuse it, as programmed)."""
        if self.refusals > 0:
            self.refusals -= 1
            self.refused += 1
            return self.refusal
        content = cast("bytes", envelope.original_content or envelope.content)
        self.raw.append(content)
        self.messages.append(message_from_bytes(content, policy=policy.default))
        self.envelopes.append((str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos]))
        async with self._arrived:
            self._arrived.notify_all()
        await self.gate.wait()
        return "250 2.0.0 OK"


@dataclass(frozen=True)
class Tls:
    """TLS for the server: its context, from the start (smtps) or after STARTTLS (then
    required), and the one login it accepts (then required too)."""

    context: ssl.SSLContext
    implicit: bool = False
    login: tuple[str, str] | None = None


def _authenticator(login: tuple[str, str], logins: list[str]) -> Any:
    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        given = (data.login.decode(), data.password.decode())
        if isinstance(data, LoginPassword) and given == login:
            logins.append(given[0])
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    return check


@contextlib.asynccontextmanager
async def smtp_receiver(tls: Tls | None = None) -> AsyncIterator[Mailbox]:
    """Serve a fresh Mailbox on 127.0.0.1 and a free port until the block ends (with
    ``tls``, over TLS and with a login)."""
    mailbox = Mailbox()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    mailbox.port = sock.getsockname()[1]
    loop = asyncio.get_running_loop()

    options: dict[str, Any] = {}
    if tls is not None and not tls.implicit:
        options |= {"tls_context": tls.context, "require_starttls": True}
    if tls is not None and tls.login is not None:
        options |= {"authenticator": _authenticator(tls.login, mailbox.logins),
                    "auth_required": True}  # fmt: skip

    def protocol() -> Any:
        with warnings.catch_warnings():  # "AUTH while not requiring TLS": TLS is under it
            warnings.simplefilter("ignore", UserWarning)
            return SMTP(mailbox, hostname="mail.test", loop=loop, **options)

    implicit = tls.context if tls is not None and tls.implicit else None
    if implicit is not None:  # aiosmtpd does not see TLS it did not start; it is there
        options["auth_require_tls"] = False
    server = await loop.create_server(protocol, sock=sock, ssl=implicit)
    try:
        yield mailbox
    finally:
        mailbox.release()
        server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 5)
