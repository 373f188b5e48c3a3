"""The Socket.IO connection to an InvokeAI server: typed events, fanned out to subscribers.

``EventSocket`` wraps python-socketio's ``AsyncClient`` (imported when a socket is first used,
so importing the runtime stays light). It connects with the websocket transport (HTTP long-polling
fails on InvokeAI 6.14) at ``{base_url}/ws/socket.io``, passes the client's token, and joins the
queue rooms asked for with ``subscribe()`` again after every reconnection. Each
``listen_events()`` subscription gets its own buffer and filter (item ids, batch ids, kinds), so
two jobs on one socket never see each other's events.

When the server refuses the token (InvokeAI 7.0 closes the sockets of a revoked token), the
socket has its client log in again, once, and connects with the new token.

``subscribe_session(session_id)`` joins the session's queue and keeps that session's events from
then on; a later ``listen_events()`` without filters starts with them and yields only the
subscribed sessions' events. When the socket comes from a client that enqueued the session, it
also reads the item once, so a session that ended before the socket joined still ends the
listener. Each terminal ``queue_item_status_changed`` is followed by a ``GraphCompleteEvent``.

Get one with ``client.connect_socketio()`` (or ``EventSocket(client.socketio_options)``)::

    async with client.connect_socketio() as socket:
        await socket.subscribe("default")
        async for event in socket.listen_events(batch_ids=[batch_id]):
            ...
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from ivkgen.runtime._errors import IvkgenError, ServerUnreachableError
from ivkgen.runtime._events.messages import (
    Event,
    GraphCompleteEvent,
    ProgressRevisions,
    QueueItemStatusChangedEvent,
    SessionEvent,
    parse_event,
)
from ivkgen.runtime._timeouts import CONNECT_TIMEOUT, SUBSCRIBE_TIMEOUT

log = logging.getLogger("ivkgen.runtime._events.socket")

RECONNECT_DELAY = 0.5
RECONNECT_DELAY_MAX = 2.0
SESSION_BACKLOG = 1000
"""Events kept per subscribed session for listeners that start later."""

SessionStatus = Callable[[str], Awaitable[QueueItemStatusChangedEvent | None]]
TokenRenewal = Callable[[str | None], Awaitable[None]]
"""Logs the client in again unless the token it is given (the refused one) was replaced."""
SocketIOClientFactory = Callable[..., Any]
"""Makes the Socket.IO client from ``socketio.AsyncClient``'s keyword arguments."""


class ConnectionChanged:
    """Put in every subscription's buffer when the socket drops or comes back."""

    def __init__(self, connected: bool) -> None:
        self.connected = connected


_CLOSED = object()


class Subscription:
    """Events of one listener, filtered; iterate with ``async for`` (ends when the socket is
    closed or ``close()`` is called). Connection changes are not yielded by the iterator;
    ``get()`` returns them too, for owners that poll while the socket is down."""

    def __init__(
        self,
        socket: EventSocket,
        *,
        item_ids: Iterable[int] | None = None,
        batch_ids: Iterable[str] | None = None,
        kinds: Iterable[SessionEvent | str] | None = None,
        session_ids: Iterable[str] | None = None,
    ) -> None:
        self._socket = socket
        self.item_ids: set[int] | None = None if item_ids is None else set(item_ids)
        self.batch_ids: set[str] | None = None if batch_ids is None else set(batch_ids)
        self.session_ids: set[str] | None = None if session_ids is None else set(session_ids)
        self.kinds = None if kinds is None else {SessionEvent(k) for k in kinds}
        self._buffer: asyncio.Queue[Any] = asyncio.Queue()

    def matches(self, event: Event) -> bool:
        if self.kinds is not None and event.type not in self.kinds:
            return False
        if self.item_ids is None and self.batch_ids is None and self.session_ids is None:
            return True
        if self.session_ids and getattr(event, "session_id", None) in self.session_ids:
            return True
        return event.concerns(self.item_ids or (), self.batch_ids or ())

    def add_item_ids(self, item_ids: Collection[int]) -> None:
        """Also accept events of these items (known only once the batch is enqueued)."""
        self.item_ids = (self.item_ids or set()) | set(item_ids)

    def _deliver(self, message: Any) -> None:
        self._buffer.put_nowait(message)

    async def get(self, timeout: float | None = None) -> Event | ConnectionChanged | None:
        """The next event or connection change; None on timeout or once closed."""
        try:
            message = await asyncio.wait_for(self._buffer.get(), timeout)
        except TimeoutError:
            return None
        if message is _CLOSED:
            self._buffer.put_nowait(_CLOSED)
            return None
        result: Event | ConnectionChanged = message
        return result

    @property
    def closed(self) -> bool:
        return self not in self._socket._subscriptions

    def close(self) -> None:
        self._socket._unsubscribe(self)
        self._buffer.put_nowait(_CLOSED)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        while True:
            message = await self._buffer.get()
            if message is _CLOSED:
                self._buffer.put_nowait(_CLOSED)
                return
            if isinstance(message, Event):
                yield message


