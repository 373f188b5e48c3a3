"""Clean-up after a handle's runs: deleting only what they created, as plans (see :mod:`.plans`).

What a handle created: the images it uploaded (:class:`UploadTracker`), the images its queue
items saved (outputs and intermediates, listed by their final sessions or reported by
``invocation_complete`` events, kept only if the image's ``session_id`` is the item's), and its
queue items. Every plan is idempotent: what is already gone counts as deleted.
"""

from __future__ import annotations

from collections.abc import Sequence

from ivkgen.runtime.errors import NotFoundError
from ivkgen.runtime.jobs.outputs import created_image_names
from ivkgen.runtime.jobs.plans import (
    IMAGES,
    Plan,
    cancel_plan,
    delete_images_plan,
    queue_ops,
    settle_plan,
)
from ivkgen.runtime.jobs.uploads import UploadTracker
from ivkgen.runtime.jobs.watch import Run
from ivkgen.runtime.repositories.images import ImageOps
from ivkgen.runtime.repositories.queue import QueueOps
from ivkgen.runtime.server.dto import ImageDTO
from ivkgen.runtime.workflow.catalog import Catalog


def cleanup_inputs_plan(uploads: UploadTracker) -> Plan[list[str]]:
    """Delete the uploaded images; returns their names."""
    names = [dto.image_name for dto in uploads.assets()]
    deleted = yield from delete_images_plan(names)
    for name in deleted:
        uploads.forget(name)
    return deleted


def cleanup_outputs_plan(
    runs: Sequence[Run], catalog: Catalog, deleted_before: set[str]
) -> Plan[list[str]]:
    """Delete every image the runs' queue items saved; returns their names. ``deleted_before``
    holds the names already deleted (it is updated)."""
    sessions: dict[str, str] = {}
    for run in runs:
        yield from settle_plan(run.tracker)
        for item in run.tracker.queue_items():
            for name in created_image_names(item, catalog):
                sessions.setdefault(name, item.session_id)
        for name, session_id in run.tracker.reported_images().items():
            sessions.setdefault(name, session_id)
    mine: list[str] = []
    for name, session_id in sessions.items():
        if name in deleted_before:
            continue
        try:
            dto: ImageDTO = yield ImageOps.get_image_dto.call(IMAGES, name)
        except NotFoundError:
            deleted_before.add(name)
            continue
        if dto.session_id == session_id:
            mine.append(name)
    deleted = yield from delete_images_plan(mine)
    deleted_before.update(deleted)
    return deleted


def cleanup_queue_plan(runs: Sequence[Run]) -> Plan[list[int]]:
    """Delete the runs' queue items (the server cancels unfinished ones first)."""
    deleted: list[int] = []
    for run in runs:
        queue = queue_ops(run.result.queue_id)
        for item_id in run.result.item_ids:
            try:
                yield QueueOps.delete_queue_item.call(queue, item_id)
            except NotFoundError:
                continue
            deleted.append(item_id)
    return deleted


def exit_plan(runs: Sequence[Run], uploads: UploadTracker) -> Plan[None]:
    """What leaving a handle's ``with`` block does: cancel unfinished items, delete uploads."""
    for run in runs:
        if not run.tracker.done:
            yield from cancel_plan(run.tracker)
    yield from cleanup_inputs_plan(uploads)


__all__ = ["cleanup_inputs_plan", "cleanup_outputs_plan", "cleanup_queue_plan", "exit_plan"]
