"""A run's pool ledger kept in the service's store, so a restarted service follows the run.

``StoreLedger`` records what ``ivkgen.runtime._pool.ledger.Ledger`` records (the item's server,
batch, queue item, uploads) in the store's ``ledger_*`` rows of one run. Ended items are held
back (``finished_many`` keeps them) until the runner commits them with the run's outputs in one
transaction (``commit_finished``): a process killed before that commit finds the item still in
flight on its next start and reads it again from its server, so the outputs are downloaded and
recorded exactly once.

A run reported ended still owes its clean-up on InvokeAI (its images, queue item and uploads
deleted) until ``cleaned`` is called: the owed mark is written with the ended item, so a
process killed in between finds the run in ``owing_cleanup`` on its next start.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ivkgen.runtime._pool.ledger import ENTRY_COLUMNS, Entry, Finished, Ledger
from ivkgen.service.store import RunStore

CLEANUP = "cleanup"
"""The ``ledger_meta`` key of a run whose clean-up on InvokeAI is owed."""


class StoreLedger(Ledger):
    """The pool ledger of run ``run_id`` in ``store``."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.path = None
        self.store = store
        self.key = run_id
        self.run_id = ""
        self.held: list[Finished] = []

    def open(self, fingerprint: str, inputs: Iterable[Mapping[str, Any]], *, resume: bool) -> bool:
        meta = dict(
            self.store.execute("SELECT key, value FROM ledger_meta WHERE run_id=?", (self.key,))
        )
        if meta:
            self.run_id = meta["pool_run"]
            return True
        self.run_id = uuid.uuid4().hex
        with self.store.transaction():
            self.store.execute_many(
                "INSERT INTO ledger_meta VALUES (?, ?, ?)",
                [(self.key, "pool_run", self.run_id), (self.key, "fingerprint", fingerprint)],
            )
            self.store.execute_many(
                "INSERT INTO ledger_items (run_id, idx, inputs) VALUES (?, ?, ?)",
                ((self.key, i, json.dumps(dict(v))) for i, v in enumerate(inputs)),
            )
        return False

    def sent(self, server: str, batch_id: str, indexes: Sequence[int]) -> None:
        self.store.execute_many(
            "UPDATE ledger_items SET status='sent', server=?, batch_id=?, item_id=NULL "
            "WHERE run_id=? AND idx=?",
            ((server, batch_id, self.key, i) for i in indexes),
        )

    def queued(self, server: str, batch_id: str, items: Mapping[int, int]) -> None:
        self.store.execute_many(
            "UPDATE ledger_items SET status='queued', server=?, batch_id=?, item_id=? "
            "WHERE run_id=? AND idx=?",
            ((server, batch_id, item_id, self.key, i) for i, item_id in items.items()),
        )

    def waiting(self, indexes: Iterable[int]) -> None:
        self.store.execute_many(
            "UPDATE ledger_items SET status='waiting', server=NULL, batch_id=NULL, "
            "item_id=NULL WHERE run_id=? AND idx=?",
            ((self.key, i) for i in indexes),
        )

    def finished_many(self, records: Iterable[Finished]) -> None:
        """Held until :meth:`commit_finished` (see the module docstring)."""
        self.held.extend(records)

    def commit_finished(self, also: Callable[[], None] = lambda: None) -> None:
        """Record the held ended items, that the run owes its clean-up, and whatever ``also``
        writes, in one transaction."""
        rows = [(*r.values(), self.key, r.index) for r in self.held]
        with self.store.transaction():
            self.store.execute_many(
                "UPDATE ledger_items SET status=?, images=?, files=?, error=?, session_id=? "
                "WHERE run_id=? AND idx=?",
                rows,
            )
            self.store.execute_many(
                "INSERT INTO ledger_meta VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO NOTHING",
                [(self.key, CLEANUP, "owed")],
            )
            also()
        self.held.clear()

    def cleaned(self) -> None:
        """The run's clean-up on InvokeAI is done: it is owed no more."""
        self.store.execute_many(
            "DELETE FROM ledger_meta WHERE run_id=? AND key=?", [(self.key, CLEANUP)]
        )

    def uploaded(self, server: str, file: int, name: str) -> None:
        self.store.execute_many(
            "INSERT INTO ledger_uploads VALUES (?, ?, ?, ?) "
            "ON CONFLICT (run_id, server, file) DO UPDATE SET name=excluded.name",
            [(self.key, server, file, name)],
        )

    def upload_deleted(self, server: str, name: str) -> None:
        self.store.execute_many(
            "DELETE FROM ledger_uploads WHERE run_id=? AND server=? AND name=?",
            [(self.key, server, name)],
        )

    def entries(self) -> list[Entry]:
        rows = self.store.execute(
            f"SELECT {ENTRY_COLUMNS} FROM ledger_items WHERE run_id=? ORDER BY idx", (self.key,)
        )
        return [Entry.from_row(row) for row in rows]

    def uploads(self) -> dict[str, dict[int, str]]:
        found: dict[str, dict[int, str]] = {}
        rows = self.store.execute(
            "SELECT server, file, name FROM ledger_uploads WHERE run_id=?", (self.key,)
        )
        for server, file, name in rows:
            found.setdefault(server, {})[file] = name
        return found

    def close(self) -> None:
        """The store outlives the run's ledger."""


def owes_cleanup(store: RunStore, run_id: str) -> bool:
    """Whether run ``run_id``'s clean-up on InvokeAI is owed."""
    sql = "SELECT 1 FROM ledger_meta WHERE run_id=? AND key=?"
    return bool(store.execute(sql, (run_id, CLEANUP)))


def owing_cleanup(store: RunStore) -> list[str]:
    """The runs whose clean-up on InvokeAI is owed (see the module docstring)."""
    rows = store.execute("SELECT run_id FROM ledger_meta WHERE key=? ORDER BY run_id", (CLEANUP,))
    return [row[0] for row in rows]


__all__ = ["StoreLedger", "owes_cleanup", "owing_cleanup"]
