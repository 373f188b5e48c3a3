"""Three ``ivkgen serve`` replicas on one PostgreSQL in front of two real InvokeAI servers: a load
of model-free runs from concurrent clients, one replica SIGKILLed mid-load. No run is lost, no
InvokeAI item runs twice (an item enqueued twice would be left on its server: the service follows
and cleans up only the item its ledger names), nothing is left on InvokeAI.

The load is ``IVKGEN_FAILOVER_RUNS`` runs (default 300) from ``IVKGEN_FAILOVER_CLIENTS`` clients
(default 50), bound by the two InvokeAI servers' pace. A client follows its run through the run's
event stream (resumed on another replica from its last event when a replica dies), as a client of
a load balancer does, rather than polling: 50 clients polling every 0.2 s send the replicas 250
requests a second, CPU that the InvokeAI servers running the items need on a small machine.
p50/p99 request latency and the take-over time are printed (``-s``)."""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import time
from pathlib import Path

import httpx

from tests.harness.server import InvokeAIServer
from tests.live._serve import server_holdings
from tests.live._serve_process import ServeProcess, slow_workflow_file

RUNS = int(os.environ.get("IVKGEN_FAILOVER_RUNS", "300"))
CLIENTS = int(os.environ.get("IVKGEN_FAILOVER_CLIENTS", "50"))
LEASE_SECONDS = 3
FINAL = ("completed", "failed", "canceled")
RUN = "/v1/workflows/slow_blur/runs"


class Load:
    """Clients that spread their requests over the replicas as a load balancer would, moving to
    the next replica when one does not answer (a POST retried with its Idempotency-Key)."""

    def __init__(self, urls: list[str]) -> None:
        self.http = [httpx.AsyncClient(base_url=url, timeout=60) for url in urls]
        self.latencies: list[float] = []
        self.accepted = 0
        self.finished: dict[str, dict[str, object]] = {}

    async def request(self, turn: int, method: str, path: str, **options: object) -> httpx.Response:
        for attempt in range(len(self.http) * 3):
            http = self.http[(turn + attempt) % len(self.http)]
            started = time.monotonic()
            try:
                answer = await http.request(method, path, **options)  # type: ignore[arg-type]
            except httpx.TransportError:
                continue
            if answer.status_code < 500:
                self.latencies.append(time.monotonic() - started)
                return answer
        raise AssertionError(f"no replica answered {method} {path}")

    async def client(self, number: int, runs: range) -> None:
        for index in runs:
            key = {"Idempotency-Key": f"run-{index}"}
            answer = await self.request(index, "POST", RUN, json={"width": 64}, headers=key)
            assert answer.status_code in (200, 202), answer.text
            self.accepted += 1
            run_id = answer.json()["id"]
            while True:
                await self.follow(index + number, run_id)
                run = (await self.request(index + number, "GET", f"/v1/runs/{run_id}")).json()
                if run["status"] in FINAL:
                    self.finished[run_id] = run
                    break

    async def follow(self, turn: int, run_id: str) -> None:
        """Read the run's event stream until its final event, resumed from the last event read
        on the next replica when one stops answering (no polling)."""
        last = "0"
        for attempt in range(len(self.http) * 3):
            http = self.http[(turn + attempt) % len(self.http)]
            path = f"/v1/runs/{run_id}/events"
            try:
                async with http.stream("GET", path, headers={"Last-Event-ID": last}) as stream:
                    async for line in stream.aiter_lines():
                        if line.startswith("id:"):
                            last = line.removeprefix("id:").strip()
                        elif line.removeprefix("event:").strip() in FINAL:
                            return
            except httpx.TransportError:
                continue
        raise AssertionError(f"no replica streamed the events of run {run_id}")

    async def aclose(self) -> None:
        for http in self.http:
            await http.aclose()


async def _taken_over(victim: ServeProcess, others: list[ServeProcess], load: Load) -> float:
    """Seconds from now until every unfinished run the victim drove is driven elsewhere."""
    killed = time.monotonic()
    driven = {
        line.split()[3].rstrip(":")
        for line in victim.output().splitlines()
        if "driven by this replica" in line
    }
    orphans = driven - set(load.finished)
    while orphans:
        logs = "".join(other.output() for other in others)
        orphans = {run_id for run_id in orphans if f"run {run_id}: driven" not in logs}
        orphans -= set(load.finished)
        await asyncio.sleep(0.05)
    return time.monotonic() - killed


async def test_a_replica_killed_mid_load_loses_no_run_and_leaves_invokeai_clean(
    server_url: str, spare_invokeai: InvokeAIServer, fresh_database: str, tmp_path: Path
) -> None:
    servers = [server_url, spare_invokeai.url]
    before = [server_holdings(url) for url in servers]
    workflow = slow_workflow_file(tmp_path, blurs=1)
    args = [str(workflow), "--store", fresh_database, "--files", str(tmp_path / "files")]
    args += ["--lease", str(LEASE_SECONDS), "--max-pending", str(RUNS)]
    for url in servers:
        args += ["--server", url]
    replicas = [ServeProcess(args, tmp_path / f"replica{i}.log") for i in range(3)]
    for replica in replicas:
        replica.start()
    load = Load([replica.url for replica in replicas])
    try:
        share = [range(c, RUNS, CLIENTS) for c in range(CLIENTS)]
        clients = asyncio.gather(*(load.client(c, runs) for c, runs in enumerate(share)))
        while load.accepted < RUNS // 3:
            await asyncio.sleep(0.05)
        replicas[0].signal(signal.SIGKILL)
        takeover = await _taken_over(replicas[0], replicas[1:], load)
        await clients
    finally:
        await load.aclose()
        for replica in replicas:
            replica.stop()
    statuses = [run["status"] for run in load.finished.values()]
    assert len(load.finished) == RUNS  # no run lost, none started twice by a retried POST
    assert statuses.count("completed") == RUNS, {s: statuses.count(s) for s in set(statuses)}
    assert [server_holdings(url) for url in servers] == before
    logs = "".join(replica.output() for replica in replicas[1:])
    assert "Traceback" not in logs
    latencies = sorted(load.latencies)
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"\nfail-over: {RUNS} runs from {CLIENTS} clients over 3 replicas, 2 InvokeAI servers; "
        f"request latency p50 {p50:.1f} ms, p99 {p99:.1f} ms; take-over {takeover:.2f} s "
        f"(lease {LEASE_SECONDS} s)"
    )
