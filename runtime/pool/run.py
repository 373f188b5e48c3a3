"""One pool run: the scheduler, the ledger, each server's state, and the server steps as plans.

Every server step is a plan (:mod:`ivkgen.runtime.jobs.plans`): the sync pool drives it with
``drive_sync``, the async pool with ``drive``, so both share every decision. A step of one
server: look up chunks whose enqueue answer was lost (by their enqueue receipts where the server
lists them, InvokeAI 7.0; else by the run's ``destination`` tag), read
the items it holds (completed ones give their outputs, downloaded once; canceled or vanished ones
wait again), then send it as many new items as it finished.

A server's items are read in two requests where the server has ``item_summaries_by_ids``
(InvokeAI 6.14): every held item's status without its session, then the full items of those that
ended, so a session is read once, not on every step. Of an ended item only what the outputs need
is parsed (the results, the source/prepared mappings, the prepared nodes' types): not the
session's graph, whose output nodes' boards are those the run sent, nor the workflow. The ledger
records all items that ended in one step in one transaction.

With many servers, one that finishes items quickly is stepped less often than the pool's longest
interval: the run steps its servers about ``STEPS_PER_SECOND`` times a second in all (a step
costs the client a few milliseconds, most of it in the HTTP client), and such a server gets a
window large enough to keep its queue busy between two steps.

A resumed run whose ledger names a server that is no longer among its servers (a *former*
server) still looks up the items it sent there: it connects to the server's URL, follows those
items until they end (their outputs are collected as any other's) and deletes the run's uploads
there at the end; it sends the server nothing new. Only when the server cannot be reached do its
items run again on the others, with a ``FormerServerWarning``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
from ivkgen.runtime.errors import (
    AuthError,
    FormerServerWarning,
    HTTPStatusError,
    IvkgenError,
    JobFailedError,
    NoServerError,
    NotFoundError,
    QueueFullWarning,
    ServerUnfitError,
    TransportError,
)
from ivkgen.runtime.jobs.enqueue import acknowledge_plan, keyed, receipt_plan
from ivkgen.runtime.jobs.outputs import collect_outputs, created_image_names, output_nodes
from ivkgen.runtime.jobs.plans import (
    IMAGES,
    MODELS,
    ClientDownloader,
    Plan,
    delete_images_plan,
    file_dto_plan,
    queue_ops,
)
from ivkgen.runtime.jobs.uploads import Uploaded, delete_uploads_plan, upload_plan
from ivkgen.runtime.media import OutputImage, safe_file_name
from ivkgen.runtime.pool.ledger import Entry, Finished, Ledger
from ivkgen.runtime.pool.scheduler import Scheduler
from ivkgen.runtime.pool.work import Work, chunk_body, chunk_tag, run_tag, server_body
from ivkgen.runtime.repositories.images import ImageOps
from ivkgen.runtime.repositories.models import ModelOps
from ivkgen.runtime.repositories.queue import DEFAULT_QUEUE, MAX_ITEMS_PER_CALL, QueueOps
from ivkgen.runtime.server.core import AsyncBound, Call, SyncBound, parse_json
from ivkgen.runtime.server.dto import ImageDTO, SessionQueueItem
from ivkgen.runtime.server.features import ServerFeatures
from ivkgen.runtime.workflow.checks import missing_models, node_findings, node_versions
from ivkgen.runtime.workflow.definition import node_labels
from pydantic import ConfigDict, TypeAdapter
from typing_extensions import TypedDict  # pydantic reads typing.TypedDict only from 3.12

log = logging.getLogger("ivkgen.runtime.pool")

DEFAULT_MAX_FAILURES = 2
STEPS_PER_SECOND = 1.0
"""About how many server steps the run makes a second, over all its servers, once it knows how
fast each server finishes items (a server is never stepped less often than it needs to stay busy
within ``MAX_WINDOW`` items)."""
ENDED = ("completed", "failed")
_QUEUE = f"/api/v1/queue/{DEFAULT_QUEUE}"


class _Node(TypedDict, total=False):
    type: str


class _Graph(TypedDict, total=False):
    nodes: dict[str, _Node]


class _Session(TypedDict, total=False):
    id: str
    results: dict[str, Any]
    source_prepared_mapping: dict[str, list[str]]
    prepared_source_mapping: dict[str, str]
    execution_graph: _Graph


class _EndedItem(SessionQueueItem):
    """What the pool reads of a queue item: its session's results, mappings and prepared node
    types; every field not declared (the workflow) is skipped."""

    model_config = ConfigDict(extra="ignore")

    session: _Session  # type: ignore[assignment]  # the parts of dict[str, Any] read here


_ENDED_ITEMS = TypeAdapter(list[_EndedItem])


class _Summary(TypedDict):
    item_id: int
    status: str


_SUMMARIES = TypeAdapter(list[_Summary])

Connect = Callable[[str], SyncBound | AsyncBound]
"""Makes the client of a former server from its URL (the ledger's name for it)."""


@dataclass(slots=True)
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
    """The run's files on the server: file number -> name."""
    recorded: dict[int, str] = field(default_factory=dict)
    """Files the ledger records as uploaded there by an earlier run, not looked up yet."""
    sent: dict[str, list[int]] = field(default_factory=dict)
    """Chunks whose enqueue answer is not known: batch id -> item indexes."""
    queued: dict[int, int] = field(default_factory=dict)
    """Queue item id -> item index, for the items in the server's queue."""
    batches: set[str] = field(default_factory=set)
    summaries: bool = False
    """The server reads statuses without sessions (``item_summaries_by_ids``)."""
    receipts: bool = False
    """The server keeps enqueue receipts (see :mod:`ivkgen.runtime.server.features`)."""
    former: bool = False
    """Not among the run's servers: the ledger sent it items in an earlier run."""
    downloader: ClientDownloader = field(init=False, repr=False)
    """Downloads the run's output images through ``client`` (shared by all of them)."""
    pending: int = 0
    running: int = 0
    failures: int = 0
    refused: int = 0
    """Items its queue refused so far (``enqueued < requested``)."""

    def __post_init__(self) -> None:
        self.downloader = ClientDownloader(self.client)


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
        connect: Connect | None = None,
    ) -> None:
        self.work = work
        self.ledger = ledger
        self.download_to = download_to
        self.max_failures = max_failures
        self._clock = clock
        self._started = clock()
        handle = work.handle
        self._nodes = output_nodes(handle.definition, handle.catalog)
        graph = handle.build_enqueue_body(board=work.board_id)["batch"]["graph"]["nodes"]
        self._boards = {
            "nodes": {
                n.node_id: {"board": graph.get(n.node_id, {}).get("board")} for n in self._nodes
            }
        }
        self._labels = node_labels(handle.definition, handle.catalog)
        self.states = {name: ServerState(name, client) for name, client in clients.items()}
        resumed = ledger.open(
            work.fingerprint(), (work.item_inputs(i) for i in range(work.count)), resume=resume
        )
        self.results: dict[int, ItemResult] = {}
        self._downloaded: set[Path] = set()
        if not resumed:  # every item waits
            self.scheduler = Scheduler(range(work.count), list(self.states), window=window)
            self._done_before = 0
            return
        entries = ledger.entries()
        servers = list(self.states)
        former = self._connect_former(entries, ledger.uploads(), connect)
        pending = [e.index for e in entries if e.status not in ENDED]
        held = {e.index for e in entries if self._held(e)}
        self.scheduler = Scheduler(
            [i for i in pending if i not in held], servers, window=window, retired=former
        )
        self._done_before = work.count - len(pending)
        for entry in entries:
            if entry.status in ENDED:
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
            elif self._held(entry):
                assert entry.server is not None and entry.batch_id is not None
                state = self.states[entry.server]
                self.scheduler.holding(entry.server).add(entry.index)
                state.batches.add(entry.batch_id)
                if entry.status == "queued" and entry.item_id is not None:
                    state.queued[entry.item_id] = entry.index
                else:
                    state.sent.setdefault(entry.batch_id, []).append(entry.index)
        for server, uploads in ledger.uploads().items():
            if server in self.states:
                self.states[server].recorded.update(uploads)
        self._unreachable(self._unreached)

    def _held(self, entry: Entry) -> bool:
        """A ledger entry in flight on one of this run's servers (given or former)."""
        return (
            entry.status not in ENDED and entry.batch_id is not None and entry.server in self.states
        )

    def _connect_former(
        self,
        entries: Sequence[Entry],
        uploads: Mapping[str, Mapping[int, str]],
        connect: Connect | None,
    ) -> list[str]:
        """States for the servers the ledger sent items (or uploads) to that are not among the
        run's servers; returns their names. A server no client can be made for is left out (its
        items wait for the others)."""
        self._unreached: dict[str, tuple[int, str]] = {}
        flying: dict[str, int] = {}
        for entry in entries:
            in_flight = entry.status not in ENDED and entry.batch_id is not None
            if in_flight and entry.server and entry.server not in self.states:
                flying[entry.server] = flying.get(entry.server, 0) + 1
        names = list(flying) + [n for n in uploads if n not in self.states and n not in flying]
        made: list[str] = []
        for name in names:
            try:
                if connect is None:
                    raise ValueError("the pool was given no way to connect to it")
                client = connect(name)
            except (ValueError, TypeError, httpx.InvalidURL) as exc:
                if name in flying:
                    self._unreached[name] = (flying[name], str(exc))
                continue
            self.states[name] = ServerState(name, client, former=True)
            made.append(name)
            if name in flying:
                log.info(
                    "server %s is not among this run's servers: following the %d item(s) the "
                    "ledger sent it there",
                    name,
                    flying[name],
                )
        return made

    def _unreachable(self, unreached: Mapping[str, tuple[int, str]]) -> None:
        for name, (count, why) in unreached.items():
            warnings.warn(
                f"server {name} is not among this run's servers and cannot be reached ({why}): "
                f"its {count} unfinished item(s) of the ledger's run run again on the others",
                FormerServerWarning,
                stacklevel=4,
            )

    @property
    def run_id(self) -> str:
        return self.ledger.run_id

    @property
    def complete(self) -> bool:
        return self.scheduler.complete

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
        return not state.former or bool(slot.holding or state.sent or state.queued)

    # Preparing a server ----------------------------------------------------------------------

    def prepare_plan(self, state: ServerState) -> Plan[None]:
        """Check that the server can run the work (the checks of ``ivkgen check``), upload the
        image inputs it lacks and build its enqueue body. A former server is sent nothing new:
        it needs none of that."""
        if state.former:
            return
        handle = self.work.handle
        openapi = yield Call("GET", "/openapi.json", parse_json)
        features = ServerFeatures.of(openapi)
        state.summaries, state.receipts = features.summaries, features.receipts
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
        yield from self._send_files(state, self.work.shared_files)
        state.body = server_body(self.work, models, state.uploads)

    def _send_files(self, state: ServerState, numbers: Sequence[int]) -> Plan[None]:
        """Upload the run's files ``numbers`` that the server lacks; one the ledger records
        there is looked up first (an earlier run's upload may be gone)."""
        for number in numbers:
            if number in state.uploads:
                continue
            recorded = state.recorded.pop(number, None)
            if recorded is not None:
                try:
                    yield from file_dto_plan(self.work.files[number].kind, recorded)
                    state.uploads[number] = recorded
                    continue
                except NotFoundError:
                    pass
            uploaded = yield from upload_plan(self.work.files[number])
            state.uploads[number] = uploaded.name
            self.ledger.uploaded(state.name, number, uploaded.name)

    def unfit(self, state: ServerState, exc: BaseException) -> None:
        """The server cannot take part: its items (on resume) wait for the others."""
        back = self.scheduler.drop(state.name, str(exc))
        self.ledger.waiting(back)
        state.sent.clear()
        state.queued.clear()
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

    # One step of one server ------------------------------------------------------------------

    def step_plan(self, state: ServerState) -> Plan[None]:
        """Reconcile lost enqueues, read the items the server holds, refill it."""
        if state.sent:
            yield from self._reconcile(state)
        if state.queued:
            yield from self._poll(state)
        yield from self._refill(state)

    def _reconcile(self, state: ServerState) -> Plan[None]:
        if state.receipts:
            for batch_id, indexes in list(state.sent.items()):
                receipt = yield from receipt_plan(DEFAULT_QUEUE, batch_id)
                del state.sent[batch_id]
                self._accept(state, batch_id, indexes, sorted(receipt.item_ids) if receipt else [])
                if receipt is not None:
                    yield from acknowledge_plan(DEFAULT_QUEUE, batch_id)
            return
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
        """Read the held items: those that ended are finished (all of them recorded in one
        ledger transaction), canceled or vanished ones wait again."""
        ids = sorted(state.queued)
        if state.summaries:
            statuses = yield from _read_statuses(ids)
            ended = [i for i in ids if statuses.get(i) in ENDED]
            seen = (yield from _read_items(ended)) if ended else {}
        else:
            seen = yield from _read_items(ids)
            statuses = {item_id: str(item.status) for item_id, item in seen.items()}
        pending = running = 0
        again: list[int] = []
        records: list[Finished] = []
        try:
            for item_id in ids:
                index = state.queued[item_id]
                status = statuses.get(item_id)
                item = seen.get(item_id)
                if status is None or status == "canceled" or (status in ENDED and item is None):
                    del state.queued[item_id]
                    again.append(index)
                elif item is not None and status in ENDED:
                    del state.queued[item_id]
                    records.append((yield from self._finish(state, index, self._ended(item))))
                elif status == "pending":
                    pending += 1
                else:
                    running += 1
        finally:
            self.ledger.finished_many(records)
        if again:
            log.warning("server %s: item(s) %s were canceled there; rerunning", state.name, again)
            self.scheduler.requeue(state.name, again)
            self.ledger.waiting(again)
        state.pending, state.running = pending, running
        if pending == 0:
            self.scheduler.starved(state.name)

    def _ended(self, item: _EndedItem) -> SessionQueueItem:
        """An ended item as the outputs read it: its session's graph holds only the boards of
        the output nodes (those the run sent)."""
        cast(dict[str, Any], item.session)["graph"] = self._boards
        return item

    def _finish(self, state: ServerState, index: int, item: SessionQueueItem) -> Plan[Finished]:
        """Take in an item that ended (a completed item's outputs are downloaded once); returns
        its ledger record."""
        failed = item.status == "failed"
        images = collect_outputs(item, self._nodes, state.downloader)
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
        self.scheduler.done(state.name, index, failed=failed)
        return Finished(
            index, item.status, created, [str(f) for f in files], item.session_id, error
        )

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
        per_item = self._per_item(state)
        if per_item is not None:
            # a step comes when half of what it holds is done: hold two spacings' worth
            self.scheduler.at_least(state.name, math.ceil(2 * self._step_spacing() / per_item))
        taken = self.scheduler.take(state.name)
        if not taken:
            return
        assert state.body is not None, "prepare_plan builds the body first"
        try:
            yield from self._send_files(state, self.work.files_of(taken))
        except BaseException:
            self.scheduler.requeue(state.name, taken)
            raise
        batch_id = str(uuid.uuid4())
        body = chunk_body(
            state.body,
            self.work,
            taken,
            batch_id=batch_id,
            run_id=self.run_id,
            uploads=state.uploads,
        )
        body = keyed(body) if state.receipts else body
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
        if state.receipts:
            yield from acknowledge_plan(DEFAULT_QUEUE, batch_id)

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
        ``shortest`` and ``longest`` (or, with many servers, the run's spacing of steps per
        server: see ``STEPS_PER_SECOND``); ``shortest`` after a failed step."""
        slot = self.scheduler.slots[state.name]
        per_item = self._per_item(state)
        if per_item is None or not slot.holding or state.failures:
            return shortest
        longest = max(longest, self._step_spacing())
        return max(shortest, min(longest, per_item * len(slot.holding) / 2))

    def _per_item(self, state: ServerState) -> float | None:
        """Seconds per item the server has finished in this run (None before the first)."""
        finished = self.scheduler.slots[state.name].finished
        return (self._clock() - self._started) / finished if finished else None

    def _step_spacing(self) -> float:
        """Seconds between two steps of one server at the run's pace of steps."""
        return self.scheduler.takers / STEPS_PER_SECOND

    # Faults ----------------------------------------------------------------------------------

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
            back = self.scheduler.drop(state.name, str(exc))
            self.ledger.waiting(back)
            state.sent.clear()
            state.queued.clear()
            log.warning("dropped server %s (%s); %d item(s) wait again", state.name, exc, len(back))

    def _former_failed(self, state: ServerState, exc: IvkgenError) -> None:
        state.failures += 1
        if isinstance(exc, TransportError) and state.failures < self.max_failures:
            return
        back = self.scheduler.drop(state.name, str(exc))
        self.ledger.waiting(back)
        state.sent.clear()
        state.queued.clear()
        if back:
            self._unreachable({state.name: (len(back), str(exc))})

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
        """Delete the images and videos the run uploaded to this server (those an earlier run
        recorded too)."""
        held = {**state.recorded, **state.uploads}
        files = [Uploaded(name, self.work.files[n].kind) for n, name in sorted(held.items())]
        deleted = set((yield from delete_uploads_plan(files)))
        for name in deleted:
            self.ledger.upload_deleted(state.name, name)
        state.uploads = {n: name for n, name in state.uploads.items() if name not in deleted}
        state.recorded = {n: name for n, name in state.recorded.items() if name not in deleted}

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


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    return [list(ids[i : i + MAX_ITEMS_PER_CALL]) for i in range(0, len(ids), MAX_ITEMS_PER_CALL)]


