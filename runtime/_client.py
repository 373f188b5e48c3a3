"""``InvokeAIClient`` (sync, httpx.Client) and ``AsyncInvokeAIClient`` (async, httpx.AsyncClient).

Both are thin shells over ``ivkgen.runtime._server.core.ClientCore``: they send the ``Call`` objects
that the repositories build and return the parsed answers. Every request has a timeout; GET requests
are retried a bounded number of times on connection errors, other methods never. With ``email`` and
``password`` the client logs in before its first request (InvokeAI multi-user mode), sends
``Authorization: Bearer``, and adopts the ``X-Refreshed-Token`` the server returns.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from ivkgen.runtime._errors import IvkgenError
from ivkgen.runtime._events.socket import EventSocket, SocketLease
from ivkgen.runtime._jobs.clients import AsyncClient, SyncClient
from ivkgen.runtime._jobs.sessions import SessionIndex, SessionStatus, session_status
from ivkgen.runtime._repositories.boards import AsyncBoardRepository, BoardRepository
from ivkgen.runtime._repositories.images import AsyncImageRepository, ImageRepository
from ivkgen.runtime._repositories.models import AsyncModelRepository, ModelRepository
from ivkgen.runtime._repositories.queue import AsyncQueueRepository, QueueRepository
from ivkgen.runtime._repositories.videos import AsyncVideoRepository, VideoRepository
from ivkgen.runtime._repositories.workflows import AsyncWorkflowRepository, WorkflowRepository
from ivkgen.runtime._server.account import AccountOps
from ivkgen.runtime._server.auth import AuthState
from ivkgen.runtime._server.core import DEFAULT_RETRIES, Call, ClientCore
from ivkgen.runtime._timeouts import REQUEST_TIMEOUT

T = TypeVar("T")


class _ClientBase(AccountOps):
    """What both clients share: the core, the account operations, the socket options, the repr."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None,
        email: str | None,
        password: str | None,
        timeout: float,
        retries: int,
    ) -> None:
        auth = AuthState(token=token, email=email, password=password)
        self._core = ClientCore(base_url, auth=auth, timeout=timeout, retries=retries)
        self.sessions = SessionIndex()
        """The sessions this client enqueued (for ``EventSocket.subscribe_session``)."""

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Self:
        """A client of the server at ``url`` (e.g. ``http://127.0.0.1:9090``); ``options`` are
        the constructor's (``email``, ``password``, ``token``, ``timeout`` in seconds per
        request, ``retries``, ``transport``). No request is made until the first call."""
        return cls(url, **options)

    @property
    def base_url(self) -> str:
        return self._core.base_url

    @property
    def is_authenticated(self) -> bool:
        """Whether the client holds a token."""
        return self._core.auth.token is not None

    def socketio_options(self) -> dict[str, Any]:
        """Keyword arguments for ``socketio.AsyncClient().connect(**options)``: server URL,
        socket path, websocket transport and ``auth={"token": ...}`` when logged in."""
        return self._core.socketio_options()

    def connect_socketio(self) -> EventSocket:
        """The server's event socket; ``async with client.connect_socketio() as socket:``. When
        the server refuses its token (revoked), it logs in again once and reconnects."""
        return EventSocket(
            self.socketio_options,
            session_status=self._session_status(),
            renew_token=self._token_renewal(),
        )

    def _token_renewal(self) -> Callable[[str | None], Awaitable[None]]:
        if isinstance(self, AsyncInvokeAIClient):
            return self.renew_token
        assert isinstance(self, InvokeAIClient)
        renew = self.renew_token

        async def in_thread(refused: str | None) -> None:
            await asyncio.to_thread(renew, refused)

        return in_thread

    def _session_status(self) -> SessionStatus:
        if isinstance(self, AsyncClient):
            return session_status(self.sessions, self.execute)
        assert isinstance(self, SyncClient)
        sync_execute = self.execute

        async def send(call: Call[Any]) -> Any:
            return await asyncio.to_thread(sync_execute, call)

        return session_status(self.sessions, send)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._core!r})"


