"""Either store refuses a run whose id or idempotency key is taken with the same error."""

from __future__ import annotations

import time

import pytest
from ivkgen.service.store import RunExists, RunRecord, RunStore, SqliteStore
from ivkgen.service.store_pg import PostgresStore, is_postgres_url


def _open(store: str) -> RunStore:
    return PostgresStore(store) if is_postgres_url(store) else SqliteStore(store)


def _run(run_id: str, key: str | None) -> RunRecord:
    return RunRecord(
        id=run_id,
        owner="team",
        workflow="prompt_arithmetic",
        inputs={"scale": 2},
        status="queued",
        created=time.time(),
        idempotency_key=key,
    )


def test_a_taken_idempotency_key_or_run_id_is_the_same_store_error_on_either_store(
    each_store: str,
) -> None:
    store = _open(each_store)
    try:
        store.create_run(_run("r1", "order-17"))
        with pytest.raises(RunExists, match="r2"):
            store.create_run(_run("r2", "order-17"))  # the same owner's key, raced in
        with pytest.raises(RunExists, match="r1"):
            store.create_run(_run("r1", None))
        store.create_run(_run("r3", None))  # the store still takes runs after a refusal
        found = store.find_idempotent("team", "order-17")
        assert found is not None and found.id == "r1"
        assert [r.id for r in store.unfinished_runs()] == ["r1", "r3"]
    finally:
        store.close()
