"""Where a pool run stands: items done, failed and waiting, each server's share, the time left."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ivkgen.runtime._server.dto import JobStatus

if TYPE_CHECKING:
    from ivkgen.runtime._pool.run import PoolRun


@dataclass(frozen=True)
class ServerProgress:
    """One server's share: items it finished, runs and holds queued; why it was dropped."""

    name: str
    done: int
    running: int
    queued: int
    dropped: str | None


@dataclass(frozen=True)
class PoolProgress:
    """Items done / failed / waiting overall, each server's share, and the estimated time left."""

    total: int
    done: int
    failed: int
    waiting: int
    servers: list[ServerProgress]
    eta_seconds: float | None


def progress(run: PoolRun) -> PoolProgress:
    """Where ``run`` stands now."""
    slots = run.scheduler.slots
    servers = [
        ServerProgress(
            name,
            slots[name].finished,
            state.running,
            max(0, len(slots[name].holding) - state.running),
            slots[name].dropped,
        )
        for name, state in run.states.items()
    ]
    ended = len(run.results)
    failed = sum(r.status == JobStatus.FAILED for r in run.results.values())
    ended_now = ended - run.ended_before
    elapsed = run.elapsed()
    remaining = run.work.count - ended
    eta = remaining * elapsed / ended_now if ended_now and elapsed > 0 else None
    total = run.work.count
    return PoolProgress(total, ended, failed, len(run.scheduler.waiting), servers, eta)
