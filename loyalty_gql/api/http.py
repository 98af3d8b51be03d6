"""GraphQL over HTTP: GET and POST, application/json and application/graphql-response+json.

Written against the GraphQL-over-HTTP spec (graphql-http's audits check it):
request errors (unparsable JSON, bad parameters, unparsable or invalid documents,
variables that do not coerce) answer 400 without `data` when the client accepts
application/graphql-response+json, and 200 with only `errors` for plain
application/json; mutations over GET are refused with 405. A request may name its document
by hash or id instead of sending it (persisted queries: api/persisted.py).
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson
from graphql import ExecutionResult, GraphQLError
from prometheus_client import Counter
from starlette.types import Receive, Scope, Send

from loyalty_gql.api.auth import ANONYMOUS, Access, AuthenticationError, Role, TokenVerifier
from loyalty_gql.api.context import Context, IdentityCache, resolve_access
from loyalty_gql.api.executor import Executor, Prepared, is_mutation, is_subscription
from loyalty_gql.api.graphiql import GraphiQL
from loyalty_gql.api.loaders import Loaders, SharedReads
from loyalty_gql.api.persisted import (
    DOCUMENT_ID_FIELDS,
    NO_STORE,
    DocumentRequest,
    PersistedQueries,
    Refusal,
    document_request,
)
from loyalty_gql.api.response_cache import CacheKey, Freshness, ResponseCache, cache_key
from loyalty_gql.api.throttle import Budget, Throttle
from loyalty_gql.api.tracing import OperationTracing
from loyalty_gql.config import Settings
from loyalty_gql.db.engine import Database
from loyalty_gql.db.versions import ReadVersions
from loyalty_gql.services.core.common import Clock

log = logging.getLogger(__name__)

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
OPERATIONS = Counter("loyalty_graphql_requests_total", "GraphQL requests by outcome.", ["outcome"])
OUTCOMES = {name: OPERATIONS.labels(name) for name in ("ok", "error", "request_error")}
CONSISTENT_TRIES = 2
"""How often a customer's read is computed: once as it comes, and when a write of theirs
landed while it was being read, once more in one snapshot of the database (REPEATABLE
READ on PostgreSQL, a read transaction on SQLite), which is one state whatever lands."""


class Incoming:
    """What the endpoint needs of an HTTP request, read straight from the ASGI scope."""

    __slots__ = ("_headers", "_query", "client", "method", "receive")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.method: str = scope["method"]
        client = scope.get("client")
        self.client: str | None = client[0] if client else None
        # ASGI header names are lower-case bytes; only the few read are decoded
        self._headers: dict[bytes, bytes] = dict(scope["headers"])
        self.receive = receive
        self._query: str = scope["query_string"].decode("latin-1")

    def header(self, name: bytes) -> str | None:
        """The header's value (the last one when repeated); ``name`` in lower case."""
        value = self._headers.get(name)
        return None if value is None else value.decode("latin-1")

    @property
    def query_params(self) -> dict[str, str]:
        """The query string's parameters (the last one wins when repeated)."""
        return dict(parse_qsl(self._query, keep_blank_values=True))

    async def body(self, limit: int) -> bytes | None:
        """The body; None as soon as it is longer than ``limit`` bytes (what a client sent
        before disconnecting counts as the body)."""
        message = await self.receive()
        if message["type"] == "http.disconnect":
            return b""
        body: bytes = message.get("body", b"")
        if not message.get("more_body", False):  # the whole body in one message
            return body if len(body) <= limit else None
        chunks = bytearray(body)
        while len(chunks) <= limit:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                break
            chunks += message.get("body", b"")
            if not message.get("more_body", False):
                break
        return bytes(chunks) if len(chunks) <= limit else None


