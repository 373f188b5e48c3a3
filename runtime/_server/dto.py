"""Typed views of the server's JSON answers (boards, images, workflows, models, queue).

Only the fields a client relies on are declared; every other field the server sends is kept
(``extra="allow"``) and reachable through ``model_extra`` or ``model_dump()``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Literal

from ivkgen.runtime._server.mapping import ReadableAsDict
from pydantic import BaseModel, ConfigDict

ImageCategory = Literal["general", "mask", "control", "user", "other"]
QueueItemStatus = Literal["pending", "in_progress", "waiting", "completed", "failed", "canceled"]


class JobStatus(StrEnum):
    """A queue item's status; compares equal to the server's strings (``item.status == "completed"``
    and ``item.status == JobStatus.COMPLETED`` agree). An item ends on a terminal one
    (``TERMINAL_STATUSES``): ``completed``, ``failed`` or ``canceled``."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES: frozenset[str] = frozenset(
    {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED}
)
"""The statuses an item ends on; they compare equal to the server's strings."""


class ServerModel(ReadableAsDict, BaseModel):
    """Base of the DTOs: fields the server adds beyond the declared ones are kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class BoardDTO(ServerModel):
    board_id: str
    board_name: str
    user_id: str | None = None
    created_at: str
    updated_at: str
    cover_image_name: str | None = None
    archived: bool = False
    board_visibility: str | None = None
    image_count: int = 0
    asset_count: int = 0


class DeleteBoardResult(ServerModel):
    board_id: str
    deleted_board_images: list[str]
    deleted_images: list[str]


class FileRecord(ServerModel):
    """What the server records of every image and video it stores."""

    thumbnail_url: str
    width: int
    height: int
    created_at: str
    updated_at: str
    is_intermediate: bool
    starred: bool
    has_workflow: bool
    board_id: str | None = None
    session_id: str | None = None
    """The session that made the file (None for an upload)."""
    node_id: str | None = None


class Page(ServerModel):
    """One page of a listing; ``total`` counts every match, not only this page."""

    limit: int
    offset: int
    total: int


class ImageDTO(FileRecord):
    """An image record of ``/api/v1/images``."""

    image_name: str
    image_url: str
    image_origin: str
    image_category: str


IvkImage = ImageDTO
"""An image record on the server (the name older clients used for ``ImageDTO``)."""


class ImagePage(Page):
    """One page of ``GET /api/v1/images/``."""

    items: list[ImageDTO]


class DeleteImagesResult(ServerModel):
    deleted_images: list[str]
    failed_images: list[str] = []
    affected_boards: list[str] = []


class VideoDTO(FileRecord):
    """A video record of ``/api/v1/videos`` (MP4; ``duration`` in seconds)."""

    video_name: str
    video_url: str
    video_origin: str
    video_category: str
    duration: float
    fps: float | None = None


class VideoPage(Page):
    """One page of ``GET /api/v1/videos/``."""

    items: list[VideoDTO]


class DeleteVideosResult(ServerModel):
    deleted_videos: list[str]
    failed_videos: list[str] = []
    affected_boards: list[str] = []


class WorkflowRecord(ServerModel):
    """A workflow stored in the server's library, with its full workflow JSON."""

    workflow_id: str
    name: str
    created_at: str
    updated_at: str
    opened_at: str | None = None
    user_id: str | None = None
    is_public: bool = False
    workflow: dict[str, Any]
    revision: int | None = None
    """Counts the record's updates (InvokeAI 7.0; None before): pass it as an update's
    ``expected_revision``."""


class WorkflowSummary(ServerModel):
    """A library entry as listed (no workflow JSON)."""

    workflow_id: str
    name: str
    description: str = ""
    category: str
    tags: str = ""
    created_at: str
    updated_at: str
    opened_at: str | None = None
    user_id: str | None = None
    is_public: bool = False
    thumbnail_url: str | None = None


