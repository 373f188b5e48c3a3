"""``ServerPool`` (sync clients) and ``AsyncServerPool`` (async clients): one run over several
InvokeAI servers, each doing the work in its own queue.

Both drive the same :class:`~ivkgen.runtime._pool.run.PoolRun`: the sync pool steps its servers
in turn, the async pool steps them concurrently. ``run(work)`` returns one ``ItemResult`` per
item, in input order; ``sweep`` and ``map`` do the same for a generated module and return its
typed outputs. The images a run uploaded are deleted at the end; an interrupted or failed run
deletes the items it left unfinished, and with a ledger file it resumes where it stopped. A
resumed run reaches the servers its ledger names that are no longer given (by URL, through
``connect``) to follow the items it sent them.
"""

from __future__ import annotations

import asyncio
import heapq
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ivkgen.runtime._client import AsyncInvokeAIClient, InvokeAIClient
from ivkgen.runtime._errors import IvkgenError, JobTimeoutError
from ivkgen.runtime._jobs.plans import Plan, drive, drive_sync
from ivkgen.runtime._pool.ledger import Ledger, Unrecorded
from ivkgen.runtime._pool.outcome import ItemResult
from ivkgen.runtime._pool.progress import PoolProgress
from ivkgen.runtime._pool.resume import Connect
from ivkgen.runtime._pool.run import PoolRun
from ivkgen.runtime._pool.scheduler import DEFAULT_WINDOW
from ivkgen.runtime._pool.servers import ServerState
from ivkgen.runtime._pool.step import next_interval
from ivkgen.runtime._pool.work import Work, module_work, sweep_inputs
from ivkgen.runtime._server.core import AsyncBound, SyncBound

if TYPE_CHECKING:  # annotations only: Workflow.sweep runs on a one-server pool
    from ivkgen.runtime._typed import InputsT, NameT, OutputsT, Workflow

T = TypeVar("T")
POLL_INTERVAL = 0.25
LONGEST_INTERVAL = 5.0
ProgressCallback = Callable[[PoolProgress], None]


class _PoolBase:
    def __init__(
        self,
        servers: Sequence[SyncBound | AsyncBound | str],
        *,
        window: int,
        poll_interval: float,
        max_failures: int,
        connect: Connect,
    ) -> None:
        clients = [connect(s) if isinstance(s, str) else s for s in servers]
        self._owned = [c for c, s in zip(clients, servers, strict=True) if isinstance(s, str)]
        """The clients the pool made from URLs (closed with the pool)."""
        names = [str(getattr(c, "base_url", f"server {i}")) for i, c in enumerate(clients)]
        if len(set(names)) != len(names):
            raise ValueError(f"a server is given twice: {', '.join(names)}")
        self.clients = dict(zip(names, clients, strict=True))
        self.window = window
        self.poll_interval = poll_interval
        self.max_failures = max_failures
        self.longest_interval = LONGEST_INTERVAL
        self.clock: Callable[[], float] = time.monotonic
        self.last_run: PoolRun | None = None
        """The latest run (its results, progress and servers), also after it failed."""
        self._connect = connect
        self._former: list[SyncBound | AsyncBound] = []
        """The clients made for former servers (closed with the pool)."""

    def _connect_former(self, url: str) -> SyncBound | AsyncBound:
        client = self._connect(url)
        self._former.append(client)
        return client

    def _new_run(
        self,
        work: Work,
        ledger: Ledger | str | os.PathLike[str] | None,
        resume: bool,
        download_to: str | os.PathLike[str] | None,
    ) -> PoolRun:
        if ledger is None:
            book: Ledger = Unrecorded()
        else:
            book = ledger if isinstance(ledger, Ledger) else Ledger(ledger)
        self.last_run = PoolRun(
            work,
            self.clients,
            book,
            resume=resume,
            window=self.window,
            download_to=Path(download_to) if download_to is not None else None,
            max_failures=self.max_failures,
            clock=self.clock,
            connect=self._connect_former,
        )
        return self.last_run


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


