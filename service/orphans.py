"""Taking a run back from InvokeAI: its batch (enqueue answer unknown) or queue item canceled,
what the item made, the item and the run's uploads deleted. ``take_back_plans`` serves a
canceled run's follower; ``take_back`` works from the run's ledger alone, for a run in flight
whose workflow the service no longer serves (it restarted with other workflows)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ivkgen.runtime._errors import IvkgenError, NotFoundError
from ivkgen.runtime._jobs.cleanup import delete_items_plan, delete_outputs_plan
from ivkgen.runtime._jobs.plans import (
    Plan,
    cancel_plan,
    delete_files_plan,
    drive,
    file_dto_plan,
    queue_ops,
)
from ivkgen.runtime._jobs.tracker import JobTracker
from ivkgen.runtime._repositories.queue import DEFAULT_QUEUE, QueueOps
from ivkgen.runtime._server.core import AsyncBound
from ivkgen.runtime._workflow.catalog import Catalog, default_catalog
from ivkgen.service.ledger import StoreLedger

log = logging.getLogger("ivkgen.service")


def take_back_plans(
    batches: Sequence[str], item_ids: Sequence[int], catalog: Catalog
) -> list[Plan[Any]]:
    """Cancel the batches whose enqueue answer is unknown and the queue items, delete what
    the items made and the items: each a plan of its own, to be tried whatever the others did."""
    trackers = [JobTracker(DEFAULT_QUEUE, f"item {i}", [i]) for i in sorted(item_ids)]
    return [
        _cancel_plan(sorted(batches), trackers),
        delete_outputs_plan(trackers, catalog, set()),
        delete_items_plan(trackers),
    ]


def _cancel_plan(batches: list[str], trackers: list[JobTracker]) -> Plan[None]:
    if batches:
        yield QueueOps.cancel_by_batch_ids.call(queue_ops(DEFAULT_QUEUE), batches)
    for tracker in trackers:
        yield from cancel_plan(tracker)


def _delete_upload_plan(name: str) -> Plan[None]:
    """Delete an upload whose kind is not recorded: an image, else a video."""
    try:
        yield from file_dto_plan("image", name)
    except NotFoundError:
        yield from delete_files_plan([name], "video")
    else:
        yield from delete_files_plan([name], "image")


async def take_back(
    ledger: StoreLedger,
    clients: Mapping[str, AsyncBound],
    connect: Callable[[str], AsyncBound],
) -> bool:
    """Take the ledger's run back from every server it names (see the module docstring);
    whether every step succeeded (then the ledger owes no clean-up)."""
    entries = ledger.entries()
    uploads = ledger.uploads()
    servers = sorted({e.server for e in entries if e.server} | set(uploads))
    clean = True
    for server in servers:
        client = clients.get(server) or connect(server)
        mine = [e for e in entries if e.server == server]
        batches = [e.batch_id for e in mine if e.status == "sent" and e.batch_id]
        items = [e.item_id for e in mine if e.item_id is not None]
        steps = take_back_plans(batches, items, default_catalog())
        steps += [_delete_upload_plan(name) for name in uploads.get(server, {}).values()]
        for plan in steps:
            try:
                await drive(plan, client)
            except IvkgenError as exc:
                clean = False
                log.warning("run %s: clean-up on %s: %s", ledger.key, server, exc)
    if clean:
        ledger.cleaned()
    return clean


__all__ = ["take_back", "take_back_plans"]
