"""SQL statements as OpenTelemetry spans, when tracing is on (api/tracing.py decides).

opentelemetry-instrumentation-sqlalchemy's engine tracer listens on our engines' cursor
events: one client span per statement, a child of whatever span is current (the GraphQL
operation's). Its instrumentor is not used: it would also wrap `create_engine` and
`Engine.connect` for the whole process. The statements themselves are not changed (no
sqlcommenter), so tracing adds none. The response cache's version reads go to the driver
directly (db/versions.py) and are not traced; the hot writes that go to the driver
(db/direct.py) go through the engines while tracing is on, so each is a span.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from loyalty_gql.db.engine import Database


def trace_statements(db: Database, tracer_provider: TracerProvider) -> None:
    """Trace every statement of ``db``'s engines (until :func:`untrace_statements`)."""
    from opentelemetry.instrumentation.sqlalchemy import __name__ as instrumentation
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpMeterProvider

    from loyalty_gql.db import direct

    direct.ENABLED[0] = False  # every statement through the engines, where the tracer listens
    tracer = tracer_provider.get_tracer(instrumentation)
    # the tracer counts pooled connections in a metric; metrics are Prometheus' here
    connections = NoOpMeterProvider().get_meter(instrumentation).create_up_down_counter("unused")
    for engine in db.engines:
        EngineTracer(tracer, engine.sync_engine, connections)  # type: ignore[no-untyped-call]


def untrace_statements() -> None:
    """Stop tracing statements (every engine traced in this process)."""
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

    from loyalty_gql.db import direct

    EngineTracer.remove_all_event_listeners()  # type: ignore[no-untyped-call]
    direct.ENABLED[0] = True
