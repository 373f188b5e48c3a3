"""Media types light enough for every generated module to import: what an image or video input
accepts (:data:`ImageSource`, :data:`VideoSource`) and what an output node produced
(:class:`OutputImage`, :class:`OutputVideo`)."""

import io
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, TypeAlias, runtime_checkable

from ivkgen.runtime._errors import MissingExtraError
from pydantic import BaseModel, ConfigDict, Field

_UNSAFE = ("/", "\\", "\x00")

OutputKind = Literal["image", "video"]
"""What a file on the server is: an image or a video."""


@runtime_checkable
class SupportsSave(Protocol):
    """A PIL image (anything with ``save(fp, format=...)``)."""

    def save(self, fp: Any, format: Any = ..., **params: Any) -> None: ...


ImageSource: TypeAlias = str | os.PathLike[str] | bytes | bytearray | SupportsSave
"""A local image: a file path, encoded image bytes or a PIL image; uploaded when it is needed."""

VideoSource: TypeAlias = str | os.PathLike[str] | bytes | bytearray
"""A local MP4 video: a file path or its bytes; uploaded when it is needed."""


class Downloader(ABC):
    """Where an output file's bytes come from: the client of the handle that made it."""

    @abstractmethod
    def fetch(self, kind: OutputKind, name: str) -> bytes:
        """The full file, blocking (a sync client only)."""

    @abstractmethod
    async def afetch(self, kind: OutputKind, name: str) -> bytes:
        """The full file, awaited (either client)."""


class OutputFile(BaseModel):
    """What one output node produced in one queue item (an image or a video).

    ``to_bytes()`` and ``save(folder)`` download it through the client of the handle that made
    it, blocking (a sync client); ``ato_bytes()`` and ``asave(folder)`` are awaited (either
    client). ``called_by`` is the ``call_saved_workflow`` node of the submitted workflow whose
    called workflow made it.
    """

    model_config = ConfigDict(frozen=True, defer_build=True, arbitrary_types_allowed=True)

    KIND: ClassVar[OutputKind] = "image"
    node_id: str
    node_label: str
    node_type: str
    prepared_node_id: str
    board_id: str | None = None
    item_id: int
    session_id: str
    called_by: str | None = None
    downloader: Downloader | None = Field(default=None, exclude=True, repr=False)
    """The client that downloads the file (None: a file read without a client)."""

    @property
    def name(self) -> str:
        """The file's name on the server."""
        raise NotImplementedError

    def _downloader(self) -> Downloader:
        if self.downloader is None:
            raise RuntimeError(
                f"output {self.name!r} has no client to download it with; use the "
                f"{self.KIND} repository"
            )
        return self.downloader

    def to_bytes(self) -> bytes:
        """The full file (PNG or MP4 bytes)."""
        return self._downloader().fetch(self.KIND, self.name)

    async def ato_bytes(self) -> bytes:
        return await self._downloader().afetch(self.KIND, self.name)

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the file into ``folder`` (created if needed) under its server name."""
        target = self._target(folder)
        return _write(target, self.to_bytes())

    async def asave(self, folder: str | os.PathLike[str]) -> Path:
        target = self._target(folder)
        return _write(target, await self.ato_bytes())

    def _target(self, folder: str | os.PathLike[str]) -> Path:
        return Path(folder) / safe_file_name(self.name)


class OutputImage(OutputFile):
    """One image an output node produced in one queue item."""

    image_name: str

    @property
    def name(self) -> str:
        return self.image_name

    def to_pil(self) -> Any:
        """The image as a ``PIL.Image.Image`` (needs Pillow: ``pip install 'ivkgen[pil]'``)."""
        image_class = _pil_image()
        return _pil(image_class, self.to_bytes())

    async def ato_pil(self) -> Any:
        image_class = _pil_image()
        return _pil(image_class, await self.ato_bytes())


class OutputVideo(OutputFile):
    """One video (MP4) an output node produced in one queue item."""

    KIND: ClassVar[OutputKind] = "video"
    video_name: str

    @property
    def name(self) -> str:
        return self.video_name


def _pil_image() -> Any:
    """Pillow's ``PIL.Image`` module; a ``MissingExtraError`` when Pillow is not installed."""
    try:
        from PIL import Image
    except ModuleNotFoundError:
        raise MissingExtraError(
            "to_pil() needs Pillow, which is not installed; pip install 'ivkgen[pil]'"
        ) from None
    return Image


def _pil(image_class: Any, data: bytes) -> Any:
    image = image_class.open(io.BytesIO(data))
    image.load()
    return image


def _write(target: Path, data: bytes) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def safe_file_name(name: str) -> str:
    """A server file name (image or video) as a local file name, refusing anything that could
    leave the target folder."""
    if not name or name in (".", "..") or any(c in name for c in _UNSAFE):
        raise ValueError(
            f"refusing to use the server's file name {name!r} as a file name: it is "
            "empty or contains a path separator"
        )
    return name
