"""RFC 9457 ``application/problem+json`` answers: the service's refusals, FastAPI's validation
errors, Starlette's HTTP errors, the runtime's errors and anything unexpected (logged with its
traceback, answered without one)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from ivkgen.runtime._errors import (
    AuthError,
    HTTPStatusError,
    InputLookupError,
    IvkgenError,
    JobCanceledError,
    JobFailedError,
    NoServerError,
    RequestTimeoutError,
    ServerValidationError,
    TransportError,
    WorkflowError,
)
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

PROBLEM_JSON = "application/problem+json"
_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})
_DETAIL_LIMIT = 240

log = logging.getLogger("ivkgen.service")

InputsByField = Mapping[tuple[str, str], str]


class Problem(IvkgenError):
    """A refused request: ``status``, ``title``, ``detail`` and RFC 9457 extension members."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type_: str = "about:blank",
        **extensions: object,
    ) -> None:
        detail = " ".join(detail.split())  # one line
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.extensions = extensions
        self.headers: dict[str, str] = {}

    def body(self, instance: str | None = None) -> dict[str, object]:
        """The problem document (``instance`` is the request's path)."""
        document: dict[str, object] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance is not None:
            document["instance"] = instance
        document.update(self.extensions)
        return document

    def response(self, instance: str | None = None) -> JSONResponse:
        """The ``application/problem+json`` response, with the problem's headers."""
        return JSONResponse(
            self.body(instance), self.status, headers=self.headers, media_type=PROBLEM_JSON
        )


class Unauthorized(Problem):
    """401, with ``WWW-Authenticate: Bearer`` (RFC 6750)."""

    def __init__(self, detail: str, *, invalid_token: bool = False) -> None:
        super().__init__(401, "Unauthorized", detail)
        self.headers["WWW-Authenticate"] = (
            'Bearer error="invalid_token"' if invalid_token else "Bearer"
        )


class Forbidden(Problem):
    """403."""

    def __init__(self, detail: str) -> None:
        super().__init__(403, "Forbidden", detail)


class NotFound(Problem):
    """404."""

    def __init__(self, detail: str) -> None:
        super().__init__(404, "Not Found", detail)


def input_error(input_name: str, message: str) -> dict[str, str]:
    """One entry of a 422's ``errors``: the input attribute and what is wrong with it."""
    return {"input": input_name, "message": message}


class Unprocessable(Problem):
    """422; ``errors`` name the input attributes (``[{"input": "width", "message": ...}]``)."""

    def __init__(self, detail: str, *, errors: Sequence[Mapping[str, str]] = ()) -> None:
        super().__init__(422, "Unprocessable Content", detail, errors=[dict(e) for e in errors])


class MediaRejected(Problem):
    """A media input or URL refused: 422, or 413 when too large; the detail says what was wrong
    without echoing the value; ``input_name`` names the input attribute."""

    def __init__(self, detail: str, *, status: int = 422, input_name: str | None = None) -> None:
        title = "Content Too Large" if status == 413 else "Unprocessable Content"
        errors = [input_error(input_name, detail)] if input_name else []
        super().__init__(status, title, detail, errors=errors)


class TooManyPending(Problem):
    """429, with ``Retry-After`` in seconds."""

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(429, "Too Many Requests", detail)
        self.headers["Retry-After"] = str(retry_after)


class BadGateway(Problem):
    """502: an InvokeAI server answered the service with an error."""

    def __init__(self, detail: str) -> None:
        super().__init__(502, "Bad Gateway", detail)


