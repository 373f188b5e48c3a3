"""Image inputs given as a file path, image bytes or a PIL image, and the uploads made for them.

``UploadTracker`` is the bookkeeping of one ``WorkflowHandle`` (no I/O): which inputs wait for an
upload, which images the handle uploaded (``get_uploaded_assets()``), and which of them clean-up
has deleted. An input whose upload was deleted is uploaded again on the next submission.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ivkgen.runtime.media import ImageSource
from ivkgen.runtime.repositories.images import image_file
from ivkgen.runtime.server.dto import ImageCategory, ImageDTO


@dataclass
class PendingImage:
    """An image input to upload before submitting: the source and how to upload it."""

    index: int
    source: ImageSource
    category: ImageCategory = "user"
    is_intermediate: bool = False


@dataclass
class UploadTracker:
    """The image inputs of a handle and the images uploaded for them."""

    sources: dict[int, PendingImage] = field(default_factory=dict)
    uploaded: dict[int, ImageDTO] = field(default_factory=dict)

    def add(self, pending: PendingImage) -> None:
        """Remember an input's image; it is read and checked now, uploaded at submission."""
        image_file(pending.source)
        self.sources[pending.index] = pending
        self.uploaded.pop(pending.index, None)

    def to_upload(self) -> list[PendingImage]:
        """Inputs whose image is not on the server (yet, or any more)."""
        return [p for i, p in sorted(self.sources.items()) if i not in self.uploaded]

    def record(self, index: int, dto: ImageDTO) -> None:
        self.uploaded[index] = dto

    def assets(self) -> list[ImageDTO]:
        """The images on the server that this handle uploaded, by input index."""
        return [dto for _, dto in sorted(self.uploaded.items())]

    def forget(self, image_name: str) -> None:
        """The image was deleted: upload its input again next time."""
        self.uploaded = {i: d for i, d in self.uploaded.items() if d.image_name != image_name}


__all__ = ["PendingImage", "UploadTracker"]
