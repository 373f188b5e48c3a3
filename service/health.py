"""Whether each InvokeAI server answers, and how deep its queue is: read every few seconds, so
that a run is refused (503) while none answers, ``/readyz`` says so (and while every queue is
full: its pending items at the server's ``max_queue_size``, read once from its runtime config),
and the metrics show each queue's depth. The store's database is read with them: ``/readyz`` is
503 while it does not answer either.

A slow reading is not an outage: a server is counted down when it refuses or fails a reading, or
after ``SLOW_READINGS_TO_DOWN`` readings in a row got no answer in time; any answer to a run's
own call (:meth:`ServerHealth.heard`) counts as a sign of life."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from ivkgen.runtime._client import AsyncInvokeAIClient
from ivkgen.runtime._errors import IvkgenError
from ivkgen.runtime._server.core import Call, parse_json
from ivkgen.service.store import RunStore

log = logging.getLogger("ivkgen.service")

CHECK_SECONDS = 5.0
ANSWER_TIMEOUT = 3.0
SLOW_READINGS_TO_DOWN = 3
DepthListener = Callable[[str, int], None]
RUNTIME_CONFIG: Call[object] = Call("GET", "/api/v1/app/runtime_config", parse_json)


class ServerHealth:
    """The last reading of each server: ``answers`` (None before the first) and ``depth`` (its
    pending and running items); ``database``: whether ``store`` answered at the last reading."""

    def __init__(
        self, clients: Mapping[str, AsyncInvokeAIClient], store: RunStore | None = None
    ) -> None:
        self.clients = clients
        self.store = store
        self.database = True
        self.answers: dict[str, bool | None] = dict.fromkeys(clients)
        self.depth: dict[str, int] = dict.fromkeys(clients, 0)
        self.slow: dict[str, int] = dict.fromkeys(clients, 0)
        """Readings in a row that got no answer in time, by server."""
        self.pending: dict[str, int] = dict.fromkeys(clients, 0)
        self.capacity: dict[str, int | None] = dict.fromkeys(clients)
        """Each server's ``max_queue_size`` (None until read, or when it cannot be read)."""
        self.listeners: list[DepthListener] = []
        self._task: asyncio.Task[None] | None = None

    def any_answers(self) -> bool:
        """Some server answered at its last reading (or was not read yet)."""
        return any(answer is not False for answer in self.answers.values())

    def full(self, name: str) -> bool:
        """Server ``name``'s queue holds as many pending items as it takes."""
        capacity = self.capacity[name]
        return capacity is not None and self.pending[name] >= capacity

    def all_full(self) -> bool:
        """Every server that answers has a full queue (and some server answers)."""
        answering = [name for name, answer in self.answers.items() if answer is not False]
        return bool(answering) and all(self.full(name) for name in answering)

    def ready(self) -> bool:
        """The database and some server answered at the last reading, and not every queue is
        full."""
        return self.database and self.any_answers() and not self.all_full()

    async def check(self) -> None:
        """Read every server and the database now."""
        if self.store is not None:
            self.database = self.store.answers()
        await asyncio.gather(*(self._check(name, c) for name, c in self.clients.items()))

    async def _check(self, name: str, client: AsyncInvokeAIClient) -> None:
        try:
            status = await asyncio.wait_for(client.queue_repo.get_status(), ANSWER_TIMEOUT)
        except TimeoutError as exc:  # slow (a loaded machine): down only if it stays so
            self.slow[name] += 1
            if self.slow[name] >= SLOW_READINGS_TO_DOWN:
                self._down(name, f"no answer in {ANSWER_TIMEOUT:g} s, {self.slow[name]} times")
            else:
                log.info("InvokeAI server %s answered no reading in time: %s", name, exc)
            return
        except IvkgenError as exc:
            self._down(name, str(exc))
            return
        self.heard(name)
        if self.capacity[name] is None:
            self.capacity[name] = await _max_queue_size(name, client)
        self.pending[name] = status.queue.pending
        self.depth[name] = status.queue.pending + status.queue.in_progress
        for listener in self.listeners:
            listener(name, self.depth[name])

    def heard(self, name: str) -> None:
        """Server ``name`` answered (a reading, or a run's call): it is up."""
        if self.answers[name] is False:
            log.info("InvokeAI server %s answers again", name)
        self.answers[name] = True
        self.slow[name] = 0

    def _down(self, name: str, why: str) -> None:
        if self.answers[name] is not False:
            log.warning("InvokeAI server %s does not answer: %s", name, why)
        self.answers[name] = False

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


async def _max_queue_size(name: str, client: AsyncInvokeAIClient) -> int | None:
    """The server's ``max_queue_size`` from its runtime config (None if it does not say)."""
    try:
        answer = await asyncio.wait_for(client.execute(RUNTIME_CONFIG), ANSWER_TIMEOUT)
    except (TimeoutError, IvkgenError) as exc:
        log.debug("InvokeAI server %s: its queue size is unknown (%s)", name, exc)
        return None
    size = answer.get("config", {}).get("max_queue_size") if isinstance(answer, dict) else None
    return size if isinstance(size, int) else None


__all__ = ["ServerHealth"]
