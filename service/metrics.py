"""Prometheus metrics of the service, in a registry of its own: runs by status, queue depth per
InvokeAI server, run durations, and HTTP requests by route (the route's template, so that ids
never become labels)."""

from __future__ import annotations

import time

from fastapi import FastAPI
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METRICS_PATH = "/metrics"
RUN_SECONDS_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600)


class Metrics:
    """The service's metrics over its own ``CollectorRegistry``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.runs = Counter(
            "ivkgen_runs",
            "Runs that reached a status, by workflow and status.",
            ["workflow", "status"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "ivkgen_queue_depth",
            "Items pending or in progress on each InvokeAI server's queue.",
            ["server"],
            registry=self.registry,
        )
        self.run_seconds = Histogram(
            "ivkgen_run_duration_seconds",
            "Time from a run's creation to its end, by workflow and final status.",
            ["workflow", "status"],
            buckets=RUN_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.requests = Counter(
            "ivkgen_http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "ivkgen_http_request_duration_seconds",
            "Time to answer an HTTP request (to the response's start), by method and route.",
            ["method", "route"],
            registry=self.registry,
        )

    def run_status(self, workflow: str, status: str) -> None:
        """Count a run reaching ``status`` (queued, running, completed, failed, canceled)."""
        self.runs.labels(workflow, status).inc()

    def run_ended(self, workflow: str, status: str, seconds: float) -> None:
        """Count a run's end and record how long it took."""
        self.run_status(workflow, status)
        self.run_seconds.labels(workflow, status).observe(seconds)

    def set_queue_depth(self, server: str, depth: int) -> None:
        """The number of items on ``server``'s queue now."""
        self.queue_depth.labels(server).set(depth)

    def exposition(self) -> bytes:
        """The metrics in Prometheus's text format."""
        return generate_latest(self.registry)


def _route_template(app: ASGIApp, scope: Scope) -> str:
    """The template of the route ``scope`` matched (``/v1/runs/{run_id}``), or ``unmatched``."""
    for route in getattr(app, "routes", ()):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return str(getattr(route, "path", "unmatched"))
    return "unmatched"


def _routed_path(scope: Scope) -> str | None:
    """The template of the route the router put in ``scope`` (routes of included routers
    are found there, not in the app's own route list)."""
    path = getattr(scope.get("route"), "path", None)
    return str(path) if path else None


class _RequestMetrics:
    """ASGI middleware counting requests by route template and status (streams pass through)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, router: ASGIApp) -> None:
        self.app = app
        self.metrics = metrics
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        route = _route_template(self.router, scope)
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status, route
            if message["type"] == "http.response.start":
                status = message["status"]
                route = _routed_path(scope) or route
                self.metrics.request_seconds.labels(scope["method"], route).observe(
                    time.perf_counter() - started
                )
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()


def install_metrics(app: FastAPI, metrics: Metrics) -> None:
    """Add ``GET /metrics`` and count every HTTP request of ``app`` in ``metrics``."""

    @app.get(METRICS_PATH, include_in_schema=False)
    async def exposition() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(_RequestMetrics, metrics=metrics, router=app.router)
