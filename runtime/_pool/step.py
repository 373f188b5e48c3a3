"""One step of one server of a pool run, as a plan: look up chunks whose enqueue answer was lost
(by their enqueue receipts where the server keeps them, InvokeAI 7.0; else by the run's
``destination`` tag), read the items it holds (completed ones give their outputs, downloaded
once; canceled or vanished ones wait again), then send it as many new items as it finished.

A server's items are read with the single-server path's chunked reads: where the server has
``item_summaries_by_ids`` (InvokeAI 6.14) every held item's status without its session, then the
full items of those that ended, so a session is read once, not on every step. Of an ended item
only what the outputs need is parsed (the results, the source/prepared mappings, the prepared
nodes' types): not the session's graph, whose output nodes' boards are those the run sent, nor
the workflow. An item the run's event socket heard whole (``ServerState.heard_ended``) is not
read at all. The ledger records all items that ended in one step in one transaction.

With many servers, one that finishes items quickly is stepped less often than the pool's longest
interval: the run steps its servers about ``STEPS_PER_SECOND`` times a second in all (a step
costs the client a few milliseconds, most of it in the HTTP client), and such a server gets a
window large enough to keep its queue busy between two steps.
"""

from __future__ import annotations

import logging
import math
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivkgen.runtime._errors import HTTPStatusError, QueueFullWarning
from ivkgen.runtime._jobs.enqueue import acknowledge_plan, keyed, receipt_plan
from ivkgen.runtime._jobs.outputs import collect_outputs, created_names
from ivkgen.runtime._jobs.plans import IMAGES, Plan, chunked_plan, queue_ops
from ivkgen.runtime._media import safe_file_name
from ivkgen.runtime._pool.ledger import Finished
from ivkgen.runtime._pool.outcome import ItemError, ItemResult
from ivkgen.runtime._pool.servers import ServerState, send_files_plan
from ivkgen.runtime._pool.work import chunk_body, chunk_tag, run_tag
from ivkgen.runtime._repositories.images import ImageOps
from ivkgen.runtime._repositories.queue import DEFAULT_QUEUE, QueueOps
from ivkgen.runtime._server.core import Call
from ivkgen.runtime._server.dto import (
    TERMINAL_STATUSES,
    SessionQueueItem,
)
from pydantic import ConfigDict, TypeAdapter
from typing_extensions import TypedDict  # pydantic reads typing.TypedDict only from 3.12

if TYPE_CHECKING:
    from ivkgen.runtime._pool.run import PoolRun

log = logging.getLogger("ivkgen.runtime._pool")

STEPS_PER_SECOND = 1.0
"""About how many server steps the run makes a second, over all its servers, once it knows how
fast each server finishes items (a server is never stepped less often than it needs to stay busy
within ``MAX_WINDOW`` items)."""
_QUEUE = queue_ops(DEFAULT_QUEUE)


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


class _Summary(TypedDict):
    item_id: int
    status: str


_ENDED_ITEMS = TypeAdapter(list[_EndedItem])
_SUMMARIES = TypeAdapter(list[_Summary])


def _ended_items_call(item_ids: Sequence[int]) -> Call[list[_EndedItem]]:
    """The queue's ``items_by_ids``, its answer read as ``_EndedItem``s."""
    call = QueueOps.get_queue_items.call(_QUEUE, item_ids)
    return Call(
        call.method, call.path, lambda r: _ENDED_ITEMS.validate_json(r.content), json=call.json
    )


def _summaries_call(item_ids: Sequence[int]) -> Call[list[_Summary]]:
    """The queue's ``item_summaries_by_ids``, its answer read as ids and statuses only."""
    call = QueueOps.get_queue_item_summaries.call(_QUEUE, item_ids)
    return Call(
        call.method, call.path, lambda r: _SUMMARIES.validate_json(r.content), json=call.json
    )


def step_plan(run: PoolRun, state: ServerState) -> Plan[None]:
    """Reconcile lost enqueues, read the items the server holds, refill it."""
    if state.sent:
        yield from _reconcile(run, state)
    if state.queued:
        yield from _poll(run, state)
    yield from _refill(run, state)


