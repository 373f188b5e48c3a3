"""Queue items, results, jobs, events and DTOs read like read-only mappings of their keys."""

from __future__ import annotations

import subprocess
import sys

import pytest
from ivkgen.runtime import EnqueueBatchResult, Job, JobStatus, SessionQueueItem, SubmitResult
from ivkgen.runtime._events.messages import parse_event

from tests.conftest import REPO

ITEM = {
    "item_id": 42,
    "status": "completed",
    "batch_id": "b",
    "queue_id": "default",
    "session_id": "s",
    "created_at": "2025-01-01 10:00:00",
    "updated_at": "2025-01-01 10:00:02",
    "started_at": "2025-01-01 10:00:00",
    "completed_at": "2025-01-01 10:00:02",
    "session": {"id": "s"},
    "device": "cpu",
}


def test_a_queue_item_has_the_keys_the_server_sent() -> None:
    item = SessionQueueItem.model_validate(ITEM)
    assert "completed_at" in item and "status" in item and "device" in item
    assert "is_terminal" not in item and "model_dump" not in item and 42 not in item
    assert dict(item)["completed_at"] == "2025-01-01 10:00:02"
    assert dict(item)["device"] == "cpu"
    assert list(item) == item.keys() and len(item) == len(item.keys())
    assert set(ITEM) <= set(item.keys())
    with pytest.raises(KeyError):
        item["model_dump"]


def test_results_and_jobs_read_their_derived_keys() -> None:
    result = SubmitResult(
        batch_id="b", queue_id="default", enqueued=1, requested=1, priority=0, item_ids=[3]
    )
    assert "session_id" in result and result["session_id"] is None
    enqueued = EnqueueBatchResult(
        queue_id="default",
        enqueued=1,
        requested=1,
        batch={"batch_id": "b"},
        priority=0,
        item_ids=[3],
    )
    assert "batch_id" in enqueued and dict(enqueued)["batch_id"] == "b"
    job = Job(id=3, batch_id="b", queue_id="default", status="completed")
    assert dict(job)["item_id"] == 3 and job["status"] == JobStatus.COMPLETED


def test_events_expose_what_older_servers_called_their_fields() -> None:
    base = {"item_id": 1, "batch_id": "b", "session_id": "s", "invocation_source_id": "n1"}
    invocation = {"invocation": {"id": "p1", "type": "l2i"}}
    complete = parse_event("invocation_complete", {**base, **invocation, "result": {"type": "x"}})
    assert "outputs" in complete and complete["outputs"] == {"type": "x"}
    assert complete["node_id"] == "n1" and complete["node_type"] == "l2i"
    waiting = parse_event("invocation_progress", {**base, "message": "loading"})
    assert "progress" not in waiting and waiting.get("progress", 0) * 100 == 0
    step = parse_event("invocation_progress", {**base, "message": "step", "percentage": 0.25})
    assert step.get("progress", 0) * 100 == 25.0
    error = parse_event("invocation_error", {**base, "error_type": "E", "error_message": "m"})
    assert error.get("error", "Unknown error") == "E: m"


def test_job_status_compares_with_the_server_strings() -> None:
    assert JobStatus("in_progress") is JobStatus.IN_PROGRESS
    assert JobStatus.FAILED == "failed" and JobStatus.FAILED.is_terminal
    assert not JobStatus.WAITING.is_terminal


def test_every_field_class_the_seed_names_imports_from_the_runtime_lazily() -> None:
    names = (
        "IvkField IvkStringField IvkIntegerField IvkFloatField IvkBooleanField IvkEnumField "
        "IvkSchedulerField IvkCollectionField IvkImageField IvkBoardField IvkLatentsField "
        "IvkTensorField IvkModelIdentifierField IvkColorField IvkBoundingBoxField IvkUNetField "
        "IvkCLIPField IvkVAEField IvkWorkflowInput IvkImage JobStatus SessionEvent"
    )
    code = (
        "import sys, ivkgen.runtime as r\n"
        "assert 'ivkgen.bundled' not in sys.modules\n"
        f"missing = [n for n in {names.split()!r} if not isinstance(getattr(r, n), type)]\n"
        "assert not missing, missing\n"
        "assert 'ivkgen.bundled' in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert done.returncode == 0, done.stderr
