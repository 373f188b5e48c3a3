"""ivkgen runtime: load InvokeAI workflows, submit them to a server, track them, collect outputs.

The public API is re-exported here once; the modules behind it are private and load on first
use of a name (PEP 562), so importing ``runtime`` or a generated module stays cheap. The ``Ivk*``
field classes of struct types (``IvkColorField``, ``IvkModelIdentifierField``, ...) are those of
the bundled InvokeAI 6.14.2 schema (``ivkgen.bundled``), the dynamic API's default catalog.

Sync and async, one naming rule (docs/sync-async-and-events.md): an object with a blocking
server method has its awaited twin, named with an ``a`` prefix (``run``/``arun``,
``get_outputs``/``aget_outputs``, ``close``/``aclose``); the async client's classes keep the
blocking classes' names, awaited. The original client API's names stay: ``submit_sync()``/``await
submit()``, ``wait_for_completion_sync()``/``await wait_for_completion()`` and
``cancel()``/``await cancel_async()``. A ``WorkflowHandle`` is a ``WorkflowForm`` (the inputs,
no client) bound to a client, keeping each submission as a ``WorkflowRun``.
"""

from typing import TYPE_CHECKING

from ivkgen.runtime._lazy import lazy_attributes

if TYPE_CHECKING:
    # One import a module, each name an explicit re-export (`X as X`), kept as written:
    # isort: off
    from ivkgen.bundled import (
        IvkBoardField as IvkBoardField,
        IvkBoundingBoxField as IvkBoundingBoxField,
        IvkCLIPField as IvkCLIPField,
        IvkColorField as IvkColorField,
        IvkImageField as IvkImageField,
        IvkLatentsField as IvkLatentsField,
        IvkModelIdentifierField as IvkModelIdentifierField,
        IvkTensorField as IvkTensorField,
        IvkUNetField as IvkUNetField,
        IvkVAEField as IvkVAEField,
    )
    from ivkgen.runtime._client import (
        AsyncInvokeAIClient as AsyncInvokeAIClient,
        InvokeAIClient as InvokeAIClient,
    )
    from ivkgen.runtime._errors import (
        AuthError as AuthError,
        FormerServerWarning as FormerServerWarning,
        HTTPStatusError as HTTPStatusError,
        InputLookupError as InputLookupError,
        InvokeAIVersionWarning as InvokeAIVersionWarning,
        IvkgenError as IvkgenError,
        IvkgenWarning as IvkgenWarning,
        JobCanceledError as JobCanceledError,
        JobError as JobError,
        JobFailedError as JobFailedError,
        JobTimeoutError as JobTimeoutError,
        LedgerError as LedgerError,
        MissingExtraError as MissingExtraError,
        NoServerError as NoServerError,
        NotFoundError as NotFoundError,
        PriorityWarning as PriorityWarning,
        QueueFullWarning as QueueFullWarning,
        RequestTimeoutError as RequestTimeoutError,
        RevisionConflictError as RevisionConflictError,
        SchemaDriftWarning as SchemaDriftWarning,
        ServeSetupError as ServeSetupError,
        ServerURLError as ServerURLError,
        ServerUnfitError as ServerUnfitError,
        ServerUnreachableError as ServerUnreachableError,
        ServerValidationError as ServerValidationError,
        SetupRequiredError as SetupRequiredError,
        SourceChangedWarning as SourceChangedWarning,
        TransportError as TransportError,
        WorkflowError as WorkflowError,
        WorkflowWarning as WorkflowWarning,
    )
    from ivkgen.runtime._events.messages import (
        BatchEnqueuedEvent as BatchEnqueuedEvent,
        Event as Event,
        GraphCompleteEvent as GraphCompleteEvent,
        InvocationCompleteEvent as InvocationCompleteEvent,
        InvocationErrorEvent as InvocationErrorEvent,
        InvocationEvent as InvocationEvent,
        InvocationProgressEvent as InvocationProgressEvent,
        InvocationStartedEvent as InvocationStartedEvent,
        ModelLoadEvent as ModelLoadEvent,
        QueueClearedEvent as QueueClearedEvent,
        QueueItemEvent as QueueItemEvent,
        QueueItemStatusChangedEvent as QueueItemStatusChangedEvent,
        QueueItemsCanceledEvent as QueueItemsCanceledEvent,
        SessionEvent as SessionEvent,
    )
    from ivkgen.runtime._events.socket import EventSocket as EventSocket
    from ivkgen.runtime._fields import (
        IvkBoundingBoxMixin as IvkBoundingBoxMixin,
        IvkColorMixin as IvkColorMixin,
        IvkField as IvkField,
        IvkImageMixin as IvkImageMixin,
        IvkResourceMixin as IvkResourceMixin,
        IvkStructField as IvkStructField,
    )
    from ivkgen.runtime._jobs.tracker import Job as Job, SubmitResult as SubmitResult
    from ivkgen.runtime._media import (
        ImageSource as ImageSource,
        OutputImage as OutputImage,
        OutputVideo as OutputVideo,
        VideoSource as VideoSource,
    )
    from ivkgen.runtime._pool.ledger import Ledger as Ledger
    from ivkgen.runtime._pool.outcome import ItemResult as ItemResult
    from ivkgen.runtime._pool.pool import (
        AsyncServerPool as AsyncServerPool,
        ServerPool as ServerPool,
    )
    from ivkgen.runtime._pool.progress import (
        PoolProgress as PoolProgress,
        ServerProgress as ServerProgress,
    )
    from ivkgen.runtime._pool.work import (
        Work as Work,
        grid_work as grid_work,
        module_work as module_work,
    )
    from ivkgen.runtime._repositories.boards import (
        AsyncBoardHandle as AsyncBoardHandle,
        AsyncBoardRepository as AsyncBoardRepository,
        BoardHandle as BoardHandle,
        BoardRepository as BoardRepository,
    )
    from ivkgen.runtime._repositories.images import (
        AsyncImageRepository as AsyncImageRepository,
        ImageRepository as ImageRepository,
    )
    from ivkgen.runtime._repositories.models import (
        AsyncModelRepository as AsyncModelRepository,
        ModelRepository as ModelRepository,
    )
    from ivkgen.runtime._repositories.queue import (
        AsyncQueueRepository as AsyncQueueRepository,
        QueueRepository as QueueRepository,
    )
    from ivkgen.runtime._repositories.videos import (
        AsyncVideoRepository as AsyncVideoRepository,
        VideoRepository as VideoRepository,
    )
    from ivkgen.runtime._repositories.workflows import (
        AsyncWorkflowRepository as AsyncWorkflowRepository,
        WorkflowRepository as WorkflowRepository,
    )
    from ivkgen.runtime._server.dto import (
        BatchStatus as BatchStatus,
        BoardDTO as BoardDTO,
        EnqueueBatchResult as EnqueueBatchResult,
        ImageDTO as ImageDTO,
        IvkImage as IvkImage,
        JobStatus as JobStatus,
        ModelConfig as ModelConfig,
        QueueAndProcessorStatus as QueueAndProcessorStatus,
        SessionQueueItem as SessionQueueItem,
        VideoDTO as VideoDTO,
        WorkflowRecord as WorkflowRecord,
    )
    from ivkgen.runtime._typed import (
        At as At,
        OutputAt as OutputAt,
        Workflow as Workflow,
        WorkflowInputs as WorkflowInputs,
        WorkflowOutputs as WorkflowOutputs,
    )
    from ivkgen.runtime._values import (
        IvkBooleanField as IvkBooleanField,
        IvkCollectionField as IvkCollectionField,
        IvkEnumField as IvkEnumField,
        IvkFloatField as IvkFloatField,
        IvkIntegerField as IvkIntegerField,
        IvkSchedulerField as IvkSchedulerField,
        IvkStringField as IvkStringField,
    )
    from ivkgen.runtime._workflow.catalog import Catalog as Catalog
    from ivkgen.runtime._workflow.definition import WorkflowDefinition as WorkflowDefinition
    from ivkgen.runtime._workflow.form import IvkWorkflowInput as IvkWorkflowInput
    from ivkgen.runtime._workflow.handle import WorkflowHandle as WorkflowHandle
    from ivkgen.runtime._workflow.run import WorkflowRun as WorkflowRun
    from ivkgen.runtime._workflow.workflow_form import WorkflowForm as WorkflowForm

