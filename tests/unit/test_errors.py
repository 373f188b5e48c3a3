"""The error tree and how server answers map onto it (no server)."""

from __future__ import annotations

from typing import Any

import httpx
import ivkgen.runtime
import ivkgen.runtime.errors as errors
import pytest
from ivkgen.runtime.server.core import Call, error_from_response, parse_none, transport_error

CALL: Call[None] = Call("POST", "/api/v1/queue/default/enqueue_batch", parse_none)


def answer(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)


def test_every_error_is_an_ivkgen_error_and_is_drawn_in_the_docstring() -> None:
    doc = errors.__doc__ or ""
    classes = [getattr(errors, name) for name in errors.__all__]
    for cls in classes:
        assert cls.__name__ in doc, f"{cls.__name__} missing from the docstring"
        if not issubclass(cls, Warning):
            assert issubclass(cls, errors.IvkgenError), cls


@pytest.mark.parametrize(
    ("child", "parent"),
    [
        (errors.ServerUnreachableError, errors.TransportError),
        (errors.RequestTimeoutError, TimeoutError),
        (errors.AuthError, errors.HTTPStatusError),
        (errors.NotFoundError, errors.HTTPStatusError),
        (errors.ServerValidationError, errors.HTTPStatusError),
        (errors.JobFailedError, errors.JobError),
        (errors.JobCanceledError, errors.JobError),
        (errors.JobTimeoutError, TimeoutError),
    ],
)
def test_tree_shape(child: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(child, parent)


def test_errors_are_exported_from_runtime() -> None:
    for name in ("IvkgenError", "AuthError", "ServerValidationError", "JobFailedError"):
        assert getattr(ivkgen.runtime, name) is getattr(errors, name)
        assert name in ivkgen.runtime.__all__


@pytest.mark.parametrize(
    ("status", "cls", "words"),
    [
        (401, errors.AuthError, ["401", "Authentication required", "log in"]),
        (403, errors.AuthError, ["403", "Not allowed", "admin"]),
        (404, errors.NotFoundError, ["404", "Not allowed"]),
        (500, errors.HTTPStatusError, ["HTTP 500", "Not allowed"]),
    ],
)
def test_status_errors_carry_the_servers_detail(
    status: int, cls: type[errors.HTTPStatusError], words: list[str]
) -> None:
    detail = "Authentication required" if status == 401 else "Not allowed"
    error = error_from_response(CALL, answer(status, {"detail": detail}))
    assert type(error) is cls
    assert error.status_code == status and error.detail == detail
    assert error.method == "POST" and error.path == CALL.path
    for word in words:
        assert word in str(error)
    assert "POST /api/v1/queue/default/enqueue_batch" in str(error)


def test_non_json_error_body_becomes_the_detail() -> None:
    error = error_from_response(CALL, httpx.Response(502, text="Bad gateway from proxy"))
    assert error.detail == "Bad gateway from proxy"
    assert "HTTP 502" in str(error)


def test_422_on_a_node_field_names_node_and_field() -> None:
    body = {
        "detail": [
            {
                "type": "int_parsing",
                "loc": ["body", "batch", "graph", "nodes", "blur-1", "img_blur", "radius"],
                "msg": "Input should be a valid integer",
                "input": "abc",
            }
        ]
    }
    error = error_from_response(CALL, answer(422, body))
    assert isinstance(error, errors.ServerValidationError)
    assert (error.node_id, error.field) == ("blur-1", "radius")
    assert "node 'blur-1' field 'radius': Input should be a valid integer" in str(error)
    assert error.errors == body["detail"]


def test_422_graph_check_names_node_and_field_from_the_message() -> None:
    body = {
        "detail": [
            {
                "type": "value_error",
                "loc": ["body", "batch", "graph"],
                "msg": "Value error, Edge destination field nope does not exist in node b",
            },
            {"type": "missing", "loc": ["body", "batch", "runs"], "msg": "Field required"},
        ]
    }
    error = error_from_response(CALL, answer(422, body))
    assert isinstance(error, errors.ServerValidationError)
    assert (error.node_id, error.field) == ("b", "nope")
    assert "(and 1 more)" in str(error)


def test_422_without_node_names_the_location() -> None:
    body = {"detail": [{"type": "missing", "loc": ["body", "batch", "graph"], "msg": "required"}]}
    error = error_from_response(CALL, answer(422, body))
    assert isinstance(error, errors.ServerValidationError)
    assert error.node_id is None
    assert "body.batch.graph: required" in str(error)


def test_422_of_a_sensitive_call_drops_the_echoed_body() -> None:
    login: Call[None] = Call("POST", "/api/v1/auth/login", parse_none, sensitive=True)
    body = {
        "detail": [
            {
                "type": "missing",
                "loc": ["body", "email"],
                "msg": "Field required",
                "input": {"password": "hunter2-secret"},
            }
        ]
    }
    error = error_from_response(login, answer(422, body))
    assert isinstance(error, errors.ServerValidationError)
    assert "hunter2-secret" not in repr(error.detail) + repr(error.errors) + str(error)


@pytest.mark.parametrize(
    ("exc", "cls", "words"),
    [
        (httpx.ConnectError("refused"), errors.ServerUnreachableError, ["cannot connect"]),
        (httpx.ReadError("reset"), errors.ServerUnreachableError, ["lost", "ReadError"]),
        (httpx.ReadTimeout("slow"), errors.RequestTimeoutError, ["in time", "timeout="]),
    ],
)
def test_transport_errors(
    exc: httpx.TransportError, cls: type[Exception], words: list[str]
) -> None:
    error = transport_error(CALL, exc, "http://127.0.0.1:9")
    assert type(error) is cls
    for word in words:
        assert word in str(error)
    assert "http://127.0.0.1:9" in str(error)
