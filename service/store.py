"""The service's record of runs, their events and their pool ledgers, in one sqlite file.

``RunStore`` is the interface the service uses (another database can implement it);
``SqliteStore`` keeps it in an embedded sqlite file (stdlib ``sqlite3``, WAL journal). A run's
row says what was asked (workflow, inputs, owner, idempotency key) and how it stands; its events
are numbered per run (the SSE ids); its ledger rows are what the pool needs to follow the run's
queue item to the end after a restart (server, batch, item, uploads, output files).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ivkgen.runtime._errors import IvkgenError

FINAL_STATUSES = frozenset({"completed", "failed", "canceled"})
UNFINISHED_STATUSES = ("queued", "running")

_SCHEMA = """
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    workflow TEXT NOT NULL,
    inputs TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    error TEXT,
    outputs TEXT,
    server TEXT,
    idempotency_key TEXT,
    request_digest TEXT,
    webhook TEXT,
    batch TEXT,
    UNIQUE (owner, idempotency_key)
);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS ledger_meta (
    run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS ledger_items (
    run_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    inputs TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'waiting',
    server TEXT,
    batch_id TEXT,
    item_id INTEGER,
    images TEXT,
    files TEXT,
    error TEXT,
    session_id TEXT,
    PRIMARY KEY (run_id, idx)
);
CREATE TABLE IF NOT EXISTS ledger_uploads (
    run_id TEXT NOT NULL,
    server TEXT NOT NULL,
    file INTEGER NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (run_id, server, file)
);
"""

_RUN_COLUMNS = (
    "id, owner, workflow, inputs, status, created, started, finished, error, outputs, server, "
    "idempotency_key, request_digest, webhook, batch"
)
_ADDED_COLUMNS = ("batch TEXT",)
"""Columns of ``runs`` that stores made by earlier versions lack (added on open)."""


@dataclass(frozen=True)
class RunRecord:
    """One run as the store holds it; ``outputs`` maps each Outputs attribute to its files."""

    id: str
    owner: str
    workflow: str
    inputs: dict[str, Any]
    status: str
    created: float
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    outputs: dict[str, list[dict[str, Any]]] | None = None
    server: str | None = None
    idempotency_key: str | None = None
    request_digest: str | None = None
    webhook: str | None = None
    batch: list[dict[str, Any]] = field(default_factory=list)
    """A run of several items (OpenAI's ``n``): how each item's inputs differ from
    ``inputs`` (empty: one item of ``inputs``)."""

    @property
    def items(self) -> list[dict[str, Any]]:
        """The inputs of each of the run's items."""
        return [{**self.inputs, **change} for change in self.batch or [{}]]

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class StoredEvent:
    """One event of a run: ``seq`` counts from 1 per run (the SSE id)."""

    run_id: str
    seq: int
    type: str
    data: dict[str, Any]


class RunExists(IvkgenError):
    """The run's id, or its owner's idempotency key, is stored already (both stores raise it)."""


class RunStore(Protocol):
    """What the service keeps of its runs (see the module docstring)."""

    def create_run(self, record: RunRecord) -> None:
        """Store a new run; :class:`RunExists` when its id or idempotency key is taken."""

    def answers(self) -> bool:
        """Whether the database answers now (a store that lost it connects again)."""

    def get_run(self, run_id: str) -> RunRecord | None: ...
    def find_idempotent(self, owner: str, key: str) -> RunRecord | None: ...
    def update_run(self, run_id: str, **changes: Any) -> None: ...
    def unfinished_runs(self) -> list[RunRecord]: ...
    def count_unfinished(self) -> int: ...
    def finished_before(self, moment: float) -> list[str]: ...
    def delete_run(self, run_id: str) -> None: ...
    def add_event(self, run_id: str, type_: str, data: dict[str, Any]) -> StoredEvent: ...
    def last_seq(self, run_id: str) -> int: ...
    def events_after(self, run_id: str, seq: int) -> list[StoredEvent]: ...
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...
    def transaction(self) -> AbstractContextManager[None]: ...
    def close(self) -> None: ...


class SqliteStore:
    """``RunStore`` in one sqlite file (``":memory:"`` for a store that lives with the process)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        present = {row[1] for row in self._db.execute("PRAGMA table_info(runs)")}
        for column in _ADDED_COLUMNS:
            if column.split()[0] not in present:
                self._db.execute(f"ALTER TABLE runs ADD COLUMN {column}")
        self._db.execute("PRAGMA synchronous=NORMAL")

    def create_run(self, record: RunRecord) -> None:
        values = (
            record.id,
            record.owner,
            record.workflow,
            json.dumps(record.inputs),
            record.status,
            record.created,
            record.started,
            record.finished,
            record.error,
            None if record.outputs is None else json.dumps(record.outputs),
            record.server,
            record.idempotency_key,
            record.request_digest,
            record.webhook,
            json.dumps(record.batch) if record.batch else None,
        )
        try:
            self._db.execute(
                f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({', '.join('?' * 15)})", values
            )
        except sqlite3.IntegrityError as exc:
            raise RunExists(f"run {record.id}: {exc}") from exc

    def answers(self) -> bool:
        try:
            self._db.execute("SELECT 1")
        except sqlite3.Error:
            return False
        return True

    def get_run(self, run_id: str) -> RunRecord | None:
        rows = self._db.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id=?", (run_id,))
        return next((_record(row) for row in rows), None)

    def find_idempotent(self, owner: str, key: str) -> RunRecord | None:
        rows = self._db.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE owner=? AND idempotency_key=?", (owner, key)
        )
        return next((_record(row) for row in rows), None)

    def update_run(self, run_id: str, **changes: Any) -> None:
        if "outputs" in changes and changes["outputs"] is not None:
            changes["outputs"] = json.dumps(changes["outputs"])
        columns = ", ".join(f"{name}=?" for name in changes)
        self._db.execute(f"UPDATE runs SET {columns} WHERE id=?", (*changes.values(), run_id))

    def unfinished_runs(self) -> list[RunRecord]:
        final = tuple(FINAL_STATUSES)
        rows = self._db.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE status NOT IN (?, ?, ?) ORDER BY created",
            final,
        )
        return [_record(row) for row in rows]

    def count_unfinished(self) -> int:
        row = self._db.execute(  # an index count: IN, unlike NOT IN, uses runs_status
            "SELECT COUNT(*) FROM runs WHERE status IN (?, ?)", tuple(UNFINISHED_STATUSES)
        ).fetchone()
        return int(row[0])

    def finished_before(self, moment: float) -> list[str]:
        rows = self._db.execute("SELECT id FROM runs WHERE finished < ?", (moment,))
        return [row[0] for row in rows]

    def delete_run(self, run_id: str) -> None:
        with self.transaction():
            for table in ("events", "ledger_meta", "ledger_items", "ledger_uploads"):
                self._db.execute(f"DELETE FROM {table} WHERE run_id=?", (run_id,))
            self._db.execute("DELETE FROM runs WHERE id=?", (run_id,))

    def add_event(self, run_id: str, type_: str, data: dict[str, Any]) -> StoredEvent:
        with self.transaction():
            row = self._db.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE run_id=?", (run_id,)
            ).fetchone()
            seq = int(row[0])
            self._db.execute(
                "INSERT INTO events VALUES (?, ?, ?, ?)", (run_id, seq, type_, json.dumps(data))
            )
        return StoredEvent(run_id, seq, type_, data)

    def last_seq(self, run_id: str) -> int:
        row = self._db.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id=?", (run_id,)
        ).fetchone()
        return int(row[0])

    def events_after(self, run_id: str, seq: int) -> list[StoredEvent]:
        rows = self._db.execute(
            "SELECT seq, type, data FROM events WHERE run_id=? AND seq>? ORDER BY seq",
            (run_id, seq),
        )
        return [StoredEvent(run_id, s, t, json.loads(d)) for s, t, d in rows]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._db.execute(sql, params))

    def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.transaction():
            self._db.executemany(sql, rows)

    def transaction(self) -> _Transaction:
        """``with store.transaction():`` groups statements into one commit (nestable)."""
        return _Transaction(self._db)

    def close(self) -> None:
        self._db.close()


class _Transaction(AbstractContextManager[None]):
    """BEGIN ... COMMIT (ROLLBACK on an error); an inner one joins the outer."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._outer = False

    def __enter__(self) -> None:
        self._outer = not self._db.in_transaction
        if self._outer:
            self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *rest: object) -> None:
        if self._outer:
            self._db.execute("ROLLBACK" if kind is not None else "COMMIT")


def _record(row: tuple[Any, ...]) -> RunRecord:
    values = list(row)
    values[3] = json.loads(values[3])
    values[9] = json.loads(values[9]) if values[9] else None
    values[14] = json.loads(values[14]) if values[14] else []
    return RunRecord(*values)


def now() -> float:
    return time.time()


__all__ = [
    "FINAL_STATUSES",
    "RunExists",
    "RunRecord",
    "RunStore",
    "SqliteStore",
    "StoredEvent",
    "now",
]
