"""Prometheus metrics: an own registry, runs by status, queue depth, durations, and requests by
route template, read back through GET /metrics with the Prometheus parser."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import prometheus_client
import pytest
from fastapi import FastAPI
from ivkgen.service.metrics import Metrics, install_metrics
from ivkgen.service.problems import NotFound, install_problem_handlers
from prometheus_client.parser import text_string_to_metric_families
from starlette.responses import StreamingResponse

from tests.unit.service._asgi import asgi_client


def make_app(metrics: Metrics) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None)
    install_problem_handlers(app)
    install_metrics(app, metrics)

    @app.get("/v1/runs/{run_id}")
    async def get_run(run_id: str) -> dict[str, str]:
        if run_id == "missing":
            raise NotFound("no run")
        return {"id": run_id}

    @app.get("/v1/runs/{run_id}/events")
    async def events(run_id: str) -> StreamingResponse:
        async def stream() -> AsyncIterator[bytes]:
            for number in range(3):
                yield f"id: {number}\ndata: x\n\n".encode()

        return StreamingResponse(stream(), media_type="text/event-stream")

    return app


async def samples(
    client: httpx.AsyncClient,
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


async def test_runs_queue_depth_and_durations_are_exposed(metrics: Metrics) -> None:
    metrics.run_status("text_to_image", "queued")
    metrics.run_ended("text_to_image", "completed", 3.5)
    metrics.run_ended("text_to_image", "failed", 0.2)
    metrics.set_queue_depth("http://127.0.0.1:9090", 4)
    metrics.set_queue_depth("http://127.0.0.1:9090", 2)
    async with asgi_client(make_app(metrics)) as client:
        found = await samples(client)
    workflow = ("workflow", "text_to_image")
    assert found[("ivkgen_runs_total", (("status", "queued"), workflow))] == 1
    assert found[("ivkgen_runs_total", (("status", "completed"), workflow))] == 1
    assert found[("ivkgen_queue_depth", (("server", "http://127.0.0.1:9090"),))] == 2
    done = (("status", "completed"), workflow)
    assert found[("ivkgen_run_duration_seconds_count", done)] == 1
    assert found[("ivkgen_run_duration_seconds_sum", done)] == 3.5
    assert found[("ivkgen_run_duration_seconds_bucket", (("le", "5.0"), *done))] == 1
    assert found[("ivkgen_run_duration_seconds_bucket", (("le", "2.0"), *done))] == 0


async def test_requests_are_counted_by_route_template_and_status(metrics: Metrics) -> None:
    async with asgi_client(make_app(metrics)) as client:
        for run_id in ("a1", "b2", "missing"):
            await client.get(f"/v1/runs/{run_id}")
        assert (await client.get("/v1/runs/a1/events")).text.count("data: x") == 3
        await client.get("/nowhere/at/all")
        found = await samples(client)

    def requests(route: str, status: str) -> float:
        labels = (("method", "GET"), ("route", route), ("status", status))
        return found.get(("ivkgen_http_requests_total", labels), 0)

    assert requests("/v1/runs/{run_id}", "200") == 2
    assert requests("/v1/runs/{run_id}", "404") == 1
    assert requests("/v1/runs/{run_id}/events", "200") == 1
    assert requests("unmatched", "404") == 1
    assert not any("a1" in str(labels) for _, labels in found)
    timed = (("method", "GET"), ("route", "/v1/runs/{run_id}"))
    assert found[("ivkgen_http_request_duration_seconds_count", timed)] == 3


def test_each_metrics_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.run_status("w", "queued")
    assert b'ivkgen_runs_total{status="queued",workflow="w"} 1.0' in first.exposition()
    assert b"ivkgen_runs_total{" not in second.exposition()
    assert b"ivkgen_runs" not in prometheus_client.generate_latest(prometheus_client.REGISTRY)
