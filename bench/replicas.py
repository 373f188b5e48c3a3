"""The replicas' rows: runs accepted per second through 1 and through 3 replicas of ``ivkgen
serve`` sharing one PostgreSQL (from ``tests/harness/postgres.py``), and the take-over time of a
SIGKILLed replica. Every replica serves ``generated/`` on simulated InvokeAI servers whose items
take an hour (runs stay pending); ``python -m bench.replicas serve PORT STORE FILES LEASE`` is
one such replica, until SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from bench.serve import RUN, _accepted, _free_port
from bench.stats import Figure, Row
from tests.harness.postgres import PostgresServer

SECTION = "9 replicas"
HERE = Path(__file__).resolve().parent
SERVERS = 4
ITEM_SECONDS = 3600.0
START_SECONDS = 120.0
DRIVEN = "driven by this replica"


@dataclass(frozen=True)
class ReplicaSizes:
    clients: int = 200
    seconds: float = 5.0
    lease: float = 3.0
    runs: int = 6
    """Runs driven when a replica is killed (fewer than the replicas' room, so none waits)."""


class Replica:
    """One replica process on a free port, its log in ``log``."""

    def __init__(self, store: str, files: Path, lease: float, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [sys.executable, "-m", "bench.replicas", "serve", str(self.port), store]
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [*command, str(files), str(lease)],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=HERE.parent,
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"replica did not start: {log.read_text()[-2000:]}")

    def driven(self) -> set[str]:
        """The runs this replica took from the queue."""
        lines = self.log.read_text(errors="replace").splitlines()
        return {line.split("run ")[1].split(":")[0] for line in lines if DRIVEN in line}

    def stop(self, number: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(number)
        self.process.wait(timeout=60)


@contextmanager
def _replicas(
    postgres: PostgresServer, scratch: Path, count: int, lease: float
) -> Iterator[list[Replica]]:
    """``count`` replicas on a new database of ``postgres`` (dropped after)."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres.url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    store = postgres.url.rsplit("/", 1)[0] + f"/{name}"
    started: list[Replica] = []
    try:
        for index in range(count):
            log = scratch / f"{name}-{index}.log"
            started.append(Replica(store, scratch / name, lease, log))
        yield started
    finally:
        for replica in started:
            replica.stop()
        with psycopg.connect(postgres.url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


async def _accepted_through(replicas: Sequence[Replica], clients: int, seconds: float) -> int:
    """Runs accepted in ``seconds`` by ``clients`` spread evenly over the replicas."""
    share = max(1, clients // len(replicas))
    counts = await asyncio.gather(*(_accepted(r.url, share, seconds) for r in replicas))
    return sum(accepted for accepted, _ in counts)


def _take_over(replicas: Sequence[Replica], runs: int, lease: float) -> float:
    """Seconds from SIGKILL of the replica that drives the most runs until the others drive
    every one of them."""
    with httpx.Client(timeout=60) as http:
        for index in range(runs):
            http.post(replicas[index % len(replicas)].url + RUN, json={"scale": index})
    deadline = time.monotonic() + START_SECONDS
    while sum(len(r.driven()) for r in replicas) < runs and time.monotonic() < deadline:
        time.sleep(0.05)
    victim = max(replicas, key=lambda r: len(r.driven()))
    orphans = victim.driven()
    victim.stop(signal.SIGKILL)
    killed = time.monotonic()
    others = [r for r in replicas if r is not victim]
    while not orphans <= set().union(*(r.driven() for r in others)):
        if time.monotonic() - killed > 10 * lease:
            raise RuntimeError(f"runs not taken over within {10 * lease:.0f} s")
        time.sleep(0.02)
    return time.monotonic() - killed


def replica_rows(sizes: ReplicaSizes = ReplicaSizes()) -> list[Row]:
    postgres = PostgresServer().start()
    try:
        with tempfile.TemporaryDirectory(prefix="ivkgen-bench-replicas-") as folder:
            scratch = Path(folder)
            with _replicas(postgres, scratch, 1, sizes.lease) as one:
                alone = asyncio.run(_accepted_through(one, sizes.clients, sizes.seconds))
            with _replicas(postgres, scratch, 3, sizes.lease) as three:
                spread = asyncio.run(_accepted_through(three, sizes.clients, sizes.seconds))
            with _replicas(postgres, scratch, 3, sizes.lease) as three:
                taken = _take_over(three, sizes.runs, sizes.lease)
    finally:
        postgres.stop()
    return [
        Row(
            SECTION,
            f"runs accepted per second through 3 replicas, {sizes.clients} concurrent clients, "
            f"{SERVERS} simulated servers each, one PostgreSQL",
            Figure((spread / sizes.seconds,), "runs/s"),
            "through 1 replica",
            Figure((alone / sizes.seconds,), "runs/s"),
            "reported",
            None,
            notes="the replicas, the clients and PostgreSQL share this machine's cores: more "
            "replicas buy availability here, more machines buy throughput",
        ),
        Row(
            SECTION,
            f"seconds until every run of a SIGKILLed replica is driven by another "
            f"({sizes.runs} runs over 3 replicas)",
            Figure((taken,), "s"),
            "the lease",
            Figure((sizes.lease,), "s"),
            "reported",
            None,
            notes="a stale job is looked for every lease / 2 seconds",
        ),
    ]


def _serve(port: int, store: str, files: Path, lease: float) -> None:
    """One replica on its own simulated servers (see the module docstring)."""
    import uvicorn
    from ivkgen.runtime._client import AsyncInvokeAIClient
    from ivkgen.service.app import create_app
    from ivkgen.service.catalog import load_catalog
    from ivkgen.service.config import ServiceConfig

    from tests.harness.fake_invokeai import FakeInvokeAI

    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per simulated request
    fakes = [FakeInvokeAI(f"s{i}", time.monotonic, duration=ITEM_SECONDS) for i in range(SERVERS)]
    clients = {
        f"http://{f.name}.test": AsyncInvokeAIClient.from_url(
            f"http://{f.name}.test", transport=f.transport()
        )
        for f in fakes
    }
    catalog = load_catalog([HERE.parent / "generated"], cache=files / f"catalog-{port}")
    config = ServiceConfig(
        catalog=catalog,
        servers=list(clients),
        store=store,
        files=files,
        max_pending=10**9,
        lease=lease,
    )
    app = create_app(config, clients=clients)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=5)


def main(argv: Sequence[str]) -> int:
    """``python -m bench.replicas``: the rows alone."""
    if argv[:1] == ["serve"]:
        _serve(int(argv[1]), argv[2], Path(argv[3]), float(argv[4]))
        return 0
    from bench.stats import markdown

    print(markdown(replica_rows()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
