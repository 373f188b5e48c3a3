"""One pool run: the scheduler, the ledger, each server's state, and the server's plans.

Every server's work is a plan (:mod:`ivkgen.runtime._jobs.plans`): the sync pool drives it with
``drive_sync``, the async pool with ``drive``, so both share every decision. A run checks each
server can run the work (:mod:`.servers`), starts from its ledger (:mod:`.resume`), steps each
server (:mod:`.step`), drops a server that keeps failing, and at the end cancels what it left
unfinished and deletes what it uploaded.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from ivkgen.runtime._errors import (
    AuthError,
    FormerServerWarning,
    HTTPStatusError,
    IvkgenError,
    JobFailedError,
    NoServerError,
    ServerUnfitError,
    TransportError,
)
from ivkgen.runtime._jobs.cleanup import delete_made_plan
from ivkgen.runtime._jobs.outputs import output_nodes
from ivkgen.runtime._jobs.plans import Plan, delete_queue_items_plan, queue_ops
from ivkgen.runtime._jobs.uploads import Uploaded, delete_uploads_plan
from ivkgen.runtime._pool.ledger import Ledger
from ivkgen.runtime._pool.outcome import ItemResult
from ivkgen.runtime._pool.progress import PoolProgress, progress
from ivkgen.runtime._pool.resume import Connect, Resumed, from_ledger
from ivkgen.runtime._pool.scheduler import Scheduler
from ivkgen.runtime._pool.servers import ServerState, fitness_plan
from ivkgen.runtime._pool.step import step_plan
from ivkgen.runtime._pool.work import Work
from ivkgen.runtime._repositories.queue import DEFAULT_QUEUE, QueueOps
from ivkgen.runtime._server.core import AsyncBound, SyncBound
from ivkgen.runtime._server.dto import JobStatus
from ivkgen.runtime._workflow.definition import node_labels

log = logging.getLogger("ivkgen.runtime._pool")

DEFAULT_MAX_FAILURES = 2


class PoolRun:
    """The state of one run over several servers (see the module docstring)."""

    def __init__(
        self,
        work: Work,
        clients: Mapping[str, SyncBound | AsyncBound],
        ledger: Ledger,
        *,
        resume: bool = False,
        window: int,
        download_to: Path | None = None,
        max_failures: int = DEFAULT_MAX_FAILURES,
        clock: Callable[[], float] = time.monotonic,
        connect: Connect | None = None,
    ) -> None:
        self.work = work
        self.ledger = ledger
        self.download_to = download_to
        self.max_failures = max_failures
        self._clock = clock
        self._started = clock()
        handle = work.handle
        self.output_nodes = output_nodes(handle.definition, handle.catalog)
        graph = handle.build_enqueue_body(board=work.board_id)["batch"]["graph"]["nodes"]
        self.boards = {
            "nodes": {
                n.node_id: {"board": graph.get(n.node_id, {}).get("board")}
                for n in self.output_nodes
            }
        }
        """The session graph the outputs read of an ended item: its output nodes' boards."""
        self._labels = node_labels(handle.definition, handle.catalog)
        self.states = {name: ServerState(name, client) for name, client in clients.items()}
        inputs = (work.item_inputs(i) for i in range(work.count))
        if ledger.open(work.fingerprint(), inputs, resume=resume):
            started = from_ledger(
                ledger, self.states, count=work.count, window=window, connect=connect
            )
        else:  # every item waits
            started = Resumed(Scheduler(range(work.count), list(self.states), window=window))
        self.scheduler = started.scheduler
        self.results: dict[int, ItemResult] = started.results
        self.downloaded = started.downloaded
        self.ended_before = started.ended_before
        self._warn_unreachable(started.unreached)

    @property
    def run_id(self) -> str:
        return self.ledger.run_id

    @property
    def complete(self) -> bool:
        return self.scheduler.complete

    def elapsed(self) -> float:
        """Seconds since the run started, on its clock."""
        return self._clock() - self._started

    def live_states(self) -> list[ServerState]:
        """The servers still in the run, former ones included."""
        slots = self.scheduler.slots
        return [state for name, state in self.states.items() if slots[name].live]

    def active(self, state: ServerState) -> bool:
        """Whether the server is still stepped: it is live and, if it is a former server, it
        still holds items."""
        slot = self.scheduler.slots[state.name]
        if not slot.live:
            return False
        return not state.former or bool(slot.holding or state.in_flight)

    def progress(self) -> PoolProgress:
        return progress(self)

    # Plans -----------------------------------------------------------------------------------

    def prepare_plan(self, state: ServerState) -> Plan[None]:
        """Check that the server can run the work, upload the files every item uses and build
        its enqueue body (``ServerUnfitError`` when it cannot). A former server is sent nothing
        new: it needs none of that."""
        if state.former:
            return
        problems = yield from fitness_plan(state, self.work, self._labels, self.ledger)
        if problems:
            raise ServerUnfitError("; ".join(problems))

    def step_plan(self, state: ServerState) -> Plan[None]:
        """One step of the server (:mod:`.step`)."""
        return step_plan(self, state)

    def cancel_plan(self, state: ServerState) -> Plan[None]:
        """Delete the items the run left unfinished in this server's queue (canceled first)."""
        if state.sent:
            yield QueueOps.cancel_by_batch_ids.call(queue_ops(DEFAULT_QUEUE), sorted(state.sent))
        yield from delete_queue_items_plan(DEFAULT_QUEUE, sorted(state.queued))
        self.ledger.waiting(state.let_go())

    def cleanup_inputs_plan(self, state: ServerState) -> Plan[None]:
        """Delete the images and videos the run uploaded to this server (those an earlier run
        recorded too)."""
        held = {**state.files.recorded, **state.files.uploaded}
        files = [Uploaded(name, self.work.files[n].kind) for n, name in sorted(held.items())]
        deleted = set((yield from delete_uploads_plan(files)))
        for name in deleted:
            self.ledger.upload_deleted(state.name, name)
        state.files.forget(deleted)

    def cleanup_outputs_plan(self, state: ServerState) -> Plan[None]:
        """Delete the images and queue items of the items this server finished."""
        mine = [r for r in self.results.values() if r.server == state.name]
        made: dict[str, str] = {}
        for result in mine:
            for name in result.created:
                if result.session_id is not None:
                    made.setdefault(name, result.session_id)
        yield from delete_made_plan(made, "image", set())
        yield from delete_queue_items_plan(
            DEFAULT_QUEUE, [r.item_id for r in mine if r.item_id is not None]
        )

    def end_plans(self, *, cancel: bool) -> Iterator[tuple[ServerState, Plan[None]]]:
        """What ending the run does on each server still in it: cancel and delete what it left
        unfinished (with ``cancel``), delete its uploads."""
        for state in self.live_states():
            if cancel:
                yield state, self.cancel_plan(state)
            yield state, self.cleanup_inputs_plan(state)

    # Faults ----------------------------------------------------------------------------------

    def unfit(self, state: ServerState, exc: BaseException) -> None:
        """The server cannot take part: its items (on resume) wait for the others."""
        self._drop(state, str(exc))
        log.warning("server %s takes no work: %s", state.name, exc)

    def require_servers(self) -> None:
        """Raise ``NoServerError`` when work remains and no server is left to take it."""
        if self.complete or self.scheduler.takers > 0:
            return
        reasons = {n: s.dropped or "" for n, s in self.scheduler.slots.items() if not s.retired}
        listing = "; ".join(f"{name}: {why}" for name, why in reasons.items())
        remaining = self.work.count - len(self.results)
        raise NoServerError(
            f"no server can run the remaining {remaining} item(s) of workflow "
            f"{self.work.handle.definition.name!r}: {listing}",
            reasons=reasons,
        )

    def step_ok(self, state: ServerState) -> None:
        state.failures = 0

    def step_failed(self, state: ServerState, exc: IvkgenError) -> None:
        """A step failed: re-raise what no other server would change (a body the server
        rejected), drop the server after ``max_failures`` failures in a row (at once when it
        refuses the credentials); its unfinished items then wait for the others. A former
        server that does not answer as an InvokeAI server is dropped with a warning."""
        if state.former:
            self._former_failed(state, exc)
            return
        if isinstance(exc, HTTPStatusError) and not isinstance(exc, AuthError):
            if exc.status_code < 500:
                raise exc
        elif not isinstance(exc, TransportError | AuthError):
            raise exc
        state.failures += 1
        if isinstance(exc, AuthError) or state.failures >= self.max_failures:
            back = self._drop(state, str(exc))
            log.warning("dropped server %s (%s); %d item(s) wait again", state.name, exc, len(back))

    def _former_failed(self, state: ServerState, exc: IvkgenError) -> None:
        state.failures += 1
        if isinstance(exc, TransportError) and state.failures < self.max_failures:
            return
        back = self._drop(state, str(exc))
        if back:
            self._warn_unreachable({state.name: (len(back), str(exc))})

    def _drop(self, state: ServerState, reason: str) -> list[int]:
        """The server leaves the run: the items it held wait again; returns them."""
        back = self.scheduler.drop(state.name, reason)
        self.ledger.waiting(back)
        state.let_go()
        return back

    def step_failed_quietly(self, state: ServerState, exc: IvkgenError) -> None:
        """A clean-up step failed at the end of a run: logged, and the server dropped."""
        log.warning("clean-up on server %s did not finish: %s", state.name, exc)
        self.scheduler.drop(state.name, str(exc))

    def _warn_unreachable(self, unreached: Mapping[str, tuple[int, str]]) -> None:
        for name, (count, why) in unreached.items():
            warnings.warn(
                f"server {name} is not among this run's servers and cannot be reached ({why}): "
                f"its {count} unfinished item(s) of the ledger's run run again on the others",
                FormerServerWarning,
                stacklevel=4,
            )

    # Results ---------------------------------------------------------------------------------

    def raise_for_failures(self) -> None:
        """``JobFailedError`` for the first failed item (every other item has ended)."""
        failed = sorted(i for i, r in self.results.items() if r.status == JobStatus.FAILED)
        if not failed:
            return
        first = self.results[failed[0]]
        error = first.error
        raise JobFailedError(
            f"{len(failed)} of {self.work.count} item(s) failed; item {first.index} (queue item "
            f"{first.item_id} on {first.server}): {error}; fix the inputs and run again "
            "(a ledger run resumes without the completed items)",
            item_id=first.item_id,
            batch_id=None,
            error_type=error.type if error else None,
            error_message=error.message if error else None,
            error_traceback=None,
            node_id=None,
            node_label=None,
        )

    def ordered_results(self) -> list[ItemResult]:
        return [self.results[i] for i in sorted(self.results)]
