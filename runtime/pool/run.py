"""One pool run: the scheduler, the ledger, each server's state, and the server steps as plans.

Every server step is a plan (:mod:`ivkgen.runtime.jobs.plans`): the sync pool drives it with
``drive_sync``, the async pool with ``drive``, so both share every decision. A step of one
server: look up chunks whose enqueue answer was lost (by the run's ``destination`` tag), read
the items it holds (completed ones give their outputs, downloaded once; canceled or vanished ones
wait again), then send it as many new items as it finished.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivkgen.runtime.errors import (
    AuthError,
    HTTPStatusError,
    IvkgenError,
    JobFailedError,
    NoServerError,
    NotFoundError,
    QueueFullWarning,
    TransportError,
)
from ivkgen.runtime.jobs.outputs import collect_outputs, created_image_names, output_nodes
from ivkgen.runtime.jobs.plans import (
    IMAGES,
    MODELS,
    ClientDownloader,
    Plan,
    delete_images_plan,
    queue_ops,
)
from ivkgen.runtime.media import OutputImage, safe_file_name
from ivkgen.runtime.pool.ledger import Ledger
from ivkgen.runtime.pool.scheduler import Scheduler
from ivkgen.runtime.pool.work import Work, chunk_body, chunk_tag, run_tag, server_body
from ivkgen.runtime.repositories.images import ImageOps
from ivkgen.runtime.repositories.models import ModelOps
from ivkgen.runtime.repositories.queue import DEFAULT_QUEUE, MAX_ITEMS_PER_CALL, QueueOps
from ivkgen.runtime.server.core import AsyncBound, Call, SyncBound, parse_json
from ivkgen.runtime.server.dto import ImageDTO, SessionQueueItem
from ivkgen.runtime.workflow.checks import missing_models, node_findings, node_versions
from ivkgen.runtime.workflow.definition import node_labels

log = logging.getLogger("ivkgen.runtime.pool")

DEFAULT_MAX_FAILURES = 2


class ServerUnfitError(IvkgenError):
    """A server that cannot run the work (node types, versions or models)."""


@dataclass
class ItemResult:
    """How one item of the run ended: where it ran, its output images and the saved files."""

    index: int
    server: str
    item_id: int | None
    status: str
    images: list[OutputImage] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    error: str | None = None
    created: list[str] = field(default_factory=list)
    """Every image the item's nodes saved (for clean-up)."""
    session_id: str | None = None


@dataclass
class ServerState:
    """What the run knows about one server."""

    name: str
    client: SyncBound | AsyncBound
    body: dict[str, Any] | None = None
    uploads: dict[int, str] = field(default_factory=dict)
    sent: dict[str, list[int]] = field(default_factory=dict)
    """Chunks whose enqueue answer is not known: batch id -> item indexes."""
    queued: dict[int, int] = field(default_factory=dict)
    """Queue item id -> item index, for the items in the server's queue."""
    batches: set[str] = field(default_factory=set)
    pending: int = 0
    running: int = 0
    failures: int = 0
    refused: int = 0
    """Items its queue refused so far (``enqueued < requested``)."""


@dataclass(frozen=True)
class ServerProgress:
    name: str
    done: int
    running: int
    queued: int
    dropped: str | None


