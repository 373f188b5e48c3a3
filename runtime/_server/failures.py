"""The errors of answers: an error status becomes the error of :mod:`ivkgen.runtime._errors` that
names the request, what the server said and what to do next; a request without an answer
becomes a ``TransportError``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx
from ivkgen.runtime._errors import (
    AuthError,
    HTTPStatusError,
    IvkgenError,
    NotFoundError,
    RequestTimeoutError,
    RevisionConflictError,
    ServerUnreachableError,
    ServerValidationError,
)

if TYPE_CHECKING:
    from ivkgen.runtime._server.core import Call

_DETAIL_LIMIT = 500
REVISION_CONFLICT = "revision-conflict"


def detail_of(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return response.text[:_DETAIL_LIMIT]
    return body.get("detail", body) if isinstance(body, dict) else body


def _short(detail: Any) -> str:
    text = detail if isinstance(detail, str) else repr(detail)
    return text if len(text) <= _DETAIL_LIMIT else text[:_DETAIL_LIMIT] + "..."


_NODE_IN_MESSAGE = re.compile(r"\bnode ([\w.:-]+)", re.IGNORECASE)
_FIELD_IN_MESSAGE = re.compile(r"\bfield ([\w.:-]+)", re.IGNORECASE)


def _node_and_field(entry: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """Graph node id and field a 422 entry is about: from ``loc`` (``... nodes, id, type, field``)
    or, for graph-level checks, from the message (``... field X ... node Y``)."""
    loc = [str(part) for part in entry.get("loc", ())]
    if "nodes" in loc:
        rest = loc[loc.index("nodes") + 1 :]
        node = rest[0] if rest else None
        field = rest[2] if len(rest) > 2 else None
        return node, field
    message = str(entry.get("msg", ""))
    node_match = _NODE_IN_MESSAGE.search(message)
    field_match = _FIELD_IN_MESSAGE.search(message)
    return (
        node_match.group(1) if node_match else None,
        field_match.group(1) if field_match else None,
    )


def _validation_error(call: Call[Any], status: int, detail: Any) -> ServerValidationError:
    entries = [e for e in detail if isinstance(e, dict)] if isinstance(detail, list) else []
    if call.sensitive:
        entries = [{k: v for k, v in e.items() if k not in ("input", "ctx")} for e in entries]
        detail = entries
    node_id, field = _node_and_field(entries[0]) if entries else (None, None)
    where = " ".join(
        part
        for part in (f"node {node_id!r}" if node_id else "", f"field {field!r}" if field else "")
        if part
    )
    first = entries[0] if entries else {}
    reason = str(first.get("msg", "")) if first else _short(detail)
    if first and not node_id:
        reason = f"{'.'.join(str(p) for p in first.get('loc', ()))}: {reason}"
    more = f" (and {len(entries) - 1} more)" if len(entries) > 1 else ""
    message = (
        f"the server rejected {call.method} {call.path} (422): "
        f"{where + ': ' if where else ''}{reason}{more}"
    )
    return ServerValidationError(
        message,
        method=call.method,
        path=call.path,
        status_code=status,
        detail=detail,
        errors=entries,
        node_id=node_id,
        field=field,
    )


def error_from_response(call: Call[Any], response: httpx.Response) -> HTTPStatusError:
    """The error for a 4xx/5xx answer, with the server's ``detail``."""
    status = response.status_code
    detail = detail_of(response)
    if status == 422:
        return _validation_error(call, status, detail)
    where = f"{call.method} {call.path}"
    args: dict[str, Any] = {
        "method": call.method,
        "path": call.path,
        "status_code": status,
        "detail": detail,
    }
    if status == 401:
        hint = (
            "check the email and password"
            if call.sensitive
            else "log in: InvokeAIClient.from_url(url, email=..., password=...) or pass a valid "
            "token= (the token may have expired)"
        )
        return AuthError(f"{where} was refused (401): {_short(detail)}; {hint}", **args)
    if status == 403:
        hint = "this account may not do this (an admin account is needed for some actions)"
        return AuthError(f"{where} was refused (403): {_short(detail)}; {hint}", **args)
    if status == 404:
        return NotFoundError(f"{where}: not found (404): {_short(detail)}", **args)
    if status == 409 and isinstance(detail, Mapping) and detail.get("reason") == REVISION_CONFLICT:
        return _revision_conflict(where, detail, args)
    return HTTPStatusError(f"{where} failed with HTTP {status}: {_short(detail)}", **args)


def _revision_conflict(
    where: str, detail: Mapping[str, Any], args: dict[str, Any]
) -> RevisionConflictError:
    current = detail.get("current_revision")
    current = current if isinstance(current, int) and not isinstance(current, bool) else None
    now = f" (it is at revision {current} now)" if current is not None else ""
    return RevisionConflictError(
        f"{where} was refused (409): the library workflow was changed since the revision this "
        f"update expected{now}; read it again, apply the change to that, and update with "
        "expected_revision set to its revision",
        current_revision=current,
        **args,
    )


def transport_error(call: Call[Any], exc: httpx.TransportError, base_url: str) -> IvkgenError:
    """The error for a request that got no answer."""
    where = f"{call.method} {call.path}"
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeoutError(
            f"{where}: no answer from {base_url} in time ({type(exc).__name__}); the server may be "
            "busy or stopped: check it, or raise the client's timeout=",
            method=call.method,
            path=call.path,
        )
    if isinstance(exc, httpx.ConnectError):
        reason = f"cannot connect to {base_url} ({exc})"
        hint = "is InvokeAI running at this address?"
    else:
        reason = f"the connection to {base_url} was lost during {where} ({type(exc).__name__})"
        hint = "the server may have stopped or restarted"
    return ServerUnreachableError(f"{reason}; {hint}", method=call.method, path=call.path)