def _reconcile(run: PoolRun, state: ServerState) -> Plan[None]:
    if state.features.receipts:
        for batch_id, indexes in list(state.sent.items()):
            receipt = yield from receipt_plan(DEFAULT_QUEUE, batch_id)
            del state.sent[batch_id]
            _accept(run, state, batch_id, indexes, sorted(receipt.item_ids) if receipt else [])
            if receipt is not None:
                yield from acknowledge_plan(DEFAULT_QUEUE, batch_id)
        return
    items: list[SessionQueueItem] = yield QueueOps.list_all_items.call(
        _QUEUE, destination=run_tag(run.run_id)
    )
    found: dict[str, list[int]] = {}
    for item in items:
        if item.origin == chunk_tag(item.batch_id):
            found.setdefault(item.batch_id, []).append(item.item_id)
    for batch_id, indexes in list(state.sent.items()):
        del state.sent[batch_id]
        _accept(run, state, batch_id, indexes, sorted(found.get(batch_id, [])))


def _read_plan(
    state: ServerState, ids: Sequence[int]
) -> Plan[tuple[dict[int, str], dict[int, SessionQueueItem]]]:
    """Statuses of the held items (missing ids are left out) and the ended ones as read (or as
    the event socket heard them)."""
    heard = {i: item for i in ids if (item := state.heard_ended.get(i)) is not None}
    ids = [i for i in ids if i not in heard]
    if state.features.summaries:
        unheard = [i for i in ids if i not in state.heard_ended]
        summaries = (yield from chunked_plan(_summaries_call, unheard)) if unheard else []
        statuses = {s["item_id"]: s["status"] for s in summaries}
        ended = [i for i in ids if i in state.heard_ended or statuses.get(i) in TERMINAL_STATUSES]
    else:
        statuses, ended = {}, ids
    read = (yield from chunked_plan(_ended_items_call, ended)) if ended else []
    found: dict[int, SessionQueueItem] = {item.item_id: item for item in read} | heard
    statuses.update({i: str(item.status) for i, item in found.items()})
    return statuses, found


def _poll(run: PoolRun, state: ServerState) -> Plan[None]:
    """Read the held items: those that ended are finished (all of them recorded in one ledger
    transaction), canceled or vanished ones wait again."""
    ids = sorted(state.queued)
    statuses, seen = yield from _read_plan(state, ids)
    pending = running = 0
    again: list[int] = []
    records: list[Finished] = []
    try:
        for item_id in ids:
            index = state.queued[item_id]
            status = statuses.get(item_id)
            item = seen.get(item_id)
            ended = status in TERMINAL_STATUSES
            if status is None or status == "canceled" or (ended and item is None):
                del state.queued[item_id]
                again.append(index)
            elif item is not None and ended:
                del state.queued[item_id]
                records.append((yield from _finish(run, state, index, _as_read(run, item))))
            elif status == "pending":
                pending += 1
            else:
                running += 1
    finally:
        run.ledger.finished_many(records)
        heard = state.heard_ended
        state.heard_ended = {i: heard[i] for i in heard.keys() & state.queued.keys()}
    if again:
        log.warning("server %s: item(s) %s were canceled there; rerunning", state.name, again)
        run.scheduler.requeue(state.name, again)
        run.ledger.waiting(again)
    state.running = running
    if pending == 0:
        run.scheduler.starved(state.name)


def _as_read(run: PoolRun, item: SessionQueueItem) -> SessionQueueItem:
    """An ended item as the outputs read it: its session's graph holds only the boards of the
    output nodes (those the run sent)."""
    item.session["graph"] = run.boards
    return item


def _finish(run: PoolRun, state: ServerState, index: int, item: SessionQueueItem) -> Plan[Finished]:
    """Take in an item that ended (a completed item's outputs are downloaded once); returns its
    ledger record."""
    failed = item.status == "failed"
    images = collect_outputs(item, run.output_nodes, state.downloader)
    created = created_names(item, run.work.handle.catalog, "image")
    files: list[Path] = []
    if not failed and run.download_to is not None:
        for name in dict.fromkeys(image.image_name for image in images):
            files.append((yield from download_plan(run, name)))
    error = ItemError(item.error_type, item.error_message) if failed else None
    run.results[index] = ItemResult(
        index, state.name, item.item_id, item.status, images, files, error, created, item.session_id
    )
    run.scheduler.done(state.name, index, failed=failed)
    return Finished(index, item.status, created, [str(f) for f in files], item.session_id, error)