@dataclass(frozen=True)
class PoolProgress:
    """Items done / failed / waiting overall, each server's share, and the estimated time left."""

    total: int
    done: int
    failed: int
    waiting: int
    servers: list[ServerProgress]
    eta_seconds: float | None


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
    ) -> None:
        self.work = work
        self.ledger = ledger
        self.download_to = download_to
        self.max_failures = max_failures
        self._clock = clock
        self._started = clock()
        handle = work.handle
        self._nodes = output_nodes(handle.definition, handle.catalog)
        self._labels = node_labels(handle.definition, handle.catalog)
        self.states = {name: ServerState(name, client) for name, client in clients.items()}
        ledger.open(
            work.fingerprint(), (work.item_inputs(i) for i in range(work.count)), resume=resume
        )
        self.results: dict[int, ItemResult] = {}
        self._downloaded: set[Path] = set()
        entries = ledger.entries()
        pending = [e.index for e in entries if e.status not in ("completed", "failed")]
        self.scheduler = Scheduler(pending, list(self.states), window=window)
        self._done_before = work.count - len(pending)
        for entry in entries:
            if entry.status in ("completed", "failed"):
                self.results[entry.index] = ItemResult(
                    entry.index,
                    entry.server or "",
                    entry.item_id,
                    entry.status,
                    files=[Path(f) for f in entry.files],
                    error=entry.error,
                    created=entry.images,
                    session_id=entry.session_id,
                )
                self._downloaded.update(Path(f) for f in entry.files)
            elif entry.server in self.states and entry.batch_id is not None:
                state = self.states[entry.server]
                self.scheduler.adopt(entry.server, entry.index)
                state.batches.add(entry.batch_id)
                if entry.status == "queued" and entry.item_id is not None:
                    state.queued[entry.item_id] = entry.index
                else:
                    state.sent.setdefault(entry.batch_id, []).append(entry.index)
        for server, uploads in ledger.uploads().items():
            if server in self.states:
                self.states[server].uploads.update(uploads)

    @property
    def run_id(self) -> str:
        return self.ledger.run_id

    @property
    def complete(self) -> bool:
        return self.scheduler.complete

    def live_states(self) -> list[ServerState]:
        return [self.states[name] for name in self.scheduler.live_servers]

    # Preparing a server ----------------------------------------------------------------------

    def prepare_plan(self, state: ServerState) -> Plan[None]:
        """Check that the server can run the work (the checks of ``ivkgen check``), upload the
        image inputs it lacks and build its enqueue body."""
        handle = self.work.handle
        openapi = yield Call("GET", "/openapi.json", parse_json)
        findings = node_findings(handle.definition, node_versions(openapi), self._labels)
        errors = [f.message for f in findings if f.severity == "error"]
        if errors:
            raise ServerUnfitError("; ".join(errors))
        models = yield ModelOps.list_models.call(MODELS)
        graph = handle.build_enqueue_body(board=self.work.board_id)["batch"]["graph"]
        missing = missing_models(graph, handle.catalog, models)
        if missing:
            raise ServerUnfitError(
                "; ".join(
                    f"node {self._labels.get(n, n)!r} field {f!r}: model {v.get('name')!r} "
                    f"({v.get('base')} {v.get('type')}) is not installed"
                    for n, f, v in missing
                )
            )
        for index, source in sorted(self.work.images.items()):
            recorded = state.uploads.get(index)
            if recorded is not None:
                try:
                    yield ImageOps.get_image_dto.call(IMAGES, recorded)
                    continue
                except NotFoundError:
                    pass
            dto: ImageDTO = yield ImageOps.upload_image.call(
                IMAGES, source, category="user", is_intermediate=False
            )
            state.uploads[index] = dto.image_name
            self.ledger.uploaded(state.name, index, dto.image_name)
        state.body = server_body(self.work, models, state.uploads)

    def unfit(self, state: ServerState, exc: BaseException) -> None:
        """The server cannot take part: its items (on resume) wait for the others."""
        back = self.scheduler.drop(state.name, str(exc))
        self.ledger.waiting(back)
        state.sent.clear()
        state.queued.clear()
        log.warning("server %s takes no work: %s", state.name, exc)

    def require_servers(self) -> None:
        """Raise ``NoServerError`` when work remains and no server is left to take it."""
        if self.complete or self.scheduler.live_servers:
            return
        reasons = {n: s.dropped or "" for n, s in self.scheduler.slots.items()}
        listing = "; ".join(f"{name}: {why}" for name, why in reasons.items())
        remaining = self.work.count - len(self.results)
        raise NoServerError(
            f"no server can run the remaining {remaining} item(s) of workflow "
            f"{self.work.handle.definition.name!r}: {listing}",
            reasons=reasons,
        )

    # One step of one server ------------------------------------------------------------------

    def step_plan(self, state: ServerState) -> Plan[None]:
        """Reconcile lost enqueues, read the items the server holds, refill it."""
        if state.sent:
            yield from self._reconcile(state)
        if state.queued:
            yield from self._poll(state)
        yield from self._refill(state)

    def _reconcile(self, state: ServerState) -> Plan[None]:
        queue = queue_ops(DEFAULT_QUEUE)
        items: list[SessionQueueItem] = yield QueueOps.list_all_items.call(
            queue, destination=run_tag(self.run_id)
        )
        found: dict[str, list[int]] = {}
        for item in items:
            if item.origin == chunk_tag(item.batch_id):
                found.setdefault(item.batch_id, []).append(item.item_id)
        for batch_id, indexes in list(state.sent.items()):
            del state.sent[batch_id]
            self._accept(state, batch_id, indexes, sorted(found.get(batch_id, [])))

    def _poll(self, state: ServerState) -> Plan[None]:
        queue = queue_ops(DEFAULT_QUEUE)
        ids = sorted(state.queued)
        seen: dict[int, SessionQueueItem] = {}
        for start in range(0, len(ids), MAX_ITEMS_PER_CALL):
            chunk = ids[start : start + MAX_ITEMS_PER_CALL]
            items: list[SessionQueueItem] = yield QueueOps.get_queue_items.call(queue, chunk)
            seen.update((item.item_id, item) for item in items)
        pending = running = 0
        again: list[int] = []
        for item_id in ids:
            index = state.queued[item_id]
            item = seen.get(item_id)
            if item is None or item.status == "canceled":
                del state.queued[item_id]
                again.append(index)
            elif item.status in ("completed", "failed"):
                del state.queued[item_id]
                yield from self._finish(state, index, item)
            elif item.status == "pending":
                pending += 1
            else:
                running += 1
        if again:
            log.warning("server %s: item(s) %s were canceled there; rerunning", state.name, again)
            self.scheduler.requeue(state.name, again)
            self.ledger.waiting(again)
        state.pending, state.running = pending, running
        if pending == 0:
            self.scheduler.starved(state.name)

    def _finish(self, state: ServerState, index: int, item: SessionQueueItem) -> Plan[None]:
        """Record an item that ended; a completed item's outputs are downloaded once."""
        failed = item.status == "failed"
        images = collect_outputs(item, self._nodes, ClientDownloader(state.client))
        created = created_image_names(item, self.work.handle.catalog)
        files: list[Path] = []
        if not failed and self.download_to is not None:
            for name in dict.fromkeys(image.image_name for image in images):
                files.append((yield from self._download(name)))
        error = f"{item.error_type}: {item.error_message}" if failed else None
        self.results[index] = ItemResult(
            index,
            state.name,
            item.item_id,
            item.status,
            images,
            files,
            error,
            created,
            item.session_id,
        )
        self.ledger.finished(
            index,
            item.status,
            created,
            [str(f) for f in files],
            session_id=item.session_id,
            error=error,
        )
        self.scheduler.done(state.name, index, failed=failed)

    def _download(self, name: str) -> Plan[Path]:
        """Save one output image, once per run (a cached node repeats an image)."""
        assert self.download_to is not None
        target = self.download_to / safe_file_name(name)
        if target in self._downloaded:
            return target
        data: bytes = yield ImageOps.download_image.call(IMAGES, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self._downloaded.add(target)
        return target

    def _refill(self, state: ServerState) -> Plan[None]:
        taken = self.scheduler.take(state.name)
        if not taken:
            return
        assert state.body is not None, "prepare_plan builds the body first"
        batch_id = str(uuid.uuid4())
        body = chunk_body(state.body, self.work, taken, batch_id=batch_id, run_id=self.run_id)
        state.sent[batch_id] = taken
        state.batches.add(batch_id)
        self.ledger.sent(state.name, batch_id, taken)
        try:
            result = yield QueueOps.enqueue_batch.call(queue_ops(DEFAULT_QUEUE), body)
        except HTTPStatusError:  # the server answered: nothing was enqueued
            del state.sent[batch_id]
            self.scheduler.requeue(state.name, taken)
            self.ledger.waiting(taken)
            raise
        # a TransportError leaves the chunk in ``sent``: the next step looks it up
        del state.sent[batch_id]
        self._accept(state, batch_id, taken, sorted(result.item_ids)[: result.enqueued])

    def _accept(
        self, state: ServerState, batch_id: str, indexes: Sequence[int], item_ids: Sequence[int]
    ) -> None:
        """The first ``len(item_ids)`` items of a chunk are in the queue (ascending ids in chunk
        order); the others were refused and wait again."""
        mapping = dict(zip(indexes, item_ids, strict=False))
        for index, item_id in mapping.items():
            state.queued[item_id] = index
        self.ledger.queued(state.name, batch_id, mapping)
        rest = list(indexes[len(mapping) :])
        self.scheduler.refused(state.name, rest)
        if rest:
            state.refused += len(rest)
            self.ledger.waiting(rest)
            warnings.warn(
                f"server {state.name}: its queue took {len(mapping)} of {len(indexes)} items "
                f"(enqueued < requested: its max_queue_size); the other {len(rest)} wait for "
                "room",
                QueueFullWarning,
                stacklevel=2,
            )

    def next_interval(self, state: ServerState, shortest: float, longest: float) -> float:
        """Seconds until the server's next step: about half the time the items it holds take
        (so each read sees several of them end while its queue still has work), within
        ``shortest`` and ``longest``."""
        slot = self.scheduler.slots[state.name]
        if slot.finished == 0 or not slot.holding:
            return shortest
        per_item = (self._clock() - self._started) / slot.finished
        return max(shortest, min(longest, per_item * len(slot.holding) / 2))

    # Faults ----------------------------------------------------------------------------------

    def step_ok(self, state: ServerState) -> None:
        state.failures = 0

    def step_failed(self, state: ServerState, exc: IvkgenError) -> None:
        """A step failed: re-raise what no other server would change (a body the server
        rejected), drop the server after ``max_failures`` failures in a row (at once when it
        refuses the credentials); its unfinished items then wait for the others."""
        if isinstance(exc, HTTPStatusError) and not isinstance(exc, AuthError):
            if exc.status_code < 500:
                raise exc
        elif not isinstance(exc, TransportError | AuthError):
            raise exc
        state.failures += 1
        if isinstance(exc, AuthError) or state.failures >= self.max_failures:
            back = self.scheduler.drop(state.name, str(exc))
            self.ledger.waiting(back)
            state.sent.clear()
            state.queued.clear()
            log.warning("dropped server %s (%s); %d item(s) wait again", state.name, exc, len(back))

    def step_failed_quietly(self, state: ServerState, exc: IvkgenError) -> None:
        """A clean-up step failed at the end of a run: logged, and the server dropped."""
        log.warning("clean-up on server %s did not finish: %s", state.name, exc)
        self.scheduler.drop(state.name, str(exc))

    # Ending ----------------------------------------------------------------------------------

    def cancel_plan(self, state: ServerState) -> Plan[None]:
        """Delete the items the run left unfinished in this server's queue (canceled first)."""
        queue = queue_ops(DEFAULT_QUEUE)
        if state.sent:
            yield QueueOps.cancel_by_batch_ids.call(queue, sorted(state.sent))
        yield from _delete_items_plan(sorted(state.queued))
        back = sorted(state.queued.values()) + [i for c in state.sent.values() for i in c]
        self.ledger.waiting(back)
        state.queued.clear()
        state.sent.clear()

    def cleanup_inputs_plan(self, state: ServerState) -> Plan[None]:
        """Delete the images the run uploaded to this server."""
        names = list(state.uploads.values())
        deleted = yield from delete_images_plan(names)
        for name in deleted:
            self.ledger.upload_deleted(state.name, name)
        state.uploads = {i: n for i, n in state.uploads.items() if n not in deleted}

    def cleanup_outputs_plan(self, state: ServerState) -> Plan[None]:
        """Delete the images and queue items of the items this server finished."""
        mine = [r for r in self.results.values() if r.server == state.name]
        made: list[str] = []
        for result in mine:
            for name in result.created:
                try:
                    dto: ImageDTO = yield ImageOps.get_image_dto.call(IMAGES, name)
                except NotFoundError:
                    continue
                if dto.session_id == result.session_id:  # not a cached node's older image
                    made.append(name)
        yield from delete_images_plan(made)
        yield from _delete_items_plan([r.item_id for r in mine if r.item_id is not None])

    def raise_for_failures(self) -> None:
        """``JobFailedError`` for the first failed item (every other item has ended)."""
        failed = sorted(i for i, r in self.results.items() if r.status == "failed")
        if not failed:
            return
        first = self.results[failed[0]]
        raise JobFailedError(
            f"{len(failed)} of {self.work.count} item(s) failed; item {first.index} (queue item "
            f"{first.item_id} on {first.server}): {first.error}; fix the inputs and run again "
            "(a ledger run resumes without the completed items)",
            item_id=first.item_id,
            batch_id=None,
            error_type=(first.error or "").partition(":")[0] or None,
            error_message=first.error,
            error_traceback=None,
            node_id=None,
            node_label=None,
        )

    def ordered_results(self) -> list[ItemResult]:
        return [self.results[i] for i in sorted(self.results)]

    def progress(self) -> PoolProgress:
        slots = self.scheduler.slots
        servers = [
            ServerProgress(
                name,
                slots[name].finished,
                state.running,
                max(0, len(slots[name].holding) - state.running),
                slots[name].dropped,
            )
            for name, state in self.states.items()
        ]
        finished = len(self.results)
        failed = sum(r.status == "failed" for r in self.results.values())
        now_done = finished - self._done_before
        elapsed = self._clock() - self._started
        remaining = self.work.count - finished
        eta = remaining * elapsed / now_done if now_done and elapsed > 0 else None
        return PoolProgress(
            self.work.count, finished, failed, len(self.scheduler.waiting), servers, eta
        )


def _delete_items_plan(item_ids: Sequence[int]) -> Plan[None]:
    """Delete queue items (canceled first if unfinished); an item already gone is skipped."""
    queue = queue_ops(DEFAULT_QUEUE)
    for item_id in item_ids:
        with contextlib.suppress(NotFoundError):
            yield QueueOps.delete_queue_item.call(queue, item_id)


__all__ = ["ItemResult", "PoolProgress", "PoolRun", "ServerProgress", "ServerUnfitError"]