class EventSocket:
    """One Socket.IO connection; ``options`` returns ``socketio.AsyncClient.connect`` keyword
    arguments (the client's ``socketio_options``, read again at each reconnection for a fresh
    token); ``socketio_client`` makes the Socket.IO client (``socketio.AsyncClient`` by default;
    tests pass a fake one)."""

    def __init__(
        self,
        options: Callable[[], dict[str, Any]],
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        session_status: SessionStatus | None = None,
        renew_token: TokenRenewal | None = None,
        socketio_client: SocketIOClientFactory | None = None,
    ) -> None:
        self._options = options
        self._socketio_client = socketio_client
        self._renew_token = renew_token
        self._sent_token: str | None = None
        self._refused = False
        self._may_renew = True
        self._url = ""
        self._connect_options: dict[str, Any] = {}
        self._reconnecting: asyncio.Task[None] | None = None
        self._connect_timeout = connect_timeout
        self._session_status = session_status
        self._sessions: dict[str, deque[Event]] = {}
        self._ended: set[str] = set()
        self._queues: list[str] = []
        self._joined: set[str] = set()
        self._subscriptions: list[Subscription] = []
        self._revisions = ProgressRevisions()
        self._sio: Any = None

    @property
    def connected(self) -> bool:
        return bool(self._sio is not None and self._sio.connected)

    async def connect(self) -> Self:
        """Open the connection (``ServerUnreachableError`` if the server refuses it)."""
        import socketio

        sio = (self._socketio_client or socketio.AsyncClient)(
            reconnection=True,
            reconnection_delay=RECONNECT_DELAY,
            reconnection_delay_max=RECONNECT_DELAY_MAX,
        )
        sio.on("connect", self._on_connect)
        sio.on("connect_error", self._on_connect_error)
        sio.on("disconnect", self._on_disconnect)
        sio.on("*", self._on_event)
        options = self._options()
        url = self._url = options.pop("url")
        auth = options.pop("auth", None)
        self._connect_options = {"wait_timeout": self._connect_timeout, **options}
        while True:
            try:
                await sio.connect(url, auth=self._auth if auth else None, **self._connect_options)
                break
            except socketio.exceptions.ConnectionError as exc:
                if self._renewal_due():  # the token was refused: the next attempt logs in again
                    continue
                await sio.eio.disconnect()  # closes the HTTP session engine.io opened
                raise ServerUnreachableError(
                    f"cannot open the event socket at {url}{options.get('socketio_path', '')} "
                    f"({exc}); is InvokeAI running there, and is the client logged in?",
                    method="GET",
                    path=str(options.get("socketio_path", "")),
                ) from None
        self._sio = sio
        return self

    async def _auth(self) -> Any:
        """The ``auth`` of each connection attempt: the client's current token, after logging
        in again if the server refused the last one."""
        if self._renewal_due():
            assert self._renew_token is not None
            self._refused, self._may_renew = False, False
            try:
                await self._renew_token(self._sent_token)
            except IvkgenError as exc:
                log.warning("event socket: logging in again failed: %s", exc)
        auth = self._options().get("auth")
        self._sent_token = auth.get("token") if isinstance(auth, dict) else None
        return auth

    def _renewal_due(self) -> bool:
        """The server refused a token, and the socket may log in again (once until a
        connection succeeds)."""
        return self._refused and self._may_renew and self._renew_token is not None

    def _on_connect_error(self, *data: Any) -> None:
        log.debug("event socket refused: %s", data)
        self._refused = self._sent_token is not None

    async def subscribe(self, queue_id: str = "default") -> None:
        """Join the events room of a queue (again after each reconnection); a queue already
        joined on this connection costs no round trip."""
        if queue_id not in self._queues:
            self._queues.append(queue_id)
        if self.connected and queue_id not in self._joined:
            await self._join(queue_id)

    async def unsubscribe(self, queue_id: str = "default") -> None:
        if queue_id in self._queues:
            self._queues.remove(queue_id)
            self._joined.discard(queue_id)
            if self.connected:
                await self._sio.emit("unsubscribe_queue", {"queue_id": queue_id})

    async def subscribe_session(self, session_id: str, queue_id: str = "default") -> None:
        """Follow one session: join its queue (6.x servers send events per queue, not per
        session) and keep its events for ``listen_events()``. If the socket's client enqueued
        the session, its item is read once: an item that already ended is reported as ended."""
        await self.subscribe(queue_id)
        self._sessions.setdefault(session_id, deque(maxlen=SESSION_BACKLOG))
        if self._session_status is None or session_id in self._ended:
            return
        status = await self._session_status(session_id)
        if status is not None and status.is_terminal and session_id not in self._ended:
            self._dispatch(status)

    async def _join(self, queue_id: str) -> None:
        """Send ``subscribe_queue`` and wait for the server's acknowledgement, so that events
        of anything enqueued afterwards reach this socket."""
        await self._sio.call("subscribe_queue", {"queue_id": queue_id}, timeout=SUBSCRIBE_TIMEOUT)
        self._joined.add(queue_id)

    def listen_events(
        self,
        *,
        item_ids: Iterable[int] | None = None,
        batch_ids: Iterable[str] | None = None,
        kinds: Iterable[SessionEvent | str] | None = None,
    ) -> Subscription:
        """A new subscription to the events of these items or batches, optionally only of these
        kinds. Without items or batches: the subscribed sessions' events, starting with those
        received since ``subscribe_session``; all events if no session is subscribed."""
        sessions = None
        if item_ids is None and batch_ids is None and self._sessions:
            sessions = list(self._sessions)
        subscription = Subscription(
            self, item_ids=item_ids, batch_ids=batch_ids, kinds=kinds, session_ids=sessions
        )
        for session_id in sessions or ():
            for event in self._sessions[session_id]:
                if subscription.matches(event):
                    subscription._deliver(event)
        self._subscriptions.append(subscription)
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    async def close(self) -> None:
        """Disconnect (also stops reconnecting) and end every subscription."""
        sio, self._sio = self._sio, None
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        if sio is not None:
            await sio.shutdown()  # disconnects, or stops a reconnection under way
            await sio.eio.disconnect()  # closes the HTTP session engine.io opened
        for subscription in list(self._subscriptions):
            subscription.close()

    async def _on_connect(self) -> None:
        self._refused, self._may_renew = False, True
        if self._sio is None:  # the first connection: subscribe() follows
            return
        log.debug("event socket reconnected")
        for queue_id in self._queues:
            await self._sio.emit("subscribe_queue", {"queue_id": queue_id})
        self._broadcast(ConnectionChanged(True))

    def _on_disconnect(self, reason: Any = None) -> None:
        log.debug("event socket disconnected: %s", reason)
        self._joined.clear()
        self._broadcast(ConnectionChanged(False))
        import socketio

        if self._sio is not None and reason == socketio.AsyncClient.reason.SERVER_DISCONNECT:
            self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        """Connect again after the server closed the connection (python-socketio reconnects
        only after a lost one), as long as the socket is open; a refused token is renewed."""
        import socketio

        delay = RECONNECT_DELAY
        while True:
            await asyncio.sleep(delay)
            sio = self._sio
            if sio is None or sio.connected:
                return
            try:
                await sio.connect(self._url, auth=self._auth, **self._connect_options)
                return
            except (socketio.exceptions.ConnectionError, ValueError) as exc:
                log.debug("event socket: reconnecting failed: %s", exc)
                delay = min(2 * delay, RECONNECT_DELAY_MAX)

    def _broadcast(self, message: ConnectionChanged) -> None:
        for subscription in self._subscriptions:
            subscription._deliver(message)

    def _on_event(self, name: str, payload: Any = None) -> None:
        try:
            event = parse_event(name, payload if isinstance(payload, dict) else None)
        except ValueError as exc:
            log.warning("ignoring malformed %s event: %s", name, exc)
            return
        if self._revisions.fresh(event):
            self._dispatch(event)

    def _dispatch(self, event: Event) -> None:
        """Deliver an event (and the ``GraphCompleteEvent`` a terminal status makes)."""
        events: list[Event] = [event]
        session_id = getattr(event, "session_id", None)
        if isinstance(event, QueueItemStatusChangedEvent) and event.is_terminal:
            self._revisions.forget(event.item_id)
            if session_id not in self._ended:  # else subscribe_session already reported it
                events.append(GraphCompleteEvent.of(event))
            if session_id in self._sessions:
                self._ended.add(session_id)
        for each in events:
            if session_id in self._sessions:
                self._sessions[session_id].append(each)
            for subscription in self._subscriptions:
                if subscription.matches(each):
                    subscription._deliver(each)

    async def __aenter__(self) -> Self:
        return await self.connect()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


@dataclass(frozen=True, slots=True)
class SocketLease:
    """A connected socket lent to a job, and whether the job owns it (closes it when done) or
    shares it (its client closes it)."""

    socket: EventSocket
    owned: bool

    async def release(self) -> None:
        """Close the socket if the job owns it."""
        if self.owned:
            await self.socket.close()