def download_plan(run: PoolRun, name: str) -> Plan[Path]:
    """Save one output image, once per run (a cached node repeats an image; a service may
    fetch it as soon as its node completed)."""
    assert run.download_to is not None
    target = run.download_to / safe_file_name(name)
    if target in run.downloaded:
        return target
    data: bytes = yield ImageOps.download_image.call(IMAGES, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    run.downloaded.add(target)
    return target


def _refill(run: PoolRun, state: ServerState) -> Plan[None]:
    per_item = per_item_seconds(run, state)
    if per_item is not None:
        # a step comes when half of what it holds is done: hold two spacings' worth
        run.scheduler.at_least(state.name, math.ceil(2 * _step_spacing(run) / per_item))
    taken = run.scheduler.take(state.name)
    if not taken:
        return
    assert state.body is not None, "the fitness check builds the body first"
    try:
        yield from send_files_plan(state, run.work, run.work.files_of(taken), run.ledger)
    except BaseException:
        run.scheduler.requeue(state.name, taken)
        raise
    batch_id = str(uuid.uuid4())
    body = chunk_body(
        state.body,
        run.work,
        taken,
        batch_id=batch_id,
        run_id=run.run_id,
        uploads=state.files.uploaded,
    )
    body = keyed(body) if state.features.receipts else body
    state.sent[batch_id] = taken
    state.batches.add(batch_id)
    run.ledger.sent(state.name, batch_id, taken)
    try:
        result = yield QueueOps.enqueue_batch.call(_QUEUE, body)
    except HTTPStatusError:  # the server answered: nothing was enqueued
        del state.sent[batch_id]
        run.scheduler.requeue(state.name, taken)
        run.ledger.waiting(taken)
        raise
    # a TransportError leaves the chunk in ``sent``: the next step looks it up
    del state.sent[batch_id]
    _accept(run, state, batch_id, taken, sorted(result.item_ids)[: result.enqueued])
    if state.features.receipts:
        yield from acknowledge_plan(DEFAULT_QUEUE, batch_id)


def _accept(
    run: PoolRun,
    state: ServerState,
    batch_id: str,
    indexes: Sequence[int],
    item_ids: Sequence[int],
) -> None:
    """The first ``len(item_ids)`` items of a chunk are in the queue (ascending ids in chunk
    order); the others were refused and wait again."""
    mapping = dict(zip(indexes, item_ids, strict=False))
    for index, item_id in mapping.items():
        state.queued[item_id] = index
    run.ledger.queued(state.name, batch_id, mapping)
    rest = list(indexes[len(mapping) :])
    run.scheduler.refused(state.name, rest)
    if rest:
        run.ledger.waiting(rest)
        warnings.warn(
            f"server {state.name}: its queue took {len(mapping)} of {len(indexes)} items "
            f"(enqueued < requested: its max_queue_size); the other {len(rest)} wait for room",
            QueueFullWarning,
            stacklevel=2,
        )


def next_interval(run: PoolRun, state: ServerState, shortest: float, longest: float) -> float:
    """Seconds until the server's next step: about half the time the items it holds take (so
    each read sees several of them end while its queue still has work), within ``shortest`` and
    ``longest`` (or, with many servers, the run's spacing of steps per server: see
    ``STEPS_PER_SECOND``); ``shortest`` after a failed step."""
    holding = run.scheduler.holding(state.name)
    per_item = per_item_seconds(run, state)
    if per_item is None or not holding or state.failures:
        return shortest
    longest = max(longest, _step_spacing(run))
    return max(shortest, min(longest, per_item * len(holding) / 2))


def per_item_seconds(run: PoolRun, state: ServerState) -> float | None:
    """Seconds per item the server has finished in this run (None before the first)."""
    finished = run.scheduler.slots[state.name].finished
    return run.elapsed() / finished if finished else None


def _step_spacing(run: PoolRun) -> float:
    """Seconds between two steps of one server at the run's pace of steps."""
    return run.scheduler.takers / STEPS_PER_SECOND
