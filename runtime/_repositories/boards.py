"""Boards (``/api/v1/boards``, ``/api/v1/board_images``) and a handle on one board's images."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

import httpx
from ivkgen.runtime._errors import NotFoundError
from ivkgen.runtime._media import ImageSource
from ivkgen.runtime._repositories._base import AsyncRepository, SyncRepository
from ivkgen.runtime._repositories._media import OrderDir
from ivkgen.runtime._repositories.images import ROUTES as IMAGE_ROUTES
from ivkgen.runtime._repositories.images import ImageOps
from ivkgen.runtime._server.core import (
    AsyncBound,
    Call,
    SyncBound,
    operation,
    parse_model,
    parse_model_list,
)
from ivkgen.runtime._server.dto import BoardDTO, DeleteBoardResult, ImageCategory, ImageDTO
from ivkgen.runtime._server.urls import query, segment

NO_BOARD = "none"
"""The board id the server uses for "no board" (uncategorized images)."""

_BOARD_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

T = TypeVar("T")


def is_board_id(board: str) -> bool:
    """Whether ``board`` is spelled as a board id (the server's ids are UUIDs; ``"none"``: no
    board) rather than a board name."""
    return board == NO_BOARD or _BOARD_ID.fullmatch(board) is not None


def _named(board: str) -> Callable[[httpx.Response], BoardDTO]:
    boards = parse_model_list(BoardDTO)

    def parse(response: httpx.Response) -> BoardDTO:
        found = boards(response)
        for each in sorted(found, key=lambda b: b.board_name != board):
            if board in (each.board_name, each.board_id):
                return each
        names = ", ".join(repr(b.board_name) for b in found)
        raise NotFoundError(
            f"the server has no board with the id or name {board!r}; "
            + (f"its boards are {names}" if names else "it has no boards")
            + f". Create it with board_repo.create_board({board!r})",
            method="GET",
            path="/api/v1/boards/",
            status_code=404,
            detail=None,
        )

    return parse


def _by_name(name: str) -> Callable[[httpx.Response], BoardDTO | None]:
    boards = parse_model_list(BoardDTO)

    def parse(response: httpx.Response) -> BoardDTO | None:
        return next((board for board in boards(response) if board.board_name == name), None)

    return parse


def _image_names(response: httpx.Response) -> list[str]:
    return [str(item["image_name"]) for item in response.json()["items"]]


def _listed(key: str, image_name: str) -> Callable[[httpx.Response], bool]:
    def parse(response: httpx.Response) -> bool:
        return image_name in response.json()[key]

    return parse


def _every_board(parse: Callable[[httpx.Response], T], include_archived: bool) -> Call[T]:
    """The list of all boards, read by ``parse``."""
    params = {"all": True, "include_archived": include_archived}
    return Call("GET", "/api/v1/boards/", parse, params=params)


class BoardOps:
    """Board operations, written once for the sync and async repositories."""

    @operation
    def list_boards(self, *, include_archived: bool = False) -> Call[list[BoardDTO]]:
        """All boards the user can see."""
        return _every_board(parse_model_list(BoardDTO), include_archived)

    @operation
    def get_board(self, board_id: str) -> Call[BoardDTO]:
        """One board (NotFoundError if there is none with this id)."""
        return Call("GET", f"/api/v1/boards/{segment(board_id)}", parse_model(BoardDTO))

    @operation
    def get_board_by_name(
        self, board_name: str, *, include_archived: bool = False
    ) -> Call[BoardDTO | None]:
        """The first board named exactly ``board_name`` (names need not be unique), or None."""
        return _every_board(_by_name(board_name), include_archived)

    @operation
    def find_board(self, board: str) -> Call[BoardDTO]:
        """The board with this id or, else, this exact name (``NotFoundError`` listing the
        boards there are if none has)."""
        return _every_board(_named(board), include_archived=True)

    @operation
    def create_board(self, board_name: str) -> Call[BoardDTO]:
        """Create a board."""
        return Call(
            "POST", "/api/v1/boards/", parse_model(BoardDTO), params={"board_name": board_name}
        )

    @operation
    def update_board(
        self,
        board_id: str,
        *,
        board_name: str | None = None,
        cover_image_name: str | None = None,
        archived: bool | None = None,
    ) -> Call[BoardDTO]:
        """Rename, archive or set the cover image of a board."""
        changes = query(board_name=board_name, cover_image_name=cover_image_name, archived=archived)
        return Call(
            "PATCH", f"/api/v1/boards/{segment(board_id)}", parse_model(BoardDTO), json=changes
        )

    @operation
    def delete_board(
        self, board_id: str, *, include_images: bool = False
    ) -> Call[DeleteBoardResult]:
        """Delete a board; its images move to no board unless ``include_images``."""
        return Call(
            "DELETE",
            f"/api/v1/boards/{segment(board_id)}",
            parse_model(DeleteBoardResult),
            params={"include_images": include_images},
        )


class BoardHandleOps:
    """Operations on one board's images (``board_id`` ``"none"``: images on no board)."""

    board_id: str

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.board_id!r})"

    @operation
    def get_info(self) -> Call[BoardDTO]:
        """This board's record (name, counts, cover)."""
        return BoardOps.get_board.call(self, self.board_id)

    @operation
    def list_images(
        self,
        *,
        offset: int = 0,
        limit: int = 100,
        order_dir: OrderDir = "DESC",
        order_by: Literal["created_at"] = "created_at",
    ) -> Call[list[str]]:
        """Names of this board's images, newest first (``order_dir="ASC"``: oldest first). The
        server orders images by creation time only: ``order_by`` takes just ``"created_at"``."""
        if order_by != "created_at":
            raise ValueError(
                f"order_by={order_by!r}: the server orders images by creation time only "
                "(order_by='created_at'; order_dir='ASC' or 'DESC')"
            )
        return IMAGE_ROUTES.listing(
            _image_names,
            None,
            board_id=self.board_id,
            offset=offset,
            limit=limit,
            order_dir=order_dir,
        )

    @operation
    def upload_image(
        self,
        source: ImageSource,
        *,
        category: ImageCategory = "general",
        is_intermediate: bool = False,
        metadata: Mapping[str, Any] | None = None,
        filename: str | None = None,
    ) -> Call[ImageDTO]:
        """Upload an image (path, bytes or PIL image) onto this board."""
        return ImageOps.upload_image.call(
            self,
            source,
            category=category,
            is_intermediate=is_intermediate,
            board_id=self.board_id,
            metadata=metadata,
            filename=filename,
        )

    @operation
    def download_image(self, image_name: str) -> Call[bytes]:
        """The full image, PNG bytes."""
        return ImageOps.download_image.call(self, image_name)

    @operation
    def move_image_to(self, image_name: str, board_id: str) -> Call[bool]:
        """Move an image to another board (``"none"``: to no board); True if it moved."""
        if board_id == NO_BOARD:
            return _remove(image_name)
        body = {"board_id": board_id, "image_name": image_name}
        return Call("POST", "/api/v1/board_images/", _listed("added_images", image_name), json=body)

    @operation
    def add_image(self, image_name: str) -> Call[bool]:
        """Move an image onto this board; True if it moved."""
        return BoardHandleOps.move_image_to.call(self, image_name, self.board_id)

    @operation
    def remove_image(self, image_name: str) -> Call[bool]:
        """Take an image off its board (it stays, on no board); True if it was removed."""
        return _remove(image_name)

    @operation
    def delete_image(self, image_name: str) -> Call[bool]:
        """Delete an image from the server; True if it was deleted."""
        return Call("DELETE", IMAGE_ROUTES.path(image_name), _listed("deleted_images", image_name))

    @operation
    def star_image(self, image_name: str) -> Call[bool]:
        """Star an image; True if it changed."""
        body = {"image_names": [image_name]}
        return Call("POST", "/api/v1/images/star", _listed("starred_images", image_name), json=body)

    @operation
    def unstar_image(self, image_name: str) -> Call[bool]:
        """Remove an image's star; True if it changed."""
        body = {"image_names": [image_name]}
        return Call(
            "POST", "/api/v1/images/unstar", _listed("unstarred_images", image_name), json=body
        )

    @operation
    def delete(self, *, include_images: bool = False) -> Call[DeleteBoardResult]:
        """Delete this board; its images move to no board unless ``include_images``."""
        return BoardOps.delete_board.call(self, self.board_id, include_images=include_images)


