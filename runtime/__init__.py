"""ivkgen runtime: load InvokeAI workflows, submit them to a server, track them, collect outputs.

The public API is re-exported here once; the modules behind it are private.
"""

from runtime.client import AsyncInvokeAIClient, InvokeAIClient
from runtime.errors import (
    AuthError,
    HTTPStatusError,
    IvkgenError,
    JobCanceledError,
    JobError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
    RequestTimeoutError,
    ServerUnreachableError,
    ServerValidationError,
    TransportError,
    WorkflowError,
)
from runtime.events import Event, SessionEvent
from runtime.fields import (
    IvkBooleanField,
    IvkCollectionField,
    IvkEnumField,
    IvkField,
    IvkFloatField,
    IvkIntegerField,
    IvkSchedulerField,
    IvkStringField,
)
from runtime.form import IvkWorkflowInput
from runtime.handle import WorkflowHandle
from runtime.jobs import Job, SubmitResult
from runtime.models import (
    BatchStatus,
    BoardDTO,
    EnqueueBatchResult,
    ImageDTO,
    ModelConfig,
    QueueAndProcessorStatus,
    SessionQueueItem,
    WorkflowRecord,
)
from runtime.outputs import OutputImage
from runtime.repositories import (
    AsyncBoardHandle,
    AsyncBoardRepository,
    AsyncImageRepository,
    AsyncModelRepository,
    AsyncQueueRepository,
    AsyncWorkflowRepository,
    BoardHandle,
    BoardRepository,
    ImageRepository,
    ModelRepository,
    QueueRepository,
    WorkflowRepository,
)
from runtime.socket import EventSocket
from runtime.workflow import WorkflowDefinition

__all__ = [
    "AsyncBoardHandle",
    "AsyncBoardRepository",
    "AsyncImageRepository",
    "AsyncInvokeAIClient",
    "AsyncModelRepository",
    "AsyncQueueRepository",
    "AsyncWorkflowRepository",
    "AuthError",
    "BatchStatus",
    "BoardDTO",
    "BoardHandle",
    "BoardRepository",
    "EnqueueBatchResult",
    "Event",
    "EventSocket",
    "HTTPStatusError",
    "ImageDTO",
    "ImageRepository",
    "InvokeAIClient",
    "IvkBooleanField",
    "IvkCollectionField",
    "IvkEnumField",
    "IvkField",
    "IvkFloatField",
    "IvkIntegerField",
    "IvkSchedulerField",
    "IvkStringField",
    "IvkWorkflowInput",
    "IvkgenError",
    "Job",
    "JobCanceledError",
    "JobError",
    "JobFailedError",
    "JobTimeoutError",
    "ModelConfig",
    "ModelRepository",
    "NotFoundError",
    "OutputImage",
    "QueueAndProcessorStatus",
    "QueueRepository",
    "RequestTimeoutError",
    "ServerUnreachableError",
    "ServerValidationError",
    "SessionEvent",
    "SessionQueueItem",
    "SubmitResult",
    "TransportError",
    "WorkflowDefinition",
    "WorkflowError",
    "WorkflowHandle",
    "WorkflowRecord",
    "WorkflowRepository",
]
