"""ivkgen runtime: load InvokeAI workflows, submit them to a server, track them, collect outputs.

The public API is re-exported here once; the modules behind it are private and load on first
use of a name (PEP 562), so importing ``runtime`` or a generated module stays cheap.
"""

from typing import TYPE_CHECKING

from runtime.lazy import lazy_attributes

if TYPE_CHECKING:
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
    from runtime.imaging import OutputImage
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

_HOME = {
    "AsyncBoardHandle": "runtime.repositories",
    "AsyncBoardRepository": "runtime.repositories",
    "AsyncImageRepository": "runtime.repositories",
    "AsyncInvokeAIClient": "runtime.client",
    "AsyncModelRepository": "runtime.repositories",
    "AsyncQueueRepository": "runtime.repositories",
    "AsyncWorkflowRepository": "runtime.repositories",
    "AuthError": "runtime.errors",
    "BatchStatus": "runtime.models",
    "BoardDTO": "runtime.models",
    "BoardHandle": "runtime.repositories",
    "BoardRepository": "runtime.repositories",
    "EnqueueBatchResult": "runtime.models",
    "Event": "runtime.events",
    "EventSocket": "runtime.socket",
    "HTTPStatusError": "runtime.errors",
    "ImageDTO": "runtime.models",
    "ImageRepository": "runtime.repositories",
    "InvokeAIClient": "runtime.client",
    "IvkBooleanField": "runtime.fields",
    "IvkCollectionField": "runtime.fields",
    "IvkEnumField": "runtime.fields",
    "IvkField": "runtime.fields",
    "IvkFloatField": "runtime.fields",
    "IvkIntegerField": "runtime.fields",
    "IvkSchedulerField": "runtime.fields",
    "IvkStringField": "runtime.fields",
    "IvkWorkflowInput": "runtime.form",
    "IvkgenError": "runtime.errors",
    "Job": "runtime.jobs",
    "JobCanceledError": "runtime.errors",
    "JobError": "runtime.errors",
    "JobFailedError": "runtime.errors",
    "JobTimeoutError": "runtime.errors",
    "ModelConfig": "runtime.models",
    "ModelRepository": "runtime.repositories",
    "NotFoundError": "runtime.errors",
    "OutputImage": "runtime.imaging",
    "QueueAndProcessorStatus": "runtime.models",
    "QueueRepository": "runtime.repositories",
    "RequestTimeoutError": "runtime.errors",
    "ServerUnreachableError": "runtime.errors",
    "ServerValidationError": "runtime.errors",
    "SessionEvent": "runtime.events",
    "SessionQueueItem": "runtime.models",
    "SubmitResult": "runtime.jobs",
    "TransportError": "runtime.errors",
    "WorkflowDefinition": "runtime.workflow",
    "WorkflowError": "runtime.errors",
    "WorkflowHandle": "runtime.handle",
    "WorkflowRecord": "runtime.models",
    "WorkflowRepository": "runtime.repositories",
}


__getattr__, __dir__ = lazy_attributes(__name__, _HOME)
