"""What a workflow handle needs from its client: sending calls, and an event socket to track with.

``InvokeAIClient`` is a :class:`SyncClient` (its calls block), ``AsyncInvokeAIClient`` an
:class:`AsyncClient` (its calls are awaited). Both lend an event socket through
``lease_event_socket()``: the async client its shared socket, the sync client a socket of the
job's own (a blocking client has no event loop to share one in). The handle and the jobs know
clients only through these two classes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TypeAlias

from ivkgen.runtime._events.socket import SocketLease
from ivkgen.runtime._server.core import AsyncBound, SyncBound


class SyncClient(SyncBound, ABC):
    """A client whose calls block (``InvokeAIClient``)."""

    @abstractmethod
    async def lease_event_socket(self) -> SocketLease:
        """A connected event socket for tracking one job from async code."""


class AsyncClient(AsyncBound, ABC):
    """A client whose calls are awaited (``AsyncInvokeAIClient``)."""

    @abstractmethod
    async def lease_event_socket(self) -> SocketLease:
        """A connected event socket for tracking one job."""


AnyClient: TypeAlias = SyncClient | AsyncClient
"""Either kind of client."""
