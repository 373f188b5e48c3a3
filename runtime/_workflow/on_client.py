"""``OnClient``: what a handle and each of its runs share on their client.

Plans are run blocking with a sync client (``_send``) or awaited with either (``_asend``); the
clean-up of uploads, outputs and queue items, and the context managers that leave nothing behind,
apply to the runs an object covers (a ``WorkflowRun`` its own, a ``WorkflowHandle`` all of its
runs). The blocking methods take ``self`` typed by a ``SyncClient``, so mypy rejects them on an
async client's object; each has its awaited twin (see ``ivkgen.runtime``'s naming rule).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Generic, TypeAlias, TypeVar

from ivkgen.runtime._errors import IvkgenError
from ivkgen.runtime._jobs import cleanup
from ivkgen.runtime._jobs.clients import AnyClient, AsyncClient, SyncClient
from ivkgen.runtime._jobs.plans import Plan, drive, drive_sync
from ivkgen.runtime._jobs.tracker import JobTracker
from ivkgen.runtime._jobs.uploads import UploadTracker
from ivkgen.runtime._jobs.watch import Run
from ivkgen.runtime._workflow.catalog import Catalog

log = logging.getLogger("ivkgen.runtime._workflow")

T = TypeVar("T")
ClientT = TypeVar("ClientT", bound="SyncClient | AsyncClient | None", covariant=True)
"""The kind of client: ``InvokeAIClient``, ``AsyncInvokeAIClient`` or None (not bound yet)."""
SyncT = TypeVar("SyncT", bound="OnClient[SyncClient]")
BoundT = TypeVar("BoundT", bound="Bound")


class OnClient(ABC, Generic[ClientT]):
    """Runs plans on a client and cleans up after the runs it covers."""

    _client: ClientT
    _uploads: UploadTracker
    _catalog: Catalog
    _deleted_outputs: set[str]

    @abstractmethod
    def _watched(self) -> list[Run]:
        """The submissions this object covers, oldest first."""

    @property
    def client(self) -> ClientT:
        """The client the runs go to."""
        return self._client

    def _bound(self) -> AnyClient:
        client: AnyClient | None = self._client
        if client is None:
            raise RuntimeError(
                "this handle has no client: create it with client.workflow_repo."
                "create_workflow_handle(...) or call handle.bind_client(client)"
            )
        return client

    def _send(self, plan: Plan[T]) -> T:
        """Run a plan blocking, with the sync client."""
        client = self._bound()
        if not isinstance(client, SyncClient):
            plan.close()
            raise TypeError(
                "this handle uses an async client: await the async methods (submit, "
                "wait_for_completion, cancel_async, ...)"
            )
        return drive_sync(plan, client.execute)

    async def _asend(self, plan: Plan[T]) -> T:
        """Await a plan, with the async client (or the sync one in a worker thread)."""
        return await drive(plan, self._bound())

    @property
    def _trackers(self) -> list[JobTracker]:
        return [run.tracker for run in self._watched()]

    def _outputs_cleanup(self) -> Plan[list[str]]:
        return cleanup.delete_outputs_plan(self._trackers, self._catalog, self._deleted_outputs)

    def _exit_plan(self) -> Plan[None]:
        return cleanup.exit_plan(
            self._trackers, self._uploads, self._catalog, self._deleted_outputs
        )

    def cleanup_inputs(self: OnClient[SyncClient]) -> list[str]:
        """Delete the images and videos the form's runs uploaded; returns their names.
        Idempotent."""
        return self._send(cleanup.delete_inputs_plan(self._uploads))

    async def acleanup_inputs(self: Bound) -> list[str]:
        return await self._asend(cleanup.delete_inputs_plan(self._uploads))

    def cleanup_outputs(self: OnClient[SyncClient]) -> list[str]:
        """Delete every image and video the queue items (and the items their call nodes
        enqueued) saved, outputs and intermediates, only those their own sessions made; returns
        their names. Idempotent."""
        return self._send(self._outputs_cleanup())

    async def acleanup_outputs(self: Bound) -> list[str]:
        return await self._asend(self._outputs_cleanup())

    def cleanup_queue_items(self: OnClient[SyncClient]) -> list[int]:
        """Delete the queue items (unfinished ones are canceled first). Idempotent."""
        return self._send(cleanup.delete_items_plan(self._trackers))

    async def acleanup_queue_items(self: Bound) -> list[int]:
        return await self._asend(cleanup.delete_items_plan(self._trackers))

    # Context managers: nothing uploaded outlives the block ------------------------------------

    def __enter__(self: SyncT) -> SyncT:
        return self

    def __exit__(
        self: OnClient[SyncClient],
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Cancel unfinished items and delete uploads (errors here are logged, not raised, when
        the block already raised)."""
        try:
            self._send(self._exit_plan())
        except IvkgenError:
            if exc is None:
                raise
            log.warning("clean-up after a failed run did not finish", exc_info=True)

    async def __aenter__(self: BoundT) -> BoundT:
        return self

    async def __aexit__(
        self: Bound,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self._asend(self._exit_plan())
        except IvkgenError:
            if exc is None:
                raise
            log.warning("clean-up after a failed run did not finish", exc_info=True)
        finally:
            for run in self._watched():
                await run.stop_watching()


Bound: TypeAlias = "OnClient[SyncClient] | OnClient[AsyncClient]"
"""An object with a client of either kind: what the awaited methods take."""