class Outgoing:
    """A complete response: status, headers and body, sent in two ASGI messages."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, body: bytes, status: int, content_type: str) -> None:
        self.body = body
        self.status = status
        self.headers = {"content-type": content_type}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in self.headers.items()]
        headers.append((b"content-length", str(len(self.body)).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


async def _internal_error(send: Send) -> None:
    """Starlette's answer to an unexpected exception, byte for byte."""
    headers = [(b"content-length", b"21"), (b"content-type", b"text/plain; charset=utf-8")]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": b"Internal Server Error"})


def json_response(content: Any, *, status: int = 200, media_type: str = JSON) -> Outgoing:
    """JSON in the negotiated media type, UTF-8."""
    return Outgoing(orjson.dumps(content, default=str), status, f"{media_type}; charset=utf-8")


def _error(message: str, status: int, media_type: str, code: str) -> Outgoing:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return json_response(body, status=status, media_type=media_type)


@lru_cache(maxsize=256)
def negotiate(accept: str) -> str | None:
    """The response media type for an Accept header; None when nothing acceptable."""
    if not accept.strip():
        return JSON
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, index, media.lower()))
    for _, _, media in sorted(ranked):
        if media == GRAPHQL_RESPONSE:
            return GRAPHQL_RESPONSE
        if media in (JSON, "*/*", "application/*"):
            return JSON
    return None


