"""Media types light enough for every generated module to import: what an image input accepts
(:class:`SupportsSave`) and what an output node produced (:class:`OutputImage`,
:class:`OutputVideo`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol, Self, runtime_checkable

from pydantic import BaseModel, ConfigDict, PrivateAttr

_UNSAFE = ("/", "\\", "\x00")

OutputKind = Literal["image", "video"]
"""What a file on the server is: an image or a video."""


@runtime_checkable
class SupportsSave(Protocol):
    """A PIL image (anything with ``save(fp, format=...)``)."""

    def save(self, fp: Any, format: Any = ..., **params: Any) -> None: ...


class OutputFile(BaseModel):
    """What one output node produced in one queue item (an image or a video).

    ``to_bytes()`` and ``save(folder)`` download it through the client of the handle that made it
    (a sync client; with an async client use the image or video repository). ``called_by`` is
    the ``call_saved_workflow`` node of the submitted workflow whose called workflow made it.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    node_id: str
    node_label: str
    node_type: str
    prepared_node_id: str
    board_id: str | None = None
    item_id: int
    session_id: str
    called_by: str | None = None
    _fetch: Callable[[str], bytes] | None = PrivateAttr(default=None)

    @property
    def name(self) -> str:
        """The file's name on the server."""
        raise NotImplementedError

    def bind(self, fetch: Callable[[str], bytes]) -> Self:
        self._fetch = fetch
        return self

    def to_bytes(self) -> bytes:
        """The full file (PNG or MP4 bytes)."""
        if self._fetch is None:
            raise RuntimeError(
                f"output {self.name!r} is not bound to a sync client; download it with the "
                "image or video repository"
            )
        return self._fetch(self.name)

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the file into ``folder`` (created if needed) under its server name."""
        target = Path(folder) / safe_file_name(self.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.to_bytes())
        return target


class OutputImage(OutputFile):
    """One image an output node produced in one queue item."""

    image_name: str

    @property
    def name(self) -> str:
        return self.image_name

    def to_pil(self) -> Any:
        """The image as a ``PIL.Image.Image`` (needs Pillow: ``pip install ivkgen[pil]``)."""
        import io

        from PIL import Image

        image = Image.open(io.BytesIO(self.to_bytes()))
        image.load()
        return image


class OutputVideo(OutputFile):
    """One video (MP4) an output node produced in one queue item."""

    video_name: str

    @property
    def name(self) -> str:
        return self.video_name


def safe_file_name(image_name: str) -> str:
    """A server file name (image or video) as a local file name, refusing anything that could
    leave the target folder."""
    if not image_name or image_name in (".", "..") or any(c in image_name for c in _UNSAFE):
        raise ValueError(
            f"refusing to use the server's file name {image_name!r} as a file name: it is "
            "empty or contains a path separator"
        )
    return image_name


__all__ = [
    "OutputFile",
    "OutputImage",
    "OutputKind",
    "OutputVideo",
    "SupportsSave",
    "safe_file_name",
]
