"""Errors as OpenAI's error object: ``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from ivkgen.runtime._errors import IvkgenError, NoServerError, TransportError
from starlette.exceptions import HTTPException

TYPES = {401: "invalid_request_error", 404: "invalid_request_error", 429: "rate_limit_exceeded"}
CODES = {401: "invalid_api_key", 429: "rate_limit_exceeded"}


class OpenAIError(IvkgenError):
    """A request the OpenAI routes refuse, with its status, the field at fault and a code."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code or CODES.get(status)
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        kind = "server_error" if self.status >= 500 else TYPES.get(self.status)
        body = {
            "error": {
                "message": self.message,
                "type": kind or "invalid_request_error",
                "param": self.param,
                "code": self.code,
            }
        }
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def as_openai(exc: Exception) -> OpenAIError:
    """An error of the service's own (an ``HTTPException`` or a problem with a ``status`` and
    a ``detail``) as an OpenAI error with the same status (a 422 as OpenAI's 400); a runtime
    error as a 503 when no InvokeAI server answers, else a 500."""
    if isinstance(exc, OpenAIError):
        return exc
    status: Any = getattr(exc, "status_code", None) or getattr(exc, "status", None)
    detail: Any = getattr(exc, "detail", None) or str(exc)
    headers: Any = getattr(exc, "headers", None) or {}
    if not isinstance(status, int):
        status = 503 if isinstance(exc, (TransportError, NoServerError)) else 500
    if status == 422:  # OpenAI's invalid request
        status = 400
    return OpenAIError(status, str(detail), headers={k: str(v) for k, v in headers.items()})


ANSWERED = (HTTPException, IvkgenError)
"""The errors ``as_openai`` turns into answers; anything else is the app's to handle."""

__all__ = ["ANSWERED", "OpenAIError", "as_openai"]
