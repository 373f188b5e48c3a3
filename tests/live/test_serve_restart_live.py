"""The service stopped or killed mid-run and started again: the run completes once, nothing is
left on InvokeAI."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest
from ivkgen.runtime._client import InvokeAIClient
from ivkgen.runtime._pool.work import run_tag

from tests.live._serve import server_holdings
from tests.live._serve_process import ServeProcess, slow_workflow_file

FINAL = ("completed", "failed", "canceled")


@pytest.fixture
def slow(tmp_path: Path) -> Path:
    return slow_workflow_file(tmp_path)


def _pool_run_id(store: Path, run_id: str) -> str:
    with sqlite3.connect(store) as db:
        row = db.execute(
            "SELECT value FROM ledger_meta WHERE run_id=? AND key='pool_run'", (run_id,)
        ).fetchone()
    return str(row[0])


def _item_ids(url: str, tag: str) -> set[int]:
    with InvokeAIClient.from_url(url) as client:
        return {item.item_id for item in client.queue_repo.list_all_items(destination=tag)}


def _follow(service: ServeProcess, run_id: str, url: str, tag: str) -> tuple[dict, set[int]]:
    """Poll the run to its end, noting every InvokeAI queue item of it seen meanwhile."""
    seen: set[int] = set()
    with service.client() as http:
        while True:
            seen |= _item_ids(url, tag)
            run = http.get(f"/v1/runs/{run_id}").json()
            if run["status"] in FINAL:
                return run, seen
            time.sleep(0.1)


def _started_run(service: ServeProcess, width: int) -> str:
    with service.client() as http:
        answer = http.post("/v1/workflows/slow_blur/runs", json={"width": width})
        assert answer.status_code == 202, answer.text
        run_id = str(answer.json()["id"])
        while http.get(f"/v1/runs/{run_id}").json()["status"] != "running":
            time.sleep(0.05)
    return run_id


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "stopped"])
def test_a_run_in_flight_when_the_service_stops_completes_once_after_a_restart(
    server_url: str, slow: Path, tmp_path: Path, stop: int
) -> None:
    before = server_holdings(server_url)
    store = tmp_path / "runs.sqlite3"
    args = [str(slow), "--server", server_url, "--store", str(store)]
    first = ServeProcess(args, tmp_path / "first.log").start()
    try:
        run_id = _started_run(first, 1000 + stop)
        tag = run_tag(_pool_run_id(store, run_id))
        items_before = _item_ids(server_url, tag)
        first.signal(stop)
    finally:
        first.stop()
    assert len(items_before) == 1
    second = ServeProcess(args, tmp_path / "second.log").start()
    try:
        run, items_after = _follow(second, run_id, server_url, tag)
    finally:
        second.stop()
    assert run["status"] == "completed", run["error"]
    assert items_after <= items_before  # the same queue item, never enqueued again
    assert [len(files) for files in run["outputs"].values()] == [1]
    assert server_holdings(server_url) == before
    assert "Traceback" not in first.output() + second.output()
