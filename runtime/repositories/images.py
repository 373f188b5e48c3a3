"""Images on the server (``/api/v1/images``): upload, DTO, metadata, download, star, delete."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import httpx
from ivkgen.runtime.media import ImageSource
from ivkgen.runtime.repositories._base import AsyncRepository, SyncRepository
from ivkgen.runtime.server.core import Call, operation, parse_bytes, parse_json, parse_model
from ivkgen.runtime.server.dto import DeleteImagesResult, ImageCategory, ImageDTO, ImagePage
from ivkgen.runtime.server.urls import query, segment

MAX_NAMES_PER_CALL = 1000
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "image/webp": ".webp",
}


OrderDir = Literal["ASC", "DESC"]


def sniff_image_type(data: bytes) -> str | None:
    """The MIME type of encoded image bytes (PNG, JPEG, WebP, GIF, BMP, TIFF), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((mime for magic, mime in _MAGIC if data.startswith(magic)), None)


def image_file(source: ImageSource, filename: str | None = None) -> tuple[str, bytes, str]:
    """``(file name, bytes, content type)`` of an image given as a path, encoded bytes or a PIL
    image (saved as PNG)."""
    if isinstance(source, bytes | bytearray):
        data, name = bytes(source), filename
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        data, name = path.read_bytes(), filename or path.name
    elif hasattr(source, "save"):
        buffer = io.BytesIO()
        source.save(buffer, format="PNG")
        data, name = buffer.getvalue(), filename
    else:
        raise TypeError(
            f"cannot upload a {type(source).__name__}: give a file path, image bytes or a PIL image"
        )
    mime = sniff_image_type(data)
    if mime is None:
        what = f"file {name!r}" if name else "the bytes given"
        raise ValueError(f"{what} is not a PNG, JPEG, WebP, GIF, BMP or TIFF image")
    return name or f"image{_EXTENSIONS[mime]}", data, mime


def _names_body(names: Sequence[str]) -> dict[str, list[str]]:
    if isinstance(names, str):
        raise TypeError("give a list of image names, not one string")
    if len(names) > MAX_NAMES_PER_CALL:
        raise ValueError(f"{len(names)} image names: the server takes at most {MAX_NAMES_PER_CALL}")
    return {"image_names": list(names)}


class ImageOps:
    """The image operations, written once for the sync and async repositories."""

    @operation
    def upload_image(
        self,
        source: ImageSource,
        *,
        category: ImageCategory = "general",
        is_intermediate: bool = False,
        board_id: str | None = None,
        session_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        filename: str | None = None,
    ) -> Call[ImageDTO]:
        """Upload an image (path, bytes or PIL image); returns the server's DTO."""
        return Call(
            "POST",
            "/api/v1/images/upload",
            parse_model(ImageDTO),
            params=query(
                image_category=category,
                is_intermediate=is_intermediate,
                board_id=None if board_id == "none" else board_id,
                session_id=session_id,
            ),
            files={"file": image_file(source, filename)},
            data={"metadata": json.dumps(dict(metadata))} if metadata is not None else None,
        )

    @operation
    def get_image_dto(self, image_name: str) -> Call[ImageDTO]:
        """The image's record: size, category, board, intermediate and starred flags, URLs."""
        return Call("GET", f"/api/v1/images/i/{segment(image_name)}", parse_model(ImageDTO))

    @operation
    def get_image_metadata(self, image_name: str) -> Call[dict[str, Any] | None]:
        """The metadata stored with the image (None if it has none)."""
        return Call("GET", f"/api/v1/images/i/{segment(image_name)}/metadata", parse_json)

    @operation
    def download_image(self, image_name: str) -> Call[bytes]:
        """The full image, PNG bytes."""
        return Call("GET", f"/api/v1/images/i/{segment(image_name)}/full", parse_bytes)

    @operation
    def download_thumbnail(self, image_name: str) -> Call[bytes]:
        """The thumbnail, WebP bytes."""
        return Call("GET", f"/api/v1/images/i/{segment(image_name)}/thumbnail", parse_bytes)

    @operation
    def list_images(
        self,
        *,
        board_id: str | None = None,
        categories: Sequence[ImageCategory] | None = None,
        is_intermediate: bool | None = None,
        offset: int = 0,
        limit: int = 100,
        order_dir: OrderDir = "DESC",
        starred_first: bool = False,
        search_term: str | None = None,
    ) -> Call[ImagePage]:
        """One page of images, newest first; ``board_id="none"`` lists images on no board,
        ``None`` all images. ``total`` of the page counts every match."""
        params = query(
            board_id=board_id,
            is_intermediate=is_intermediate,
            offset=offset,
            limit=limit,
            order_dir=order_dir,
            starred_first=starred_first,
            search_term=search_term,
        )
        pairs = [*params.items(), *(("categories", c) for c in categories or ())]
        return Call("GET", "/api/v1/images/", parse_model(ImagePage), params=pairs)

    @operation
    def update_image(
        self,
        image_name: str,
        *,
        category: ImageCategory | None = None,
        is_intermediate: bool | None = None,
        starred: bool | None = None,
    ) -> Call[ImageDTO]:
        """Change the image's category, intermediate flag or star."""
        body = query(image_category=category, is_intermediate=is_intermediate, starred=starred)
        return Call(
            "PATCH", f"/api/v1/images/i/{segment(image_name)}", parse_model(ImageDTO), json=body
        )

    @operation
    def delete_image(self, image_name: str) -> Call[DeleteImagesResult]:
        """Delete one image (NotFoundError if there is none of that name)."""
        return Call(
            "DELETE", f"/api/v1/images/i/{segment(image_name)}", parse_model(DeleteImagesResult)
        )

    @operation
    def delete_images(self, image_names: Sequence[str]) -> Call[DeleteImagesResult]:
        """Delete up to 1000 images; names that fail are in ``failed_images``."""
        return Call(
            "POST",
            "/api/v1/images/delete",
            parse_model(DeleteImagesResult),
            json=_names_body(image_names),
        )

    @operation
    def star_images(self, image_names: Sequence[str]) -> Call[list[str]]:
        """Star images; returns the names starred."""
        return Call("POST", "/api/v1/images/star", _starred, json=_names_body(image_names))

    @operation
    def unstar_images(self, image_names: Sequence[str]) -> Call[list[str]]:
        """Remove the star from images; returns the names changed."""
        return Call("POST", "/api/v1/images/unstar", _unstarred, json=_names_body(image_names))


def _starred(response: httpx.Response) -> list[str]:
    return [str(name) for name in response.json()["starred_images"]]


def _unstarred(response: httpx.Response) -> list[str]:
    return [str(name) for name in response.json()["unstarred_images"]]


class ImageRepository(SyncRepository, ImageOps):
    """``client.image_repo``: the server's images."""


class AsyncImageRepository(AsyncRepository, ImageOps):
    """``async_client.image_repo``: the server's images."""
