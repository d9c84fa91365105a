"""Observability: one JSON log line per request and per socket lifecycle, and Prometheus
metrics at /metrics (with the metrics token). Logs never carry a password, a token, a query
string or anything a member wrote."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Awaitable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

OPEN_SOCKETS = Gauge("cairn_open_sockets", "Websockets open in this process.", ["kind"])
ASYNCIO_TASKS = Gauge("cairn_asyncio_tasks", "Asyncio tasks alive in this process (a leak shows "
                      "as a count that does not come back down).")
EVENTS_APPENDED = Counter("cairn_events_appended_total", "Group events committed by this process.")
DELIVERIES = Counter("cairn_deliveries_total", "Event frames handed to sockets in this process.")
DELIVERY_LAG = Histogram(
    "cairn_delivery_lag_seconds", "From an event's commit to its frame being sent to a socket.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
SLOW_READER_CLOSES = Counter("cairn_slow_reader_closes_total",
                             "Sockets closed with 4408 because the client stopped reading.")
FULL_COLLECTION_SECONDS = Histogram(
    "cairn_full_collection_seconds", "Full garbage collections run by server.collector, by length.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
REQUEST_LATENCY = Histogram(
    "cairn_request_duration_seconds", "HTTP request latency.", ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))

logger = logging.getLogger("cairn.access")


# A path's query string: from the `?` after a path to the next space or quote. Sockets carry
# `last_seq` there, and any client may put a token or an invite code there.
QUERY_STRING = re.compile(r"(/[^\s\"'?]*)\?[^\s\"']*")


def without_query(text: str) -> str:
    """The text with every path's query string cut off: `/ws/groups/1?last_seq=5` is
    `/ws/groups/1`."""
    return QUERY_STRING.sub(r"\1", text) if "?" in text else text


class JsonFormatter(logging.Formatter):
    """One JSON object a line. Every message, field and error loses its query strings, so
    uvicorn's own lines ("WebSocket /ws/groups/1?… [accepted]") keep none either."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if fields:
            line.update({k: without_query(v) if isinstance(v, str) else v
                         for k, v in fields.items()})
        else:
            line["message"] = without_query(record.getMessage())
        if record.exc_info:
            line["error"] = without_query(self.formatException(record.exc_info).splitlines()[-1])
        return json.dumps(line, default=str)


def configure_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Ours is AccessLog below (route templates, never a query string); uvicorn's names paths
    # with their query strings.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def log_event(name: str, **fields: Any) -> None:
    logger.info(name, extra={"fields": {"event": name, **fields}})


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class AccessLog:
    """Times every request; logs method, route template (never the query string: it may hold
    an invite code), status and duration; feeds the latency histogram."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not awaited: a websocket keeps no frame of this layer (see server.middleware).
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        return self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            took = time.perf_counter() - started
            route = _route_template(scope)
            if not route.startswith("/static"):
                REQUEST_LATENCY.labels(scope["method"], route, str(status)).observe(took)
                log_event("request", id=uuid.uuid4().hex[:12], method=scope["method"], route=route,
                          status=status, ms=round(took * 1000, 1))


async def metrics(request: Request) -> Response:
    """For the deployment's monitoring only: `Authorization: Bearer <CAIRN_METRICS_TOKEN>`.
    Without a token configured there are no metrics to see (404)."""
    wanted = request.app.state.settings.metrics_token
    if not wanted:
        return Response("Not found.\n", status_code=404, media_type="text/plain")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                             wanted.encode()):
        return Response("Metrics need the metrics token.\n", status_code=401,
                        media_type="text/plain", headers={"WWW-Authenticate": "Bearer"})
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _task_count() -> float:
    try:
        return float(len(asyncio.all_tasks()))
    except RuntimeError:  # scraped outside the event loop
        return 0.0


ASYNCIO_TASKS.set_function(_task_count)
