"""The service's rows: the time it adds to a run (``Prefer: wait`` through the service vs
``Workflow.arun`` direct, same server; outside InvokeAI's own time for each item, and in wall
time), runs accepted per second with many concurrent clients and the service's memory with many
open event streams (both on simulated servers)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from ivkgen.runtime import AsyncInvokeAIClient

from bench.pairs import Timed, added_ms, paired
from bench.stats import Figure, Row

if TYPE_CHECKING:
    from fastapi import FastAPI

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


async def _overhead(url: str, runs: int, *, control: bool = False) -> tuple[Timed, Timed]:
    """``Workflow.arun`` direct and ``Prefer: wait`` through the service, timed in pairs (see
    ``bench.pairs``); the images of one pair are one pixel apart. ``control``: the service's
    slot runs ``Workflow.arun`` too, which shows the measure's own spread."""
    from ivkgen.service.app import create_app
    from ivkgen.service.catalog import load_catalog
    from ivkgen.service.config import ServiceConfig

    from generated.prompt_arithmetic import PromptArithmetic, PromptArithmeticInputs

    with tempfile.TemporaryDirectory(prefix="ivkgen-bench-serve-") as scratch:
        catalog = load_catalog([HERE.parent / "generated"], cache=Path(scratch))
        app = create_app(ServiceConfig(catalog=catalog, servers=[url]))
        transport = httpx.ASGITransport(app=app)
        http = httpx.AsyncClient(transport=transport, base_url="http://service", timeout=120)
        client = AsyncInvokeAIClient.from_url(url)

        async def direct(number: int) -> None:
            await PromptArithmetic().arun(client, PromptArithmeticInputs(base_size=500 + number))

        async def served(number: int) -> None:
            body, wait = {"base_size": 500 + number}, {"Prefer": "wait=60"}
            answer = await http.post(RUN, json=body, headers=wait)
            assert answer.json()["status"] == "completed", answer.text

        async with app.router.lifespan_context(app), http, client:
            settle = partial(cleaned_up, app)
            return await paired(client, runs, direct, direct if control else served, settle)


async def cleaned_up(app: FastAPI) -> None:
    """Returns once the service owes InvokeAI no clean-up."""
    from ivkgen.service.ledger import owing_cleanup

    while owing_cleanup(app.state.service.store):
        await asyncio.sleep(0.01)


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


def serve_rows(url: str, sizes: ServeSizes = ServeSizes()) -> list[Row]:
    direct, served = asyncio.run(_overhead(url, sizes.runs))
    added = added_ms(served.outside, direct.outside)
    control, again = asyncio.run(_overhead(url, sizes.runs, control=True))
    spread_ms = added_ms(again.outside, control.outside)
    wall_ms = added_ms(served.wall, direct.wall)
    (accepted, dropped), before, with_streams = _simulated(sizes)
    rate = accepted / sizes.seconds
    streams_mib = with_streams
    return [
        Row(
            SECTION,
            f"ms a run takes outside InvokeAI's time for its item, Prefer: wait through the "
            f"service, prompt-arithmetic ({sizes.runs})",
            Figure(tuple(s * 1000 for s in served.outside), "ms"),
            "Workflow.arun direct",
            Figure(tuple(d * 1000 for d in direct.outside), "ms"),
            "added <= 5 ms (median)",
            added <= 5,
            notes=f"added {added:.1f} ms: the median of each pair's difference (the runs "
            "alternate), each run's wall time less its queue item's enqueued-to-completed time "
            "on the server's clock; the service answers once the output is saved, then "
            "deletes it, its queue item and uploads on InvokeAI",
        ),
        Row(
            SECTION,
            f"the same measure with Workflow.arun in the service's slot too ({sizes.runs})",
            Figure(tuple(s * 1000 for s in again.outside), "ms"),
            "Workflow.arun direct",
            Figure(tuple(d * 1000 for d in control.outside), "ms"),
            "",
            None,
            notes=f"{spread_ms:+.1f} ms where nothing differs: the spread of the measure itself",
        ),
        Row(
            SECTION,
            f"ms a run takes, wall time, Prefer: wait through the service ({sizes.runs})",
            Figure(tuple(s * 1000 for s in served.wall), "ms"),
            "Workflow.arun direct",
            Figure(tuple(d * 1000 for d in direct.wall), "ms"),
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
