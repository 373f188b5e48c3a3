"""Image and video inputs given as local files, and the uploads made for them.

An image input takes a file path, image bytes or a PIL image; a video input an MP4 file path or
bytes. ``UploadTracker`` is the bookkeeping of one ``WorkflowHandle`` (no I/O): which inputs wait
for an upload, which files the handle uploaded (``get_uploaded_assets()``), and which of them
clean-up has deleted. An input whose upload was deleted is uploaded again on the next submission.
The upload and delete plans (:func:`upload_plan`, :func:`delete_uploads_plan`) send the calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ivkgen.runtime._jobs.plans import IMAGES, VIDEOS, Plan, delete_files_plan
from ivkgen.runtime._media import ImageSource, OutputKind, VideoSource
from ivkgen.runtime._repositories.images import ImageOps, image_file
from ivkgen.runtime._repositories.videos import VideoOps, video_file
from ivkgen.runtime._server.dto import ImageCategory, ImageDTO, VideoDTO


@dataclass
class PendingImage:
    """An image input to upload before submitting: the source and how to upload it."""

    index: int
    source: ImageSource
    category: ImageCategory = "user"
    is_intermediate: bool = False
    kind: OutputKind = field(default="image", init=False)


@dataclass
class PendingVideo:
    """A video input to upload before submitting: the MP4 source and how to upload it."""

    index: int
    source: VideoSource
    category: ImageCategory = "user"
    is_intermediate: bool = False
    kind: OutputKind = field(default="video", init=False)


Pending = PendingImage | PendingVideo


def read_file(pending: Pending) -> tuple[str, bytes, str]:
    """``(file name, bytes, content type)`` of an input's file; raises ``OSError``, ``TypeError``
    or ``ValueError`` for one that cannot be read as an image (a video)."""
    if isinstance(pending, PendingVideo):
        return video_file(pending.source)
    return image_file(pending.source)


@dataclass(frozen=True)
class Uploaded:
    """A file the handle uploaded: its server name and whether it is an image or a video."""

    name: str
    kind: OutputKind

    def apply_to(self, input_field: Any) -> None:
        """Point an image or video input's field at the uploaded file."""
        setattr(input_field, f"{self.kind}_name", self.name)


@dataclass
class UploadTracker:
    """The image and video inputs of a handle and the files uploaded for them."""

    sources: dict[int, Pending] = field(default_factory=dict)
    uploaded: dict[int, Uploaded] = field(default_factory=dict)
    replaced: list[Uploaded] = field(default_factory=list)
    """Uploads of files an input no longer holds: still on the server until cleaned up."""

    def add(self, pending: Pending) -> None:
        """Remember an input's file; it is read and checked now, uploaded at submission."""
        read_file(pending)
        self.sources[pending.index] = pending
        earlier = self.uploaded.pop(pending.index, None)
        if earlier is not None:
            self.replaced.append(earlier)

    def to_upload(self) -> list[Pending]:
        """Inputs whose file is not on the server (yet, or any more)."""
        return [p for i, p in sorted(self.sources.items()) if i not in self.uploaded]

    def record(self, index: int, uploaded: Uploaded) -> None:
        self.uploaded[index] = uploaded

    def assets(self) -> list[Uploaded]:
        """The files on the server that this handle uploaded, by input index."""
        return [*self.replaced, *(uploaded for _, uploaded in sorted(self.uploaded.items()))]

    def forget(self, name: str) -> None:
        """The file was deleted: upload its input again next time."""
        self.uploaded = {i: u for i, u in self.uploaded.items() if u.name != name}
        self.replaced = [u for u in self.replaced if u.name != name]


def upload_plan(pending: Pending) -> Plan[Uploaded]:
    """Upload one input's file."""
    category, intermediate = pending.category, pending.is_intermediate
    if isinstance(pending, PendingVideo):
        video: VideoDTO = yield VideoOps.upload_video.call(
            VIDEOS, pending.source, category=category, is_intermediate=intermediate
        )
        return Uploaded(video.video_name, "video")
    image: ImageDTO = yield ImageOps.upload_image.call(
        IMAGES, pending.source, category=category, is_intermediate=intermediate
    )
    return Uploaded(image.image_name, "image")


def delete_uploads_plan(uploads: Sequence[Uploaded]) -> Plan[list[str]]:
    """Delete uploaded files (images, then videos); returns the names deleted."""
    deleted: list[str] = []
    kinds: tuple[OutputKind, ...] = ("image", "video")
    for kind in kinds:
        names = [u.name for u in uploads if u.kind == kind]
        if names:
            deleted += yield from delete_files_plan(names, kind)
    return deleted
