"""Image types light enough for every generated module to import: what an image input accepts
(:class:`SupportsSave`) and what an output node produced (:class:`OutputImage`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, PrivateAttr

_UNSAFE = ("/", "\\", "\x00")


@runtime_checkable
class SupportsSave(Protocol):
    """A PIL image (anything with ``save(fp, format=...)``)."""

    def save(self, fp: Any, format: Any = ..., **params: Any) -> None: ...


class OutputImage(BaseModel):
    """One image an output node produced in one queue item.

    ``to_bytes()``, ``to_pil()`` and ``save(folder)`` download it through the client of the
    handle that made it (a sync client; with an async client use the image repository).
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    image_name: str
    node_id: str
    node_label: str
    node_type: str
    prepared_node_id: str
    board_id: str | None = None
    item_id: int
    session_id: str
    _fetch: Callable[[str], bytes] | None = PrivateAttr(default=None)

    def bind(self, fetch: Callable[[str], bytes]) -> OutputImage:
        self._fetch = fetch
        return self

    def to_bytes(self) -> bytes:
        """The full image (PNG bytes)."""
        if self._fetch is None:
            raise RuntimeError(
                f"output {self.image_name!r} is not bound to a sync client; download it with "
                "the image repository's download_image()"
            )
        return self._fetch(self.image_name)

    def to_pil(self) -> Any:
        """The image as a ``PIL.Image.Image`` (needs Pillow: ``pip install ivkgen[pil]``)."""
        import io

        from PIL import Image

        image = Image.open(io.BytesIO(self.to_bytes()))
        image.load()
        return image

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the image into ``folder`` (created if needed) under its server name."""
        target = Path(folder) / safe_file_name(self.image_name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.to_bytes())
        return target


def safe_file_name(image_name: str) -> str:
    """``image_name`` as a file name, refusing anything that could leave the target folder."""
    if not image_name or image_name in (".", "..") or any(c in image_name for c in _UNSAFE):
        raise ValueError(
            f"refusing to use the server's image name {image_name!r} as a file name: it is "
            "empty or contains a path separator"
        )
    return image_name


__all__ = ["OutputImage", "SupportsSave", "safe_file_name"]