def _parse_statuses(response: httpx.Response) -> dict[int, str]:
    return {row["item_id"]: row["status"] for row in _SUMMARIES.validate_json(response.content)}


def _parse_items(response: httpx.Response) -> list[_EndedItem]:
    return _ENDED_ITEMS.validate_json(response.content)


def _read_statuses(ids: Sequence[int]) -> Plan[dict[int, str]]:
    """Queue item id -> status, read without the sessions (missing ids are left out)."""
    statuses: dict[int, str] = {}
    for chunk in _chunks(ids):
        found: dict[int, str] = yield Call(
            "POST", f"{_QUEUE}/item_summaries_by_ids", _parse_statuses, json={"item_ids": chunk}
        )
        statuses.update(found)
    return statuses


def _read_items(ids: Sequence[int]) -> Plan[dict[int, _EndedItem]]:
    """Queue item id -> what the pool reads of the item (missing ids are left out)."""
    items: dict[int, _EndedItem] = {}
    for chunk in _chunks(ids):
        found: list[_EndedItem] = yield Call(
            "POST", f"{_QUEUE}/items_by_ids", _parse_items, json={"item_ids": chunk}
        )
        items.update((item.item_id, item) for item in found)
    return items


def _delete_items_plan(item_ids: Sequence[int]) -> Plan[None]:
    """Delete queue items (canceled first if unfinished); an item already gone is skipped."""
    queue = queue_ops(DEFAULT_QUEUE)
    for item_id in item_ids:
        with contextlib.suppress(NotFoundError):
            yield QueueOps.delete_queue_item.call(queue, item_id)


__all__ = [
    "ItemResult",
    "PoolProgress",
    "PoolRun",
    "ServerProgress",
]
