"""Benchmarks against a running server: client-added time per item, sweep throughput, memory.

Every client runs in a process of its own (ivkgen, the raw httpx + python-socketio floor,
invokeai-py-client in its venv) and reports its wall times and item ids; the server's own
execution time of each item (``completed_at - started_at``) is read back from the queue here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ivkgen.runtime import InvokeAIClient, WorkflowDefinition, WorkflowHandle

from bench.stats import Figure, Row, scaled

HERE = Path(__file__).resolve().parent
SWEEP_LABEL = "Subject"


@dataclass(frozen=True)
class Live:
    """The server, the model-free workflow and how many items each figure takes."""

    url: str
    workflow: Path
    pyclient_python: Path
    items: int
    sweep: int
    memory_items: int
    scratch: Path
    """A folder for the enqueue bodies handed to the raw client."""


def _drive(python: Path | str, script: str, *args: object) -> dict[str, Any]:
    command = [str(python), str(HERE / script), *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=HERE.parent)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _busy_seconds(url: str, item_ids: list[int]) -> list[float]:
    """Each item's ``completed_at - started_at`` as the server recorded it."""
    with InvokeAIClient.from_url(url) as client:
        items = []
        for start in range(0, len(item_ids), 1000):
            items += client.queue_repo.get_queue_items(item_ids[start : start + 1000])
    seconds = []
    for item in items:
        if item.status != "completed" or not item.started_at or not item.completed_at:
            raise RuntimeError(f"queue item {item.item_id} ended {item.status}, not completed")
        span = datetime.fromisoformat(item.completed_at) - datetime.fromisoformat(item.started_at)
        seconds.append(span.total_seconds())
    return seconds


def _body(cfg: Live, sweep: int = 0) -> Path:
    """The enqueue body the raw client sends: one item, or ``sweep`` values of the sweep input."""
    handle = WorkflowHandle(WorkflowDefinition.from_file(cfg.workflow))
    body = handle.build_enqueue_body()
    if sweep:
        entry = handle.find_input(SWEEP_LABEL)
        values = [f"subject {i}" for i in range(sweep)]
        body["batch"]["data"] = [
            [{"node_path": entry.node_id, "field_name": entry.field_name, "items": values}]
        ]
    path = cfg.scratch / f"enqueue-body-{sweep}.json"
    path.write_text(json.dumps(body))
    return path


def _added_ms(cfg: Live, result: dict[str, Any]) -> Figure:
    busy = _busy_seconds(cfg.url, result["item_ids"])
    return scaled([w - b for w, b in zip(result["walls"], busy, strict=True)], 1e3, "ms")


def item_rows(cfg: Live) -> list[Row]:
    me = sys.executable
    body = _body(cfg)
    raw = _added_ms(cfg, _drive(me, "drive_raw.py", "items", cfg.url, body, cfg.items))
    drives = {
        tracking: _drive(me, "drive_ivkgen.py", "items", cfg.url, cfg.workflow, cfg.items, tracking)
        for tracking in ("events", "poll")
    }
    runs = {tracking: _added_ms(cfg, result) for tracking, result in drives.items()}
    notes = {
        tracking: f"{result['requests'] / cfg.items:.1f} HTTP requests per item"
        for tracking, result in drives.items()
    }
    theirs = _added_ms(
        cfg,
        _drive(cfg.pyclient_python, "drive_pyclient.py", "items", cfg.url, cfg.workflow, cfg.items),
    )
    metric = f"client-added ms per item, {cfg.items} sequential items of {cfg.workflow.name}"
    events, poll = runs["events"], runs["poll"]
    met = events.median <= 20
    polling = f"{metric}, ivkgen polling (paced, at most 0.5 s apart)"
    return [
        Row(
            "4 per item",
            f"{metric}, ivkgen events",
            events,
            "raw httpx + socketio",
            raw,
            "<= 20 ms",
            met,
            notes["events"],
        ),
        Row(
            "4 per item",
            f"{metric}, ivkgen events",
            events,
            "invokeai-py-client submit_sync + wait_for_completion_sync",
            theirs,
            "<= 20 ms",
            met,
            notes["events"],
        ),
        Row(
            "4 per item",
            polling,
            poll,
            "ivkgen events",
            events,
            "<= 3x events",
            poll.median <= 3 * events.median,
            notes["poll"],
        ),
        Row("4 per item", polling, poll, "raw httpx + socketio", raw, "-", None, notes["poll"]),
    ]


def _over_busy(cfg: Live, result: dict[str, Any]) -> Figure:
    busy = sum(_busy_seconds(cfg.url, result["item_ids"]))
    return Figure((result["walls"][0] / busy,), "x busy")


def sweep_rows(cfg: Live) -> list[Row]:
    me = sys.executable
    body = _body(cfg, sweep=cfg.sweep)
    raw = _over_busy(cfg, _drive(me, "drive_raw.py", "sweep", cfg.url, body))
    args = (cfg.url, cfg.workflow, SWEEP_LABEL, cfg.sweep)
    batch = _over_busy(cfg, _drive(me, "drive_ivkgen.py", "batch", *args))
    each = _over_busy(cfg, _drive(me, "drive_ivkgen.py", "each", *args))
    metric = f"wall / server busy time, {cfg.sweep} values of {SWEEP_LABEL!r}"
    return [
        Row(
            "5 sweep",
            f"{metric}, ivkgen one enqueue",
            batch,
            "raw one enqueue",
            raw,
            "<= 1.03x busy",
            batch.median <= 1.03,
        ),
        Row(
            "5 sweep",
            f"{metric}, ivkgen {cfg.sweep} submissions",
            each,
            "raw one enqueue",
            raw,
            "<= 1.03x busy",
            each.median <= 1.03,
        ),
    ]


def memory_rows(cfg: Live) -> list[Row]:
    me = sys.executable
    body = _body(cfg, sweep=cfg.memory_items)
    raw = _drive(me, "drive_raw.py", "memory", cfg.url, body)
    mine = _drive(
        me, "drive_ivkgen.py", "memory", cfg.url, cfg.workflow, SWEEP_LABEL, cfg.memory_items
    )
    figure = Figure((mine["peak_rss_mib"],), "MiB")
    return [
        Row(
            "6 memory",
            f"peak RSS, {cfg.memory_items}-item sweep enqueued, tracked, canceled",
            figure,
            "raw httpx + socketio",
            Figure((raw["peak_rss_mib"],), "MiB"),
            "< 150 MB",
            figure.median * 1.048576 < 150,
        )
    ]
