"""The service's rows: the time it adds to a run (``Prefer: wait`` through the service vs
``Workflow.arun`` direct, same server; outside InvokeAI's own time for each item, and in wall
time), runs accepted per second with many concurrent clients and the service's memory with many
open event streams (both on simulated servers)."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from ivkgen.runtime import EventSocket, QueueItemStatusChangedEvent, SessionEvent

from bench.stats import Figure, Row

SECTION = "8 serve"
HERE = Path(__file__).resolve().parent
RUN = "/v1/workflows/prompt_arithmetic/runs"


@dataclass(frozen=True)
class ServeSizes:
    runs: int = 30
    clients: int = 200
    seconds: float = 5.0
    streams: int = 1000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class Overhead:
    """Wall seconds per run, direct and through the service, and of each the seconds outside
    InvokeAI's own time for its queue item (enqueued to completed, from the server's clock)."""

    direct: list[float]
    served: list[float]
    direct_outside: list[float]
    served_outside: list[float]


def _server_seconds(event: QueueItemStatusChangedEvent) -> float:
    """Seconds from the item's enqueue to its end, by the server's timestamps."""

    def moment(text: object) -> datetime:
        return datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S.%f")

    return (moment(event.get("completed_at")) - moment(event.created_at)).total_seconds()


async def _overhead(url: str, runs: int, *, control: bool = False) -> Overhead:
    """Runs through the service (``Prefer: wait``) and direct, in pairs one after the other (a
    change of the machine's load meanwhile touches both of a pair), each run once the service's
    clean-up of the one before is done. The second run of a pair takes longer on InvokeAI's
    side whichever it is, so the pairs alternate which goes first; the two make images one
    pixel apart (the same work, never the same node cache entry). A socket of the bench's own
    hears each item end, with the server's timestamps. ``control``: the service's slot runs
    ``Workflow.arun`` too, which shows the measure's own spread."""
    from ivkgen.runtime._client import AsyncInvokeAIClient
    from ivkgen.service.app import create_app
    from ivkgen.service.catalog import load_catalog
    from ivkgen.service.config import ServiceConfig
    from ivkgen.service.ledger import owing_cleanup

    from generated.prompt_arithmetic import PromptArithmetic, PromptArithmeticInputs

    found = Overhead([], [], [], [])
    ended: list[QueueItemStatusChangedEvent] = []
    with tempfile.TemporaryDirectory(prefix="ivkgen-bench-serve-") as scratch:
        catalog = load_catalog([HERE.parent / "generated"], cache=Path(scratch))
        app = create_app(ServiceConfig(catalog=catalog, servers=[url]))
        transport = httpx.ASGITransport(app=app)
        http = httpx.AsyncClient(transport=transport, base_url="http://service", timeout=120)
        client = AsyncInvokeAIClient.from_url(url)

        async def hear(socket: EventSocket) -> None:
            kinds = [SessionEvent.QUEUE_ITEM_STATUS_CHANGED]
            async for event in socket.listen_events(kinds=kinds):
                if isinstance(event, QueueItemStatusChangedEvent) and event.status == "completed":
                    ended.append(event)

        async def record(wall: list[float], outside: list[float], started: float) -> None:
            wall.append(time.perf_counter() - started)
            while not ended:  # the bench's socket may hear the end after the run's client
                await asyncio.sleep(0.001)
            outside.append(wall[-1] - _server_seconds(ended.pop()))

        async def run_direct(size: int) -> None:
            started = time.perf_counter()
            await PromptArithmetic().arun(client, PromptArithmeticInputs(base_size=size))
            await record(found.direct, found.direct_outside, started)

        async def run_served(size: int) -> None:
            started = time.perf_counter()
            if control:
                await PromptArithmetic().arun(client, PromptArithmeticInputs(base_size=size))
            else:
                wait = {"Prefer": "wait=60"}
                answer = await http.post(RUN, json={"base_size": size}, headers=wait)
                assert answer.json()["status"] == "completed", answer.text
            await record(found.served, found.served_outside, started)
            while owing_cleanup(app.state.service.store):
                await asyncio.sleep(0.01)

        async with app.router.lifespan_context(app), http, client:
            socket = await client.event_socket()
            await socket.subscribe()
            hearing = asyncio.create_task(hear(socket))
            for pair in range(runs + 1):
                first, second = (run_direct, run_served) if pair % 2 else (run_served, run_direct)
                await first(500 + 2 * pair)
                await second(501 + 2 * pair)
            hearing.cancel()
    # the first pair warms up
    return Overhead(*(figures[1:] for figures in dataclasses.astuple(found)))


async def _accepted(base: str, clients: int, seconds: float) -> tuple[int, int]:
    """Runs accepted (202) by ``clients`` concurrent clients in ``seconds``, and the requests
    that got no answer (the connection dropped). The clients are aiohttp's: httpx's pool of
    200 connections answers about 70 requests a second on this machine even from a service
    that does nothing, so it would measure itself."""
    import aiohttp

    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as http:

        async def client(number: int) -> tuple[int, int]:
            accepted = dropped = 0
            while time.perf_counter() < deadline:
                try:
                    async with http.post(RUN, json={"scale": number}) as answer:
                        await answer.read()
                except aiohttp.ClientError:
                    dropped += 1
                    continue
                accepted += answer.status == 202
            return accepted, dropped

        counts = await asyncio.gather(*(client(i) for i in range(clients)))
        return sum(a for a, _ in counts), sum(d for _, d in counts)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def _streams(base: str, count: int, pid: int) -> tuple[float, float]:
    """The service's RSS (MiB) before and with ``count`` open event streams of one run."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        run = (await http.post(RUN, json={})).json()
        before = _rss_mib(pid)
        limits = httpx.Limits(max_connections=count + 10)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as streams:
            opened = [
                await streams.send(
                    streams.build_request("GET", run["links"]["events"]), stream=True
                )
                for _ in range(count)
            ]
            await asyncio.sleep(1.0)
            with_streams = _rss_mib(pid)
            for response in opened:
                await response.aclose()
    return before, with_streams


def _simulated(sizes: ServeSizes) -> tuple[tuple[int, int], float, float]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, str(HERE / "serve_sim.py"), str(port), "4"])
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        accepted = asyncio.run(_accepted(base, sizes.clients, sizes.seconds))
        before, with_streams = asyncio.run(_streams(base, sizes.streams, process.pid))
    finally:
        process.terminate()
        process.wait(timeout=60)
    return accepted, before, with_streams


def _added_ms(served: list[float], direct: list[float]) -> float:
    """The median of each pair's difference, in ms."""
    return statistics.median([s - d for s, d in zip(served, direct, strict=True)]) * 1000


def serve_rows(url: str, sizes: ServeSizes = ServeSizes()) -> list[Row]:
    runs = asyncio.run(_overhead(url, sizes.runs))
    added_ms = _added_ms(runs.served_outside, runs.direct_outside)
    control = asyncio.run(_overhead(url, sizes.runs, control=True))
    spread_ms = _added_ms(control.served_outside, control.direct_outside)
    wall_ms = _added_ms(runs.served, runs.direct)
    (accepted, dropped), before, with_streams = _simulated(sizes)
    rate = accepted / sizes.seconds
    streams_mib = with_streams
    return [
        Row(
            SECTION,
            f"ms a run takes outside InvokeAI's time for its item, Prefer: wait through the "
            f"service, prompt-arithmetic ({sizes.runs})",
            Figure(tuple(s * 1000 for s in runs.served_outside), "ms"),
            "Workflow.arun direct",
            Figure(tuple(d * 1000 for d in runs.direct_outside), "ms"),
            "added <= 5 ms (median)",
            added_ms <= 5,
            notes=f"added {added_ms:.1f} ms: the median of each pair's difference (the runs "
            "alternate), each run's wall time less its queue item's enqueued-to-completed time "
            "on the server's clock; the service answers once the output is saved, then "
            "deletes it, its queue item and uploads on InvokeAI",
        ),
        Row(
            SECTION,
            f"the same measure with Workflow.arun in the service's slot too ({sizes.runs})",
            Figure(tuple(s * 1000 for s in control.served_outside), "ms"),
            "Workflow.arun direct",
            Figure(tuple(d * 1000 for d in control.direct_outside), "ms"),
            "",
            None,
            notes=f"{spread_ms:+.1f} ms where nothing differs: the spread of the measure itself",
        ),
        Row(
            SECTION,
            f"ms a run takes, wall time, Prefer: wait through the service ({sizes.runs})",
            Figure(tuple(s * 1000 for s in runs.served), "ms"),
            "Workflow.arun direct",
            Figure(tuple(d * 1000 for d in runs.direct), "ms"),
            "",
            None,
            notes=f"{wall_ms:+.1f} ms: the median of each pair's difference, InvokeAI's time "
            "for an item included (it collects garbage before each item: its time varies by "
            "tens of ms from one item to the next)",
        ),
        Row(
            SECTION,
            f"runs accepted per second, {sizes.clients} concurrent clients, 4 simulated servers",
            Figure((rate,), "runs/s"),
            "target",
            Figure((500.0,), "runs/s"),
            ">= 500/s",
            rate >= 500,
            notes=f"client and service share the machine's 2 cores; {dropped} requests got "
            "no answer",
        ),
        Row(
            SECTION,
            f"service RSS with {sizes.streams} open event streams",
            Figure((streams_mib,), "MiB"),
            "before the streams",
            Figure((before,), "MiB"),
            "< 200 MiB",
            streams_mib < 200,
        ),
    ]


def main(argv: Sequence[str]) -> int:
    """``python -m bench.serve [URL]``: the rows alone, against a running InvokeAI (default: a
    new test server)."""
    from bench.stats import markdown
    from tests.harness.server import InvokeAIServer

    if argv:
        print(markdown(serve_rows(argv[0])))
        return 0
    server = InvokeAIServer().start()
    try:
        print(markdown(serve_rows(server.url)))
    finally:
        server.stop()
        server.remove_root()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
