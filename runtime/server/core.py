"""Sans-I/O core shared by the sync and async clients.

A request is data (``Call``: method, path, parameters, body and the parser of its answer).
``ClientCore`` turns a ``Call`` into ``httpx.Client.build_request`` arguments, turns an
``httpx.Response`` into the parsed value or an error from
``ivkgen.runtime.errors``, and decides whether a
failed attempt is retried.
The clients only send; the repositories only describe calls. ``operation`` writes a repository
method once and binds it to a sync or an async executor.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload
from urllib.parse import urlsplit

import httpx
from ivkgen.runtime.errors import (
    AuthError,
    HTTPStatusError,
    IvkgenError,
    NotFoundError,
    RequestTimeoutError,
    ServerUnreachableError,
    ServerValidationError,
)
from ivkgen.runtime.server.address import check_server_url, json_answer, not_the_api
from ivkgen.runtime.server.auth import AuthState, mask_secret_headers_in_http_logs
from ivkgen.runtime.timeouts import REQUEST_TIMEOUT
from pydantic import BaseModel, TypeAdapter

T = TypeVar("T")
P = ParamSpec("P")
M = TypeVar("M", bound=BaseModel)

log = logging.getLogger("ivkgen.runtime.client")

DEFAULT_RETRIES = 2
RETRY_BACKOFF = 0.25
SOCKETIO_PATH = "/ws/socket.io"
REFRESHED_TOKEN_HEADER = "x-refreshed-token"
_IDEMPOTENT = frozenset({"GET", "HEAD"})
_DETAIL_LIMIT = 500

Params = Mapping[str, Any] | Sequence[tuple[str, Any]]
Files = Mapping[str, tuple[str, bytes, str]]


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One HTTP request and the parser of its successful answer.

    ``json`` is the body (``None``: no body). ``sensitive`` calls carry secrets in their body: the
    server's echo of the body is dropped from their errors. ``authenticated=False`` calls never
    trigger a log-in first.
    """

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Params | None = None
    json: Any = None
    files: Files | None = None
    data: Mapping[str, str] | None = None
    timeout: float | None = None
    authenticated: bool = True
    sensitive: bool = False

    @property
    def idempotent(self) -> bool:
        """Whether a lost connection may be retried (GET and HEAD only; POSTs never are)."""
        return self.method in _IDEMPOTENT


# Parsers -------------------------------------------------------------------------------------


def parse_json(response: httpx.Response) -> Any:
    return response.json()


def parse_bytes(response: httpx.Response) -> bytes:
    return response.content


def parse_none(response: httpx.Response) -> None:
    return None


def parse_model(model: type[M]) -> Callable[[httpx.Response], M]:
    """A parser validating the JSON answer as ``model``."""

    def parse(response: httpx.Response) -> M:
        return model.model_validate(response.json())

    return parse


def parse_model_list(model: type[M]) -> Callable[[httpx.Response], list[M]]:
    """A parser validating a JSON array of ``model``."""
    adapter = TypeAdapter(list[model])  # type: ignore[valid-type]

    def parse(response: httpx.Response) -> list[M]:
        items: list[M] = adapter.validate_python(response.json())
        return items

    return parse


def parse_key(key: str, kind: type[T]) -> Callable[[httpx.Response], T]:
    """A parser returning one key of a JSON object, checked to be a ``kind``."""

    def parse(response: httpx.Response) -> T:
        value = response.json()[key]
        if not isinstance(value, kind):
            raise TypeError(f"server answer field {key!r} is not a {kind.__name__}: {value!r}")
        return value

    return parse


# Errors --------------------------------------------------------------------------------------


def _detail(response: httpx.Response) -> Any:
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
    detail = _detail(response)
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
    return HTTPStatusError(f"{where} failed with HTTP {status}: {_short(detail)}", **args)


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


# Core ----------------------------------------------------------------------------------------


