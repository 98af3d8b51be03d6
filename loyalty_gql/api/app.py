"""The Starlette application: /graphql (HTTP, and WebSocket for subscriptions), /healthz,
/readyz and /metrics, with CORS when origins are configured."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from time import perf_counter
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loyalty_gql.api.auth import TokenVerifier
from loyalty_gql.api.channels.unsubscribe import unsubscribe_route
from loyalty_gql.api.context import IdentityCache
from loyalty_gql.api.executor import Executor
from loyalty_gql.api.graphiql import ASSETS_PATH
from loyalty_gql.api.http import GraphQLEndpoint
from loyalty_gql.api.persisted import PersistedQueries
from loyalty_gql.api.schema import schema
from loyalty_gql.api.throttle import Throttle
from loyalty_gql.api.tracing import (
    OperationTracing,
    endpoint_configured,
    otlp_tracer_provider,
    traced_http,
)
from loyalty_gql.api.websocket import GraphQLWebSocket
from loyalty_gql.config import Settings, get_settings
from loyalty_gql.db.engine import Database, create_database
from loyalty_gql.db.repositories.core import database_answers
from loyalty_gql.db.tracing import trace_statements, untrace_statements
from loyalty_gql.services.core.common import Clock, system_clock

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

ROUTES = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})
REQUESTS = Counter("loyalty_http_requests_total", "HTTP requests.", ["path", "status"])
LATENCY = Histogram(
    "loyalty_http_request_seconds",
    "HTTP request latency.",
    ["path"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


@lru_cache(maxsize=64)
def _latency(path: str) -> Any:
    return LATENCY.labels(path)


@lru_cache(maxsize=512)
def _requests(path: str, status: int) -> Any:
    return REQUESTS.labels(path, str(status))


class MetricsMiddleware:
    """Counts requests and their latency per known path (pure ASGI, cheap)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"] if scope["path"] in ROUTES else "other"
        started = perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            _latency(path).observe(perf_counter() - started)
            _requests(path, status).inc()


class GraphQLFirst:
    """GET and POST /graphql straight to its endpoint, the rest through Starlette's app.

    Starlette's routing and its error middleware cost a request about as much as /healthz
    costs in all; the endpoint answers an unexpected exception with the same 500 as
    Starlette's (GraphQLEndpoint.__call__). Only requests Starlette's router would hand to
    the endpoint as they are come here: no root path, the exact path, GET or POST (HEAD,
    other methods, "/graphql/" and WebSocket go through Starlette as before)."""

    def __init__(self, graphql: GraphQLEndpoint, app: ASGIApp) -> None:
        self.graphql = graphql
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == "/graphql"
            and scope["method"] in ("POST", "GET")
            and not scope.get("root_path")
        ):
            await self.graphql(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    db: Database | None = None,
    clock: Clock = system_clock,
    throttle: Throttle | None = None,
    *,
    tracer_provider: TracerProvider | None = None,
    persisted: PersistedQueries | None = None,
) -> ASGIApp:
    """Build the application; it owns (and closes) the database, the rate limits' and the
    persisted queries' connections unless they are passed in. A trusted documents
    manifest that cannot be used stops it here (ManifestError). Requests are traced to
    ``tracer_provider``, or to the configured OTLP endpoint; without either, not at all
    (api/tracing.py)."""
    settings = settings or get_settings()
    owns_persisted = persisted is None
    documents = persisted or PersistedQueries(settings)
    owns_throttle = throttle is None
    limits = throttle or Throttle(settings)
    owns_db = db is None
    database = db or create_database(
        settings.database_url,
        pool_size=settings.db_pool_size,
        redis_url=settings.redis_url,
        redis_prefix=settings.redis_prefix,
        change_feed=settings.change_feed,
    )
    owns_provider = tracer_provider is None and endpoint_configured(settings)
    provider = otlp_tracer_provider(settings) if owns_provider else tracer_provider
    if provider is not None:
        trace_statements(database, provider)
    executor = Executor(schema, settings)
    verifier = TokenVerifier(settings)
    identities = IdentityCache()
    graphql = GraphQLEndpoint(
        executor=executor,
        settings=settings,
        db=database,
        verifier=verifier,
        identities=identities,
        clock=clock,
        throttle=limits,
        tracing=None if provider is None else OperationTracing(provider),
        persisted=documents,
    )
    live = GraphQLWebSocket(
        executor=executor,
        settings=settings,
        db=database,
        verifier=verifier,
        identities=identities,
        clock=clock,
        throttle=limits,
    )

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> Response:
        try:
            await database_answers(database)
        except Exception as error:
            return JSONResponse({"status": "unavailable", "error": type(error).__name__}, 503)
        return JSONResponse({"status": "ready"})

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    ide_files = graphql.ide.files if graphql.ide is not None else {}

    async def graphiql_file(request: Request) -> Response:
        # only the files the IDE's page loads, from the local copy
        path = ide_files.get(request.url.path)
        if path is None:
            return PlainTextResponse("Not found", 404)
        return FileResponse(path, headers={"cache-control": "public, max-age=3600"})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # Everything built at start-up (schema, modules, engine) lives as long as the
        # process: keep it out of the garbage collector's scans of each request.
        gc.collect()
        gc.freeze()
        yield
        if owns_db:
            await database.dispose()
        if owns_throttle:
            await limits.close()
        if provider is not None:
            untrace_statements()
        if owns_provider and provider is not None:
            provider.shutdown()  # sends the spans still queued
        if owns_persisted:
            await documents.close()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", live),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            unsubscribe_route(database, secret=settings.channel_config().link_secret, clock=clock),
            *([Route(f"{ASSETS_PATH}/{{path:path}}", graphiql_file)] if ide_files else []),
        ],
        lifespan=lifespan,
    )
    app.state.database = database
    served = MetricsMiddleware(with_cors(GraphQLFirst(graphql, app), settings))
    return served if provider is None else traced_http(served, provider, ROUTES)


def with_cors(app: ASGIApp, settings: Settings) -> ASGIApp:
    """``app`` behind Starlette's CORS middleware when browser origins are configured.

    Preflights (OPTIONS with Origin and Access-Control-Request-Method) are answered here,
    before routing: 200 with the Access-Control-Allow-* headers for a listed origin, 400
    without Access-Control-Allow-Origin for another origin, method or header. Other requests
    get Access-Control-Allow-Origin when their Origin is listed, and `Vary: Origin`. Without
    configured origins the app is returned as it is: no Access-Control-* headers, no cost.
    """
    if not settings.cors_origins:
        return app
    return CORSMiddleware(
        app,
        allow_origins=frozenset(settings.cors_origins),
        allow_methods=("GET", "POST", "OPTIONS"),
        allow_headers=("Authorization", "Content-Type", "Accept"),
        allow_credentials=settings.cors_allow_credentials,
        max_age=settings.cors_max_age,
    )
