"""Benchmarks without a server: generation, import time and client CPU per job."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.scale import write_scaled
from bench.stats import Figure, Row, scaled, timed

REPO = Path(__file__).resolve().parent.parent
OPENAPI = REPO / "data" / "openapi" / "invokeai-6.14.2.json"
IVKGEN = Path(sys.executable).parent / "ivkgen"
IMPORT_IVKGEN = "import ivkgen.runtime, generated.sd15_text_to_image"
IMPORT_PYCLIENT = "import invokeai_py_client"
IMPORT_PYDANTIC = "import pydantic; from pydantic import BaseModel, Field"
DRIVE_PYCLIENT = Path(__file__).with_name("drive_pyclient.py")
FULL_BLACK = [sys.executable, "-m", "bench.full_black"]
"""``ivkgen`` with black over each whole module (the big row's comparison)."""
BIG_RUNS = 3
"""Cold runs of the big workflow (each takes seconds)."""
IMPORT_ROUNDS = 3
"""Import rounds per cold run: an import takes a tenth of a second and varies by a few percent
from one process to the next, so its median needs more samples than the other cold rows."""


@dataclass(frozen=True)
class Offline:
    """Where the inputs are and how many times each figure is measured."""

    workflows: tuple[Path, ...]
    largest: Path
    cpu_workflow: Path
    pyclient_python: Path
    cold_runs: int
    cpu_runs: int
    big_nodes: int
    """Nodes of the big workflow, ``largest`` repeated under new ids."""


def _target(seconds: float, unit: str, factor: float) -> Figure:
    return Figure((seconds * factor,), unit)


def _cold(command: list[str], runs: int, env: dict[str, str]) -> tuple[float, ...]:
    """Wall seconds of ``command`` in a new process each time, after an untimed run that fills
    the bytecode cache of ``env``."""

    def once() -> None:
        subprocess.run(command, check=True, capture_output=True, cwd=REPO, env=env)

    return timed(once, runs)


def generation_rows(cfg: Offline) -> list[Row]:
    from ivkgen.generator.package import generate_modules

    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="ivkgen-bench-") as out,
        tempfile.TemporaryDirectory(prefix="ivkgen-pyc-") as cache,
    ):
        env = bytecode_env(Path(cache))
        gen = [str(IVKGEN), "gen", "-o", out, "--openapi", str(OPENAPI)]
        cold = _cold([*gen, str(cfg.largest)], cfg.cold_runs, env)
        warm = timed(lambda: generate_modules([cfg.largest], Path(out)), cfg.cpu_runs)
        every = _cold([*gen, *map(str, cfg.workflows)], cfg.cold_runs, env)
        fields_command = [str(IVKGEN), "fields", "--openapi", str(OPENAPI), "-o", out]
        fields = _cold(fields_command, cfg.cold_runs, env)
        big = write_scaled(cfg.largest, cfg.big_nodes, Path(out) / "big.json")
        big_runs = min(cfg.cold_runs, BIG_RUNS)
        big_cold, full_black = _alternating_cold(
            big_runs, env, [*gen, str(big)], [*FULL_BLACK, *gen[1:], str(big)]
        )
    largest = cfg.largest.name
    for metric, samples, limit in (
        (f"`ivkgen gen` {largest}, cold process (bytecode cached)", cold, 0.5),
        (f"`ivkgen gen` {largest}, in-process", warm, 0.5),
        (f"`ivkgen gen` all {len(cfg.workflows)} committed workflows, one process", every, 3.0),
        ("`ivkgen fields` on the 6.14.2 spec, cold process", fields, 3.0),
    ):
        figure = scaled(samples, 1.0, "s")
        rows.append(
            Row(
                "1 generation",
                metric,
                figure,
                "target",
                _target(limit, "s", 1.0),
                f"< {limit} s",
                figure.median < limit,
            )
        )
    return [*rows, _big_row(cfg, big_cold, full_black)]


def _alternating_cold(
    runs: int, env: dict[str, str], *commands: list[str]
) -> list[tuple[float, ...]]:
    """Cold-process seconds of each command, the commands taking turns in each round."""
    rounds = [[_cold(command, 1, env)[0] for command in commands] for _ in range(runs)]
    return [tuple(r[i] for r in rounds) for i in range(len(commands))]


def _big_row(cfg: Offline, fast: tuple[float, ...], full_black: tuple[float, ...]) -> Row:
    """The big workflow: the attributes laid out (the fast path) against black over the whole
    module (the same command as it was before), measured in the same run."""
    figure = scaled(fast, 1.0, "s")
    return Row(
        "1 generation",
        f"`ivkgen gen` {cfg.big_nodes}-node workflow ({cfg.largest.name} repeated), "
        "cold process: fast path",
        figure,
        "full black pass (`python -m bench.full_black gen ...`)",
        scaled(full_black, 1.0, "s"),
        "< 2.0 s",
        figure.median < 2.0,
    )


def import_seconds(python: Path, statement: str, env: dict[str, str] | None = None) -> float:
    """Wall seconds of ``statement`` in a fresh interpreter, timed inside it (the interpreter's
    own start-up excluded). ``-X importtime`` is not used: its per-module sums miss modules
    loaded through ``importlib.import_module`` (pydantic's lazy ``BaseModel`` and ``Field``) and
    do not add up to the time a user waits."""
    code = f"import time\nstart = time.perf_counter()\n{statement}\n"
    code += "print(time.perf_counter() - start)"
    done = subprocess.run(
        [str(python), "-c", code], check=True, capture_output=True, text=True, cwd=REPO, env=env
    )
    return float(done.stdout)


