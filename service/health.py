"""Whether each InvokeAI server answers, and how deep its queue is: read every few seconds, so
that a run is refused (503) while none answers, ``/readyz`` says so, and the metrics show each
queue's depth."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from ivkgen.runtime.client import AsyncInvokeAIClient
from ivkgen.runtime.errors import IvkgenError

log = logging.getLogger("ivkgen.service")

CHECK_SECONDS = 5.0
ANSWER_TIMEOUT = 3.0
DepthListener = Callable[[str, int], None]


class ServerHealth:
    """The last reading of each server: ``answers`` (None before the first) and ``depth`` (its
    pending and running items)."""

    def __init__(self, clients: Mapping[str, AsyncInvokeAIClient]) -> None:
        self.clients = clients
        self.answers: dict[str, bool | None] = dict.fromkeys(clients)
        self.depth: dict[str, int] = dict.fromkeys(clients, 0)
        self.listeners: list[DepthListener] = []
        self._task: asyncio.Task[None] | None = None

    def any_answers(self) -> bool:
        """Some server answered at its last reading (or was not read yet)."""
        return any(answer is not False for answer in self.answers.values())

    async def check(self) -> None:
        """Read every server now."""
        await asyncio.gather(*(self._check(name, c) for name, c in self.clients.items()))

    async def _check(self, name: str, client: AsyncInvokeAIClient) -> None:
        try:
            status = await asyncio.wait_for(client.queue_repo.get_status(), ANSWER_TIMEOUT)
        except (IvkgenError, TimeoutError) as exc:
            if self.answers[name] is not False:
                log.warning("InvokeAI server %s does not answer: %s", name, exc)
            self.answers[name] = False
            return
        if self.answers[name] is False:
            log.info("InvokeAI server %s answers again", name)
        self.answers[name] = True
        self.depth[name] = status.queue.pending + status.queue.in_progress
        for listener in self.listeners:
            listener(name, self.depth[name])

    def start(self) -> None:
        self._task = asyncio.create_task(self._every(), name="server health")

    async def _every(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(CHECK_SECONDS)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


__all__ = ["ServerHealth"]
