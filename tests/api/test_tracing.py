"""Tracing (#16): one request is one trace, a child of the caller's `traceparent`, holding
the HTTP span, the GraphQL operation's span named by its type and name, and the SQL
statements under it; a response-cache hit still names its operation. Spans are caught by
the SDK's in-memory exporter; the OTLP exporter is checked against a collector stand-in
that decodes what it receives."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from loyalty_gql.api.app import MetricsMiddleware, create_app
from loyalty_gql.config import Settings
from loyalty_gql.db.engine import Database
from loyalty_gql.db.tracing import untrace_statements
from tests.conftest import GraphQLClient, StatementCounter
from tests.support.clock import Clock
from tests.support.shop import Shop

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
BADGE = "query PointsBadge { viewer { balance { available } } }"
CUSTOMER = """
query CustomerPoints($id: ID!) { customer(id: $id) { externalId balance { available } } }
"""

STATS = """
query ProgramStats($siteId: ID!) {
  programStats(siteId: $siteId, from: "2026-01-01", to: "2026-01-31") { members }
}
"""


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """What the app's tracer provider exported."""
    exporter = InMemorySpanExporter()
    yield exporter
    untrace_statements()


@pytest.fixture
def app(settings: Settings, db: Database, clock: Clock, spans: InMemorySpanExporter) -> Any:
    """The app traced to the in-memory exporter."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return create_app(settings, db, clock, tracer_provider=provider)


async def _traced(
    gql: GraphQLClient, spans: InMemorySpanExporter, query: str, token: str, **variables: Any
) -> tuple[dict[str, Any], list[ReadableSpan]]:
    spans.clear()
    response = await gql.http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}", "traceparent": TRACEPARENT},
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body, list(spans.get_finished_spans())


def _one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    (span,) = [span for span in spans if span.name == name]
    return span


def _sql(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    return [span for span in spans if span.kind is SpanKind.CLIENT]


async def test_a_request_is_one_trace_under_the_callers_with_its_operation_and_sql(
    gql: GraphQLClient, spans: InMemorySpanExporter
):
    # given a customer with points
    shop = await Shop.open(gql)
    await shop.register("ann", enroll=True)
    await shop.grant("ann", 120)
    # when the storefront asks for the badge, sending its traceparent
    body, finished = await _traced(gql, spans, BADGE, shop.customer("ann"))
    # then one trace, the caller's: HTTP span -> operation span -> SQL spans
    assert body["data"]["viewer"]["balance"]["available"] == 120
    assert {f"{span.context.trace_id:032x}" for span in finished} == {TRACE_ID}
    http = _one(finished, "POST /graphql")
    assert http.kind is SpanKind.SERVER
    assert http.parent is not None
    assert f"{http.parent.span_id:016x}" == PARENT_ID
    assert http.attributes is not None
    assert http.attributes["graphql.operation.name"] == "PointsBadge"
    assert http.attributes["graphql.operation.type"] == "query"
    operation = _one(finished, "query PointsBadge")
    assert operation.parent is not None
    assert operation.parent.span_id == http.context.span_id
    assert operation.attributes is not None
    assert operation.attributes["graphql.operation.name"] == "PointsBadge"
    assert operation.attributes["loyalty.response_cache"] == "miss"
    # the token's customer is looked up before the operation runs, its reads under it
    sql = _sql(finished)
    parents = [span.parent.span_id if span.parent else None for span in sql]
    assert set(parents) == {http.context.span_id, operation.context.span_id}
    under_operation = parents.count(operation.context.span_id)
    assert under_operation >= 2
    for span in sql:
        assert span.attributes is not None
        assert str(span.attributes["db.statement"]).startswith("SELECT")
    print(  # noqa: T201 - the numbers of the report
        f"\ntrace {TRACE_ID}: 1 HTTP span, 1 operation span, {len(sql)} SQL spans "
        f"({under_operation} under the operation, the rest authentication)"
    )


async def test_a_response_cache_hit_names_its_operation_and_runs_no_sql(
    gql: GraphQLClient, spans: InMemorySpanExporter
):
    # given a badge answered once (and so cached)
    shop = await Shop.open(gql)
    await shop.register("ann", enroll=True)
    await shop.grant("ann", 120)
    first, _ = await _traced(gql, spans, BADGE, shop.customer("ann"))
    # when it is asked again
    again, finished = await _traced(gql, spans, BADGE, shop.customer("ann"))
    # then the same answer, from the cache, in a trace that still names the operation
    assert again["data"] == first["data"]
    http = _one(finished, "POST /graphql")
    assert http.attributes is not None
    assert http.attributes["graphql.operation.name"] == "PointsBadge"
    operation = _one(finished, "query PointsBadge")
    assert operation.attributes is not None
    assert operation.attributes["loyalty.response_cache"] == "hit"
    assert _sql(finished) == []
    assert {f"{span.context.trace_id:032x}" for span in finished} == {TRACE_ID}


async def test_every_statement_is_one_span_and_tracing_adds_none(
    gql: GraphQLClient, spans: InMemorySpanExporter, statements: StatementCounter
):
    # given a customer, read by the shop backend (no response cache, no version reads)
    shop = await Shop.open(gql)
    customer_id = await shop.register("ann", enroll=True)
    # when
    with statements:
        body, finished = await _traced(
            gql, spans, CUSTOMER, gql.token("service", shop.code), id=customer_id
        )
    # then one SQL span per statement sent, each under the operation's span
    assert body["data"]["customer"]["externalId"] == "ann"
    operation = _one(finished, "query CustomerPoints")
    sql = _sql(finished)
    assert len(sql) == statements.count > 0
    assert operation.context.span_id in {span.parent.span_id for span in sql if span.parent}


async def test_an_operation_with_errors_is_marked_failed(
    gql: GraphQLClient, spans: InMemorySpanExporter
):
    # given a customer
    shop = await Shop.open(gql)
    await shop.register("ann", enroll=True)
    # when their token asks for the program's numbers (admins only)
    spans.clear()
    response = await gql.http.post(
        "/graphql",
        json={"query": STATS, "variables": {"siteId": shop.site_id}},
        headers={"authorization": f"Bearer {shop.customer('ann')}", "traceparent": TRACEPARENT},
    )
    # then the answer has errors, and so does the operation's span
    assert response.json()["errors"]
    operation = _one(list(spans.get_finished_spans()), "query ProgramStats")
    assert operation.status.status_code is StatusCode.ERROR


async def test_without_an_endpoint_nothing_is_installed(settings: Settings, db: Database):
    app = create_app(settings, db)
    assert type(app) is MetricsMiddleware


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """An OTLP/HTTP collector stand-in on loopback: its URL and what it received."""
    received: list[tuple[str, bytes]] = []
    handler = type("Collector", (_Collector,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        untrace_statements()


async def test_with_an_endpoint_spans_reach_the_collector_over_otlp(
    db: Database, clock: Clock, collector: tuple[str, list[tuple[str, bytes]]]
):
    # given the app configured with an OTLP endpoint, running its lifespan
    url, received = collector
    settings = Settings(env="test", otlp_endpoint=url)
    app = create_app(settings, db, clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        lifespan = _Lifespan(app)
        await lifespan.start()
        # when a request is traced and the app stops (flushing its spans)
        response = await http.post(
            "/graphql",
            json={"query": "query Ping { __typename }"},
            headers={"traceparent": TRACEPARENT},
        )
        assert response.status_code == 200
        await lifespan.stop()
    # then the collector got them at /v1/traces, in the caller's trace
    assert received
    assert {path for path, _ in received} == {"/v1/traces"}
    names = set()
    for _, body in received:
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                for span in scope.spans:
                    assert span.trace_id.hex() == TRACE_ID
                    names.add(span.name)
    assert {"POST /graphql", "query Ping"} <= names


class _Lifespan:
    """Drives an ASGI app's lifespan (startup, then shutdown) as a server would."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Run the app's startup."""
        import asyncio

        self.task = asyncio.create_task(
            self.app(
                {"type": "lifespan", "asgi": {"version": "3.0"}}, self.inbox.get, self.outbox.put
            )
        )
        await self.inbox.put({"type": "lifespan.startup"})
        assert (await self.outbox.get())["type"] == "lifespan.startup.complete"

    async def stop(self) -> None:
        """Run the app's shutdown."""
        await self.inbox.put({"type": "lifespan.shutdown"})
        assert (await self.outbox.get())["type"] == "lifespan.shutdown.complete"
        assert self.task is not None
        await self.task
