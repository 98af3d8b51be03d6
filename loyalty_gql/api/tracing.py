"""OpenTelemetry traces of HTTP requests, GraphQL operations and SQL statements.

Off unless an OTLP endpoint is configured (`LOYALTY_OTLP_ENDPOINT`, or the exporter's own
`OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`): then nothing is
installed and nothing of OpenTelemetry beyond this module's types is imported. On, each
request is one trace (a child of the caller's when it sends a W3C `traceparent`):

- the HTTP server span, from opentelemetry-instrumentation-asgi's middleware around the
  whole app ("POST /graphql"), with the operation's type and name as attributes;
- the GraphQL operation's span ("query PointsBadge"), from the endpoint, around the
  cost check, the response cache and the execution (a cache hit says so in
  `loyalty.response_cache`);
- one span per SQL statement under it (db/tracing.py).

Spans go to the collector in batches from a thread (the SDK's BatchSpanProcessor), over
OTLP/HTTP with protobuf (opentelemetry-exporter-otlp-proto-http, lighter than gRPC). The
SDK reads its standard variables as usual (`OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER`...).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp

if TYPE_CHECKING:
    from graphql import OperationDefinitionNode
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span

    from loyalty_gql.config import Settings

SERVICE_NAME = "loyalty-gql"
UNTRACED_PATHS = "/healthz,/readyz,/metrics"  # probes and scrapes: noise, every few seconds
OPERATION_NAME = "graphql.operation.name"
OPERATION_TYPE = "graphql.operation.type"
RESPONSE_CACHE = "loyalty.response_cache"


def endpoint_configured(settings: Settings) -> bool:
    """Whether spans have somewhere to go: tracing is on."""
    return bool(
        settings.otlp_endpoint
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def otlp_tracer_provider(settings: Settings) -> TracerProvider:
    """A tracer provider exporting to the configured collector in batches."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the default name
    resource = Resource.create({"service.name": SERVICE_NAME})
    provider = TracerProvider(resource=resource)
    endpoint = settings.otlp_endpoint
    exporter = (
        OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")
        if endpoint
        else OTLPSpanExporter()  # it reads OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT itself
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def traced_http(app: ASGIApp, provider: TracerProvider, routes: Collection[str]) -> ASGIApp:
    """``app`` inside the ASGI middleware that opens each request's server span, a child of
    the caller's `traceparent` when it sends one."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    def span_details(scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        path = scope.get("path", "")
        route = path if path in routes else "other"
        method = scope.get("method", scope.get("type", ""))
        return f"{method} {route}", {"http.route": route}

    middleware: ASGIApp = OpenTelemetryMiddleware(
        app,
        excluded_urls=UNTRACED_PATHS,
        default_span_details=span_details,
        tracer_provider=provider,
        exclude_spans=["receive", "send"],  # one span per request, not per ASGI message
    )
    return middleware


class OperationTracing:
    """The GraphQL side: a span per operation, named as the semantic conventions say."""

    def __init__(self, provider: TracerProvider) -> None:
        self._tracer = provider.get_tracer("loyalty_gql.api")

    @contextmanager
    def operation(self, operation: OperationDefinitionNode | None) -> Iterator[Span | None]:
        """A span around answering ``operation`` (none for a document that does not
        run); the request's HTTP span gets its type and name too."""
        from opentelemetry import trace

        if operation is None:
            yield None
            return
        kind = operation.operation.value
        name = operation.name.value if operation.name else None
        attributes = {OPERATION_TYPE: kind}
        if name is not None:
            attributes[OPERATION_NAME] = name
        trace.get_current_span().set_attributes(attributes)
        span_name = f"{kind} {name}" if name else kind
        with self._tracer.start_as_current_span(span_name, attributes=attributes) as span:
            yield span

    @staticmethod
    def cache(outcome: str) -> None:
        """Note on the operation's span how the response cache answered: hit, miss."""
        from opentelemetry import trace

        trace.get_current_span().set_attribute(RESPONSE_CACHE, outcome)

    @staticmethod
    def failed(errors: int) -> None:
        """Mark the operation's span as failed with ``errors`` GraphQL errors."""
        from opentelemetry import trace
        from opentelemetry.trace import StatusCode

        trace.get_current_span().set_status(StatusCode.ERROR, f"{errors} GraphQL error(s)")
