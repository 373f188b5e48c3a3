"""One run driven to its end through the runtime's pool, as a Python user's pool run would be.

A run is a one-item :class:`~ivkgen.runtime._pool.run.PoolRun` over the service's servers, its
ledger kept in the store (:class:`~ivkgen.service.ledger.StoreLedger`): the pool checks each
server can run the workflow, uploads, enqueues on one server, fails over, reads the item when
it ends and downloads its outputs once. A run found unfinished in the store on start is
followed again from what its ledger recorded: an item already enqueued is looked up on its
server, never enqueued twice. When the item ended, its outputs are recorded and the run is
reported ended (a waiting client has its answer), then its images, its queue item and its uploads
are deleted on InvokeAI; a run reported ended whose clean-up was cut short (the ledger says it is
owed) is followed again only to clean up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from ivkgen.runtime._client import AsyncInvokeAIClient
from ivkgen.runtime._errors import IvkgenError
from ivkgen.runtime._events.messages import InvocationCompleteEvent
from ivkgen.runtime._jobs.plans import drive
from ivkgen.runtime._media import safe_file_name
from ivkgen.runtime._pool.outcome import ItemResult
from ivkgen.runtime._pool.run import PoolRun
from ivkgen.runtime._pool.servers import ServerState
from ivkgen.runtime._pool.step import download_plan
from ivkgen.runtime._pool.work import module_work
from ivkgen.runtime._server.core import AsyncBound
from ivkgen.runtime._server.dto import SessionQueueItem
from ivkgen.service.catalog import ServedWorkflow
from ivkgen.service.ledger import StoreLedger
from ivkgen.service.orphans import take_back_plans
from ivkgen.service.store import RunRecord, RunStore

log = logging.getLogger("ivkgen.service")

Outputs = dict[str, list[dict[str, Any]]]
Report = Callable[[str, dict[str, Any]], Awaitable[None]]
"""``report(status, changes)``: the run's status moved on (``running``, ``completed`` ...)."""