class ClientCore:
    """Everything the sync and async clients share except sending: URLs, auth, errors, retries."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: AuthState,
        timeout: float = REQUEST_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
    ) -> None:
        check_server_url(base_url)
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries!r}")
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        mask_secret_headers_in_http_logs()
        self.timeout = timeout
        self.retries = retries

    def request_args(self, call: Call[Any]) -> dict[str, Any]:
        """Keyword arguments for ``httpx.Client.build_request`` / ``AsyncClient.build_request``."""
        return {
            "method": call.method,
            "url": self.base_url + call.path,
            "params": call.params,
            "json": call.json,
            "files": call.files,
            "data": call.data,
            "headers": self.auth.headers() if call.authenticated else {},
            "timeout": call.timeout if call.timeout is not None else self.timeout,
        }

    def needs_login(self, call: Call[Any]) -> bool:
        return call.authenticated and self.auth.needs_login

    def handle(self, call: Call[T], response: httpx.Response) -> T:
        """Adopt a refreshed token, raise on an error status, parse the answer."""
        refreshed = response.headers.get(REFRESHED_TOKEN_HEADER)
        if refreshed:
            self.auth.token = refreshed
        log.debug("%s %s -> %s", call.method, call.path, response.status_code)
        if response.status_code >= 400:
            if response.status_code == 405 or (
                response.status_code == 404 and not json_answer(response)
            ):  # the client sends only the API's methods and paths: the URL leads elsewhere
                raise not_the_api(self.base_url, call.method, call.path, response)
            raise error_from_response(call, response)
        try:
            return call.parse(response)
        except json.JSONDecodeError:
            raise not_the_api(self.base_url, call.method, call.path, response) from None

    def retry_delay(self, call: Call[Any], attempt: int, exc: httpx.TransportError) -> float | None:
        """Seconds to wait before retrying, or None to give up.

        Only idempotent calls are retried, only on connection errors (not timeouts), at most
        ``retries`` times with exponential back-off.
        """
        if not call.idempotent or attempt >= self.retries:
            return None
        if not isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
            return None
        log.debug("%s %s: %s, retry %d", call.method, call.path, type(exc).__name__, attempt + 1)
        return float(RETRY_BACKOFF * 2**attempt)

    def transport_error(self, call: Call[Any], exc: httpx.TransportError) -> IvkgenError:
        return transport_error(call, exc, self.base_url)

    def socketio_options(self) -> dict[str, Any]:
        """Arguments for ``socketio.AsyncClient.connect``: URL, socket path, websocket transport
        (HTTP long-polling fails on InvokeAI 6.14) and the current token."""
        parts = urlsplit(self.base_url)
        token = self.auth.token
        return {
            "url": f"{parts.scheme}://{parts.netloc}",
            "socketio_path": parts.path.rstrip("/") + SOCKETIO_PATH,
            "transports": ["websocket"],
            "auth": {"token": token} if token else None,
        }

    def __repr__(self) -> str:
        return f"{self.base_url!r}, {self.auth!r}"


# Binding calls to executors ------------------------------------------------------------------


class SyncBound(ABC):
    """Something that sends a ``Call`` and returns its parsed value."""

    @abstractmethod
    def execute(self, call: Call[T]) -> T:
        """Send ``call`` and return its parsed answer."""


class AsyncBound(ABC):
    """Something that sends a ``Call`` and awaits its parsed value."""

    @abstractmethod
    async def execute(self, call: Call[T]) -> T:
        """Send ``call`` and return its parsed answer."""


class operation(Generic[P, T]):
    """A method written once as "build a ``Call``"; on a ``SyncBound`` it returns the value, on an
    ``AsyncBound`` a coroutine of the value. ``Class.method.call(obj, ...)`` builds the ``Call``
    without sending it."""

    def __init__(self, build: Callable[Concatenate[Any, P], Call[T]]) -> None:
        self._build = build
        self.__doc__ = build.__doc__
        self.__name__ = build.__name__

    def call(self, obj: Any, /, *args: P.args, **kwargs: P.kwargs) -> Call[T]:
        return self._build(obj, *args, **kwargs)

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> operation[P, T]: ...

    @overload
    def __get__(self, obj: SyncBound, owner: type[Any]) -> Callable[P, T]: ...

    @overload
    def __get__(self, obj: AsyncBound, owner: type[Any]) -> Callable[P, Coroutine[Any, Any, T]]: ...

    def __get__(self, obj: Any, owner: type[Any]) -> Any:
        if obj is None:
            return self
        build = self._build

        @functools.wraps(build)
        def bound(*args: Any, **kwargs: Any) -> Any:
            return obj.execute(build(obj, *args, **kwargs))

        return bound
