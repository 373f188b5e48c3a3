"""Videos on the server (``/api/v1/videos``, InvokeAI 6.14): upload, DTO, download, board, delete.

The server takes MP4 files only (it probes each upload with ffmpeg and answers 415 for anything
else); the check here is the container's ``ftyp`` box, so a wrong file fails before it is sent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from ivkgen.runtime.media import VideoSource
from ivkgen.runtime.repositories._base import AsyncRepository, SyncRepository
from ivkgen.runtime.repositories.images import MAX_NAMES_PER_CALL, OrderDir
from ivkgen.runtime.server.core import Call, operation, parse_bytes, parse_model
from ivkgen.runtime.server.dto import DeleteVideosResult, ImageCategory, VideoDTO, VideoPage
from ivkgen.runtime.server.urls import query, segment

VIDEO_MIME = "video/mp4"


def is_mp4(data: bytes) -> bool:
    """Whether the bytes start like an MP4 (ISO base media) file: a ``ftyp`` box."""
    return len(data) >= 12 and data[4:8] == b"ftyp"


def video_file(source: VideoSource, filename: str | None = None) -> tuple[str, bytes, str]:
    """``(file name, bytes, content type)`` of an MP4 video given as a path or bytes."""
    if isinstance(source, bytes | bytearray):
        data, name = bytes(source), filename
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        data, name = path.read_bytes(), filename or path.name
    else:
        raise TypeError(
            f"cannot upload a {type(source).__name__} as a video: give an MP4 file path or bytes"
        )
    if not is_mp4(data):
        what = f"file {name!r}" if name else "the bytes given"
        raise ValueError(f"{what} is not an MP4 video (the server takes MP4 only)")
    return name or "video.mp4", data, VIDEO_MIME


def _names_body(names: Sequence[str]) -> dict[str, list[str]]:
    if isinstance(names, str):
        raise TypeError("give a list of video names, not one string")
    if len(names) > MAX_NAMES_PER_CALL:
        raise ValueError(f"{len(names)} video names: the server takes at most {MAX_NAMES_PER_CALL}")
    return {"video_names": list(names)}


class VideoOps:
    """The video operations, written once for the sync and async repositories."""

    @operation
    def upload_video(
        self,
        source: VideoSource,
        *,
        category: ImageCategory = "user",
        is_intermediate: bool = False,
        board_id: str | None = None,
        session_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        filename: str | None = None,
    ) -> Call[VideoDTO]:
        """Upload an MP4 video (path or bytes); returns the server's DTO."""
        return Call(
            "POST",
            "/api/v1/videos/upload",
            parse_model(VideoDTO),
            params=query(
                video_category=category,
                is_intermediate=is_intermediate,
                board_id=None if board_id == "none" else board_id,
                session_id=session_id,
            ),
            files={"file": video_file(source, filename)},
            data={"metadata": json.dumps(dict(metadata))} if metadata is not None else None,
        )

    @operation
    def get_video_dto(self, video_name: str) -> Call[VideoDTO]:
        """The video's record: size, duration, fps, board, session, flags, URLs."""
        return Call("GET", f"/api/v1/videos/i/{segment(video_name)}", parse_model(VideoDTO))

    @operation
    def download_video(self, video_name: str) -> Call[bytes]:
        """The full video, MP4 bytes."""
        return Call("GET", f"/api/v1/videos/i/{segment(video_name)}/full", parse_bytes)

    @operation
    def download_video_thumbnail(self, video_name: str) -> Call[bytes]:
        """The first frame, WebP bytes."""
        return Call("GET", f"/api/v1/videos/i/{segment(video_name)}/thumbnail", parse_bytes)

    @operation
    def list_videos(
        self,
        *,
        board_id: str | None = None,
        categories: Sequence[ImageCategory] | None = None,
        is_intermediate: bool | None = None,
        offset: int = 0,
        limit: int = 100,
        order_dir: OrderDir = "DESC",
        search_term: str | None = None,
    ) -> Call[VideoPage]:
        """One page of videos, newest first; ``board_id="none"`` lists videos on no board."""
        params = query(
            board_id=board_id,
            is_intermediate=is_intermediate,
            offset=offset,
            limit=limit,
            order_dir=order_dir,
            search_term=search_term,
        )
        pairs = [*params.items(), *(("categories", c) for c in categories or ())]
        return Call("GET", "/api/v1/videos/", parse_model(VideoPage), params=pairs)

    @operation
    def add_video_to_board(self, video_name: str, board_id: str) -> Call[list[str]]:
        """Move a video onto a board; returns the names added."""
        body = {"board_id": board_id, "video_name": video_name}
        return Call("POST", "/api/v1/videos/board", _added, json=body)

    @operation
    def remove_video_from_board(self, video_name: str) -> Call[list[str]]:
        """Take a video off its board; returns the names removed."""
        return Call("DELETE", "/api/v1/videos/board", _removed, json={"video_name": video_name})

    @operation
    def delete_video(self, video_name: str) -> Call[DeleteVideosResult]:
        """Delete one video (NotFoundError if there is none of that name)."""
        return Call(
            "DELETE", f"/api/v1/videos/i/{segment(video_name)}", parse_model(DeleteVideosResult)
        )

    @operation
    def delete_videos(self, video_names: Sequence[str]) -> Call[DeleteVideosResult]:
        """Delete up to 1000 videos; names that fail are in ``failed_videos``."""
        return Call(
            "POST",
            "/api/v1/videos/delete",
            parse_model(DeleteVideosResult),
            json=_names_body(video_names),
        )


def _added(response: httpx.Response) -> list[str]:
    return [str(name) for name in response.json()["added_videos"]]


def _removed(response: httpx.Response) -> list[str]:
    return [str(name) for name in response.json()["removed_videos"]]


class VideoRepository(SyncRepository, VideoOps):
    """``client.video_repo``: the server's videos."""


class AsyncVideoRepository(AsyncRepository, VideoOps):
    """``async_client.video_repo``: the server's videos."""
