"""Sans-I/O core shared by the sync and async clients.

A request is data (``Call``: method, path, parameters, body and the parser of its answer).
``ClientCore`` turns a ``Call`` into ``httpx.Client.build_request`` arguments, turns an
``httpx.Response`` into the parsed value or an error from ``ivkgen.runtime._errors``, and decides
whether a failed attempt is retried. The clients only send; the repositories only describe calls.
``operation`` writes a repository method once and binds it to a sync or an async executor.
"""

from __future__ import annotations

import functools
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload
from urllib.parse import urlsplit

import httpx
from ivkgen.runtime._errors import IvkgenError
from ivkgen.runtime._server.address import check_server_url, json_answer, not_the_api
from ivkgen.runtime._server.auth import (
    SETUP_STATUS_PATH,
    AuthState,
    mask_secret_headers_in_http_logs,
    setup_required_error,
)
from ivkgen.runtime._server.failures import detail_of, error_from_response, transport_error
from ivkgen.runtime._timeouts import REQUEST_TIMEOUT
from pydantic import BaseModel, TypeAdapter

T = TypeVar("T")
P = ParamSpec("P")
M = TypeVar("M", bound=BaseModel)

log = logging.getLogger("ivkgen.runtime._client")

DEFAULT_RETRIES = 2
RETRY_BACKOFF = 0.25
SOCKETIO_PATH = "/ws/socket.io"
REFRESHED_TOKEN_HEADER = "x-refreshed-token"
_IDEMPOTENT = frozenset({"GET", "HEAD"})

Params = Mapping[str, Any] | Sequence[tuple[str, Any]]
Files = Mapping[str, tuple[str, bytes, str]]


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One HTTP request and the parser of its successful answer.

    ``json`` is the body (``None``: no body). ``sensitive`` calls carry secrets in their body: the
    server's echo of the body is dropped from their errors. ``authenticated=False`` calls never
    trigger a log-in first. A client sends a call with a ``memo`` once and answers the calls with
    the same memo from then on with the first answer.
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
    memo: str | None = None

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


_LIST_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}
"""The adapter of each model's lists, built once (building one takes about a millisecond)."""


def parse_model_list(model: type[M]) -> Callable[[httpx.Response], list[M]]:
    """A parser validating a JSON array of ``model``."""
    adapter = _LIST_ADAPTERS.get(model)
    if adapter is None:
        adapter = _LIST_ADAPTERS[model] = TypeAdapter(list[model])  # type: ignore[valid-type]

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


def parse_names(key: str) -> Callable[[httpx.Response], list[str]]:
    """A parser returning the file names listed under one key of a JSON object."""

    def parse(response: httpx.Response) -> list[str]:
        return [str(name) for name in response.json()[key]]

    return parse


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
        self.memos: dict[str, Any] = {}

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
            answer = call.parse(response)
        except json.JSONDecodeError:
            raise not_the_api(self.base_url, call.method, call.path, response) from None
        if call.memo is not None:
            self.memos[call.memo] = answer
        return answer

    def remembered(self, call: Call[T]) -> T | None:
        """The answer kept for the call's ``memo`` (None: send the call)."""
        answer: T | None = self.memos.get(call.memo) if call.memo is not None else None
        return answer

    def setup_check(self, call: Call[Any], response: httpx.Response) -> bool:
        """Whether a 401 calls for asking the server if it still needs its first-time setup."""
        return response.status_code == 401 and call.path != SETUP_STATUS_PATH

    def setup_required(self, call: Call[Any], response: httpx.Response) -> IvkgenError:
        return setup_required_error(self.base_url, call.method, call.path, detail_of(response))

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
