"""Repositories of server objects: boards, images, the workflow library, models, the queue."""

from runtime.repositories.boards import (
    NO_BOARD,
    AsyncBoardHandle,
    AsyncBoardRepository,
    BoardHandle,
    BoardRepository,
)
from runtime.repositories.images import AsyncImageRepository, ImageRepository, ImageSource
from runtime.repositories.model_manager import AsyncModelRepository, ModelRepository
from runtime.repositories.queue import AsyncQueueRepository, QueueRepository
from runtime.repositories.workflows import AsyncWorkflowRepository, WorkflowRepository

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
    "ImageSource",
    "ModelRepository",
    "QueueRepository",
    "WorkflowRepository",
]
