"""Benchmarks of the server pool: a sweep on one server against the pool of two (wall time,
each server's busy share, client-added time per item), items lost and run twice when one of
the two is killed mid-sweep, and simulated servers for the ledger's memory and the scheduler at
scale. On a 2-core machine two CPU servers share the cores: the rows report the balance and the
overhead, not a speed-up.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ivkgen.runtime import InvokeAIClient, IvkgenError, WorkflowDefinition, WorkflowHandle
from ivkgen.runtime._pool.outcome import ItemResult
from ivkgen.runtime._pool.pool import ServerPool
from ivkgen.runtime._pool.progress import PoolProgress
from ivkgen.runtime._pool.work import grid_work, run_tag

from bench.stats import Figure, Row
from tests.harness.server import InvokeAIServer

HERE = Path(__file__).resolve().parent
SECTION = "7 pool"
BASE_SIZE = "integer:0cZuzren68"


@dataclass(frozen=True)
class PoolSizes:
    sweep: int
    ledger_items: int
    servers: int
    scale_items: int


def _busy(url: str, run_id: str) -> tuple[float, Counter[int]]:
    """A server's busy seconds in a run, and how often each base size completed there."""
    with InvokeAIClient.from_url(url) as client:
        items = client.queue_repo.list_all_items(destination=run_tag(run_id))
    busy, ran = 0.0, Counter[int]()
    for item in items:
        if item.status == "completed" and item.started_at and item.completed_at:
            started = datetime.fromisoformat(item.started_at)
            busy += (datetime.fromisoformat(item.completed_at) - started).total_seconds()
            ran[int(item.session["graph"]["nodes"][BASE_SIZE]["value"])] += 1
    return busy, ran


def _sweep(
    urls: list[str], first: int, count: int, **options: object
) -> tuple[float, list[tuple[float, Counter[int]]], list[ItemResult]]:
    """Wall time, each live server's ``_busy`` (read before the clean-up deletes the items) and
    the results of a sweep of ``count`` base sizes from ``first``."""
    handle = WorkflowHandle(
        WorkflowDefinition.from_file(HERE.parent / "data/workflows/prompt-arithmetic.json")
    )
    work = grid_work(handle, {"Base Size": list(range(first, first + count))})
    with ServerPool(urls) as pool:
        started = time.perf_counter()
        results = pool.run(work, **options)  # type: ignore[arg-type]
        wall = time.perf_counter() - started
        assert pool.last_run is not None
        run_id = pool.last_run.run_id
        busy = [_busy(u, run_id) if _answers(u) else (0.0, Counter[int]()) for u in urls]
        pool.cleanup_outputs()
    return wall, busy, results


def _answers(url: str) -> bool:
    """The server still answers (the killed one does not)."""
    try:
        with InvokeAIClient.from_url(url, timeout=5, retries=0) as client:
            client.get_version()
    except IvkgenError:
        return False
    return True


def live_rows(url: str, spare: InvokeAIServer, sizes: PoolSizes) -> list[Row]:
    """The sweep on one server and on the pool of ``url`` and ``spare``; then ``spare`` is
    killed in the middle of another sweep (it is not restarted)."""
    n = sizes.sweep
    one_wall, (one, *_), _ = _sweep([url], 1000, n)
    one_busy = one[0]
    urls = [url, spare.url]
    two_wall, read, _ = _sweep(urls, 2000, n)
    busy = [seconds for seconds, _ in read]
    share = ", ".join(f"{b / sum(busy):.0%}" for b in busy)
    added_one = (one_wall - one_busy) * 1000 / n
    added_two = (two_wall - max(busy)) * 1000 / n

    def kill(progress: PoolProgress) -> None:
        if progress.done >= n // 4 and spare.process is not None and spare.process.poll() is None:
            os.killpg(spare.process.pid, signal.SIGKILL)
            spare.process.wait(timeout=10)

    _, ((_, ran), *_), results = _sweep(urls, 3000, n, on_progress=kill)  # the survivor's queue
    ran.update(3000 + r.index for r in results if r.server == spare.url)  # seen before the kill
    lost = n - len(ran)
    twice = sum(c - 1 for c in ran.values() if c > 1)
    return [
        Row(
            SECTION,
            f"wall s, {n}-item sweep of prompt-arithmetic.json, pool of two servers",
            Figure((two_wall,), "s"),
            "one server",
            Figure((one_wall,), "s"),
            "balance, not speed (2 CPU servers share 2 cores)",
            None,
            notes=f"busy share {share}",
        ),
        Row(
            SECTION,
            f"client-added ms per item (wall - busiest server's busy time) / {n}, pool of two",
            Figure((added_two,), "ms"),
            "one server",
            Figure((added_one,), "ms"),
            "-",
            None,
        ),
        Row(
            SECTION,
            f"items completed exactly once, one of two servers killed mid-sweep of {n}",
            Figure(((n - lost - twice) / n,), "of all"),
            "target",
            Figure((1.0,), "of all"),
            "lost 0, twice 0",
            lost == 0 and twice == 0,
            notes=f"lost {lost}, run twice {twice}",
        ),
    ]


def _sim(*args: object) -> dict[str, float]:
    command = [sys.executable, str(HERE / "pool_sim.py"), *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=HERE.parent)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout)
    return result


def simulated_rows(sizes: PoolSizes) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="ivkgen-bench-ledger-") as scratch:
        memory = _sim("memory", sizes.ledger_items, Path(scratch) / "run.sqlite")
    scale = _sim("scale", sizes.servers, sizes.scale_items)
    cpu = Figure((scale["cpu_ms_per_item"],), "ms")
    return [
        Row(
            SECTION,
            f"peak RSS, {sizes.ledger_items}-item ledger run on 2 simulated servers",
            Figure((memory["peak_rss_mib"],), "MiB"),
            "target",
            Figure((150 / 1.048576,), "MiB"),
            "< 150 MB",
            memory["peak_rss_mib"] * 1.048576 < 150,
        ),
        Row(
            SECTION,
            f"client CPU per item, {sizes.servers} simulated servers, {sizes.scale_items} items",
            cpu,
            "target",
            Figure((0.1,), "ms"),
            "<= 0.1 ms",
            cpu.median <= 0.1,
            notes=f"{scale['requests_per_item']:.3f} requests per item",
        ),
        Row(
            SECTION,
            "longest a simulated server sat idle while work waited (items take 1 s)",
            Figure((scale["longest_idle_s"],), "s"),
            "one item's time",
            Figure((1.0,), "s"),
            "< 1 item",
            scale["longest_idle_s"] < 1.0,
            notes=f"virtual wall {scale['virtual_wall_s']:.0f} s, "
            f"ideal {scale['ideal_wall_s']:.0f} s",
        ),
    ]
