"""Pool runs against simulated servers (``httpx.MockTransport``, a virtual clock), one per
process so its memory is its own: ``python bench/pool_sim.py scale SERVERS ITEMS`` and
``python bench/pool_sim.py memory ITEMS LEDGER``; prints a JSON object.

``scale``: client CPU per item (process CPU time minus the time spent inside the simulated
servers), the requests the client sent per item, and the longest time a server sat idle while
items were still waiting to be sent. ``memory``: peak RSS of a run recorded in a ledger file
(the simulated servers keep their items small, so it is mostly the client's).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import httpx  # noqa: E402
from ivkgen.runtime import InvokeAIClient, WorkflowDefinition, WorkflowHandle  # noqa: E402
from ivkgen.runtime._pool.pool import ServerPool  # noqa: E402
from ivkgen.runtime._pool.work import grid_work  # noqa: E402

from tests.harness.fake_invokeai import FakeInvokeAI, VirtualClock  # noqa: E402

WORKFLOW = HERE.parent / "data" / "workflows" / "prompt-arithmetic.json"
ITEM_SECONDS = 1.0


class Metered:
    """A transport that keeps the CPU time its simulated server spends."""

    def __init__(self, server: FakeInvokeAI) -> None:
        self.server = server
        self.cpu = 0.0
        self.requests = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        started = time.process_time()
        try:
            response = self.server.handle(request)
            response.read()
            return response
        finally:
            self.cpu += time.process_time() - started


def _run(
    servers: int, items: int, ledger: str | None
) -> tuple[list[FakeInvokeAI], float, float, int]:
    clock = VirtualClock()
    fakes = [FakeInvokeAI(f"s{i}", clock, duration=ITEM_SECONDS) for i in range(servers)]
    meters = [Metered(f) for f in fakes]
    clients = [
        InvokeAIClient(f"http://{f.name}.test", transport=httpx.MockTransport(m.handle))
        for f, m in zip(fakes, meters, strict=True)
    ]
    handle = WorkflowHandle(WorkflowDefinition.from_file(WORKFLOW))
    work = grid_work(handle, {"Subject": [f"subject {i}" for i in range(items)]})
    pool = ServerPool(clients, sleep=clock.sleep, clock=clock, poll_interval=0.25)
    started = time.process_time()
    pool.run(work, ledger=ledger)
    cpu = time.process_time() - started - sum(m.cpu for m in meters)
    return fakes, cpu, clock.now, sum(m.requests for m in meters)


def scale(servers: int, items: int) -> dict[str, float]:
    fakes, cpu, wall, requests = _run(servers, items, None)
    last_send = max(f.last_enqueue for f in fakes)
    idle = [b - a for f in fakes for a, b in f.gaps if a < last_send and a > 0]
    return {
        "cpu_ms_per_item": cpu * 1000 / items,
        "requests_per_item": requests / items,
        "longest_idle_s": max(idle, default=0.0),
        "virtual_wall_s": wall,
        "ideal_wall_s": items * ITEM_SECONDS / servers,
    }


def memory(items: int, ledger: str) -> dict[str, float]:
    _run(2, items, ledger)
    return {"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


if __name__ == "__main__":
    kind, *args = sys.argv[1:]
    if kind == "scale":
        print(json.dumps(scale(int(args[0]), int(args[1]))))
    else:
        print(json.dumps(memory(int(args[0]), args[1])))
