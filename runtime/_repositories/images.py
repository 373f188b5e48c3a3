"""Images on the server (``/api/v1/images``): upload, DTO, metadata, download, star, delete."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from ivkgen.runtime._media import ImageSource
from ivkgen.runtime._repositories._base import AsyncRepository, SyncRepository
from ivkgen.runtime._repositories._media import MediaRoutes, OrderDir, read_source
from ivkgen.runtime._server.core import (
    Call,
    operation,
    parse_bytes,
    parse_json,
    parse_model,
    parse_names,
)
from ivkgen.runtime._server.dto import DeleteImagesResult, ImageCategory, ImageDTO, ImagePage
from ivkgen.runtime._server.urls import query

ROUTES = MediaRoutes("image")
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


def sniff_image_type(data: bytes) -> str | None:
    """The MIME type of encoded image bytes (PNG, JPEG, WebP, GIF, BMP, TIFF), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((mime for magic, mime in _MAGIC if data.startswith(magic)), None)


def image_file(source: ImageSource, filename: str | None = None) -> tuple[str, bytes, str]:
    """``(file name, bytes, content type)`` of an image given as a path, encoded bytes or a PIL
    image (saved as PNG)."""
    read = read_source(source, filename)
    if read is not None:
        data, name = read
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
        return ROUTES.upload(
            image_file(source, filename),
            parse_model(ImageDTO),
            category=category,
            is_intermediate=is_intermediate,
            board_id=board_id,
            session_id=session_id,
            metadata=metadata,
        )

    @operation
    def get_image_dto(self, image_name: str) -> Call[ImageDTO]:
        """The image's record: size, category, board, intermediate and starred flags, URLs."""
        return Call("GET", ROUTES.path(image_name), parse_model(ImageDTO))

    @operation
    def get_image_metadata(self, image_name: str) -> Call[dict[str, Any] | None]:
        """The metadata stored with the image (None if it has none)."""
        return Call("GET", ROUTES.path(image_name, "/metadata"), parse_json)

    @operation
    def download_image(self, image_name: str) -> Call[bytes]:
        """The full image, PNG bytes."""
        return Call("GET", ROUTES.path(image_name, "/full"), parse_bytes)

    @operation
    def download_thumbnail(self, image_name: str) -> Call[bytes]:
        """The thumbnail, WebP bytes."""
        return Call("GET", ROUTES.path(image_name, "/thumbnail"), parse_bytes)

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
        return ROUTES.listing(
            parse_model(ImagePage),
            categories,
            board_id=board_id,
            is_intermediate=is_intermediate,
            offset=offset,
            limit=limit,
            order_dir=order_dir,
            starred_first=starred_first,
            search_term=search_term,
        )

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
        return Call("PATCH", ROUTES.path(image_name), parse_model(ImageDTO), json=body)

    @operation
    def delete_image(self, image_name: str) -> Call[DeleteImagesResult]:
        """Delete one image (NotFoundError if there is none of that name)."""
        return Call("DELETE", ROUTES.path(image_name), parse_model(DeleteImagesResult))

    @operation
    def delete_images(self, image_names: Sequence[str]) -> Call[DeleteImagesResult]:
        """Delete up to 1000 images; names that fail are in ``failed_images``."""
        return ROUTES.delete_many(image_names, parse_model(DeleteImagesResult))

    @operation
    def star_images(self, image_names: Sequence[str]) -> Call[list[str]]:
        """Star images; returns the names starred."""
        body = ROUTES.names_body(image_names)
        return Call("POST", "/api/v1/images/star", parse_names("starred_images"), json=body)

    @operation
    def unstar_images(self, image_names: Sequence[str]) -> Call[list[str]]:
        """Remove the star from images; returns the names changed."""
        body = ROUTES.names_body(image_names)
        return Call("POST", "/api/v1/images/unstar", parse_names("unstarred_images"), json=body)


class ImageRepository(SyncRepository, ImageOps):
    """``client.image_repo``: the server's images."""


class AsyncImageRepository(AsyncRepository, ImageOps):
    """``async_client.image_repo``: the server's images."""
