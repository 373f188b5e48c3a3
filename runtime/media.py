"""Image types light enough for every generated module to import: what an image input accepts
(:data:`ImageSource`) and what an output node produced (:class:`OutputImage`)."""

from __future__ import annotations

import io
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Protocol, TypeAlias, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

_UNSAFE = ("/", "\\", "\x00")


@runtime_checkable
class SupportsSave(Protocol):
    """A PIL image (anything with ``save(fp, format=...)``)."""

    def save(self, fp: Any, format: Any = ..., **params: Any) -> None: ...


ImageSource: TypeAlias = str | os.PathLike[str] | bytes | bytearray | SupportsSave
"""A local image: a file path, encoded image bytes or a PIL image; uploaded when it is needed."""


class ImageDownloader(ABC):
    """Where an output image's bytes come from: the client of the handle that made it."""

    @abstractmethod
    def fetch(self, image_name: str) -> bytes:
        """The full image, blocking (a sync client only)."""

    @abstractmethod
    async def afetch(self, image_name: str) -> bytes:
        """The full image, awaited (either client)."""


class OutputImage(BaseModel):
    """One image an output node produced in one queue item.

    ``to_bytes()``, ``to_pil()`` and ``save(folder)`` download it through the client of the
    handle that made it, blocking (a sync client); ``ato_bytes()``, ``ato_pil()`` and
    ``asave(folder)`` are awaited (either client).
    """

    model_config = ConfigDict(frozen=True, defer_build=True, arbitrary_types_allowed=True)

    image_name: str
    node_id: str
    node_label: str
    node_type: str
    prepared_node_id: str
    board_id: str | None = None
    item_id: int
    session_id: str
    downloader: ImageDownloader | None = Field(default=None, exclude=True, repr=False)
    """The client that downloads the image (None: an image read without a client)."""

    def _downloader(self) -> ImageDownloader:
        if self.downloader is None:
            raise RuntimeError(
                f"output {self.image_name!r} has no client to download it with; use the image "
                "repository's download_image()"
            )
        return self.downloader

    def to_bytes(self) -> bytes:
        """The full image (PNG bytes)."""
        return self._downloader().fetch(self.image_name)

    async def ato_bytes(self) -> bytes:
        return await self._downloader().afetch(self.image_name)

    def to_pil(self) -> Any:
        """The image as a ``PIL.Image.Image`` (needs Pillow: ``pip install ivkgen[pil]``)."""
        return _pil(self.to_bytes())

    async def ato_pil(self) -> Any:
        return _pil(await self.ato_bytes())

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the image into ``folder`` (created if needed) under its server name."""
        target = self._target(folder)
        return _write(target, self.to_bytes())

    async def asave(self, folder: str | os.PathLike[str]) -> Path:
        target = self._target(folder)
        return _write(target, await self.ato_bytes())

    def _target(self, folder: str | os.PathLike[str]) -> Path:
        return Path(folder) / safe_file_name(self.image_name)


def _pil(data: bytes) -> Any:
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _write(target: Path, data: bytes) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def safe_file_name(image_name: str) -> str:
    """``image_name`` as a file name, refusing anything that could leave the target folder."""
    if not image_name or image_name in (".", "..") or any(c in image_name for c in _UNSAFE):
        raise ValueError(
            f"refusing to use the server's image name {image_name!r} as a file name: it is "
            "empty or contains a path separator"
        )
    return image_name


__all__ = ["ImageDownloader", "ImageSource", "OutputImage", "SupportsSave", "safe_file_name"]
