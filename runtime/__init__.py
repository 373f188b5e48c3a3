"""ivkgen runtime: load InvokeAI workflows, submit them to a server, track them, collect outputs.

The public API is re-exported here once; the modules behind it are private and load on first
use of a name (PEP 562), so importing ``runtime`` or a generated module stays cheap. The ``Ivk*``
field classes of struct types (``IvkColorField``, ``IvkModelIdentifierField``, ...) are those of
the bundled InvokeAI 6.14.2 schema (``ivkgen.bundled``), the dynamic API's default catalog.

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
    from ivkgen.bundled import (
        IvkBoardField,
        IvkBoundingBoxField,
        IvkCLIPField,
        IvkColorField,
        IvkImageField,
        IvkLatentsField,
        IvkModelIdentifierField,
        IvkTensorField,
        IvkUNetField,
        IvkVAEField,
    )
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
    from ivkgen.runtime.events.messages import Event, GraphCompleteEvent, SessionEvent
    from ivkgen.runtime.events.socket import EventSocket
    from ivkgen.runtime.fields import IvkField
    from ivkgen.runtime.jobs.tracker import Job, SubmitResult
    from ivkgen.runtime.media import ImageSource, OutputImage, OutputVideo
    from ivkgen.runtime.repositories import (
        AsyncBoardHandle,
        AsyncBoardRepository,
        AsyncImageRepository,
        AsyncModelRepository,
        AsyncQueueRepository,
        AsyncVideoRepository,
        AsyncWorkflowRepository,
        BoardHandle,
        BoardRepository,
        ImageRepository,
        ModelRepository,
        QueueRepository,
        VideoRepository,
        WorkflowRepository,
    )
    from ivkgen.runtime.server.dto import (
        BatchStatus,
        BoardDTO,
        EnqueueBatchResult,
        ImageDTO,
        IvkImage,
        JobStatus,
        ModelConfig,
        QueueAndProcessorStatus,
        SessionQueueItem,
        VideoDTO,
        WorkflowRecord,
    )
    from ivkgen.runtime.values import (
        IvkBooleanField,
        IvkCollectionField,
        IvkEnumField,
        IvkFloatField,
        IvkIntegerField,
        IvkSchedulerField,
        IvkStringField,
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
    "AsyncVideoRepository",
    "AsyncWorkflowRepository",
    "AuthError",
    "BatchStatus",
    "BoardDTO",
    "BoardHandle",
    "BoardRepository",
    "EnqueueBatchResult",
    "Event",
    "EventSocket",
    "GraphCompleteEvent",
    "HTTPStatusError",
    "ImageDTO",
    "ImageRepository",
    "ImageSource",
    "InvokeAIClient",
    "IvkBoardField",
    "IvkBooleanField",
    "IvkBoundingBoxField",
    "IvkCLIPField",
    "IvkCollectionField",
    "IvkColorField",
    "IvkEnumField",
    "IvkField",
    "IvkFloatField",
    "IvkImage",
    "IvkImageField",
    "IvkIntegerField",
    "IvkLatentsField",
    "IvkModelIdentifierField",
    "IvkSchedulerField",
    "IvkStringField",
    "IvkTensorField",
    "IvkUNetField",
    "IvkVAEField",
    "IvkWorkflowInput",
    "IvkgenError",
    "Job",
    "JobCanceledError",
    "JobError",
    "JobFailedError",
    "JobStatus",
    "JobTimeoutError",
    "ModelConfig",
    "ModelRepository",
    "NotFoundError",
    "OutputImage",
    "OutputVideo",
    "QueueAndProcessorStatus",
    "QueueRepository",
    "RequestTimeoutError",
    "ServerUnreachableError",
    "ServerValidationError",
    "SessionEvent",
    "SessionQueueItem",
    "SubmitResult",
    "TransportError",
    "VideoDTO",
    "VideoRepository",
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
    "AsyncVideoRepository": "ivkgen.runtime.repositories",
    "AsyncWorkflowRepository": "ivkgen.runtime.repositories",
    "AuthError": "ivkgen.runtime.errors",
    "BatchStatus": "ivkgen.runtime.server.dto",
    "BoardDTO": "ivkgen.runtime.server.dto",
    "BoardHandle": "ivkgen.runtime.repositories",
    "BoardRepository": "ivkgen.runtime.repositories",
    "EnqueueBatchResult": "ivkgen.runtime.server.dto",
    "Event": "ivkgen.runtime.events.messages",
    "EventSocket": "ivkgen.runtime.events.socket",
    "GraphCompleteEvent": "ivkgen.runtime.events.messages",
    "HTTPStatusError": "ivkgen.runtime.errors",
    "ImageDTO": "ivkgen.runtime.server.dto",
    "ImageRepository": "ivkgen.runtime.repositories",
    "ImageSource": "ivkgen.runtime.media",
    "InvokeAIClient": "ivkgen.runtime.client",
    "IvkBoardField": "ivkgen.bundled",
    "IvkBooleanField": "ivkgen.runtime.values",
    "IvkBoundingBoxField": "ivkgen.bundled",
    "IvkCLIPField": "ivkgen.bundled",
    "IvkCollectionField": "ivkgen.runtime.values",
    "IvkColorField": "ivkgen.bundled",
    "IvkEnumField": "ivkgen.runtime.values",
    "IvkField": "ivkgen.runtime.fields",
    "IvkFloatField": "ivkgen.runtime.values",
    "IvkImage": "ivkgen.runtime.server.dto",
    "IvkImageField": "ivkgen.bundled",
    "IvkIntegerField": "ivkgen.runtime.values",
    "IvkLatentsField": "ivkgen.bundled",
    "IvkModelIdentifierField": "ivkgen.bundled",
    "IvkSchedulerField": "ivkgen.runtime.values",
    "IvkStringField": "ivkgen.runtime.values",
    "IvkTensorField": "ivkgen.bundled",
    "IvkUNetField": "ivkgen.bundled",
    "IvkVAEField": "ivkgen.bundled",
    "IvkWorkflowInput": "ivkgen.runtime.workflow.form",
    "IvkgenError": "ivkgen.runtime.errors",
    "Job": "ivkgen.runtime.jobs.tracker",
    "JobCanceledError": "ivkgen.runtime.errors",
    "JobError": "ivkgen.runtime.errors",
    "JobFailedError": "ivkgen.runtime.errors",
    "JobStatus": "ivkgen.runtime.server.dto",
    "JobTimeoutError": "ivkgen.runtime.errors",
    "ModelConfig": "ivkgen.runtime.server.dto",
    "ModelRepository": "ivkgen.runtime.repositories",
    "NotFoundError": "ivkgen.runtime.errors",
    "OutputImage": "ivkgen.runtime.media",
    "OutputVideo": "ivkgen.runtime.media",
    "QueueAndProcessorStatus": "ivkgen.runtime.server.dto",
    "QueueRepository": "ivkgen.runtime.repositories",
    "RequestTimeoutError": "ivkgen.runtime.errors",
    "ServerUnreachableError": "ivkgen.runtime.errors",
    "ServerValidationError": "ivkgen.runtime.errors",
    "SessionEvent": "ivkgen.runtime.events.messages",
    "SessionQueueItem": "ivkgen.runtime.server.dto",
    "SubmitResult": "ivkgen.runtime.jobs.tracker",
    "TransportError": "ivkgen.runtime.errors",
    "VideoDTO": "ivkgen.runtime.server.dto",
    "VideoRepository": "ivkgen.runtime.repositories",
    "WorkflowDefinition": "ivkgen.runtime.workflow.definition",
    "WorkflowError": "ivkgen.runtime.errors",
    "WorkflowHandle": "ivkgen.runtime.workflow.handle",
    "WorkflowRecord": "ivkgen.runtime.server.dto",
    "WorkflowRepository": "ivkgen.runtime.repositories",
}


__getattr__, __dir__ = lazy_attributes(__name__, _HOME)
