"""A Socket.IO client for ``EventSocket(..., socketio_client=fake)``: the test plays the server.

It takes the calls ``EventSocket`` makes on python-socketio's ``AsyncClient`` (``on``,
``connect``, ``call``, ``emit``, ``shutdown``, ``eio.disconnect``) and runs the handlers the
socket registered as python-socketio would: ``send()`` delivers a server event, ``drop()`` ends
the connection for a reason, ``reconnect()`` is python-socketio's own reconnection after a lost
connection. A connection whose ``auth`` token is in ``refused_tokens`` (None: no token) is
refused as a server refuses a revoked token (``connect_error``, then python-socketio's
``ConnectionError``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Self

import socketio
from ivkgen.runtime import EventSocket


class _EngineIO:
    async def disconnect(self) -> None:
        """Nothing to close: no HTTP session is ever opened."""


class FakeSocketIO:
    """One fake connection; pass the instance as the factory (``socketio_client=fake``)."""

    def __init__(self, *, refused_tokens: set[str | None] | None = None) -> None:
        self.refused_tokens = refused_tokens or set()
        self.handlers: dict[str, Callable[..., Any]] = {}
        self.options: dict[str, Any] = {}
        self.connected = False
        self.auths: list[Any] = []
        """The ``auth`` of every connection attempt, as the socket gave it."""
        self.calls: list[tuple[str, Any]] = []
        """Acknowledged messages (``call``), e.g. ``("subscribe_queue", {"queue_id": ...})``."""
        self.emitted: list[tuple[str, Any]] = []
        self.eio = _EngineIO()

    def __call__(self, **options: Any) -> Self:
        self.options = options
        return self

    def on(self, event: str, handler: Callable[..., Any]) -> None:
        self.handlers[event] = handler

    async def connect(self, url: str, *, auth: Any = None, **options: Any) -> None:
        if callable(auth):
            auth = auth()
        if inspect.isawaitable(auth):
            auth = await auth
        self.auths.append(auth)
        token = auth.get("token") if isinstance(auth, dict) else None
        if token in self.refused_tokens:
            await self._run("connect_error", {"message": "Invalid or expired token"})
            raise socketio.exceptions.ConnectionError("One or more namespaces failed to connect")
        await self.reconnect()

    async def call(self, event: str, data: Any = None, timeout: float | None = None) -> None:
        self.calls.append((event, data))

    async def emit(self, event: str, data: Any = None) -> None:
        self.emitted.append((event, data))

    async def shutdown(self) -> None:
        self.connected = False

    # The server's side -----------------------------------------------------------------------

    async def send(self, event: str, payload: Any = None) -> None:
        """An event from the server, through the socket's catch-all handler."""
        await self._run("*", event, payload)

    async def drop(self, reason: str = "transport close") -> None:
        """The connection ends; ``socketio.AsyncClient.reason.SERVER_DISCONNECT`` when the
        server closed it."""
        self.connected = False
        await self._run("disconnect", reason)

    async def reconnect(self) -> None:
        self.connected = True
        await self._run("connect")

    async def _run(self, event: str, *args: Any) -> None:
        result = self.handlers[event](*args)
        if inspect.isawaitable(result):
            await result


async def connected_socket(
    fake: FakeSocketIO | None = None,
    options: Callable[[], dict[str, Any]] | None = None,
    **keywords: Any,
) -> tuple[EventSocket, FakeSocketIO]:
    """An ``EventSocket`` connected through ``fake`` (a new one by default), and the fake;
    ``keywords`` go to ``EventSocket``."""
    fake = fake or FakeSocketIO()
    options = options or (lambda: {"url": "http://invokeai.test"})
    socket = EventSocket(options, socketio_client=fake, **keywords)
    return await socket.connect(), fake
