"""Repositories of server objects: boards, images, videos, the workflow library, models, the
queue.

The names below load their module on first use (PEP 562): importing one repository module (as
the jobs do) does not import the others.
"""

from typing import TYPE_CHECKING

from ivkgen.runtime._lazy import lazy_attributes

if TYPE_CHECKING:
    from ivkgen.runtime._repositories.boards import (
        NO_BOARD,
        AsyncBoardHandle,
        AsyncBoardRepository,
        BoardHandle,
        BoardRepository,
    )
    from ivkgen.runtime._repositories.images import AsyncImageRepository, ImageRepository
    from ivkgen.runtime._repositories.models import AsyncModelRepository, ModelRepository
    from ivkgen.runtime._repositories.queue import AsyncQueueRepository, QueueRepository
    from ivkgen.runtime._repositories.videos import AsyncVideoRepository, VideoRepository
    from ivkgen.runtime._repositories.workflows import AsyncWorkflowRepository, WorkflowRepository

__all__ = [
    "NO_BOARD",
    "AsyncBoardHandle",
    "AsyncBoardRepository",
    "AsyncImageRepository",
    "AsyncModelRepository",
    "AsyncQueueRepository",
    "AsyncVideoRepository",
    "AsyncWorkflowRepository",
    "BoardHandle",
    "BoardRepository",
    "ImageRepository",
    "ModelRepository",
    "QueueRepository",
    "VideoRepository",
    "WorkflowRepository",
]

_HOME = {
    "NO_BOARD": ".boards",
    "AsyncBoardHandle": ".boards",
    "AsyncBoardRepository": ".boards",
    "BoardHandle": ".boards",
    "BoardRepository": ".boards",
    "AsyncImageRepository": ".images",
    "ImageRepository": ".images",
    "AsyncModelRepository": ".models",
    "ModelRepository": ".models",
    "AsyncQueueRepository": ".queue",
    "QueueRepository": ".queue",
    "AsyncVideoRepository": ".videos",
    "VideoRepository": ".videos",
    "AsyncWorkflowRepository": ".workflows",
    "WorkflowRepository": ".workflows",
}

__getattr__, __dir__ = lazy_attributes(__name__, _HOME)