def _check_deadline(run: PoolRun, deadline: float | None, timeout: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        left = run.work.count - len(run.results)
        raise JobTimeoutError(
            f"{left} of {run.work.count} item(s) unfinished after {timeout:g} s; they were "
            "canceled (a ledger run resumes with the rest)",
            item_id=None,
        )


class ServerPool(_PoolBase):
    """Several servers behind sync clients (``InvokeAIClient``), or their URLs."""

    def __init__(
        self,
        servers: Sequence[InvokeAIClient | str],
        *,
        window: int = DEFAULT_WINDOW,
        poll_interval: float = POLL_INTERVAL,
        max_failures: int = 2,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        connect: Callable[[str], InvokeAIClient] = InvokeAIClient.from_url,
    ) -> None:
        """``connect`` makes a client from a URL: of a server given by URL, and of a former
        server (one a resumed run's ledger names that is not in ``servers``)."""
        super().__init__(
            servers,
            window=window,
            poll_interval=poll_interval,
            max_failures=max_failures,
            connect=connect,
        )
        self._sleep = sleep
        self.clock = self._clock = clock

    def _drive(self, state: ServerState, plan: Plan[T]) -> T:
        assert isinstance(state.client, SyncBound)
        return drive_sync(plan, state.client.execute)

    def run(
        self,
        work: Work,
        *,
        ledger: Ledger | str | os.PathLike[str] | None = None,
        resume: bool = False,
        download_to: str | os.PathLike[str] | None = None,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
    ) -> list[ItemResult]:
        """Run every item of ``work``; returns their results in input order. Raises
        ``JobFailedError`` when items failed (after the others ended), ``NoServerError`` when no
        server can (still) run the work."""
        run = self._new_run(work, ledger, resume, download_to)
        deadline = _deadline(timeout)
        for state in list(run.states.values()):
            try:
                self._drive(state, run.prepare_plan(state))
            except IvkgenError as exc:
                run.unfit(state, exc)
        try:
            run.require_servers()
            now = self._clock()
            due = [(now, order, state) for order, state in enumerate(run.live_states())]
            while not run.complete:
                now = self._clock()
                ready = []
                while due and due[0][0] <= now:
                    ready.append(heapq.heappop(due))
                for _, order, state in ready:
                    if not run.active(state):
                        continue
                    try:
                        self._drive(state, run.step_plan(state))
                    except IvkgenError as exc:
                        run.step_failed(state, exc)
                    else:
                        run.step_ok(state)
                    if run.active(state):
                        wait = next_interval(run, state, self.poll_interval, self.longest_interval)
                        heapq.heappush(due, (self._clock() + wait, order, state))
                run.require_servers()
                if on_progress is not None:
                    on_progress(run.progress())
                _check_deadline(run, deadline, timeout)
                if not run.complete and due:
                    self._sleep(max(0.0, due[0][0] - self._clock()))
        except BaseException:
            self._end(run, cancel=True)
            raise
        self._end(run, cancel=False)
        run.raise_for_failures()
        return run.ordered_results()

    def _end(self, run: PoolRun, *, cancel: bool) -> None:
        for state, plan in run.end_plans(cancel=cancel):
            try:
                self._drive(state, plan)
            except IvkgenError as exc:
                run.step_failed_quietly(state, exc)

    def sweep(
        self,
        workflow: Workflow[InputsT, OutputsT, NameT],
        inputs: InputsT,
        attribute: NameT,
        values: Sequence[Any],
        *,
        board_id: str | None = None,
        **options: Any,
    ) -> list[OutputsT]:
        """``Workflow.sweep`` over the pool: one item per value of input ``attribute``; the
        outputs in value order. ``options`` are those of ``run``."""
        copies = sweep_inputs(workflow, inputs, attribute, values)
        return self.map(workflow, copies, board_id=board_id, **options)

    def map(
        self,
        workflow: Workflow[InputsT, OutputsT],
        inputs: Sequence[InputsT],
        *,
        board_id: str | None = None,
        **options: Any,
    ) -> list[OutputsT]:
        """One item per inputs object; the outputs in the same order."""
        work = module_work(workflow, inputs, board_id=board_id)
        return [workflow.outputs(r.images) for r in self.run(work, **options)]

    def cleanup_outputs(self) -> None:
        """Delete the output images and queue items of the latest run on every server still in
        the pool."""
        run = self.last_run
        if run is not None:
            for state in run.live_states():
                self._drive(state, run.cleanup_outputs_plan(state))

    def close(self) -> None:
        """Close the clients the pool made from URLs."""
        for client in [*self._owned, *self._former]:
            if isinstance(client, InvokeAIClient):
                client.close()

    def __enter__(self) -> ServerPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncServerPool(_PoolBase):
    """Several servers behind async clients (``AsyncInvokeAIClient``), or their URLs; the
    servers are stepped concurrently."""

    def __init__(
        self,
        servers: Sequence[AsyncInvokeAIClient | str],
        *,
        window: int = DEFAULT_WINDOW,
        poll_interval: float = POLL_INTERVAL,
        max_failures: int = 2,
        connect: Callable[[str], AsyncInvokeAIClient] = AsyncInvokeAIClient.from_url,
    ) -> None:
        """``connect``: as for ``ServerPool``."""
        super().__init__(
            servers,
            window=window,
            poll_interval=poll_interval,
            max_failures=max_failures,
            connect=connect,
        )

    async def run(
        self,
        work: Work,
        *,
        ledger: Ledger | str | os.PathLike[str] | None = None,
        resume: bool = False,
        download_to: str | os.PathLike[str] | None = None,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
    ) -> list[ItemResult]:
        """Like ``ServerPool.run``, awaited."""
        run = self._new_run(work, ledger, resume, download_to)

        async def prepare(state: ServerState) -> None:
            try:
                await drive(run.prepare_plan(state), state.client)
            except IvkgenError as exc:
                run.unfit(state, exc)

        async def serve(state: ServerState) -> None:
            while not run.complete and run.active(state):
                try:
                    await drive(run.step_plan(state), state.client)
                except IvkgenError as exc:
                    run.step_failed(state, exc)
                else:
                    run.step_ok(state)
                await asyncio.sleep(
                    next_interval(run, state, self.poll_interval, self.longest_interval)
                )

        async def report() -> None:
            while True:
                await asyncio.sleep(self.poll_interval)
                if on_progress is not None:
                    on_progress(run.progress())

        await asyncio.gather(*(prepare(s) for s in run.states.values()))
        reporter = asyncio.create_task(report())
        try:
            run.require_servers()
            servers = [serve(s) for s in run.live_states()]
            try:
                await asyncio.wait_for(asyncio.gather(*servers), timeout)
            except TimeoutError:
                _check_deadline(run, time.monotonic() - 1, timeout)
            run.require_servers()
        except BaseException:
            await self._end(run, cancel=True)
            raise
        finally:
            reporter.cancel()
            await asyncio.gather(reporter, return_exceptions=True)
        if on_progress is not None:
            on_progress(run.progress())
        await self._end(run, cancel=False)
        run.raise_for_failures()
        return run.ordered_results()

    async def _end(self, run: PoolRun, *, cancel: bool) -> None:
        for state, plan in run.end_plans(cancel=cancel):
            try:
                await drive(plan, state.client)
            except IvkgenError as exc:
                run.step_failed_quietly(state, exc)

    async def sweep(
        self,
        workflow: Workflow[InputsT, OutputsT, NameT],
        inputs: InputsT,
        attribute: NameT,
        values: Sequence[Any],
        *,
        board_id: str | None = None,
        **options: Any,
    ) -> list[OutputsT]:
        """``ServerPool.sweep``, awaited."""
        copies = sweep_inputs(workflow, inputs, attribute, values)
        return await self.map(workflow, copies, board_id=board_id, **options)

    async def map(
        self,
        workflow: Workflow[InputsT, OutputsT],
        inputs: Sequence[InputsT],
        *,
        board_id: str | None = None,
        **options: Any,
    ) -> list[OutputsT]:
        """``ServerPool.map``, awaited."""
        work = module_work(workflow, inputs, board_id=board_id)
        return [workflow.outputs(r.images) for r in await self.run(work, **options)]

    async def cleanup_outputs(self) -> None:
        """``ServerPool.cleanup_outputs``, awaited."""
        run = self.last_run
        if run is not None:
            for state in run.live_states():
                await drive(run.cleanup_outputs_plan(state), state.client)

    async def aclose(self) -> None:
        for client in [*self._owned, *self._former]:
            if isinstance(client, AsyncInvokeAIClient):
                await client.aclose()

    async def __aenter__(self) -> AsyncServerPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
