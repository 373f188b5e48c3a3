"""The record of a pool run in one sqlite file (stdlib ``sqlite3``).

Each item's inputs, status, server, chunk (batch id), queue item, output image names and the
files they were saved to; the images and videos uploaded to each server; the run's id (its tag
on the servers) and fingerprint. A run that was interrupted resumes from it: finished items are
skipped, items in flight are looked up on their server, uploads are cleaned up, and nothing is
downloaded twice. ``Ledger()`` without a path keeps the record in memory; a run given no ledger
at all records nothing (``Unrecorded``).

Statuses: ``waiting`` (not sent), ``sent`` (enqueued, answer not confirmed), ``queued`` (in a
server's queue), ``completed``, ``failed`` (an item that ended: ``Entry.ended``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivkgen.runtime._errors import LedgerError
from ivkgen.runtime._pool.outcome import ItemError
from ivkgen.runtime._server.dto import TERMINAL_STATUSES

_SCHEMA = """
CREATE TABLE IF NOT EXISTS run (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    idx INTEGER PRIMARY KEY,
    inputs TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'waiting',
    server TEXT,
    batch_id TEXT,
    item_id INTEGER,
    images TEXT,
    files TEXT,
    error TEXT,
    session_id TEXT
);
CREATE TABLE IF NOT EXISTS uploads (
    server TEXT NOT NULL,
    file INTEGER NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (server, file)
);
"""

ENTRY_COLUMNS = "idx, status, server, batch_id, item_id, images, files, error, session_id"


@dataclass(frozen=True)
class Entry:
    """One item as the ledger last recorded it."""

    index: int
    status: str
    server: str | None
    batch_id: str | None
    item_id: int | None
    images: list[str]
    files: list[str]
    error: ItemError | None
    session_id: str | None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Entry:
        """The entry of a row of the ledger's ``items`` columns (``ENTRY_COLUMNS``)."""
        index, status, server, batch_id, item_id, images, files, error, session_id = row
        return cls(
            index,
            status,
            server,
            batch_id,
            item_id,
            _names(images),
            _names(files),
            ItemError.from_text(error),
            session_id,
        )

    @property
    def ended(self) -> bool:
        """Whether the item ended (completed or failed: it does not run again)."""
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True, slots=True)
class Finished:
    """What the ledger records of an item that ended."""

    index: int
    status: str
    images: Sequence[str]
    files: Sequence[str]
    session_id: str | None
    error: ItemError | None = None

    def values(self) -> tuple[str, str, str, str | None, str | None]:
        """Its ``status, images, files, error, session_id`` columns."""
        error = self.error.to_text() if self.error is not None else None
        return self.status, _text(self.images), _text(self.files), error, self.session_id


class Ledger:
    """One run's record; ``open`` starts or resumes it."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._db = sqlite3.connect(str(self.path) if self.path else ":memory:")
        self._db.executescript(_SCHEMA)
        self.run_id = ""

    def open(self, fingerprint: str, inputs: Iterable[Mapping[str, Any]], *, resume: bool) -> bool:
        """Start the run (a new run id) or, with ``resume``, continue the one recorded.
        Returns whether a run was resumed."""
        meta = dict(self._db.execute("SELECT key, value FROM run"))
        where = f"ledger {self.path}" if self.path else "the ledger"
        if meta and not resume:
            raise LedgerError(
                f"{where} already records a run: add --resume (resume=True) to continue it, or "
                "give another ledger file"
            )
        if meta:
            if meta.get("fingerprint") != fingerprint:
                raise LedgerError(
                    f"{where} records another run (other workflow, inputs or items): resume "
                    "with the same command, or give another ledger file"
                )
            self.run_id = meta["run_id"]
            return True
        self.run_id = uuid.uuid4().hex
        with self._db:
            self._db.executemany(
                "INSERT INTO run VALUES (?, ?)",
                [("run_id", self.run_id), ("fingerprint", fingerprint)],
            )
            self._db.executemany(
                "INSERT INTO items (idx, inputs) VALUES (?, ?)",
                ((i, json.dumps(dict(v))) for i, v in enumerate(inputs)),
            )
        return False

    # Recording -------------------------------------------------------------------------------

    def sent(self, server: str, batch_id: str, indexes: Sequence[int]) -> None:
        with self._db:
            self._db.executemany(
                "UPDATE items SET status='sent', server=?, batch_id=?, item_id=NULL WHERE idx=?",
                ((server, batch_id, i) for i in indexes),
            )

    def queued(self, server: str, batch_id: str, items: Mapping[int, int]) -> None:
        """``items``: pool index -> queue item id."""
        with self._db:
            self._db.executemany(
                "UPDATE items SET status='queued', server=?, batch_id=?, item_id=? WHERE idx=?",
                ((server, batch_id, item_id, i) for i, item_id in items.items()),
            )

    def waiting(self, indexes: Iterable[int]) -> None:
        with self._db:
            self._db.executemany(
                "UPDATE items SET status='waiting', server=NULL, batch_id=NULL, item_id=NULL "
                "WHERE idx=?",
                ((i,) for i in indexes),
            )

    def finished_many(self, records: Iterable[Finished]) -> None:
        """Record several items that ended, in one transaction."""
        rows = [(*r.values(), r.index) for r in records]
        if not rows:
            return
        with self._db:
            self._db.executemany(
                "UPDATE items SET status=?, images=?, files=?, error=?, session_id=? WHERE idx=?",
                rows,
            )

    def uploaded(self, server: str, file: int, name: str) -> None:
        """File number ``file`` of the run is on ``server`` as ``name``."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO uploads VALUES (?, ?, ?)", (server, file, name)
            )

    def upload_deleted(self, server: str, name: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM uploads WHERE server=? AND name=?", (server, name))

    # Reading ---------------------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        rows = self._db.execute(f"SELECT {ENTRY_COLUMNS} FROM items ORDER BY idx")
        return [Entry.from_row(row) for row in rows]

    def uploads(self) -> dict[str, dict[int, str]]:
        """Server -> file number -> name, for the files still recorded as uploaded."""
        found: dict[str, dict[int, str]] = {}
        for server, file, name in self._db.execute("SELECT server, file, name FROM uploads"):
            found.setdefault(server, {})[file] = name
        return found

    def close(self) -> None:
        self._db.close()


def _text(names: Sequence[str]) -> str:
    return json.dumps(list(names))


def _names(text: str | None) -> list[str]:
    names: list[str] = json.loads(text) if text else []
    return names


class Unrecorded(Ledger):
    """The ledger of a run given none: it records nothing, since nothing could resume from it
    (every item starts waiting, and ``entries`` and ``uploads`` are empty)."""

    def __init__(self) -> None:
        self.path = None
        self.run_id = ""

    def open(self, fingerprint: str, inputs: Iterable[Mapping[str, Any]], *, resume: bool) -> bool:
        self.run_id = uuid.uuid4().hex
        return False

    def sent(self, server: str, batch_id: str, indexes: Sequence[int]) -> None:
        pass

    def queued(self, server: str, batch_id: str, items: Mapping[int, int]) -> None:
        pass

    def waiting(self, indexes: Iterable[int]) -> None:
        pass

    def finished_many(self, records: Iterable[Finished]) -> None:
        pass

    def uploaded(self, server: str, file: int, name: str) -> None:
        pass

    def upload_deleted(self, server: str, name: str) -> None:
        pass

    def entries(self) -> list[Entry]:
        return []

    def uploads(self) -> dict[str, dict[int, str]]:
        return {}

    def close(self) -> None:
        pass
