"""``python -m bench``: run the suite against a new test server (or ``--url``); print the table."""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.cli_startup import startup_rows
from bench.live import Live, item_rows, memory_rows, sweep_rows
from bench.offline import Offline, cpu_rows, generation_rows, import_rows
from bench.openai import openai_rows
from bench.pool import PoolSizes, live_rows, simulated_rows
from bench.pyclient_env import PIN, ensure_pyclient_venv
from bench.replicas import ReplicaSizes, replica_rows
from bench.serve import ServeSizes, serve_rows
from bench.stats import Row, markdown
from tests.harness.server import InvokeAIServer

REPO = Path(__file__).resolve().parent.parent
SHARED_WORKFLOWS = REPO.parent / "shared" / "data" / "workflows"


@dataclass(frozen=True)
class Sizes:
    """How much each benchmark does; ``make bench`` uses the defaults."""

    cold_runs: int = 7
    cpu_runs: int = 300
    items: int = 20
    sweep: int = 100
    memory_items: int = 1000
    big_nodes: int = 5000
    pool_sweep: int = 40
    ledger_items: int = 10000
    pool_servers: int = 100
    pool_items: int = 100000
    serve: ServeSizes = dataclasses.field(default_factory=ServeSizes)
    replicas: ReplicaSizes = dataclasses.field(default_factory=ReplicaSizes)

    @property
    def pool(self) -> PoolSizes:
        return PoolSizes(self.pool_sweep, self.ledger_items, self.pool_servers, self.pool_items)


TINY = Sizes(
    cold_runs=1,
    cpu_runs=5,
    items=2,
    sweep=3,
    memory_items=5,
    big_nodes=100,
    pool_sweep=8,
    ledger_items=20,
    pool_servers=4,
    pool_items=40,
    serve=ServeSizes(runs=2, clients=10, seconds=1.0, streams=20),
    replicas=ReplicaSizes(clients=12, seconds=1.0, runs=3),
)


def committed_workflows(shared: Path) -> tuple[Path, ...]:
    """The workflows whose modules are committed in ``generated/``."""
    return tuple(sorted([*(REPO / "data" / "workflows").glob("*.json"), *shared.glob("*.json")]))


def run_suite(sizes: Sizes, url: str, shared: Path = SHARED_WORKFLOWS) -> list[Row]:
    """Every row of the table, measured now against the server at ``url``."""
    pyclient = ensure_pyclient_venv()
    workflows = committed_workflows(shared)
    offline = Offline(
        workflows=workflows,
        largest=max(workflows, key=lambda p: p.stat().st_size),
        cpu_workflow=shared / "sdxl-flux-refine.json",
        pyclient_python=pyclient,
        cold_runs=sizes.cold_runs,
        cpu_runs=sizes.cpu_runs,
        big_nodes=sizes.big_nodes,
    )
    rows = generation_rows(offline) + import_rows(offline) + startup_rows(sizes.cold_runs)
    rows += cpu_rows(offline)
    with tempfile.TemporaryDirectory(prefix="ivkgen-bench-") as scratch:
        live = Live(
            url=url,
            workflow=REPO / "data" / "workflows" / "prompt-arithmetic.json",
            pyclient_python=pyclient,
            items=sizes.items,
            sweep=sizes.sweep,
            memory_items=sizes.memory_items,
            scratch=Path(scratch),
        )
        rows += item_rows(live) + sweep_rows(live) + memory_rows(live)
    spare = InvokeAIServer().start()  # the second server of the pool rows; killed by them
    try:
        rows += live_rows(url, spare, sizes.pool)
    finally:
        spare.stop()
        spare.remove_root()
    rows += (
        simulated_rows(sizes.pool)
        + serve_rows(url, sizes.serve)
        + openai_rows(url, sizes.serve.runs)
    )
    return rows + replica_rows(sizes.replicas)


def write_results(rows: Sequence[Row], out: Path, sizes: Sizes) -> str:
    """Write ``bench.md`` and ``bench.json`` into ``out``; return the Markdown."""
    machine = f"Python {platform.python_version()}, {platform.machine()}, InvokeAI 6.14.2, {PIN}"
    text = f"{markdown(rows)}\n{machine}; sizes: {sizes}\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.md").write_text(text)
    data = {
        "machine": machine,
        "sizes": dataclasses.asdict(sizes),
        "rows": [row.as_json() for row in rows],
    }
    (out / "bench.json").write_text(json.dumps(data, indent=1) + "\n")
    return text


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--url", help="a running InvokeAI 6.14.2 (default: start a test server)")
    parser.add_argument("--tiny", action="store_true", help="the smallest sizes (a smoke run)")
    parser.add_argument("-o", "--output", type=Path, default=REPO / "bench-results")
    args = parser.parse_args(argv)
    sizes = TINY if args.tiny else Sizes()
    if args.url:
        rows = run_suite(sizes, args.url)
    else:
        server = InvokeAIServer().start()
        try:
            rows = run_suite(sizes, server.url)
        finally:
            server.stop()
            server.remove_root()
    print(write_results(rows, args.output, sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
