"""Videos on the server (``/api/v1/videos``, InvokeAI 6.14): upload, DTO, download, board, delete.

The server takes MP4 files only (it probes each upload with ffmpeg and answers 415 for anything
else); the check here is the container's ``ftyp`` box, so a wrong file fails before it is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ivkgen.runtime._media import VideoSource
from ivkgen.runtime._repositories._base import AsyncRepository, SyncRepository
from ivkgen.runtime._repositories._media import MediaRoutes, OrderDir, read_source
from ivkgen.runtime._server.core import Call, operation, parse_bytes, parse_model, parse_names
from ivkgen.runtime._server.dto import DeleteVideosResult, ImageCategory, VideoDTO, VideoPage

VIDEO_MIME = "video/mp4"
ROUTES = MediaRoutes("video")


def is_mp4(data: bytes) -> bool:
    """Whether the bytes start like an MP4 (ISO base media) file: a ``ftyp`` box."""
    return len(data) >= 12 and data[4:8] == b"ftyp"


def video_file(source: VideoSource, filename: str | None = None) -> tuple[str, bytes, str]:
    """``(file name, bytes, content type)`` of an MP4 video given as a path or bytes."""
    read = read_source(source, filename)
    if read is None:
        raise TypeError(
            f"cannot upload a {type(source).__name__} as a video: give an MP4 file path or bytes"
        )
    data, name = read
    if not is_mp4(data):
        what = f"file {name!r}" if name else "the bytes given"
        raise ValueError(f"{what} is not an MP4 video (the server takes MP4 only)")
    return name or "video.mp4", data, VIDEO_MIME


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
        return ROUTES.upload(
            video_file(source, filename),
            parse_model(VideoDTO),
            category=category,
            is_intermediate=is_intermediate,
            board_id=board_id,
            session_id=session_id,
            metadata=metadata,
        )

    @operation
    def get_video_dto(self, video_name: str) -> Call[VideoDTO]:
        """The video's record: size, duration, fps, board, session, flags, URLs."""
        return Call("GET", ROUTES.path(video_name), parse_model(VideoDTO))

    @operation
    def download_video(self, video_name: str) -> Call[bytes]:
        """The full video, MP4 bytes."""
        return Call("GET", ROUTES.path(video_name, "/full"), parse_bytes)

    @operation
    def download_video_thumbnail(self, video_name: str) -> Call[bytes]:
        """The first frame, WebP bytes."""
        return Call("GET", ROUTES.path(video_name, "/thumbnail"), parse_bytes)

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
        return ROUTES.listing(
            parse_model(VideoPage),
            categories,
            board_id=board_id,
            is_intermediate=is_intermediate,
            offset=offset,
            limit=limit,
            order_dir=order_dir,
            search_term=search_term,
        )

    @operation
    def add_video_to_board(self, video_name: str, board_id: str) -> Call[list[str]]:
        """Move a video onto a board; returns the names added."""
        body = {"board_id": board_id, "video_name": video_name}
        return Call("POST", "/api/v1/videos/board", parse_names("added_videos"), json=body)

    @operation
    def remove_video_from_board(self, video_name: str) -> Call[list[str]]:
        """Take a video off its board; returns the names removed."""
        body = {"video_name": video_name}
        return Call("DELETE", "/api/v1/videos/board", parse_names("removed_videos"), json=body)

    @operation
    def delete_video(self, video_name: str) -> Call[DeleteVideosResult]:
        """Delete one video (NotFoundError if there is none of that name)."""
        return Call("DELETE", ROUTES.path(video_name), parse_model(DeleteVideosResult))

    @operation
    def delete_videos(self, video_names: Sequence[str]) -> Call[DeleteVideosResult]:
        """Delete up to 1000 videos; names that fail are in ``failed_videos``."""
        return ROUTES.delete_many(video_names, parse_model(DeleteVideosResult))


class VideoRepository(SyncRepository, VideoOps):
    """``client.video_repo``: the server's videos."""


class AsyncVideoRepository(AsyncRepository, VideoOps):
    """``async_client.video_repo``: the server's videos."""
