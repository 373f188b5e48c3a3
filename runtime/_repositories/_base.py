"""Repository shells: forward the calls their ``operation`` methods build to the client."""

from __future__ import annotations

from typing import TypeVar

from ivkgen.runtime._server.core import AsyncBound, Call, SyncBound

T = TypeVar("T")


class SyncRepository(SyncBound):
    """Base of the sync repositories and handles."""

    def __init__(self, client: SyncBound) -> None:
        self._client = client

    def execute(self, call: Call[T]) -> T:
        return self._client.execute(call)


class AsyncRepository(AsyncBound):
    """Base of the async repositories and handles."""

    def __init__(self, client: AsyncBound) -> None:
        self._client = client

    async def execute(self, call: Call[T]) -> T:
        return await self._client.execute(call)