class InvokeAIClient(_ClientBase, SyncClient):
    """A synchronous client of one InvokeAI server.

    ``board_repo``, ``image_repo``, ``video_repo``, ``workflow_repo``, ``model_repo`` and
    ``queue_repo`` hold the operations; use the client as a context manager (or call
    ``close()``) to release connections.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        email: str | None = None,
        password: str | None = None,
        timeout: float = REQUEST_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url, token=token, email=email, password=password, timeout=timeout, retries=retries
        )
        self._http = httpx.Client(transport=transport, timeout=timeout)
        self.board_repo = BoardRepository(self)
        self.image_repo = ImageRepository(self)
        self.video_repo = VideoRepository(self)
        self.workflow_repo = WorkflowRepository(self)
        self.model_repo = ModelRepository(self)
        self.queue_repo = QueueRepository(self)

    def execute(self, call: Call[T]) -> T:
        """Send a ``Call`` (logging in first if needed, and again once if the server refuses the
        token) and return its parsed answer."""
        auth = self._core.auth
        if (known := self._core.remembered(call)) is not None:
            return known
        if self._core.needs_login(call):
            self.login()
        sent = auth.token if call.authenticated else None
        response = self._send(call)
        if auth.refused(response.status_code, sent):
            self.renew_token(sent)
            response = self._send(call)
        if self._core.setup_check(call, response) and self._needs_setup():
            raise self._core.setup_required(call, response)
        return self._core.handle(call, response)

    def renew_token(self, refused: str | None) -> None:
        """Log in again unless another request already replaced the ``refused`` token."""
        if self._core.auth.stale(refused):
            self.login()

    def _needs_setup(self) -> bool:
        """Whether the server says it needs its first administrator (False if it cannot say)."""
        try:
            return self.get_auth_status().setup_required
        except IvkgenError:
            return False

    def _send(self, call: Call[Any]) -> httpx.Response:
        attempt = 0
        while True:
            request = self._http.build_request(**self._core.request_args(call))
            try:
                return self._http.send(request)
            except httpx.TransportError as exc:
                delay = self._core.retry_delay(call, attempt, exc)
                if delay is None:
                    raise self._core.transport_error(call, exc) from exc
                time.sleep(delay)
                attempt += 1

    async def lease_event_socket(self) -> SocketLease:
        """A new event socket for one job awaited in some event loop (logged in first when the
        client has credentials); the job closes it. A blocking client shares no socket, since it
        belongs to no event loop."""
        if self._core.auth.needs_login:
            await asyncio.to_thread(self.login)
        return SocketLease(await self.connect_socketio().connect(), owned=True)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncInvokeAIClient(_ClientBase, AsyncClient):
    """An asyncio client of one InvokeAI server; every repository method is awaited.

    Use it as an async context manager (or ``await client.aclose()``).
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        email: str | None = None,
        password: str | None = None,
        timeout: float = REQUEST_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url, token=token, email=email, password=password, timeout=timeout, retries=retries
        )
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout)
        self._login_lock = asyncio.Lock()
        self._memo_locks: dict[str, asyncio.Lock] = {}
        self._socket_lock = asyncio.Lock()
        self._socket: EventSocket | None = None
        self.board_repo = AsyncBoardRepository(self)
        self.image_repo = AsyncImageRepository(self)
        self.video_repo = AsyncVideoRepository(self)
        self.workflow_repo = AsyncWorkflowRepository(self)
        self.model_repo = AsyncModelRepository(self)
        self.queue_repo = AsyncQueueRepository(self)

    async def execute(self, call: Call[T]) -> T:
        """Send a ``Call`` (logging in first if needed, and again once if the server refuses the
        token) and return its parsed answer. Calls with one ``memo`` are sent once, however many
        ask at the same time: the others wait for its answer."""
        if call.memo is None:
            return await self._execute(call)
        async with self._memo_locks.setdefault(call.memo, asyncio.Lock()):
            return await self._execute(call)

    async def _execute(self, call: Call[T]) -> T:
        auth = self._core.auth
        if (known := self._core.remembered(call)) is not None:
            return known
        if self._core.needs_login(call):
            async with self._login_lock:
                if self._core.needs_login(call):
                    await self.login()
        sent = auth.token if call.authenticated else None
        response = await self._send(call)
        if auth.refused(response.status_code, sent):
            await self.renew_token(sent)
            response = await self._send(call)
        if self._core.setup_check(call, response) and await self._needs_setup():
            raise self._core.setup_required(call, response)
        return self._core.handle(call, response)

    async def renew_token(self, refused: str | None) -> None:
        """Log in again unless another request already replaced the ``refused`` token."""
        async with self._login_lock:
            if self._core.auth.stale(refused):
                await self.login()

    async def _needs_setup(self) -> bool:
        """Whether the server says it needs its first administrator (False if it cannot say)."""
        try:
            return (await self.get_auth_status()).setup_required
        except IvkgenError:
            return False

    async def _send(self, call: Call[Any]) -> httpx.Response:
        attempt = 0
        while True:
            request = self._http.build_request(**self._core.request_args(call))
            try:
                return await self._http.send(request)
            except httpx.TransportError as exc:
                delay = self._core.retry_delay(call, attempt, exc)
                if delay is None:
                    raise self._core.transport_error(call, exc) from exc
                await asyncio.sleep(delay)
                attempt += 1

    async def event_socket(self) -> EventSocket:
        """The event socket this client's submissions share: connected on first use (after
        logging in, when the client has credentials) and closed by ``aclose()``."""
        async with self._socket_lock:
            if self._socket is None:
                if self._core.auth.needs_login:
                    await self.login()
                self._socket = await self.connect_socketio().connect()
            return self._socket

    async def lease_event_socket(self) -> SocketLease:
        """The shared event socket (see ``event_socket``), lent to one job."""
        return SocketLease(await self.event_socket(), owned=False)

    async def aclose(self) -> None:
        """Close the shared event socket, if one was opened, and the HTTP connections."""
        socket, self._socket = self._socket, None
        if socket is not None:
            await socket.close()
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