class RunFollower:
    """Follows one run (see the module docstring); ``report`` hears each change of status."""

    def __init__(
        self,
        record: RunRecord,
        served: ServedWorkflow,
        store: RunStore,
        clients: Mapping[str, AsyncBound],
        files: Path,
        report: Report,
        *,
        poll_interval: float,
        connect: Callable[[str], AsyncInvokeAIClient],
        queued: Callable[[str, int], None] = lambda server, item_id: None,
    ) -> None:
        self.record = record
        self.served = served
        self.store = store
        self.files = files
        self.report = report
        self.poll_interval = poll_interval
        self.ledger = StoreLedger(store, record.id)
        work = module_work(served.workflow, [served.inputs(item) for item in record.items])
        self.run = PoolRun(
            work,
            dict(clients),
            self.ledger,
            resume=True,
            window=math.ceil(work.count / len(clients)),  # n items: spread over the servers
            download_to=files,
            connect=connect,
        )
        self.running = False
        self.run_id = record.id
        self.wake = asyncio.Event()
        """Set when the run's queue item ended: the next step comes at once."""
        self.cleaning = False
        """The run was reported ended: what is left is its clean-up on InvokeAI."""
        self.queued = queued
        """Hears each queue item the run's item got on a server (once)."""
        self._heard: set[tuple[str, int]] = set()
        self._image_nodes = {n.node_id for n in self.run.output_nodes if n.kind == "image"}
        self._prefetching: set[asyncio.Task[None]] = set()

    async def follow(self) -> None:
        """Drive the run until its item ended and report it, then clean up on InvokeAI (a run
        already reported ended only cleans up)."""
        try:
            if not self.record.final:
                await self._drive()
                await asyncio.sleep(0)  # a client waiting for the end is answered first
        finally:
            for task in self._prefetching:  # a run canceled or failed fetches nothing more
                task.cancel()
        self.cleaning = True
        await self._clean_up()

    async def _drive(self) -> None:
        """Drive the run until its item ended, record the outputs, report the run ended."""
        run = self.run
        await asyncio.gather(*(self._prepare(s) for s in run.states.values()))
        run.require_servers()
        while not run.complete:
            await asyncio.gather(*self._prefetching)
            await asyncio.gather(*(self._step(s) for s in run.live_states() if run.active(s)))
            run.require_servers()
            await self._take_news()
            if not run.complete:
                await self._pause()
        await self._take_news()
        failed = next((r for r in self._results() if r.status != "completed"), None)
        if failed is None:
            await self.report("completed", {})
        else:
            why = str(failed.error) if failed.error else "the queue item failed"
            await self.report("failed", {"error": why})

    def _results(self) -> list[ItemResult]:
        """The results of the run's items that ended, in item order."""
        return [self.run.results[index] for index in sorted(self.run.results)]

    def holds(self, server: str, item_id: int, batch_id: str | None = None) -> bool:
        """Whether the run's queue item on ``server`` is ``item_id``, or in batch ``batch_id``
        (sent before its item id is known)."""
        state = self.run.states.get(server)
        if state is None:
            return False
        return item_id in state.queued or (batch_id is not None and batch_id in state.batches)

    def item_ended(self, server: str, item_id: int, heard: SessionQueueItem | None) -> None:
        """The server's event socket said the run's queue item ended: the next step, at once,
        takes the item as ``heard`` (the socket heard all of it), else reads it without first
        reading its status."""
        state = self.run.states.get(server)
        if state is not None and item_id in state.queued:
            state.heard_ended[item_id] = heard
        self.wake.set()

    def node_completed(self, server: str, event: InvocationCompleteEvent) -> None:
        """An output node of the run's item saved an image: download it now, while the item
        finishes, so the step that reads the ended item finds it downloaded (a failed download
        is left to that step)."""
        state = self.run.states.get(server)
        name = event.image_name
        if state is None or name is None or event.node_id not in self._image_nodes:
            return
        task = asyncio.create_task(self._prefetch(state, name))
        self._prefetching.add(task)
        task.add_done_callback(self._prefetching.discard)

    async def _prefetch(self, state: ServerState, name: str) -> None:
        try:
            await drive(download_plan(self.run, name), state.client)
        except IvkgenError as exc:
            log.info("run %s: output %s not fetched early: %s", self.run_id, name, exc)

    async def _pause(self) -> None:
        """Until the next step: the poll interval, or less when the socket wakes the run."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), self.poll_interval)
        self.wake.clear()

    async def _prepare(self, state: ServerState) -> None:
        try:
            await drive(self.run.prepare_plan(state), state.client)
        except IvkgenError as exc:
            self.run.unfit(state, exc)

    async def _step(self, state: ServerState) -> None:
        try:
            await drive(self.run.step_plan(state), state.client)
        except IvkgenError as exc:
            self.run.step_failed(state, exc)
        else:
            self.run.step_ok(state)

    async def _take_news(self) -> None:
        """Record ended items, and the run's outputs once every item ended, in one
        transaction; tell of a new queue item; report a started one."""
        results = self._results()
        if self.ledger.held:
            changes: dict[str, Any] = {"server": results[0].server if results else None}
            if self.run.complete and all(r.status == "completed" for r in results):
                changes["outputs"] = self._outputs(results)

            def record_outputs() -> None:
                self.store.update_run(self.record.id, **changes)

            self.ledger.commit_finished(record_outputs)
        for state in self.run.live_states():
            for item_id in state.queued.keys() - {i for s, i in self._heard if s == state.name}:
                self._heard.add((state.name, item_id))
                self.queued(state.name, item_id)
        if not results:
            busy = [s for s in self.run.live_states() if s.running]
            if busy:
                await self.mark_running(busy[0].name)

    async def mark_running(self, server: str) -> None:
        """Report the run running on ``server`` (once)."""
        if not self.running:
            self.running = True
            await self.report("running", {"server": server})

    def _outputs(self, results: list[ItemResult]) -> Outputs:
        """Each Outputs attribute's files (downloaded under ``files``) of every item in order,
        by attribute name, each with the server that made it."""
        kinds = self.served.output_kinds()
        found: Outputs = {attribute: [] for attribute in self.served.outputs_names}
        for result in results:
            typed = self.served.workflow.outputs(result.images)
            for attribute, files in found.items():
                files += [
                    {
                        "file": safe_file_name(image.image_name),
                        "kind": kinds[attribute],
                        "server": result.server,
                    }
                    for image in getattr(typed, attribute)
                ]
        return found

    async def _clean_up(self) -> None:
        """Delete the run's images, queue item and uploads on every server it used; once all
        of it is done, the ledger owes the clean-up no more."""
        clean = True
        for state in self.run.live_states():
            for plan in (self.run.cleanup_outputs_plan(state), self.run.cleanup_inputs_plan(state)):
                try:
                    await drive(plan, state.client)
                except IvkgenError as exc:
                    clean = False
                    self.run.step_failed_quietly(state, exc)
        if clean:
            self.ledger.cleaned()

    async def cancel(self) -> None:
        """Cancel the run's item where it is, delete what it made, the item and the uploads;
        each step is tried whatever the others did."""
        catalog = self.run.work.handle.catalog
        for state in self.run.live_states():
            steps = take_back_plans(sorted(state.sent), sorted(state.queued), catalog)
            steps += [self.run.cleanup_inputs_plan(state), self.run.cleanup_outputs_plan(state)]
            state.queued.clear()
            state.sent.clear()
            for plan in steps:
                try:
                    await drive(plan, state.client)
                except IvkgenError as exc:
                    log.warning("run %s: clean-up on %s: %s", self.run_id, state.name, exc)


__all__ = ["RunFollower"]
