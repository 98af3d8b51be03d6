"""GraphQL over WebSocket at /graphql: the graphql-transport-ws protocol (graphql-ws,
Apollo Client, urql), and the legacy graphql-ws protocol (subscriptions-transport-ws).

strawberry's protocol handlers run documents through strawberry's own execution, without
this service's document limits, executor and context; the protocols' message sets are
small, so they are spoken here, over Starlette's WebSocket, with the HTTP endpoint's
pieces: the token verifier, the executor's cached validation with every limit, the same
Context, masked errors and rate limits.

A connection is refused at the upgrade (HTTP 403) when a browser's Origin is neither
this host nor one of LOYALTY_CORS_ORIGINS. The token comes in connection_init's payload
(``{"authorization": "Bearer ..."}`` or ``{"token": "..."}``) or in the upgrade request's
Authorization header; a missing or bad one closes the socket with 4403 before any data,
and the connection is closed with 4403 when the token expires (clients reconnect with a
new one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from graphql import ExecutionResult, GraphQLError
from prometheus_client import Gauge
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from loyalty_gql.api.auth import ANONYMOUS, AuthenticationError, Role, TokenVerifier
from loyalty_gql.api.context import Context, IdentityCache, resolve_access
from loyalty_gql.api.executor import Executor, is_subscription
from loyalty_gql.api.loaders import Loaders
from loyalty_gql.api.throttle import Throttle
from loyalty_gql.config import Settings
from loyalty_gql.db.engine import Database
from loyalty_gql.services.core.common import Clock

log = logging.getLogger(__name__)

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
CONNECTIONS = Gauge("loyalty_ws_connections", "Open GraphQL WebSocket connections.")
SUBSCRIPTIONS = Gauge("loyalty_ws_subscriptions", "Running GraphQL subscriptions.")


class Close(Exception):  # noqa: N818 - a protocol instruction, not a failure
    """End the connection with this close code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Spelling:
    """The message types of one protocol."""

    subscribe: str
    next: str
    stop: str


SPELLINGS = {
    TRANSPORT_WS: Spelling("subscribe", "next", "complete"),
    LEGACY_WS: Spelling("start", "data", "stop"),
}


def origin_allowed(origin: str | None, host: str | None, allowed: list[str]) -> bool:
    """Whether a WebSocket upgrade from ``origin`` may connect: no Origin (not a browser),
    this very host, or an origin LOYALTY_CORS_ORIGINS lists ('*': any)."""
    if not origin:
        return True
    if "*" in allowed or origin in allowed:
        return True
    return bool(host) and urlsplit(origin).netloc.lower() == (host or "").lower()


class GraphQLWebSocket:
    """The /graphql WebSocket endpoint."""

    def __init__(
        self,
        *,
        executor: Executor,
        settings: Settings,
        db: Database,
        verifier: TokenVerifier,
        identities: IdentityCache,
        clock: Clock,
        throttle: Throttle,
    ) -> None:
        self.executor = executor
        self.settings = settings
        self.db = db
        self.verifier = verifier
        self.identities = identities
        self.clock = clock
        self.throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        websocket = WebSocket(scope, receive, send)
        origin = websocket.headers.get("origin")
        if not origin_allowed(origin, websocket.headers.get("host"), self.settings.cors_origins):
            await websocket.close(code=4403, reason="Origin not allowed")  # HTTP 403
            return
        asked = websocket.headers.get("sec-websocket-protocol", "")
        offered = [p.strip() for p in asked.split(",")]
        protocol = next((p for p in (TRANSPORT_WS, LEGACY_WS) if p in offered), None)
        if protocol is None:
            await websocket.accept()
            await websocket.close(code=4406, reason="Subprotocol not acceptable")
            return
        await websocket.accept(subprotocol=protocol)
        CONNECTIONS.inc()
        try:
            await Connection(self, websocket, protocol).run()
        finally:
            CONNECTIONS.dec()