class GraphQLEndpoint:
    """The /graphql endpoint."""

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
        persisted: PersistedQueries,
        cache: ResponseCache | None = None,
        tracing: OperationTracing | None = None,
    ) -> None:
        self.executor = executor
        self.persisted = persisted
        self.cache = cache or ResponseCache(db, settings.response_cache_size)
        self.throttle = throttle
        self.settings = settings
        self.db = db
        self.verifier = verifier
        self.identities = identities
        self.clock = clock
        self.tracing = tracing
        local_copy = Path(settings.graphiql_dir) if settings.graphiql_dir else None
        # GraphiQL's own documents (introspection, what is typed) are not trusted documents
        ide = not settings.is_production and persisted.trusted is None
        self.ide = GraphiQL(local_copy) if ide else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point. An unexpected exception is answered as Starlette's
        ServerErrorMiddleware answers it (a plain 500, when nothing was sent yet) and
        raised on, for the server to log."""
        try:
            response = await self.handle(Incoming(scope, receive))
        except Exception:
            await _internal_error(send)
            raise
        await response(scope, receive, send)

    async def handle(self, request: Incoming) -> Outgoing:  # noqa: PLR0911
        """Answer one GraphQL request."""
        if request.method not in ("GET", "POST"):
            response = Outgoing(b"", 405, "text/plain; charset=utf-8")
            response.headers["allow"] = "GET, POST"
            return response
        accept = request.header(b"accept") or ""
        if (
            request.method == "GET"
            and "text/html" in accept
            and not _names_a_document(request.query_params)
        ):
            if self.ide is None:
                return Outgoing(b"Not found", 404, "text/plain; charset=utf-8")
            return Outgoing(self.ide.html, 200, "text/html; charset=utf-8")
        media_type = negotiate(accept)
        if media_type is None:
            return _error(f"Accept {GRAPHQL_RESPONSE} or {JSON}", 406, JSON, "NOT_ACCEPTABLE")
        params = await self._params(request, media_type)
        if isinstance(params, Outgoing):
            return params
        document = document_request(params)
        if isinstance(document, Refusal):
            return _refused(document, media_type)
        forwarded_for = request.header(b"x-forwarded-for")
        try:
            principal = self.verifier.principal(request.header(b"authorization"))
        except AuthenticationError as error:
            # a bad token counts against the client's address, so guessing is throttled too
            caller = self.throttle.caller(ANONYMOUS, request.client, forwarded_for)
            requests = await self.throttle.request(caller)
            if requests is not None and requests.exceeded:
                return _too_many_requests(requests, media_type)
            response = _error(str(error), 401, media_type, "UNAUTHENTICATED")
            response.headers["www-authenticate"] = 'Bearer error="invalid_token"'
            return response
        caller = self.throttle.caller(principal, request.client, forwarded_for)
        requests = await self.throttle.request(caller)
        if requests is not None and requests.exceeded:
            return _too_many_requests(requests, media_type)
        query = await self.persisted.resolve(document)
        if isinstance(query, Refusal):
            return _refused(query, media_type)
        params["query"] = query
        access = await resolve_access(principal, self.db, self.identities)
        return await self._execute(
            request, params, document, media_type, access=access, caller=caller
        )

    async def _execute(
        self,
        request: Incoming,
        params: dict[str, Any],
        document: DocumentRequest,
        media_type: str,
        *,
        access: Access,
        caller: str,
    ) -> Outgoing:
        prepared = self.executor.prepare(params["query"])
        operation = prepared.operation(params.get("operationName"))
        if is_subscription(operation):
            return _error(
                "Subscriptions are served over WebSocket at /graphql (graphql-transport-ws).",
                400,
                media_type,
                "BAD_REQUEST",
            )
        if request.method == "GET" and is_mutation(operation):
            response = _error(
                "Only queries may be sent with GET; use POST.",
                405,
                media_type,
                "METHOD_NOT_ALLOWED",
            )
            response.headers["allow"] = "POST"
            return response
        # APQ keeps a text only once it parsed and validated within the document limits
        await self.persisted.register(document, valid=prepared.document is not None)
        # a query's loaders share one read session (opened by the first that reads)
        reads = (
            SharedReads(self.db)
            if prepared.document is not None and not is_mutation(operation)
            else None
        )
        context = Context(
            settings=self.settings,
            db=self.db,
            access=access,
            clock=self.clock,
            loaders=Loaders(self.db, self.clock, shared=reads),
            caller=caller,
            throttle=self.throttle,
            reads=reads,
        )
        try:
            if self.tracing is None:
                return await self._answer(prepared, params, context, media_type)
            with self.tracing.operation(operation):
                return await self._answer(prepared, params, context, media_type)
        finally:
            if context.reads is not None:
                await context.reads.close()

    async def _answer(
        self, prepared: Prepared, params: dict[str, Any], context: Context, media_type: str
    ) -> Outgoing:
        requested = prepared.cost(params.get("operationName")) if prepared.document else 0
        budget = await self.throttle.spend(context.caller, requested)
        cost = _cost(requested, budget)
        if budget is not None and budget.exceeded:
            return _throttled(
                f"This query costs {requested}; {budget.remaining} of {budget.limit} "
                "is left this minute.",
                budget,
                media_type,
                cost,
            )
        cached = await self._cached(prepared, params, context)
        if isinstance(cached, bytes):
            OUTCOMES["ok"].inc()
            return _data_response(cached, cost, media_type)
        result = await self._run(prepared, params, context, cached)
        if isinstance(result, bytes):
            OUTCOMES["ok"].inc()
            return _data_response(result, cost, media_type)
        errors = result.errors or []
        body: dict[str, Any] = {}
        request_error = result.data is None and bool(errors) and all(not e.path for e in errors)
        if not request_error:
            body["data"] = result.data
        if errors:
            body["errors"] = [_formatted(e) for e in errors]
        body["extensions"] = {"cost": cost}
        OUTCOMES["request_error" if request_error else "error" if errors else "ok"].inc()
        if errors and self.tracing is not None:
            self.tracing.failed(len(errors))
        status = 400 if request_error and media_type == GRAPHQL_RESPONSE else 200
        throttled = next((e for e in errors if _code(e) == "THROTTLED"), None)
        if throttled is not None:
            status = 429
        response = json_response(body, status=status, media_type=media_type)
        if throttled is not None:
            response.headers["retry-after"] = str((throttled.extensions or {})["retryAfter"])
        return response

    async def _run(
        self,
        prepared: Prepared,
        params: dict[str, Any],
        context: Context,
        cached: tuple[CacheKey, ReadVersions, Freshness] | None,
    ) -> bytes | ExecutionResult:
        """Execute; a customer's answer that is one state of their data comes back as the
        bytes of its data (and is cached when it may be), anything else as the result."""
        for attempt in range(1, CONSISTENT_TRIES + 1):
            result = await self.executor.run(
                prepared,
                variables=params.get("variables"),
                operation_name=params.get("operationName"),
                context=context,
            )
            if cached is None or result.errors or result.data is None:
                break
            key, versions, freshness = cached
            if not freshness.cacheable:  # it had effects (codes tried): not run again
                break
            after = await self.cache.versions(key[0])
            snapshot = context.reads.snapshot_version if context.reads is not None else None
            if attempt > 1:
                # read in one snapshot: one state of the customer's data, whatever landed
                # meanwhile; kept only when nothing did (its versions are then the answer's)
                data = orjson.dumps(result.data, default=str)
                if after is not None and after == versions and snapshot == after.customer:
                    await self.cache.store(key, versions, freshness, data)
                return data
            if after is not None and after.customer == versions.customer:
                # nothing of this customer's was written while it was read: one state of
                # their data (site rows are read each in one statement; when they moved,
                # the answer is kept under the old versions, so it is never served again)
                data = orjson.dumps(result.data, default=str)
                await self.cache.store(key, versions, freshness, data)
                return data
            if after is None:
                break
            # a write landed in the middle of the reads: read it all again, in one snapshot
            # (the first try reads without one: a snapshot costs a BEGIN and a read more)
            cached = (key, after, await self._fresh(context, snapshot_of=key[0]))
        return result

    async def _cached(
        self, prepared: Prepared, params: dict[str, Any], context: Context
    ) -> bytes | tuple[CacheKey, ReadVersions, Freshness] | None:
        """A customer's query: its cached data when it still holds; else what storing the
        answer needs (and the context reads the clock through the answer's freshness).
        None for anything not cached (other callers, mutations, invalid documents)."""
        access = context.access
        customer_id = access.customer_id
        if customer_id is None or access.role is not Role.CUSTOMER or prepared.document is None:
            return None
        operation_name = params.get("operationName")
        operation = prepared.operation(operation_name)
        if operation is None or is_mutation(operation):
            return None
        versions = await self.cache.versions(customer_id)
        if versions is None:
            return None
        key = cache_key(customer_id, params["query"], operation_name, params.get("variables"))
        now = self.clock()
        data = self.cache.lookup(key, versions, now) if self.cache.enabled else None
        if self.tracing is not None:
            self.tracing.cache("miss" if data is None else "hit")
        if data is not None:
            return data
        return key, versions, await self._fresh(context, now)

    async def _fresh(
        self, context: Context, now: datetime | None = None, *, snapshot_of: int | None = None
    ) -> Freshness:
        """New loaders on a new read session, and one clock reading, for computing a
        customer's answer (again: nothing of an earlier try's session is reused; with
        ``snapshot_of``, the session reads one snapshot, with that customer's version)."""
        freshness = Freshness(now or self.clock())
        context.freshness = freshness
        context.clock = freshness.clock
        if context.reads is not None:
            await context.reads.close()
            context.reads = SharedReads(self.db, snapshot_of=snapshot_of)
        context.loaders = Loaders(self.db, freshness.clock, shared=context.reads)
        return freshness

    async def _params(  # noqa: PLR0911 - one early answer per kind of bad request
        self, request: Incoming, media_type: str
    ) -> dict[str, Any] | Outgoing:
        if request.method == "GET":
            raw: dict[str, Any] = dict(request.query_params)
            for name in ("variables", "extensions"):
                if isinstance(raw.get(name), str):
                    try:
                        raw[name] = orjson.loads(raw[name])
                    except ValueError:
                        return _error(f"`{name}` is not valid JSON", 400, media_type, "BAD_REQUEST")
        else:
            content_type = request.header(b"content-type") or ""
            mime, _, charset = content_type.partition(";")
            if mime.strip().lower() != JSON:
                return _error(
                    f"POST bodies must be {JSON}", 415, media_type, "UNSUPPORTED_MEDIA_TYPE"
                )
            if charset.strip() and charset.strip().lower().replace('"', "") != "charset=utf-8":
                return _error("Only UTF-8 is accepted", 415, media_type, "UNSUPPORTED_MEDIA_TYPE")
            body = await self._body(request, media_type)
            if isinstance(body, Outgoing):
                return body
            try:
                parsed: Any = orjson.loads(body)
            except ValueError:
                return _error("The body is not valid JSON", 400, media_type, "BAD_REQUEST")
            if not isinstance(parsed, dict):
                return _error(
                    "The body must be a JSON object (batching is not supported)",
                    400,
                    media_type,
                    "BAD_REQUEST",
                )
            raw = parsed
        return _checked_params(raw, media_type)

    async def _body(self, request: Incoming, media_type: str) -> bytes | Outgoing:
        limit = self.settings.max_body_bytes
        declared = request.header(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return _too_large(limit, media_type)
        body = await request.body(limit)
        return _too_large(limit, media_type) if body is None else body


def _data_response(data: bytes, cost: dict[str, Any], media_type: str) -> Outgoing:
    """A successful answer from its serialised data (cached or just computed)."""
    body = b'{"data":' + data + b',"extensions":' + orjson.dumps({"cost": cost}) + b"}"
    return Outgoing(body, 200, f"{media_type}; charset=utf-8")


def _cost(requested: int, budget: Budget | None) -> dict[str, Any]:
    """What a request cost, as Shopify's Admin API reports it (extensions.cost)."""
    if budget is None:
        return {"requested": requested, "limit": None, "remaining": None}
    return {"requested": requested, "limit": budget.limit, "remaining": budget.remaining}


def _throttled(
    message: str, budget: Budget, media_type: str, cost: dict[str, Any] | None = None
) -> Outgoing:
    extensions = {"code": "THROTTLED", "retryAfter": budget.retry_after}
    body: dict[str, Any] = {"errors": [{"message": message, "extensions": extensions}]}
    if cost is not None:
        body["extensions"] = {"cost": cost}
    response = json_response(body, status=429, media_type=media_type)
    response.headers["retry-after"] = str(budget.retry_after)
    return response


def _too_many_requests(budget: Budget, media_type: str) -> Outgoing:
    return _throttled(f"More than {budget.limit} requests a minute; slow down.", budget, media_type)


def _code(error: GraphQLError) -> object:
    return (error.extensions or {}).get("code")


def _too_large(limit: int, media_type: str) -> Outgoing:
    return _error(f"The body is larger than {limit} bytes", 413, media_type, "TOO_LARGE")


def _checked_params(raw: dict[str, Any], media_type: str) -> dict[str, Any] | Outgoing:
    expected = {
        "query": str,
        "operationName": str,
        "variables": dict,
        "extensions": dict,
    }
    for name, kind in expected.items():
        value = raw.get(name)
        if value is not None and not isinstance(value, kind):
            what = "a string" if kind is str else "an object"
            return _error(f"`{name}` must be {what}", 400, media_type, "BAD_REQUEST")
    return raw


def _names_a_document(params: dict[str, str]) -> bool:
    """Whether a GET asks for a document (else a browser's GET is for GraphiQL)."""
    return any(name in params for name in ("query", "extensions", *DOCUMENT_ID_FIELDS))


def _refused(refusal: Refusal, media_type: str) -> Outgoing:
    """A persisted-query request that does not run, with its code (APQ's negotiation is
    counted in loyalty_persisted_queries_total, not as a failed request)."""
    status = refusal.strict_status if media_type == GRAPHQL_RESPONSE else refusal.status
    response = _error(refusal.message, status, media_type, refusal.code)
    if refusal.negotiation:
        response.headers["cache-control"] = NO_STORE
    else:
        OUTCOMES["request_error"].inc()
    return response


def _formatted(error: GraphQLError) -> dict[str, Any]:
    return dict(error.formatted)
