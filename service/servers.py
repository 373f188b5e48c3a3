"""The service's view of one InvokeAI server for its runs: the client, with the answers every
run's preparation asks for (the server's OpenAPI schema, its installed models) kept for a
while instead of fetched again per run."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from ivkgen.runtime._client import AsyncInvokeAIClient
from ivkgen.runtime._server.core import AsyncBound, Call

T = TypeVar("T")
SHARED_SECONDS = {"/openapi.json": 600.0, "/api/v2/models/": 30.0}
"""How long each shared answer is used: the schema changes with the server's version (or its
node packs, loaded at its start), the models whenever one is installed."""


class SharedAnswers(AsyncBound):
    """``client`` whose GETs of the schema and the model list are answered from the last one
    for ``SHARED_SECONDS`` (a model installed meanwhile is seen at most 30 s later);
    ``answered`` hears each answer the server itself gave (a sign of life for the health
    check)."""

    def __init__(self, client: AsyncInvokeAIClient, clock: Any = time.monotonic) -> None:
        self.client = client
        self.base_url = client.base_url
        self._clock = clock
        self._kept: dict[tuple[str, str], tuple[float, Any]] = {}
        self.answered: Callable[[], None] = lambda: None

    async def execute(self, call: Call[T]) -> T:
        if call.method != "GET" or call.path not in SHARED_SECONDS:
            return await self._ask(call)
        key = (call.path, repr(call.params))
        kept = self._kept.get(key)
        if kept is not None and self._clock() - kept[0] < SHARED_SECONDS[call.path]:
            answer: T = kept[1]
            return answer
        answer = await self._ask(call)
        self._kept[key] = (self._clock(), answer)
        return answer

    async def _ask(self, call: Call[T]) -> T:
        answer = await self.client.execute(call)
        self.answered()
        return answer


__all__ = ["SharedAnswers"]