class WorkflowPage(ServerModel):
    page: int
    pages: int
    per_page: int
    total: int
    items: list[WorkflowSummary]


class ModelConfig(ServerModel):
    """An installed model's config (``AnyModelConfig``); the identifier fields are typed."""

    key: str
    hash: str
    name: str
    base: str
    type: str
    format: str | None = None
    path: str | None = None
    description: str | None = None
    source: str | None = None

    def identifier(self) -> dict[str, Any]:
        """The ``ModelIdentifierField`` value that selects this model in a graph."""
        return {
            "key": self.key,
            "hash": self.hash,
            "name": self.name,
            "base": self.base,
            "type": self.type,
            "submodel_type": None,
        }


class StatusReport(BaseModel):
    """Where a queue item stands: its status and, once it ended, when and why. A polled
    ``SessionQueueItem``, a ``queue_item_status_changed`` event and a job's ``Job`` all report
    these fields."""

    status: QueueItemStatus
    started_at: str | None = None
    completed_at: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    error_traceback: str | None = None

    @property
    def is_terminal(self) -> bool:
        """Whether the item ended (completed, failed or canceled)."""
        return self.status in TERMINAL_STATUSES


class StatusCounts(ServerModel):
    """Item counts by status, of a queue or of one batch."""

    pending: int
    in_progress: int
    waiting: int = 0
    completed: int
    failed: int
    canceled: int
    total: int


class QueueStatus(StatusCounts):
    queue_id: str
    item_id: int | None = None
    batch_id: str | None = None
    session_id: str | None = None


class ProcessorStatus(ServerModel):
    is_started: bool
    is_processing: bool


class QueueAndProcessorStatus(ServerModel):
    queue: QueueStatus
    processor: ProcessorStatus


class BatchStatus(StatusCounts):
    queue_id: str
    batch_id: str
    origin: str | None = None
    destination: str | None = None


class EnqueueBatchResult(ServerModel):
    """What ``enqueue_batch`` returns; ``item_ids`` are ordered by item id, newest first."""

    derived_keys: ClassVar[tuple[str, ...]] = ("batch_id",)

    queue_id: str
    enqueued: int
    requested: int
    batch: dict[str, Any]
    priority: int
    item_ids: list[int]

    @property
    def batch_id(self) -> str:
        return str(self.batch["batch_id"])


class EnqueueReceipt(ServerModel):
    """What a batch sent with an ``idempotency_key`` enqueued (InvokeAI 7.0's receipt)."""

    batch_id: str
    enqueued: int
    requested: int
    item_ids: list[int]


class SessionQueueItem(ServerModel, StatusReport):
    """A queue item; ``session`` holds the graph, results and source/prepared id mappings."""

    item_id: int
    status_sequence: int | None = None
    priority: int = 0
    batch_id: str
    queue_id: str
    session_id: str
    origin: str | None = None
    destination: str | None = None
    created_at: str
    updated_at: str
    user_id: str | None = None
    field_values: list[dict[str, Any]] | None = None
    session: dict[str, Any]
    workflow: dict[str, Any] | None = None
    parent_item_id: int | None = None
    """The item whose ``call_saved_workflow`` node enqueued this one (6.14), else None."""
    root_item_id: int | None = None


class QueueItemSummary(ServerModel, StatusReport):
    """A queue item without its session (``item_summaries_by_ids``, InvokeAI 6.14): what a wait
    needs to follow it."""

    item_id: int
    batch_id: str
    created_at: str
    status_sequence: int | None = None
    session_id: str | None = None
    """Not sent in a summary: the fields of a polled item that it leaves empty."""


PolledItem = SessionQueueItem | QueueItemSummary
"""What a wait reads of an item: the whole item, or its summary while it has not ended."""


class UserDTO(ServerModel):
    user_id: str
    email: str
    display_name: str | None = None
    is_admin: bool = False


class AuthStatus(ServerModel):
    setup_required: bool
    multiuser_enabled: bool
    admin_email: str | None = None
