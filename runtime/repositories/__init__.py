"""Repositories of server objects: boards, images, the workflow library, models, the queue."""

from ivkgen.runtime.repositories.boards import (
    NO_BOARD,
    AsyncBoardHandle,
    AsyncBoardRepository,
    BoardHandle,
    BoardRepository,
)
from ivkgen.runtime.repositories.images import AsyncImageRepository, ImageRepository
from ivkgen.runtime.repositories.models import AsyncModelRepository, ModelRepository
from ivkgen.runtime.repositories.queue import AsyncQueueRepository, QueueRepository
from ivkgen.runtime.repositories.workflows import AsyncWorkflowRepository, WorkflowRepository

__all__ = [
    "NO_BOARD",
    "AsyncBoardHandle",
    "AsyncBoardRepository",
    "AsyncImageRepository",
    "AsyncModelRepository",
    "AsyncQueueRepository",
    "AsyncWorkflowRepository",
    "BoardHandle",
    "BoardRepository",
    "ImageRepository",
    "ModelRepository",
    "QueueRepository",
    "WorkflowRepository",
]