def _remove(image_name: str) -> Call[bool]:
    return Call(
        "DELETE",
        "/api/v1/board_images/",
        _listed("removed_images", image_name),
        json={"image_name": image_name},
    )


class BoardHandle(SyncRepository, BoardHandleOps):
    """One board's images (``client.board_repo.get_board_handle(board_id)``)."""

    def __init__(self, client: SyncBound, board_id: str) -> None:
        super().__init__(client)
        self.board_id = board_id


class AsyncBoardHandle(AsyncRepository, BoardHandleOps):
    """One board's images, async."""

    def __init__(self, client: AsyncBound, board_id: str) -> None:
        super().__init__(client)
        self.board_id = board_id


class BoardRepository(SyncRepository, BoardOps):
    """``client.board_repo``: list, get, create, update and delete boards."""

    def get_board_handle(self, board_id: str) -> BoardHandle:
        """A handle on one board's images. ``board_id`` may also be a board's name: it is then
        looked up (one request; ``NotFoundError`` if no board has it); an id costs no request."""
        if not is_board_id(board_id):
            board_id = self.execute(BoardOps.find_board.call(self, board_id)).board_id
        return BoardHandle(self._client, board_id)


class AsyncBoardRepository(AsyncRepository, BoardOps):
    """``async_client.board_repo``: list, get, create, update and delete boards."""

    def get_board_handle(self, board_id: str) -> AsyncBoardHandle:
        """A handle on one board's images (no request is made): give its id; for a board
        known by name, ``await board_repo.find_board(name)`` gives the id."""
        if not is_board_id(board_id):
            raise ValueError(
                f"{board_id!r} is not a board id: use the id of "
                f"(await board_repo.find_board({board_id!r}))"
            )
        return AsyncBoardHandle(self._client, board_id)
