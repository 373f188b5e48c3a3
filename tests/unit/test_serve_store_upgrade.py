"""A store file an earlier version made (its ``runs`` table without the ``batch`` column) opens,
keeps its runs and takes runs of several items."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ivkgen.service.store import RunRecord, SqliteStore

EARLIER_RUNS = """CREATE TABLE runs (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, workflow TEXT NOT NULL, inputs TEXT NOT NULL,
    status TEXT NOT NULL, created REAL NOT NULL, started REAL, finished REAL, error TEXT,
    outputs TEXT, server TEXT, idempotency_key TEXT, request_digest TEXT, webhook TEXT,
    UNIQUE (owner, idempotency_key)
)"""


def test_a_store_without_the_batch_column_gains_it_and_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(EARLIER_RUNS)
        db.execute(
            "INSERT INTO runs (id, owner, workflow, inputs, status, created) VALUES (?,?,?,?,?,?)",
            ("old", "", "blur", '{"radius": 2}', "completed", 1.0),
        )
    store = SqliteStore(path)
    batch = [{"seed": 1}, {"seed": 2}]
    store.create_run(RunRecord("new", "", "blur", {"radius": 3}, "queued", 2.0, batch=batch))
    old, new = store.get_run("old"), store.get_run("new")
    store.close()
    assert old is not None and old.items == [{"radius": 2}]
    assert new is not None and new.items == [{"radius": 3, "seed": 1}, {"radius": 3, "seed": 2}]
