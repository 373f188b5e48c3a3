"""Several replicas of the service on one PostgreSQL database: which replica drives which run.

Every run is a job of a `pgqueuer <https://pgqueuer.readthedocs.io>`_ queue in the shared
database (payload: the run id, deduplicated by it). Each replica's queue manager takes jobs as
they come (``LISTEN``/``NOTIFY``, no polling) and keeps a heartbeat on each job it drives; a job
whose heartbeat is older than the lease is taken by another replica, which follows the run from
its ledger in the store (the InvokeAI items already enqueued are looked up, never enqueued
again). On SIGTERM a replica detaches its runs and hands their jobs back at once
(``RetryRequested``). A run is also held by a PostgreSQL session lock while a replica drives it,
released by PostgreSQL when that replica's connection ends: two replicas never drive one run.

Events recorded by any replica are announced on ``ivkgen_events`` and wake the event streams of
every replica; ``DELETE`` on a replica that does not drive the run asks the driving one through
``ivkgen_cancel``. A sweep re-enqueues any unfinished run that has no job (its enqueue was lost
with the replica that accepted it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from ivkgen.runtime._client import AsyncInvokeAIClient
from ivkgen.service.catalog import ServedWorkflow
from ivkgen.service.config import ServiceConfig
from ivkgen.service.events import EventHub
from ivkgen.service.health import ServerHealth
from ivkgen.service.ledger import owes_cleanup
from ivkgen.service.runner import Runner
from ivkgen.service.state import Service
from ivkgen.service.store_pg import CONNECT_TIMEOUT, EVENTS_CHANNEL, PostgresStore
from pgqueuer import Job, PsycopgDriver, Queries, QueueManager, RetryRequested

log = logging.getLogger("ivkgen.service")

ENTRYPOINT = "ivkgen_run"
CANCEL_CHANNEL = "ivkgen_cancel"
CANCEL_WAIT_SECONDS = 10.0
REJOIN_SECONDS = 1.0
_QUEUE_SCHEMA_LOCK = 0x1C6E_9E0E


class SharedRunner(Runner):
    """A :class:`Runner` whose runs go through the queue the replicas share (see the module
    docstring); ``lease``: seconds without a heartbeat before another replica takes a run."""

    def __init__(
        self,
        store: PostgresStore,
        hub: EventHub,
        catalog: Mapping[str, ServedWorkflow],
        clients: Mapping[str, AsyncInvokeAIClient],
        files: Path,
        *,
        poll_interval: float,
        max_in_flight: int,
        lease: float,
    ) -> None:
        super().__init__(
            store,
            hub,
            catalog,
            clients,
            files,
            poll_interval=poll_interval,
            max_in_flight=max_in_flight,
        )
        self.shared = store
        self.lease = lease
        self.ready = asyncio.Event()
        self._connections: list[psycopg.AsyncConnection[Any]] = []
        self._queries: Queries | None = None
        self._queue: QueueManager | None = None
        self._joining: asyncio.Task[None] | None = None
        self._background: list[asyncio.Task[None]] = []
        self._enqueues: set[asyncio.Task[None]] = set()

    def start(self, record: Any) -> None:
        """Put the run in the shared queue: the first replica free takes it."""
        self._spawn(self._enqueue([record.id]))

    def resume(self) -> int:
        """Join the shared queue (the unfinished runs are taken from it); none started here."""
        self._joining = asyncio.create_task(self._join(), name="shared queue")
        return 0

    async def cancel(self, run_id: str) -> None:
        """Cancel the run here if this replica drives it, else ask the one that does."""
        if run_id in self._tasks:
            await super().cancel(run_id)
            return
        await self.ready.wait()
        connection = self._connections[0]
        await connection.execute("SELECT pg_notify(%s, %s)", (CANCEL_CHANNEL, run_id))
        await self.wait_final(run_id, CANCEL_WAIT_SECONDS)

    async def detach(self) -> None:
        """Stop driving runs and hand their jobs back to the queue at once."""
        await super().detach()
        await asyncio.gather(*self._enqueues, return_exceptions=True)
        if self._queue is not None:  # taking jobs: it hands them back, then returns
            self._queue.shutdown.set()
        elif self._joining is not None:
            self._joining.cancel()
        if self._joining is not None:
            await asyncio.gather(self._joining, return_exceptions=True)

    async def _join(self) -> None:
        """Take runs from the shared queue until the replica stops; a replica that lost
        PostgreSQL joins again once it answers (every ``REJOIN_SECONDS``)."""
        while not self._detaching:
            try:
                if self.shared.answers():
                    await self._take_from_queue()
            except psycopg.OperationalError as exc:
                log.warning("the shared queue lost PostgreSQL: %s", exc)
            finally:
                await self._leave()
            if not self._detaching:
                await asyncio.sleep(REJOIN_SECONDS)

    async def _take_from_queue(self) -> None:
        url = self.shared.url
        for _ in range(3):
            self._connections.append(
                await psycopg.AsyncConnection.connect(
                    url, autocommit=True, connect_timeout=CONNECT_TIMEOUT
                )
            )
        control, queue, listen = self._connections
        self._queries = Queries(PsycopgDriver(control))
        await control.execute("SELECT pg_advisory_lock(%s)", (_QUEUE_SCHEMA_LOCK,))
        try:
            if not await self._queries.schema_is_installed():
                await self._queries.install()
        finally:
            await control.execute("SELECT pg_advisory_unlock(%s)", (_QUEUE_SCHEMA_LOCK,))
        self._queue = QueueManager(Queries(PsycopgDriver(queue)))
        self._queue.entrypoint(ENTRYPOINT)(self._take)
        self.ready.set()
        self._background += [
            asyncio.create_task(self._listen(listen), name="notifications"),
            asyncio.create_task(self._sweep(), name="sweep"),
        ]
        await self._queue.run(
            batch_size=1,
            max_concurrent_tasks=max(2, self.max_in_flight),
            dequeue_timeout=timedelta(seconds=self.lease / 2),
            heartbeat_timeout=timedelta(seconds=self.lease),
            log_aggregation_interval=timedelta(0),
        )

    async def _leave(self) -> None:
        """Let go of the queue's connections and the tasks that use them."""
        self.ready.clear()
        self._queue = None
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._background.clear()
        for connection in self._connections:
            await connection.close()
        self._connections.clear()

    async def _take(self, job: Job) -> None:
        """Drive the job's run to its end here (or hand it back when this replica stops)."""
        run_id = (job.payload or b"").decode()
        record = self.store.get_run(run_id)
        if (
            record is None
            or (record.final and not owes_cleanup(self.store, run_id))  # ended and clean
            or run_id in self._tasks
            or self._detaching
        ):
            if self._detaching:
                raise RetryRequested(reason="the replica stops")
            return
        if not self.shared.try_hold(run_id):
            raise RetryRequested(timedelta(seconds=self.lease), "another replica drives the run")
        try:
            log.info("run %s: driven by this replica (job %s)", run_id, job.id)
            super().start(record)
            while run_id in self._waiting or run_id in self._tasks:
                task = self._tasks.get(run_id)
                if task is not None:
                    await asyncio.wait({task})
                else:
                    await asyncio.sleep(self.poll_interval)
        finally:
            self.shared.release(run_id)
        if self._detaching:
            raise RetryRequested(reason="the replica stops: the run is handed over")

    async def _enqueue(self, run_ids: list[str]) -> None:
        """Put the runs in the queue (a run whose enqueue is lost with PostgreSQL is enqueued
        by the sweep once it answers again)."""
        await self.ready.wait()
        assert self._queries is not None
        try:
            for run_id in run_ids:
                await self._queries.enqueue(
                    ENTRYPOINT, run_id.encode(), dedupe_key=run_id, on_conflict="skip"
                )
        except psycopg.OperationalError as exc:
            log.warning("runs not enqueued yet (PostgreSQL lost): %s", exc)

    async def _listen(self, connection: psycopg.AsyncConnection[Any]) -> None:
        """Wake local event streams for every replica's events; cancel runs asked elsewhere."""
        await connection.execute(f"LISTEN {EVENTS_CHANNEL}")
        await connection.execute(f"LISTEN {CANCEL_CHANNEL}")
        async for note in connection.notifies():
            if note.channel == EVENTS_CHANNEL:
                run_id, seq = note.payload.split()
                await self.hub.announce(run_id, int(seq))
            elif note.payload in self._tasks:
                self._spawn(super().cancel(note.payload))

    async def _sweep(self) -> None:
        """Now and then, enqueue again the unfinished runs that have no job."""
        while True:
            await asyncio.sleep(self.lease)
            orphans = [r.id for r in self.store.unfinished_runs() if r.id not in self._tasks]
            if orphans:
                await self._enqueue(orphans)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._enqueues.add(task)
        task.add_done_callback(self._enqueues.discard)


def shared_service(
    config: ServiceConfig, clients: dict[str, AsyncInvokeAIClient], files: Path
) -> Service:
    """The parts of a replica whose store is the PostgreSQL database ``config.store``."""
    store = PostgresStore(str(config.store))
    hub = EventHub(store)
    runner = SharedRunner(
        store,
        hub,
        config.catalog,
        clients,
        files,
        poll_interval=config.poll_interval,
        max_in_flight=config.max_in_flight or 4 * len(clients),
        lease=config.lease,
    )
    return Service(config, store, hub, runner, clients, ServerHealth(clients, store))


__all__ = ["ENTRYPOINT", "SharedRunner", "shared_service"]
