"""The runs in flight: one task per run, its status in the store, its events announced.

``Runner.start`` follows a run to its end in a task (:mod:`.follow`), at most
``max_in_flight`` at once (the others wait in the service's queue, in order, and are sent to
InvokeAI as earlier runs end); ``cancel`` stops it and
cleans up on InvokeAI; ``detach`` (the service stops) leaves the runs' items where they are, to
be followed again by ``resume`` on the next start (the runs already ended finish their clean-up
first); ``prune`` deletes the runs finished longer
ago than the service keeps them, with their files.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import logging
import shutil
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from ivkgen.runtime._client import AsyncInvokeAIClient
from ivkgen.runtime._errors import IvkgenError
from ivkgen.runtime._server.core import AsyncBound
from ivkgen.service.catalog import ServedWorkflow
from ivkgen.service.events import EventHub
from ivkgen.service.follow import RunFollower
from ivkgen.service.ledger import StoreLedger, owing_cleanup
from ivkgen.service.orphans import take_back
from ivkgen.service.positions import QueuePositions
from ivkgen.service.resources import run_resource
from ivkgen.service.servers import SharedAnswers
from ivkgen.service.store import RunRecord, RunStore, StoredEvent

log = logging.getLogger("ivkgen.service")

PLACE_AFTER_SECONDS = 2.0
"""How long a new queue item waits before its place in its InvokeAI server's queue is read for
a ``queued`` event: an item that starts within it (InvokeAI collects garbage before each item)
costs its server no reads while it runs."""

Listener = Callable[[RunRecord, StoredEvent], Awaitable[None]]
"""Hears every event of every run after it is recorded (webhooks, metrics)."""


class Runner:
    """Follows the service's runs (see the module docstring)."""

    def __init__(
        self,
        store: RunStore,
        hub: EventHub,
        catalog: Mapping[str, ServedWorkflow],
        clients: Mapping[str, AsyncInvokeAIClient],
        files: Path,
        *,
        poll_interval: float = 0.5,
        max_in_flight: int = 16,
    ) -> None:
        self.store = store
        self.hub = hub
        self.catalog = catalog
        self.clients = {name: SharedAnswers(client) for name, client in clients.items()}
        self.files = files
        self.poll_interval = poll_interval
        self.max_in_flight = max_in_flight
        """Runs followed at once; the others wait, in order, in ``_waiting``."""
        self._waiting: dict[str, RunRecord] = {}
        self._tickets: dict[str, int] = {}
        """Run id -> its number in the order the waiting runs came (see ``position``)."""
        self._gaps: list[int] = []
        """The sorted numbers of runs that left the wait from behind its head (canceled)."""
        self._issued = itertools.count()
        self.listeners: list[Listener] = []
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._followers: dict[str, RunFollower] = {}
        self._preferred: dict[str, str] = {}
        """Run id -> the server it was offered first, for the runs in flight."""
        self._former: dict[str, AsyncInvokeAIClient] = {}
        self._detaching = False
        self.positions = QueuePositions(self.clients)
        self._announcing: set[asyncio.Task[None]] = set()

    def files_of(self, run_id: str) -> Path:
        return self.files / run_id

    def start(self, record: RunRecord) -> None:
        """Follow ``record`` to its end, in a task of its own once fewer than
        ``max_in_flight`` runs are followed (until then it waits in the service's queue)."""
        self._waiting[record.id] = record
        self._tickets[record.id] = next(self._issued)
        self._dispatch()

    def position(self, run_id: str) -> int | None:
        """The run's place (1: next) among the runs waiting for the service to send them: its
        number less the head's, less the runs canceled in between (no walk of the wait)."""
        ticket = self._tickets.get(run_id)
        if ticket is None:
            return None
        head = self._tickets[next(iter(self._waiting))]
        del self._gaps[: bisect.bisect_left(self._gaps, head)]
        return ticket - head + 1 - bisect.bisect_left(self._gaps, ticket)

    def _leave_wait(self, run_id: str) -> RunRecord | None:
        """Take ``run_id`` out of the wait (None: it was not waiting)."""
        record = self._waiting.pop(run_id, None)
        ticket = self._tickets.pop(run_id, None)
        if ticket is not None and self._waiting:
            bisect.insort(self._gaps, ticket)
        return record

    def _dispatch(self) -> None:
        while self._waiting and len(self._tasks) < self.max_in_flight and not self._detaching:
            run_id, record = next(iter(self._waiting.items()))
            del self._waiting[run_id]
            del self._tickets[run_id]
            task = asyncio.create_task(self._follow(record), name=f"run {run_id}")
            self._tasks[run_id] = task
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks = {run_id: t for run_id, t in self._tasks.items() if t is not task}
        self._dispatch()

    def resume(self) -> int:
        """Follow again every run the store holds unfinished, and every ended run whose
        clean-up on InvokeAI was cut short; how many."""
        owed = [self.store.get_run(run_id) for run_id in owing_cleanup(self.store)]
        records = [r for r in owed if r is not None and r.final] + self.store.unfinished_runs()
        for record in records:
            self.start(record)
        return len(records)

    async def publish(self, run_id: str, type_: str, data: dict[str, Any]) -> None:
        event = await self.hub.publish(run_id, type_, data)
        record = self.store.get_run(run_id)
        for listener in self.listeners:
            if record is not None:
                try:
                    await listener(record, event)
                except Exception:  # a listener's fault never stops a run
                    log.exception("run %s: a listener of event %s failed", run_id, type_)

    async def _set_status(self, run_id: str, status: str, changes: dict[str, Any]) -> None:
        moment = time.time()
        if status == "running":
            changes = {**changes, "started": moment}
        elif status in ("completed", "failed", "canceled"):
            changes = {**changes, "finished": moment}
        self.store.update_run(run_id, status=status, **changes)
        record = self.store.get_run(run_id)
        assert record is not None
        resource = run_resource(record).model_dump(mode="json")
        data = resource if record.final else {"status": status, "server": record.server}
        await self.publish(run_id, status, data)

    async def _follow(self, record: RunRecord) -> None:
        follower = None
        try:
            served = self.catalog.get(record.workflow)
            if served is None:
                await self._abandon(record)
                return
            follower = RunFollower(
                record,
                served,
                self.store,
                self._least_busy_first(record.id),
                self.files_of(record.id),
                lambda status, changes: self._set_status(record.id, status, changes),
                poll_interval=self.poll_interval,
                connect=self._connect_former,
                queued=lambda server, item_id: self._announce(record.id, server, item_id),
            )
            self._followers[record.id] = follower
            await follower.follow()
        except asyncio.CancelledError:
            if not self._detaching and not _ended(follower):
                await asyncio.shield(self._canceled(record.id, follower))
            raise
        except (IvkgenError, ValueError) as exc:
            log.warning("run %s failed: %s", record.id, exc)
            if not _ended(follower):
                await self._failed(record.id, follower, str(exc))
        except Exception:  # a fault of the service: the run ends, the service goes on
            log.exception("run %s: unexpected error", record.id)
            if not _ended(follower):
                await self._failed(record.id, follower, "the service failed to follow the run")
        finally:
            self._followers.pop(record.id, None)
            self._preferred.pop(record.id, None)

    async def server_position(self, run_id: str) -> int | None:
        """The place of the run's item in its InvokeAI server's queue while it is pending there
        (1: next to run)."""
        follower = self._followers.get(run_id)
        if follower is None or not self._waits_on_server(run_id):
            return None
        for state in follower.run.live_states():
            for item_id in list(state.queued):  # the run's step may take it meanwhile
                place = await self.positions.position(state.name, item_id)
                if place is not None:
                    return place
        return None

    def _announce(self, run_id: str, server: str, item_id: int) -> None:
        """Tell the run's event readers the place its new queue item has in the server's
        queue (a ``queued`` event) if it has not started after ``PLACE_AFTER_SECONDS``, in a
        task of its own: the run goes on meanwhile."""
        task = asyncio.create_task(self._announce_place(run_id, server, item_id))
        self._announcing.add(task)
        task.add_done_callback(self._announcing.discard)

    async def _announce_place(self, run_id: str, server: str, item_id: int) -> None:
        await asyncio.sleep(PLACE_AFTER_SECONDS)
        if not self._waits_on_server(run_id):
            return  # it runs already: its ``running`` event tells more
        place = await self.positions.position(server, item_id)
        if place is None or not self._waits_on_server(run_id):
            return
        data = {"status": "queued", "position": None, "server": server, "server_position": place}
        await self.hub.publish(run_id, "queued", data)  # not a change of status: no listener

    def _waits_on_server(self, run_id: str) -> bool:
        follower = self._followers.get(run_id)
        return follower is not None and not follower.running and not follower.cleaning

    async def _abandon(self, record: RunRecord) -> None:
        """A run whose workflow is no longer served: taken back from InvokeAI, and failed."""
        why = f"workflow {record.workflow!r} is no longer served"
        log.warning("run %s: %s; taking it back from InvokeAI", record.id, why)
        await take_back(StoreLedger(self.store, record.id), self.clients, self._connect_former)
        if not record.final:
            error = f"{why}: the service restarted without it and canceled the run"
            await self._set_status(record.id, "failed", {"error": error})

    async def _failed(self, run_id: str, follower: RunFollower | None, error: str) -> None:
        if follower is not None:
            await follower.cancel()
        await self._set_status(run_id, "failed", {"error": error})

    async def _canceled(self, run_id: str, follower: RunFollower | None) -> None:
        if follower is not None:
            await follower.cancel()
        await self._set_status(run_id, "canceled", {})

    def _least_busy_first(self, run_id: str) -> dict[str, AsyncBound]:
        """The servers, those the fewest runs in flight went to first: a new run's item goes to
        the first one that can run it."""
        load = Counter(self._preferred.values())
        order = sorted(self.clients, key=lambda name: load[name])
        self._preferred[run_id] = order[0]
        return {name: self.clients[name] for name in order}

    def follower_of(self, server: str, item_id: int, batch_id: str | None) -> RunFollower | None:
        """The follower of the run whose queue item on ``server`` is ``item_id``, or whose
        batch is ``batch_id`` (an item's first events may come before the enqueue's answer)."""
        followers = self._followers.values()
        return next((f for f in followers if f.holds(server, item_id, batch_id)), None)

    def _connect_former(self, url: str) -> AsyncInvokeAIClient:
        """A client of a server a resumed run's ledger names that is no longer given."""
        if url not in self._former:
            self._former[url] = AsyncInvokeAIClient.from_url(url)
        return self._former[url]

    async def cancel(self, run_id: str) -> None:
        """Cancel a run in flight: its item on InvokeAI, what it made and its uploads."""
        if self._leave_wait(run_id) is not None:
            await self._set_status(run_id, "canceled", {})
            return
        task = self._tasks.get(run_id)
        if task is None or _ended(self._followers.get(run_id)):
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def wait_final(self, run_id: str, timeout: float) -> RunRecord | None:
        """The run once it ended, or as it stands after ``timeout`` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            record = self.store.get_run(run_id)
            remaining = deadline - asyncio.get_running_loop().time()
            if record is None or record.final or remaining <= 0:
                return record
            await self.hub.wait_after(run_id, self.store.last_seq(run_id), remaining)

    async def detach(self) -> None:
        """Stop following every run, leaving its item on InvokeAI (see the module docstring);
        the clean-ups of the runs already ended are finished first."""
        self._detaching = True
        self._waiting.clear()
        self._tickets.clear()
        tasks = list(self._tasks.values())
        for run_id, task in self._tasks.items():
            if not _ended(self._followers.get(run_id)):
                task.cancel()
        for announcing in self._announcing:
            announcing.cancel()
        await asyncio.gather(*tasks, *self._announcing, return_exceptions=True)
        for client in self._former.values():
            await client.aclose()

    def prune(self, keep_seconds: float) -> int:
        """Delete the runs finished more than ``keep_seconds`` ago, and their files."""
        expired = self.store.finished_before(time.time() - keep_seconds)
        for run_id in expired:
            shutil.rmtree(self.files_of(run_id), ignore_errors=True)
            self.store.delete_run(run_id)
        return len(expired)


def _ended(follower: RunFollower | None) -> bool:
    """Whether the run was reported ended (its follower only cleans up now)."""
    return follower is not None and follower.cleaning


__all__ = ["Listener", "Runner"]
