"""Delete the images that queue items made, and only those.

``delete_outputs_plan`` first waits for the truth about items canceled while running
(:mod:`.settle`), reads the final session of every item that ended, then deletes each image the
items' sessions list or their events reported, after checking that the image's ``session_id`` is
the item's own (a cached node reports an image an earlier session made).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ivkgen.runtime.errors import NotFoundError
from ivkgen.runtime.jobs.outputs import created_image_names
from ivkgen.runtime.jobs.plans import IMAGES, Plan, delete_images_plan, settle_plan
from ivkgen.runtime.jobs.settle import late_outputs_plan
from ivkgen.runtime.jobs.tracker import JobTracker
from ivkgen.runtime.repositories.images import ImageOps
from ivkgen.runtime.server.dto import ImageDTO

if TYPE_CHECKING:
    from ivkgen.runtime.workflow.catalog import Catalog


def made_images_plan(trackers: Iterable[JobTracker], catalog: Catalog) -> Plan[dict[str, str]]:
    """Image name -> session id of every image the trackers' items made, as the server now
    knows it (final sessions, late outputs of canceled items, reported images)."""
    sessions: dict[str, str] = {}
    for tracker in trackers:
        yield from late_outputs_plan(tracker)
        yield from settle_plan(tracker)
        for item in tracker.queue_items():
            for name in created_image_names(item, catalog):
                sessions.setdefault(name, item.session_id)
        for name, session_id in tracker.reported_images().items():
            sessions.setdefault(name, session_id)
    return sessions


def delete_outputs_plan(
    trackers: Iterable[JobTracker], catalog: Catalog, deleted: set[str]
) -> Plan[list[str]]:
    """Delete the images the trackers' items made that are not in ``deleted`` (updated);
    returns the names deleted now."""
    sessions = yield from made_images_plan(trackers, catalog)
    mine: list[str] = []
    for name, session_id in sessions.items():
        if name in deleted:
            continue
        try:
            dto: ImageDTO = yield ImageOps.get_image_dto.call(IMAGES, name)
        except NotFoundError:
            deleted.add(name)
            continue
        if dto.session_id == session_id:
            mine.append(name)
    done = yield from delete_images_plan(mine)
    deleted.update(done)
    return done


__all__ = ["delete_outputs_plan", "made_images_plan"]