class Unavailable(Problem):
    """503, with ``Retry-After`` when given."""

    def __init__(self, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(503, "Service Unavailable", detail)
        if retry_after is not None:
            self.headers["Retry-After"] = str(retry_after)


class GatewayTimeout(Problem):
    """504: an InvokeAI server did not answer in time."""

    def __init__(self, detail: str) -> None:
        super().__init__(504, "Gateway Timeout", detail)


def validation_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """FastAPI/pydantic error entries as ``{"input", "message"}``, never echoing the value sent.

    ``loc`` ``("body", "width")`` names the input ``width``; ``("body", "size", 0)`` ``size.0``;
    an error about the whole body (not JSON, not an object) names ``body``.
    """
    entries = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if error.get("type") == "json_invalid":  # loc is ("body", character offset)
            loc = ["body"]
        elif loc and loc[0] in _LOCATIONS and len(loc) > 1:
            loc = loc[1:]
        entries.append(input_error(".".join(loc) or "body", str(error.get("msg", "invalid"))))
    return entries


def _clip(text: str) -> str:
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 3] + "..."


def _unprocessable(errors: list[dict[str, str]]) -> Unprocessable:
    return Unprocessable(
        _clip("; ".join(f"{e['input']}: {e['message']}" for e in errors)), errors=errors
    )


def _rejected_by_invokeai(error: ServerValidationError, inputs_by_field: InputsByField) -> Problem:
    first = error.errors[0] if error.errors else {}
    message = _clip(str(first.get("msg", "rejected by InvokeAI")))
    if error.node_id and error.field:
        input_name = inputs_by_field.get((error.node_id, error.field))
        if input_name is not None:
            return _unprocessable([input_error(input_name, message)])
        # A field that is not one of the workflow's inputs: the operator's setting or the
        # workflow itself is at fault, not the request.
        return BadGateway(
            f"InvokeAI rejected the workflow: node {error.node_id!r} field "
            f"{error.field!r}: {message}"
        )
    return BadGateway(f"InvokeAI rejected the workflow: {message}")


def problem_from_error(error: IvkgenError, inputs_by_field: InputsByField | None = None) -> Problem:
    """The problem for a runtime error; ``inputs_by_field`` maps (node id, field) to the input
    attribute so that InvokeAI's rejection of an enqueue names the input."""
    if isinstance(error, Problem):
        return error
    if isinstance(error, ServerValidationError):
        return _rejected_by_invokeai(error, inputs_by_field or {})
    if isinstance(error, RequestTimeoutError):
        return GatewayTimeout("an InvokeAI server did not answer in time")
    if isinstance(error, TransportError | NoServerError):
        return Unavailable("no InvokeAI server can take the run now", retry_after=5)
    if isinstance(error, AuthError):
        return BadGateway("InvokeAI refused the service's credentials")
    if isinstance(error, HTTPStatusError):
        return BadGateway(f"InvokeAI answered {error.status_code}")
    if isinstance(error, JobFailedError):
        reason = f"{error.error_type or 'error'}: {error.error_message or ''}".rstrip(": ")
        failed = BadGateway(f"the workflow failed on InvokeAI: {_clip(reason)}")
        failed.extensions["node"] = error.node_label or error.node_id
        return failed
    if isinstance(error, JobCanceledError):
        return Problem(409, "Conflict", "the run was canceled")
    if isinstance(error, InputLookupError | WorkflowError):
        name = getattr(error, "field_name", None) or "body"
        return _unprocessable([input_error(name, str(error))])
    return _internal_error()


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return exc.response(request.url.path)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return _unprocessable(validation_errors(exc.errors())).response(request.url.path)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    title = _reason(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) else title
    problem = Problem(exc.status_code, title, detail)
    problem.headers.update(exc.headers or {})
    return problem.response(request.url.path)


async def _on_ivkgen(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IvkgenError)
    problem = problem_from_error(exc)
    if problem.status >= 500:
        log.warning("%s %s: %s", request.method, request.url.path, exc)
    return problem.response(request.url.path)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return _internal_error().response(request.url.path)


def _internal_error() -> Problem:
    return Problem(500, "Internal Server Error", "the service failed to handle the request")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as ``application/problem+json``."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(IvkgenError, _on_ivkgen)
    app.add_exception_handler(Exception, _on_unexpected)
