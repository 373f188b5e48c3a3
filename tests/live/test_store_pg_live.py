"""The PostgreSQL store numbers each run's events in order when several replicas record them at
once, and announces every one of them to the replicas that listen."""

from __future__ import annotations

import threading
import time

import psycopg
from ivkgen.service.store import RunRecord
from ivkgen.service.store_pg import EVENTS_CHANNEL, PostgresStore

WRITERS = 4
EVENTS_EACH = 50


def test_events_recorded_at_once_by_several_replicas_are_numbered_without_gap_and_announced(
    fresh_database: str,
) -> None:
    stores = [PostgresStore(fresh_database) for _ in range(WRITERS)]
    listener = psycopg.connect(fresh_database, autocommit=True)
    try:
        listener.execute(f"LISTEN {EVENTS_CHANNEL}")
        run = RunRecord(
            id="r1", owner="team", workflow="w", inputs={}, status="queued", created=time.time()
        )
        stores[0].create_run(run)

        def record(store: PostgresStore, writer: int) -> None:
            for index in range(EVENTS_EACH):
                store.add_event("r1", "progress", {"writer": writer, "index": index})

        threads = [threading.Thread(target=record, args=(s, n)) for n, s in enumerate(stores)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        total = WRITERS * EVENTS_EACH
        events = stores[0].events_after("r1", 0)
        assert [e.seq for e in events] == list(range(1, total + 1))
        for writer in range(WRITERS):  # each writer's events in the order it recorded them
            mine = [e.data["index"] for e in events if e.data["writer"] == writer]
            assert mine == list(range(EVENTS_EACH))
        heard = [n.payload for n in listener.notifies(timeout=5, stop_after=total)]
        assert sorted(heard, key=lambda p: int(p.split()[1])) == [
            f"r1 {seq}" for seq in range(1, total + 1)
        ]
        with stores[1].transaction():  # inside a caller's transaction too
            assert stores[1].add_event("r1", "status", {}).seq == total + 1
    finally:
        listener.close()
        for store in stores:
            store.close()
