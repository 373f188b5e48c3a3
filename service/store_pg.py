"""``RunStore`` in PostgreSQL: the store that several replicas of the service share.

``PostgresStore`` keeps the same tables as :class:`~ivkgen.service.store.SqliteStore` (runs,
their numbered events, their pool ledgers) in one PostgreSQL database (psycopg 3, one
connection per replica, autocommit; ``transaction()`` nests as savepoints). The ledger's SQL is
written with ``?`` parameters for both stores; this store passes them on as ``%s``. Each event
recorded is announced on the ``ivkgen_events`` channel (``NOTIFY``, sent at commit), so a replica
streaming a run that another replica drives hears it at once (:mod:`.replicas`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from ivkgen.service.store import (
    _ADDED_COLUMNS,
    _RUN_COLUMNS,
    FINAL_STATUSES,
    RunExists,
    RunRecord,
    StoredEvent,
    _record,
)
from ivkgen.service.store import _SCHEMA as _SQLITE_SCHEMA
from psycopg import errors as pg_errors

EVENTS_CHANNEL = "ivkgen_events"
URL_SCHEMES = ("postgresql://", "postgres://")
CONNECT_TIMEOUT = 3
"""Seconds a replica waits for PostgreSQL to accept a connection."""

_SCHEMA = _SQLITE_SCHEMA.replace("PRAGMA journal_mode=WAL;", "").replace(
    " REAL", " DOUBLE PRECISION"
)
"""The sqlite store's tables, in PostgreSQL's types."""
_SCHEMA_LOCK = 0x1C6E_5E7E
"""The advisory lock that keeps replicas starting together from creating the tables twice."""


def is_postgres_url(store: object) -> bool:
    return isinstance(store, str) and store.startswith(URL_SCHEMES)


class PostgresStore:
    """``RunStore`` in the PostgreSQL database at ``url`` (see the module docstring)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._db = self._connect()
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            self._db.execute(_SCHEMA)
            for column in _ADDED_COLUMNS:
                self._db.execute(f"ALTER TABLE runs ADD COLUMN IF NOT EXISTS {column}")

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)

    def answers(self) -> bool:
        """Whether PostgreSQL answers now; a connection it lost is opened again."""
        try:
            if self._db.broken or self._db.closed:
                self._db = self._connect()
            self._db.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True

    def create_run(self, record: RunRecord) -> None:
        values = list(dataclasses.astuple(record))
        values[3] = json.dumps(record.inputs)
        values[9] = None if record.outputs is None else json.dumps(record.outputs)
        values[14] = json.dumps(record.batch) if record.batch else None
        try:
            self._db.execute(
                f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({', '.join(['%s'] * 15)})", values
            )
        except pg_errors.UniqueViolation as exc:
            raise RunExists(f"run {record.id}: {exc.diag.message_primary}") from exc

    def get_run(self, run_id: str) -> RunRecord | None:
        row = self._db.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id=%s", (run_id,))
        found = row.fetchone()
        return None if found is None else _record(found)

    def find_idempotent(self, owner: str, key: str) -> RunRecord | None:
        rows = self._db.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE owner=%s AND idempotency_key=%s", (owner, key)
        )
        found = rows.fetchone()
        return None if found is None else _record(found)

    def update_run(self, run_id: str, **changes: Any) -> None:
        if "outputs" in changes and changes["outputs"] is not None:
            changes["outputs"] = json.dumps(changes["outputs"])
        columns = ", ".join(f"{name}=%s" for name in changes)
        self._db.execute(f"UPDATE runs SET {columns} WHERE id=%s", (*changes.values(), run_id))

    def unfinished_runs(self) -> list[RunRecord]:
        rows = self._db.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE status <> ALL(%s) ORDER BY created",
            (list(FINAL_STATUSES),),
        )
        return [_record(row) for row in rows]

    def count_unfinished(self) -> int:
        rows = self._db.execute(
            "SELECT COUNT(*) FROM runs WHERE status <> ALL(%s)", (list(FINAL_STATUSES),)
        )
        found = rows.fetchone()
        return int(found[0]) if found else 0

    def finished_before(self, moment: float) -> list[str]:
        rows = self._db.execute("SELECT id FROM runs WHERE finished < %s", (moment,))
        return [row[0] for row in rows]

    def delete_run(self, run_id: str) -> None:
        with self._db.transaction():
            for table in ("events", "ledger_meta", "ledger_items", "ledger_uploads"):
                self._db.execute(f"DELETE FROM {table} WHERE run_id=%s", (run_id,))
            self._db.execute("DELETE FROM runs WHERE id=%s", (run_id,))

    def add_event(self, run_id: str, type_: str, data: dict[str, Any]) -> StoredEvent:
        """Number the event after the run's last one (under a lock on the run) and announce it:
        one round trip to PostgreSQL (pipelined), since the store is called from the event
        loop."""
        with self._db.pipeline(), self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (run_id,))
            added = self._db.execute(
                "WITH added AS (INSERT INTO events SELECT %s, COALESCE(MAX(seq), 0) + 1, %s, %s "
                "FROM events WHERE run_id=%s RETURNING seq) "
                "SELECT seq, pg_notify(%s, %s || ' ' || seq) FROM added",
                (run_id, type_, json.dumps(data), run_id, EVENTS_CHANNEL, run_id),
            )
        row = added.fetchone()
        assert row is not None
        return StoredEvent(run_id, int(row[0]), type_, data)

    def last_seq(self, run_id: str) -> int:
        row = self._db.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id=%s", (run_id,)
        ).fetchone()
        return int(row[0]) if row else 0

    def events_after(self, run_id: str, seq: int) -> list[StoredEvent]:
        rows = self._db.execute(
            "SELECT seq, type, data FROM events WHERE run_id=%s AND seq>%s ORDER BY seq",
            (run_id, seq),
        )
        return [StoredEvent(run_id, s, t, json.loads(d)) for s, t, d in rows]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self._db.execute(_format(sql), tuple(params))
        return list(cursor.fetchall()) if cursor.description is not None else []

    def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._db.transaction(), self._db.cursor() as cursor:
            cursor.executemany(_format(sql), [tuple(row) for row in rows])

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """``with store.transaction():`` groups statements into one commit (nestable)."""
        return self._transaction()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._db.transaction():
            yield

    def try_hold(self, run_id: str) -> bool:
        """Hold run ``run_id`` for this replica (a session lock PostgreSQL releases when the
        replica's connection ends); whether no other replica holds it."""
        row = self._db.execute(
            "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (run_id,)
        ).fetchone()
        return bool(row and row[0])

    def release(self, run_id: str) -> None:
        """Let go of run ``run_id`` (see :meth:`try_hold`)."""
        self._db.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (run_id,))

    def close(self) -> None:
        self._db.close()


def _format(sql: str) -> str:
    """The interface's ``?`` parameters as psycopg's ``%s``."""
    return sql.replace("%", "%%").replace("?", "%s")


__all__ = ["EVENTS_CHANNEL", "PostgresStore", "is_postgres_url"]