def bytecode_env(cache: Path) -> dict[str, str]:
    """The environment of an installed package: bytecode written and read (here in ``cache``),
    as ``pip install`` leaves it, whatever ``PYTHONDONTWRITEBYTECODE`` says."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": str(cache)}


def _alternating(
    runs: int, env: dict[str, str] | None, *statements: str
) -> list[tuple[float, ...]]:
    """Import seconds of each statement, the statements taking turns in each round."""
    python = Path(sys.executable)
    rounds = [[import_seconds(python, s, env) for s in statements] for _ in range(runs)]
    return [tuple(r[i] for r in rounds) for i in range(len(statements))]


def import_rows(cfg: Offline) -> list[Row]:
    metric = f"`{IMPORT_IVKGEN}`, cold process"
    with tempfile.TemporaryDirectory(prefix="ivkgen-pyc-") as cache:
        env = bytecode_env(Path(cache))
        for statement in (IMPORT_IVKGEN, IMPORT_PYDANTIC):  # fill the bytecode cache
            import_seconds(Path(sys.executable), statement, env)
        cached = _alternating(IMPORT_ROUNDS * cfg.cold_runs, env, IMPORT_IVKGEN, IMPORT_PYDANTIC)
    uncached = _alternating(IMPORT_ROUNDS * cfg.cold_runs, None, IMPORT_IVKGEN, IMPORT_PYDANTIC)
    mine, floor = (scaled(s, 1e3, "ms") for s in cached)
    source_mine, source_floor = (scaled(s, 1e3, "ms") for s in uncached)
    pyclient = tuple(
        import_seconds(cfg.pyclient_python, IMPORT_PYCLIENT)
        for _ in range(IMPORT_ROUNDS * cfg.cold_runs)
    )
    theirs = scaled(pyclient, 1e3, "ms")
    return [
        Row(
            "2 import",
            f"{metric}, bytecode cached (as installed)",
            mine,
            f"`{IMPORT_PYDANTIC}`",
            floor,
            "<= 1.10x",
            mine.median <= 1.10 * floor.median,
        ),
        Row(
            "2 import",
            f"{metric}, no bytecode cache (this checkout's environment)",
            source_mine,
            f"`{IMPORT_PYDANTIC}`",
            source_floor,
            "-",
            None,
        ),
        Row(
            "2 import",
            f"{metric}, bytecode cached (as installed)",
            mine,
            f"`{IMPORT_PYCLIENT}`",
            theirs,
            "<= 0.25x",
            mine.median <= theirs.median / 4,
        ),
    ]


def _set_and_build(cfg: Offline) -> Callable[[], Any]:
    from ivkgen.runtime import WorkflowDefinition, WorkflowHandle

    handle = WorkflowHandle(WorkflowDefinition.from_file(cfg.cpu_workflow))
    prompt, width = handle.find_input("Positive Prompt"), handle.find_input("Output Width")
    take = iter(range(10**9))

    def once() -> Any:
        n = next(take)
        prompt.field.value = f"a lighthouse at dusk, take {n}"  # type: ignore[attr-defined]
        width.field.value = 1024 + 64 * (n % 2)  # type: ignore[attr-defined]
        return handle.build_enqueue_body()

    return once


def dict_floor(workflow: dict[str, Any]) -> dict[str, Any]:
    """The least a conversion can do: invocation nodes with their values, default edges."""
    nodes = {
        node["id"]: {
            "id": node["id"],
            "type": node["data"]["type"],
            **{k: f["value"] for k, f in node["data"]["inputs"].items() if "value" in f},
        }
        for node in workflow["nodes"]
        if node["type"] == "invocation"
    }
    edges = [
        {
            "source": {"node_id": e["source"], "field": e["sourceHandle"]},
            "destination": {"node_id": e["target"], "field": e["targetHandle"]},
        }
        for e in workflow["edges"]
        if e["type"] == "default"
    ]
    return {"batch": {"graph": {"id": "g", "nodes": nodes, "edges": edges}, "runs": 1}}


def _floor(cfg: Offline) -> Callable[[], Any]:
    from ivkgen.runtime import WorkflowDefinition, WorkflowHandle

    workflow = json.loads(cfg.cpu_workflow.read_text())
    nodes = {node["id"]: node for node in workflow["nodes"]}
    handle = WorkflowHandle(WorkflowDefinition.from_file(cfg.cpu_workflow))
    prompt, width = (
        nodes[entry.node_id]["data"]["inputs"][entry.field_name]
        for entry in (handle.find_input("Positive Prompt"), handle.find_input("Output Width"))
    )
    take = iter(range(10**9))

    def once() -> Any:
        n = next(take)
        prompt["value"] = f"a lighthouse at dusk, take {n}"
        width["value"] = 1024 + 64 * (n % 2)
        return dict_floor(workflow)

    return once


def cpu_rows(cfg: Offline) -> list[Row]:
    mine = scaled(timed(_set_and_build(cfg), cfg.cpu_runs, warmup=5), 1e3, "ms")
    floor = scaled(timed(_floor(cfg), cfg.cpu_runs, warmup=5), 1e3, "ms")
    command = [str(cfg.pyclient_python), str(DRIVE_PYCLIENT), "cpu", str(cfg.cpu_workflow)]
    done = subprocess.run([*command, str(cfg.cpu_runs)], check=True, capture_output=True)
    theirs = scaled(json.loads(done.stdout)["samples"], 1e3, "ms")
    metric = f"set 2 inputs + enqueue body, {cfg.cpu_workflow.name}, in-process"
    met = mine.median <= 0.3
    return [
        Row("3 client CPU", metric, mine, "invokeai-py-client", theirs, "<= 0.3 ms", met),
        Row("3 client CPU", metric, mine, "bare dict comprehension", floor, "<= 0.3 ms", met),
    ]
