"""A real HTTP receiver on loopback for webhook tests.

uvicorn serves a tiny ASGI app as a task of the running event loop, on a socket bound
to 127.0.0.1 and a free port. Every request (method, path, headers, body) is recorded;
the answer is the next status of a programmable plan, then a default (200 unless
told otherwise). A gate, when closed, holds the answers back so that a test can kill
a sender while its request is in flight.

    async with webhook_receiver() as receiver:
        receiver.fail(3)            # 500, 500, 500, then 200
        ...
        await receiver.wait_for(4)  # four requests arrived

With ``certfile`` and ``keyfile`` it serves https with that certificate instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it, and the status it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def webhook_id(self) -> str:
        """The Standard Webhooks message id."""
        return self.headers.get("webhook-id", "")

    @property
    def text(self) -> str:
        """The body as text."""
        return self.body.decode()


@dataclass
class Receiver:
    """The recording ASGI app, and how tests program and read it."""

    url: str = ""
    requests: list[Received] = field(default_factory=list, repr=False)
    plan: list[int] = field(default_factory=list)
    default_status: int = 200
    location: str | None = None
    gate: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition, repr=False)

    def __post_init__(self) -> None:
        self.gate.set()

    # -- programming ------------------------------------------------------------------

    def respond(self, *statuses: int, then: int = 200) -> None:
        """Answer ``statuses`` in order to the next requests, then ``then`` to the rest."""
        self.plan = list(statuses)
        self.default_status = then

    def fail(self, times: int, status: int = 500) -> None:
        """Fail the next ``times`` requests with ``status``, then accept."""
        self.respond(*([status] * times))

    def always(self, status: int) -> None:
        """Answer every request with ``status``."""
        self.respond(then=status)

    def redirect(self, to: str, status: int = 302) -> None:
        """Answer every request with a redirect to ``to``."""
        self.location = to
        self.always(status)

    def hold(self) -> None:
        """Keep answers back (requests are still recorded as they arrive)."""
        self.gate.clear()

    def release(self) -> None:
        """Answer held and later requests."""
        self.gate.set()

    # -- reading ----------------------------------------------------------------------

    def ids(self, path: str | None = None) -> Counter[str]:
        """How many times each webhook-id arrived (at ``path``, if given)."""
        return Counter(r.webhook_id for r in self.at(path))

    def at(self, path: str | None) -> list[Received]:
        """The requests made to ``path`` (all of them if None)."""
        return [r for r in self.requests if path is None or r.path == path]

    def accepted(self) -> list[Received]:
        """The requests answered with 2xx."""
        return [r for r in self.requests if 200 <= r.status < 300]

    async def wait_for(self, count: int, within: float = 10.0) -> None:
        """Wait until ``count`` requests have arrived (answered or held)."""

        async def enough() -> None:
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.requests) >= count)

        await asyncio.wait_for(enough(), within)

    def clear(self) -> None:
        """Forget what was recorded."""
        self.requests.clear()

    # -- the ASGI app -----------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan is off; nothing else is expected
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        # recorded on arrival, with the answer it will get: a request whose sender dies
        # while the answer is held back still counts as received
        status = self.plan.pop(0) if self.plan else self.default_status
        self.requests.append(
            Received(scope["method"], scope["path"], headers, b"".join(chunks), status)
        )
        async with self._arrived:
            self._arrived.notify_all()
        await self.gate.wait()
        answer = b"ok" if status < 400 else b"no"
        response_headers = [
            (b"content-type", b"text/plain"),
            (b"content-length", str(len(answer)).encode()),
        ]
        if self.location is not None and 300 <= status < 400:
            response_headers.append((b"location", self.location.encode()))
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": answer})


@contextlib.asynccontextmanager
async def webhook_receiver(
    path: str = "", *, certfile: str | None = None, keyfile: str | None = None
) -> AsyncIterator[Receiver]:
    """Serve a fresh Receiver on 127.0.0.1 and a free port until the block ends.

    ``receiver.url`` is ``http://127.0.0.1:<port><path>`` (https with a certificate);
    requests to any path are recorded with their path, so one receiver can stand for
    several endpoints.
    """
    receiver = Receiver()
    # proto IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only then (without
    # it every answer waits ~40 ms for a delayed ACK)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    scheme = "https" if certfile else "http"
    receiver.url = f"{scheme}://127.0.0.1:{port}{path}"
    config = uvicorn.Config(
        receiver,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        lifespan="off",
        ws="none",
        http="h11",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if not server.started:
            if task.done():
                task.result()  # the reason it stopped
            msg = "the webhook receiver did not start"
            raise RuntimeError(msg)
        yield receiver
    finally:
        receiver.release()
        server.should_exit = True
        try:
            await asyncio.wait_for(task, timeout=10)
        finally:
            sock.close()
