"""Clean-up of what a handle created, as plans (see :mod:`.plans`): the images and videos it
uploaded, those its queue items made, and the items. Every plan is idempotent: what is already
gone counts as deleted.

Only files a run's own sessions made are deleted: each candidate's record must name the session
that made it (a node served from the server's cache reports a file an earlier session made).
Candidates come from the final sessions (``results``) of the run's items and of the items their
``call_saved_workflow`` nodes enqueued, and from the ``invocation_complete`` events seen (a
canceled item's stored session may not list them yet). For items canceled while running, the
clean-up first waits for the truth (:mod:`.settle`): the node that was running may still finish.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ivkgen.runtime._errors import NotFoundError
from ivkgen.runtime._jobs.called_items import final_sessions_plan
from ivkgen.runtime._jobs.outputs import created_names
from ivkgen.runtime._jobs.plans import (
    IMAGES,
    Plan,
    cancel_plan,
    delete_files_plan,
    delete_queue_items_plan,
    file_dto_plan,
)
from ivkgen.runtime._jobs.settle import late_outputs_plan
from ivkgen.runtime._jobs.tracker import JobTracker
from ivkgen.runtime._jobs.uploads import UploadTracker, delete_uploads_plan
from ivkgen.runtime._media import OutputKind
from ivkgen.runtime._repositories.images import ImageOps
from ivkgen.runtime._server.dto import ImagePage
from ivkgen.runtime._workflow.catalog import Catalog

KINDS: tuple[OutputKind, ...] = ("image", "video")


def _made(tracker: JobTracker, catalog: Catalog, kind: OutputKind) -> dict[str, str]:
    """File name -> the session that made it, for the files of one kind the run reported."""
    made: dict[str, str] = {}
    items = [*tracker.queue_items(), *(called.item for called in tracker.called_items())]
    for item in items:
        for name in created_names(item, catalog, kind):
            made.setdefault(name, item.session_id)
    reported = tracker.reported_videos() if kind == "video" else tracker.reported_images()
    for name, session_id in reported.items():
        made.setdefault(name, session_id)
    return made


UNSAVED_SCAN = 500
"""How many of the server's newest images are read for the images of items whose final session
was never stored."""


def unsaved_images_plan(tracker: JobTracker, limit: int = UNSAVED_SCAN) -> Plan[dict[str, str]]:
    """Image name -> session, for the images of the tracker's items that ended without their
    final session stored (the server was killed or restarted while they ran: the stored session
    lists no results). The server lists no image by session, so its ``limit`` newest images
    (intermediates included) are read and matched by ``session_id``."""
    sessions = {
        item.session_id
        for item in tracker.queue_items()
        if item.status != "completed" and not (item.session or {}).get("results")
    }
    found: dict[str, str] = {}
    if not sessions:
        return found
    for offset in range(0, limit, 100):
        page: ImagePage = yield ImageOps.list_images.call(IMAGES, offset=offset, limit=100)
        for image in page.items:
            if image.session_id in sessions:
                found[image.image_name] = image.session_id
        if offset + len(page.items) >= page.total:
            break
    return found


def delete_outputs_plan(
    trackers: Iterable[JobTracker], catalog: Catalog, deleted: set[str]
) -> Plan[list[str]]:
    """Delete every image and video the runs' sessions made that is still on the server;
    ``deleted`` remembers the names gone, so a second call asks nothing again."""
    trackers = list(trackers)
    for tracker in trackers:
        yield from late_outputs_plan(tracker)
        yield from final_sessions_plan(tracker)
    done: list[str] = []
    for kind in KINDS:
        made: dict[str, str] = {}
        for tracker in trackers:
            for name, session_id in _made(tracker, catalog, kind).items():
                made.setdefault(name, session_id)
            if kind == "image":
                made.update((yield from unsaved_images_plan(tracker)))
        done += yield from delete_made_plan(made, kind, deleted)
    return done


def delete_made_plan(
    made: Mapping[str, str], kind: OutputKind, deleted: set[str]
) -> Plan[list[str]]:
    """Delete the files of ``made`` (name -> the session that made it) whose record on the server
    names that session (a cached node reports an older session's file); ``deleted`` remembers
    the names gone. Returns those deleted now."""
    mine: list[str] = []
    for name, session_id in made.items():
        if name in deleted:
            continue
        try:
            record = yield from file_dto_plan(kind, name)
        except NotFoundError:
            deleted.add(name)
            continue
        if record.session_id == session_id:
            mine.append(name)
    gone = yield from delete_files_plan(mine, kind)
    deleted.update(gone)
    return gone


def delete_items_plan(trackers: Iterable[JobTracker]) -> Plan[list[int]]:
    """Delete the runs' queue items and the items their call nodes enqueued (unfinished ones
    are canceled first by the server); items already gone are skipped."""
    deleted: list[int] = []
    for tracker in trackers:
        called = [c.item.item_id for c in tracker.called_items()]
        deleted += yield from delete_queue_items_plan(
            tracker.queue_id, [*tracker.item_ids, *called]
        )
    return deleted


def delete_inputs_plan(uploads: UploadTracker) -> Plan[list[str]]:
    """Delete the uploaded images and videos; returns their names."""
    deleted = yield from delete_uploads_plan(uploads.assets())
    for name in deleted:
        uploads.forget(name)
    return deleted


def exit_plan(
    trackers: Iterable[JobTracker], uploads: UploadTracker, catalog: Catalog, deleted: set[str]
) -> Plan[None]:
    """What leaving a handle's ``with`` block does: cancel unfinished items and delete what
    they made, delete the uploads."""
    for tracker in trackers:
        if not tracker.done:
            yield from cancel_plan(tracker)
            yield from delete_outputs_plan([tracker], catalog, deleted)
    yield from delete_inputs_plan(uploads)
