"""RFC 9457 problems: every error of a FastAPI app answers problem+json, names the input, and
never carries a traceback; the runtime's errors map to the right status."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import ivkgen.runtime._errors as errors
import pytest
from fastapi import FastAPI
from ivkgen.service.problems import (
    PROBLEM_JSON,
    NotFound,
    Problem,
    TooManyPending,
    Unauthorized,
    install_problem_handlers,
    problem_from_error,
)
from pydantic import BaseModel, ConfigDict, Field

from tests.unit.service._asgi import asgi_client


class SizeInputs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    width: int = Field(512, ge=64, le=2048)
    prompt: str = ""


def make_app() -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None)
    install_problem_handlers(app)

    @app.post("/v1/workflows/sizes/runs")
    async def run(inputs: SizeInputs) -> dict[str, Any]:
        return inputs.model_dump()

    @app.get("/v1/runs/{run_id}")
    async def get_run(run_id: str) -> dict[str, Any]:
        if run_id == "full":
            raise TooManyPending("64 runs are pending", retry_after=7)
        if run_id == "offline":
            raise errors.ServerUnreachableError("refused", method="POST", path="/api/v1/x")
        raise NotFound(f"no run {run_id!r}")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals at /srv/app.py line 3")

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(make_app()) as client:
        yield client


async def test_validation_error_names_each_input_attribute(client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1/workflows/sizes/runs", json={"width": 99999, "widht": 3})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM_JSON
    body = answer.json()
    assert body["status"] == 422 and body["type"] == "about:blank"
    assert body["instance"] == "/v1/workflows/sizes/runs"
    inputs = {e["input"]: e["message"] for e in body["errors"]}
    assert set(inputs) == {"width", "widht"}
    assert "2048" in inputs["width"]
    assert "widht" in body["detail"] and "width" in body["detail"]


async def test_validation_error_does_not_echo_the_value(client: httpx.AsyncClient) -> None:
    secret = "x" * 5000
    answer = await client.post("/v1/workflows/sizes/runs", json={"prompt": 3, "width": secret})
    assert answer.status_code == 422
    assert secret not in answer.text


async def test_a_body_that_is_not_json_names_the_body(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/v1/workflows/sizes/runs",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["input"] == "body"


async def test_problem_subclasses_carry_their_status_and_headers(client: httpx.AsyncClient) -> None:
    missing = await client.get("/v1/runs/abc")
    assert (missing.status_code, missing.json()["detail"]) == (404, "no run 'abc'")
    assert missing.headers["content-type"] == PROBLEM_JSON
    full = await client.get("/v1/runs/full")
    assert full.status_code == 429 and full.headers["retry-after"] == "7"
    assert full.json()["title"] == "Too Many Requests"


async def test_runtime_errors_raised_in_a_route_are_problems(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v1/runs/offline")
    assert answer.status_code == 503
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert "refused" not in answer.text  # the runtime's message names internal paths


async def test_unknown_route_and_wrong_method_are_problems(client: httpx.AsyncClient) -> None:
    unknown = await client.get("/v2/nothing")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM_JSON
    wrong = await client.delete("/v1/workflows/sizes/runs")
    assert wrong.status_code == 405 and wrong.json()["title"] == "Method Not Allowed"
    assert wrong.headers["allow"] == "POST"


async def test_unexpected_error_is_a_500_without_traceback_and_is_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="ivkgen.service"):
        answer = await client.get("/boom")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert "Traceback" not in answer.text and "secret internals" not in answer.text
    assert any(r.exc_info and "secret internals" in str(r.exc_info[1]) for r in caplog.records)


def test_unauthorized_asks_for_a_bearer_token() -> None:
    assert Unauthorized("no key").headers == {"WWW-Authenticate": "Bearer"}
    bad = Unauthorized("unknown key", invalid_token=True)
    assert bad.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert bad.status == 401


def _rejection(node_id: str | None, field: str | None) -> errors.ServerValidationError:
    return errors.ServerValidationError(
        "the server rejected POST /api/v1/queue/default/enqueue_batch (422)",
        method="POST",
        path="/api/v1/queue/default/enqueue_batch",
        status_code=422,
        detail=[],
        errors=[{"loc": ["body", "nodes", node_id, "t", field], "msg": "too large"}],
        node_id=node_id,
        field=field,
    )


def test_invokeai_rejection_names_the_input_through_the_field_map() -> None:
    problem = problem_from_error(
        _rejection("noise_1", "width"), inputs_by_field={("noise_1", "width"): "image_width"}
    )
    assert problem.status == 422
    assert problem.body()["errors"] == [{"input": "image_width", "message": "too large"}]


def test_invokeai_rejection_of_a_field_that_is_no_input_is_a_bad_gateway() -> None:
    problem = problem_from_error(_rejection("noise_1", "seed"), inputs_by_field={})
    assert problem.status == 502
    assert "noise_1" in problem.detail and "seed" in problem.detail


def _job_failed() -> errors.JobFailedError:
    return errors.JobFailedError(
        "item 3 failed",
        item_id=3,
        error_type="ValueError",
        error_message="bad size",
        error_traceback='Traceback (most recent call last):\n  File "x.py"',
        node_id="n1",
        node_label="Resize",
    )


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.ServerUnreachableError("x", method="GET", path="/"), 503),
        (errors.RequestTimeoutError("x", method="GET", path="/"), 504),
        (errors.NoServerError("x", reasons={"http://a": "down"}), 503),
        (errors.AuthError("x", method="GET", path="/", status_code=401, detail=None), 502),
        (errors.HTTPStatusError("x", method="GET", path="/", status_code=500, detail=None), 502),
        (errors.JobCanceledError("x", item_id=1), 409),
        (errors.InputLookupError("no input 'wdth'", field_name="wdth"), 422),
        (errors.IvkgenError("x"), 500),
        (NotFound("gone"), 404),
    ],
)
def test_runtime_errors_map_to_statuses(error: errors.IvkgenError, status: int) -> None:
    assert problem_from_error(error).status == status


def test_failed_job_names_the_node_but_never_the_traceback() -> None:
    problem = problem_from_error(_job_failed())
    assert problem.status == 502
    assert problem.body()["node"] == "Resize"
    assert "ValueError: bad size" in problem.detail
    assert "Traceback" not in str(problem.body())


def test_a_long_multi_line_message_becomes_one_clipped_line() -> None:
    error = _job_failed()
    error.error_message = "line one\nline two " + "x" * 1000
    detail = problem_from_error(error).detail
    assert "\n" not in detail and "line one line two" in detail
    assert len(detail) < 300 and detail.endswith("...")


def test_unavailable_says_when_to_retry() -> None:
    problem = problem_from_error(errors.ServerUnreachableError("x", method="GET", path="/"))
    assert problem.headers["Retry-After"] == "5"


def _service_problem_classes() -> list[type[Problem]]:
    for name in ("auth", "docs", "intake", "metrics", "outbound", "problems", "webhooks"):
        importlib.import_module(f"ivkgen.service.{name}")
    found: list[type[Problem]] = [Problem]
    for cls in found:
        found.extend(sub for sub in cls.__subclasses__() if sub.__module__.startswith("ivkgen."))
    return found


def test_every_service_problem_is_drawn_in_the_error_tree() -> None:
    doc = errors.__doc__ or ""
    for cls in _service_problem_classes():
        assert issubclass(cls, errors.IvkgenError)
        assert f"── {cls.__name__} " in doc, f"{cls.__name__} missing from the error tree"
