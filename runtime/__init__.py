"""ivkgen runtime: load InvokeAI workflows, submit them to a server, track them, collect outputs.

The public API is re-exported here once; the modules behind it are private and load on first
use of a name (PEP 562), so importing ``runtime`` or a generated module stays cheap.

Sync and async, one naming rule: where one object has a blocking method and an awaited twin,
the twin carries an ``a`` prefix (``run``/``arun``, ``get_outputs``/``aget_outputs``,
``cleanup_outputs``/``acleanup_outputs``, ``save``/``asave``, ``close``/``aclose``); the
repositories of ``InvokeAIClient`` and ``AsyncInvokeAIClient`` share their method names (awaited
on the async client). The names the original client API fixed stay as they are:
``submit_sync()``/``await submit()``, ``wait_for_completion_sync()``/``await
wait_for_completion()`` and ``cancel()``/``await cancel_async()``. A ``WorkflowHandle`` is typed
by its client (``WorkflowHandle[InvokeAIClient]``, ``WorkflowHandle[AsyncInvokeAIClient]``), so
mypy rejects a blocking method on an async client's handle.
"""

from typing import TYPE_CHECKING

from ivkgen.runtime._lazy import lazy_attributes

if TYPE_CHECKING:
    from ivkgen.runtime.client import AsyncInvokeAIClient, InvokeAIClient
    from ivkgen.runtime.errors import (
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
    from ivkgen.runtime.events.messages import Event, SessionEvent
    from ivkgen.runtime.events.socket import EventSocket
    from ivkgen.runtime.fields import (
        IvkBooleanField,
        IvkCollectionField,
        IvkEnumField,
        IvkField,
        IvkFloatField,
        IvkIntegerField,
        IvkSchedulerField,
        IvkStringField,
    )
    from ivkgen.runtime.jobs.tracker import Job, SubmitResult
    from ivkgen.runtime.media import ImageSource, OutputImage
    from ivkgen.runtime.repositories import (
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
    from ivkgen.runtime.server.dto import (
        BatchStatus,
        BoardDTO,
        EnqueueBatchResult,
        ImageDTO,
        ModelConfig,
        QueueAndProcessorStatus,
        SessionQueueItem,
        WorkflowRecord,
    )
    from ivkgen.runtime.workflow.definition import WorkflowDefinition
    from ivkgen.runtime.workflow.form import IvkWorkflowInput
    from ivkgen.runtime.workflow.handle import WorkflowHandle

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
    "ImageSource",
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
    "AsyncBoardHandle": "ivkgen.runtime.repositories",
    "AsyncBoardRepository": "ivkgen.runtime.repositories",
    "AsyncImageRepository": "ivkgen.runtime.repositories",
    "AsyncInvokeAIClient": "ivkgen.runtime.client",
    "AsyncModelRepository": "ivkgen.runtime.repositories",
    "AsyncQueueRepository": "ivkgen.runtime.repositories",
    "AsyncWorkflowRepository": "ivkgen.runtime.repositories",
    "AuthError": "ivkgen.runtime.errors",
    "BatchStatus": "ivkgen.runtime.server.dto",
    "BoardDTO": "ivkgen.runtime.server.dto",
    "BoardHandle": "ivkgen.runtime.repositories",
    "BoardRepository": "ivkgen.runtime.repositories",
    "EnqueueBatchResult": "ivkgen.runtime.server.dto",
    "Event": "ivkgen.runtime.events.messages",
    "EventSocket": "ivkgen.runtime.events.socket",
    "HTTPStatusError": "ivkgen.runtime.errors",
    "ImageDTO": "ivkgen.runtime.server.dto",
    "ImageRepository": "ivkgen.runtime.repositories",
    "ImageSource": "ivkgen.runtime.media",
    "InvokeAIClient": "ivkgen.runtime.client",
    "IvkBooleanField": "ivkgen.runtime.fields",
    "IvkCollectionField": "ivkgen.runtime.fields",
    "IvkEnumField": "ivkgen.runtime.fields",
    "IvkField": "ivkgen.runtime.fields",
    "IvkFloatField": "ivkgen.runtime.fields",
    "IvkIntegerField": "ivkgen.runtime.fields",
    "IvkSchedulerField": "ivkgen.runtime.fields",
    "IvkStringField": "ivkgen.runtime.fields",
    "IvkWorkflowInput": "ivkgen.runtime.workflow.form",
    "IvkgenError": "ivkgen.runtime.errors",
    "Job": "ivkgen.runtime.jobs.tracker",
    "JobCanceledError": "ivkgen.runtime.errors",
    "JobError": "ivkgen.runtime.errors",
    "JobFailedError": "ivkgen.runtime.errors",
    "JobTimeoutError": "ivkgen.runtime.errors",
    "ModelConfig": "ivkgen.runtime.server.dto",
    "ModelRepository": "ivkgen.runtime.repositories",
    "NotFoundError": "ivkgen.runtime.errors",
    "OutputImage": "ivkgen.runtime.media",
    "QueueAndProcessorStatus": "ivkgen.runtime.server.dto",
    "QueueRepository": "ivkgen.runtime.repositories",
    "RequestTimeoutError": "ivkgen.runtime.errors",
    "ServerUnreachableError": "ivkgen.runtime.errors",
    "ServerValidationError": "ivkgen.runtime.errors",
    "SessionEvent": "ivkgen.runtime.events.messages",
    "SessionQueueItem": "ivkgen.runtime.server.dto",
    "SubmitResult": "ivkgen.runtime.jobs.tracker",
    "TransportError": "ivkgen.runtime.errors",
    "WorkflowDefinition": "ivkgen.runtime.workflow.definition",
    "WorkflowError": "ivkgen.runtime.errors",
    "WorkflowHandle": "ivkgen.runtime.workflow.handle",
    "WorkflowRecord": "ivkgen.runtime.server.dto",
    "WorkflowRepository": "ivkgen.runtime.repositories",
}


__getattr__, __dir__ = lazy_attributes(__name__, _HOME)