class Connection:
    """One WebSocket connection and its operations."""

    def __init__(self, endpoint: GraphQLWebSocket, websocket: WebSocket, protocol: str) -> None:
        self.endpoint = endpoint
        self.settings = endpoint.settings
        self.websocket = websocket
        self.protocol = protocol
        self.spelling = SPELLINGS[protocol]
        self.context: Context | None = None
        self.operations: dict[str, asyncio.Task[None]] = {}
        self._sending = asyncio.Lock()
        self._pong_due = False
        self.expires: float | None = None
        """When the connection's token expires (Unix time): the connection ends then."""

    async def run(self) -> None:
        """Read messages until the client leaves or a protocol rule closes the socket."""
        keepalive = asyncio.create_task(self._keepalive())
        try:
            await self._init()
            async with asyncio.timeout_at(self._deadline()):
                while True:
                    await self._handle(await self._receive())
        except Close as close:
            await self._close(close.code, close.reason)
        except TimeoutError:
            await self._close(4403, "Forbidden: the token expired")
        except WebSocketDisconnect:
            pass
        finally:
            keepalive.cancel()
            for task in list(self.operations.values()):
                task.cancel()
            for task in list(self.operations.values()):
                with contextlib.suppress(BaseException):
                    await task
            with contextlib.suppress(BaseException):
                await keepalive

    def _deadline(self) -> float | None:
        """The event loop's time at which the token expires (None: it does not)."""
        if self.expires is None:
            return None
        loop = asyncio.get_running_loop()
        return loop.time() + max(0.0, self.expires - time.time())

    async def _receive(self, within: float | None = None) -> dict[str, Any]:
        try:
            text = await asyncio.wait_for(self.websocket.receive_text(), within)
        except TimeoutError:
            raise Close(4408, "Connection initialisation timeout") from None
        except KeyError:  # a binary frame
            raise Close(4400, "WebSocket messages must be text") from None
        if len(text) > self.settings.max_body_bytes:
            raise Close(4400, f"Messages may not exceed {self.settings.max_body_bytes} bytes")
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise Close(4400, "WebSocket messages must be JSON") from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise Close(4400, "A message is a JSON object with a type")
        self._pong_due = False  # the client is alive
        return message

    async def _init(self) -> None:
        """Wait for connection_init, authenticate, acknowledge."""
        message = await self._receive(self.settings.ws_init_timeout)
        while message["type"] in ("ping", "pong"):
            await self._ping_pong(message)
            message = await self._receive(self.settings.ws_init_timeout)
        if message["type"] != "connection_init":
            raise Close(4401, "Unauthorized")
        payload = message.get("payload") or {}
        if not isinstance(payload, dict):
            raise Close(4400, "Invalid connection init payload")
        self.context = await self._authenticate(payload)
        await self._send({"type": "connection_ack"})
        if self.protocol == LEGACY_WS:
            await self._send({"type": "ka"})

    async def _authenticate(self, payload: dict[str, Any]) -> Context:
        endpoint = self.endpoint
        header = _authorization(payload) or self.websocket.headers.get("authorization")
        client = self.websocket.client.host if self.websocket.client else None
        forwarded_for = self.websocket.headers.get("x-forwarded-for")
        try:
            principal, self.expires = endpoint.verifier.verified(header)
        except AuthenticationError:
            principal = None
        if principal is None or principal.role is Role.ANONYMOUS:
            # a refused token counts against the client's address, as over HTTP
            anonymous = endpoint.throttle.caller(ANONYMOUS, client, forwarded_for)
            requests = await endpoint.throttle.request(anonymous)
            if requests is not None and requests.exceeded:
                raise Close(4429, "Too many requests; slow down")
            raise Close(4403, "Forbidden")
        caller = endpoint.throttle.caller(principal, client, forwarded_for)
        access = await resolve_access(principal, endpoint.db, endpoint.identities)
        if not access.site_ids or (principal.role is Role.CUSTOMER and access.customer_id is None):
            raise Close(4403, "Forbidden")
        return Context(
            settings=self.settings,
            db=endpoint.db,
            access=access,
            clock=endpoint.clock,
            loaders=Loaders(endpoint.db, endpoint.clock),
            caller=caller,
            throttle=endpoint.throttle,
        )

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind in ("ping", "pong"):
            await self._ping_pong(message)
        elif kind == "connection_init":
            raise Close(4429, "Too many initialisation requests")
        elif kind == self.spelling.subscribe:
            await self._subscribe(message)
        elif kind == self.spelling.stop:
            task = self.operations.pop(str(message.get("id")), None)
            if task is not None:
                task.cancel()
        elif kind == "connection_terminate" and self.protocol == LEGACY_WS:
            raise Close(1000, "Bye")
        else:
            raise Close(4400, f"Unknown message type: {kind[:40]}")

    async def _ping_pong(self, message: dict[str, Any]) -> None:
        if message["type"] == "ping":
            pong: dict[str, Any] = {"type": "pong"}
            if "payload" in message:
                pong["payload"] = message["payload"]
            await self._send(pong)

    async def _subscribe(self, message: dict[str, Any]) -> None:
        operation_id = message.get("id")
        payload = message.get("payload")
        if not isinstance(operation_id, str) or not operation_id or not isinstance(payload, dict):
            raise Close(4400, "A subscribe message needs an id and a payload")
        if operation_id in self.operations:
            raise Close(4409, f"Subscriber for {operation_id[:100]} already exists")
        query = payload.get("query")
        variables = payload.get("variables")
        name = payload.get("operationName")
        if (
            not isinstance(query, str)
            or not (variables is None or isinstance(variables, dict))
            or not (name is None or isinstance(name, str))
        ):
            raise Close(4400, "The payload needs a query string, variables an object")
        limit = self.settings.ws_max_subscriptions
        if len(self.operations) >= limit:
            await self._error(
                operation_id,
                GraphQLError(
                    f"At most {limit} operations may run on one connection; complete one first.",
                    extensions={"code": "TOO_MANY_SUBSCRIPTIONS"},
                ),
            )
            return
        task = asyncio.create_task(self._operation(operation_id, query, variables, name))
        self.operations[operation_id] = task

    async def _operation(
        self, operation_id: str, query: str, variables: dict[str, Any] | None, name: str | None
    ) -> None:
        """Run one operation: a subscription's results until it ends or is stopped; a
        query's or mutation's one result."""
        assert self.context is not None  # noqa: S101 - set by _init before any subscribe
        endpoint = self.endpoint
        context = _operation_context(self.context)
        SUBSCRIPTIONS.inc()
        try:
            refused = await self._refusal(context, query, name)
            if refused is not None:
                await self._error(operation_id, *refused)
                return
            prepared = endpoint.executor.prepare(query)
            if is_subscription(prepared.operation(name)):
                results = await endpoint.executor.subscribe(
                    prepared, variables=variables, operation_name=name, context=context
                )
                if isinstance(results, ExecutionResult):
                    await self._error(operation_id, *(results.errors or []))
                    return
                await self._stream(operation_id, results)
            else:
                result = await endpoint.executor.run(
                    prepared, variables=variables, operation_name=name, context=context
                )
                errors = result.errors or []
                if result.data is None and all(not e.path for e in errors):
                    # a request error (variables that do not coerce): no result to send
                    await self._error(operation_id, *errors)
                    return
                await self._next(operation_id, result)
            await self._finish(operation_id)
        except (WebSocketDisconnect, RuntimeError, OSError) as error:
            # the client left while we were sending (Starlette raises RuntimeError for a
            # send after the close, the servers' websockets an OSError)
            log.debug("operation %s ended with the connection: %r", operation_id[:100], error)
        finally:
            SUBSCRIPTIONS.dec()
            if self.operations.get(operation_id) is asyncio.current_task():
                del self.operations[operation_id]

    async def _refusal(
        self, context: Context, query: str, name: str | None
    ) -> list[GraphQLError] | None:
        """Why the operation is refused before it runs: invalid, over a limit, or over
        the caller's rate limits; None when it may run."""
        endpoint = self.endpoint
        prepared = endpoint.executor.prepare(query)
        if prepared.document is None:
            return prepared.errors
        if prepared.operation(name) is None:
            return [GraphQLError("Name the operation to run.", extensions={"code": "BAD_REQUEST"})]
        requests = await endpoint.throttle.request(context.caller)
        budget = await endpoint.throttle.spend(context.caller, prepared.cost(name))
        for spent in (requests, budget):
            if spent is not None and spent.exceeded:
                return [
                    GraphQLError(
                        f"Over the rate limit of {spent.limit} a minute; slow down.",
                        extensions={"code": "THROTTLED", "retryAfter": spent.retry_after},
                    )
                ]
        return None

    async def _stream(self, operation_id: str, results: AsyncIterator[ExecutionResult]) -> None:
        try:
            async for result in results:
                await self._next(operation_id, result)
        finally:
            aclose = getattr(results, "aclose", None)
            if aclose is not None:
                await aclose()

    async def _next(self, operation_id: str, result: ExecutionResult) -> None:
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [e.formatted for e in result.errors]
        await self._send({"id": operation_id, "type": self.spelling.next, "payload": payload})

    async def _error(self, operation_id: str, *errors: GraphQLError) -> None:
        formatted = [e.formatted for e in errors] or [GraphQLError("Refused.").formatted]
        # graphql-transport-ws sends the list; the legacy protocol one error object
        payload: Any = formatted if self.protocol == TRANSPORT_WS else formatted[0]
        await self._send({"id": operation_id, "type": "error", "payload": payload})

    async def _finish(self, operation_id: str) -> None:
        await self._send({"id": operation_id, "type": "complete"})

    async def _send(self, message: dict[str, Any]) -> None:
        async with self._sending:
            if self.websocket.application_state is WebSocketState.CONNECTED:
                await self.websocket.send_text(orjson.dumps(message, default=str).decode())

    async def _close(self, code: int, reason: str) -> None:
        async with self._sending:
            if self.websocket.application_state is WebSocketState.CONNECTED:
                with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                    await self.websocket.close(code=code, reason=reason)

    async def _keepalive(self) -> None:
        """Ping the client every LOYALTY_WS_KEEPALIVE seconds; close the connection when
        it sent nothing since the last ping (the legacy protocol gets `ka` messages)."""
        interval = self.settings.ws_keepalive
        if interval <= 0:
            return
        while True:
            await asyncio.sleep(interval)
            if self.protocol == LEGACY_WS:
                await self._send({"type": "ka"})
                continue
            if self._pong_due:
                await self._close(4408, "Keepalive timeout: no pong")
                return
            self._pong_due = True
            await self._send({"type": "ping"})


def _authorization(payload: dict[str, Any]) -> str | None:
    """The Authorization value connection_init's payload carries, in any common spelling."""
    for key in ("authorization", "Authorization"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value
    headers = payload.get("headers")
    if isinstance(headers, dict):
        return _authorization(headers)
    token = payload.get("token")
    if isinstance(token, str) and token:
        return token if token.lower().startswith("bearer ") else f"Bearer {token}"
    return None


def _operation_context(connection: Context) -> Context:
    """A context of its own for one operation (its loaders are replaced per message)."""
    return Context(
        settings=connection.settings,
        db=connection.db,
        access=connection.access,
        clock=connection.clock,
        loaders=Loaders(connection.db, connection.clock),
        caller=connection.caller,
        throttle=connection.throttle,
    )