# isort: on
# Each public name's home module; the imports above are the same names for type checkers.
_HOMES = {
    "bundled": (
        "IvkBoardField IvkBoundingBoxField IvkCLIPField IvkColorField IvkImageField "
        "IvkLatentsField IvkModelIdentifierField IvkTensorField IvkUNetField IvkVAEField"
    ),
    "runtime._client": "AsyncInvokeAIClient InvokeAIClient",
    "runtime._errors": (
        "AuthError FormerServerWarning HTTPStatusError InputLookupError InvokeAIVersionWarning "
        "IvkgenError IvkgenWarning JobCanceledError JobError JobFailedError JobTimeoutError "
        "LedgerError MissingExtraError NoServerError NotFoundError PriorityWarning "
        "QueueFullWarning RequestTimeoutError RevisionConflictError SchemaDriftWarning "
        "ServeSetupError ServerURLError ServerUnfitError ServerUnreachableError "
        "ServerValidationError SetupRequiredError SourceChangedWarning TransportError "
        "WorkflowError WorkflowWarning"
    ),
    "runtime._events.messages": (
        "BatchEnqueuedEvent Event GraphCompleteEvent InvocationCompleteEvent InvocationErrorEvent "
        "InvocationEvent InvocationProgressEvent InvocationStartedEvent ModelLoadEvent "
        "QueueClearedEvent QueueItemEvent QueueItemStatusChangedEvent QueueItemsCanceledEvent "
        "SessionEvent"
    ),
    "runtime._events.socket": "EventSocket",
    "runtime._fields": (
        "IvkBoundingBoxMixin IvkColorMixin IvkField IvkImageMixin IvkResourceMixin IvkStructField"
    ),
    "runtime._jobs.tracker": "Job SubmitResult",
    "runtime._media": "ImageSource OutputImage OutputVideo VideoSource",
    "runtime._pool.ledger": "Ledger",
    "runtime._pool.outcome": "ItemResult",
    "runtime._pool.pool": "AsyncServerPool ServerPool",
    "runtime._pool.progress": "PoolProgress ServerProgress",
    "runtime._pool.work": "Work grid_work module_work",
    "runtime._repositories.boards": (
        "AsyncBoardHandle AsyncBoardRepository BoardHandle BoardRepository"
    ),
    "runtime._repositories.images": "AsyncImageRepository ImageRepository",
    "runtime._repositories.models": "AsyncModelRepository ModelRepository",
    "runtime._repositories.queue": "AsyncQueueRepository QueueRepository",
    "runtime._repositories.videos": "AsyncVideoRepository VideoRepository",
    "runtime._repositories.workflows": "AsyncWorkflowRepository WorkflowRepository",
    "runtime._server.dto": (
        "BatchStatus BoardDTO EnqueueBatchResult ImageDTO IvkImage JobStatus ModelConfig "
        "QueueAndProcessorStatus SessionQueueItem VideoDTO WorkflowRecord"
    ),
    "runtime._typed": "At OutputAt Workflow WorkflowInputs WorkflowOutputs",
    "runtime._values": (
        "IvkBooleanField IvkCollectionField IvkEnumField IvkFloatField IvkIntegerField "
        "IvkSchedulerField IvkStringField"
    ),
    "runtime._workflow.catalog": "Catalog",
    "runtime._workflow.definition": "WorkflowDefinition",
    "runtime._workflow.form": "IvkWorkflowInput",
    "runtime._workflow.handle": "WorkflowHandle",
    "runtime._workflow.run": "WorkflowRun",
    "runtime._workflow.workflow_form": "WorkflowForm",
}
_HOME = {name: f"ivkgen.{module}" for module, names in _HOMES.items() for name in names.split()}
if not TYPE_CHECKING:  # checkers read the imports above as the exports
    __all__ = sorted(_HOME)

__getattr__, __dir__ = lazy_attributes(__name__, _HOME)
