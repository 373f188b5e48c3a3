"""Submission and tracking against the real server: sync polling, async events, the hybrid,
cancel, failures, sweeps, timeouts and a server that stops mid-job."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ivkgen.runtime import (
    InvokeAIClient,
    IvkgenError,
    JobCanceledError,
    JobFailedError,
    JobTimeoutError,
    ServerUnreachableError,
)
from ivkgen.runtime._errors import WorkflowError
from ivkgen.runtime._events.messages import InvocationProgressEvent
from ivkgen.runtime._server.dto import SessionQueueItem

from tests.harness.server import InvokeAIServer
from tests.live._runs import (
    TEAM,
    failing_workflow,
    image_count,
    sd15_handle,
    sdxl_handle,
    slow_workflow,
)


@pytest.fixture(scope="module")
def client(server_url: str) -> Iterator[InvokeAIClient]:
    with InvokeAIClient.from_url(server_url, timeout=30) as client:
        yield client


def test_use_case_3_1_sync_submit_and_poll(client: InvokeAIClient) -> None:
    before = image_count(client)
    handle = client.workflow_repo.create_workflow_handle(TEAM / "image-pipeline.json")
    handle.find_input("Blur Radius").field.value = 1.5  # type: ignore[attr-defined]
    result = handle.submit_sync(queue_id="default")
    assert (result["enqueued"], len(result.item_ids)) == (1, 1)
    assert handle.batch_id == result.batch_id
    item = handle.get_queue_item()
    assert (item.item_id, item.batch_id) == (result.item_ids[0], result.batch_id)
    seen: list[SessionQueueItem] = []
    final = handle.wait_for_completion_sync(
        poll_interval=0.2, timeout=60, progress_callback=seen.append
    )
    assert final.status == "completed" and seen[-1].status == "completed"
    assert handle.jobs[0].duration_seconds is not None
    [output] = handle.get_outputs()
    assert (output.node_label, output.item_id) == ("Save", result.item_ids[0])
    assert output.to_bytes().startswith(b"\x89PNG")
    handle.cleanup_outputs()
    handle.cleanup_queue_items()
    assert image_count(client) == before


async def test_use_case_3_2_async_submit_with_event_callbacks(
    client: InvokeAIClient, tiny_models: dict[str, Any]
) -> None:
    handle = sd15_handle(client, tiny_models["tiny-sd15"], steps=4)
    started: list[str] = []
    progress: list[float | None] = []
    completed: list[str] = []
    result = await handle.submit(
        subscribe_events=True,
        on_invocation_started=lambda e: started.append(e.node_type),
        on_invocation_progress=lambda e: progress.append(e.progress),
        on_invocation_complete=lambda e: completed.append(e.node_id),
    )
    job = await handle.wait_for_completion(timeout=120)
    assert (job.id, job.batch_id, job.status) == (result.item_ids[0], result.batch_id, "completed")
    assert job.duration_seconds is not None and job.duration_seconds > 0
    assert {"main_model_loader", "denoise_latents", "l2i"} <= set(started)
    assert "l2i:R3pzh84KpL" in completed
    assert any(p is not None and 0 < p <= 1 for p in progress)
    [output] = await handle.aget_outputs()
    assert output.node_id == "l2i:R3pzh84KpL"
    assert (await output.ato_bytes()).startswith(b"\x89PNG")  # a sync client, awaited
    await handle.acleanup_outputs()
    await handle.acleanup_queue_items()


async def test_use_case_3_3_sync_submit_then_async_wait_never_hangs(
    client: InvokeAIClient,
) -> None:
    handle = client.workflow_repo.create_workflow_handle(TEAM / "prompt-arithmetic.json")
    handle.submit_sync()
    handle.wait_for_completion_sync(timeout=60)  # the job ended before any subscription
    job = await handle.wait_for_completion(timeout=30)  # a hang would be a JobTimeoutError
    assert job.status == "completed"
    handle.cleanup_outputs()
    handle.cleanup_queue_items()


async def test_canceling_a_running_sdxl_job(
    client: InvokeAIClient, shared_dir: Path, tiny_models: dict[str, Any]
) -> None:
    handle = sdxl_handle(client, shared_dir, tiny_models["tiny-sdxl"], steps=200)
    running = asyncio.Event()

    def on_progress(event: InvocationProgressEvent) -> None:
        if event.node_type == "denoise_latents":
            running.set()

    await handle.submit(on_invocation_progress=on_progress)
    await asyncio.wait_for(running.wait(), timeout=120)
    assert await handle.cancel_async() == handle.item_ids
    with pytest.raises(JobCanceledError) as caught:
        await handle.wait_for_completion(timeout=60)
    assert caught.value.item_id == handle.item_ids[0]
    assert handle.get_queue_item().status == "canceled"
    handle.cleanup_queue_items()


def test_a_node_failure_is_a_job_failed_error_with_the_server_message(
    client: InvokeAIClient,
) -> None:
    handle = client.workflow_repo.create_workflow_handle(failing_workflow())
    handle.submit_sync()
    with pytest.raises(JobFailedError) as caught:
        handle.wait_for_completion_sync(timeout=60)
    error = caught.value
    assert (error.node_id, error.node_label) == ("crop", "Crop Missing")
    assert (error.error_type, error.error_message) == (
        "ImageRecordNotFoundException",
        "Image record not found",
    )
    assert error.error_traceback and "Traceback" in error.error_traceback
    assert "'Crop Missing'" in str(error) and "Image record not found" in str(error)
    handle.cleanup_queue_items()


async def test_a_node_failure_reaches_the_error_callback_and_the_async_wait(
    client: InvokeAIClient,
) -> None:
    handle = client.workflow_repo.create_workflow_handle(failing_workflow())
    errors: list[Any] = []
    await handle.submit(on_invocation_error=errors.append)
    with pytest.raises(JobFailedError) as caught:
        await handle.wait_for_completion(timeout=60)
    assert caught.value.node_id == "crop"
    assert [e.node_id for e in errors] == ["crop"]
    assert errors[0].error == "ImageRecordNotFoundException: Image record not found"
    await handle.acleanup_queue_items()


def test_runs_and_a_sweep_enqueue_once_with_outputs_per_item(client: InvokeAIClient) -> None:
    before = image_count(client)
    handle = client.workflow_repo.create_workflow_handle(TEAM / "image-pipeline.json")
    result = handle.submit_sync(runs=2, sweep={"Blur Radius": [1.0, 2.5, 4.0]})
    assert (result.enqueued, result.requested, len(result.item_ids)) == (6, 6, 6)
    handle.wait_for_completion_sync(timeout=120)
    outputs = handle.get_outputs()
    assert sorted(o.item_id for o in outputs) == result.item_ids
    radii = sorted(
        value["value"]
        for item in handle.get_queue_items()
        for value in item.field_values or []
        if value["field_name"] == "radius"
    )
    assert radii == [1.0, 1.0, 2.5, 2.5, 4.0, 4.0]
    handle.cleanup_outputs()
    handle.cleanup_queue_items()
    assert image_count(client) == before


def test_a_model_missing_on_the_server_is_reported_before_submission(
    client: InvokeAIClient, shared_dir: Path
) -> None:
    handle = client.workflow_repo.create_workflow_handle(
        shared_dir / "data" / "workflows" / "sdxl-text-to-image.json"
    )
    before = client.queue_repo.list_item_ids()
    with pytest.raises(WorkflowError) as caught:
        handle.submit_sync()
    assert caught.value.node_id == "sdxl_model_loader:PwBr7RXRsy"
    assert caught.value.field_name == "model" and "tiny-sdxl" in str(caught.value)
    assert client.queue_repo.list_item_ids() == before


def test_a_saved_model_is_found_by_name_base_and_type(
    client: InvokeAIClient, tiny_models: dict[str, Any]
) -> None:
    definition = (TEAM / "sd15-text-to-image.json").read_text()
    handle = client.workflow_repo.create_workflow_handle(TEAM / "sd15-text-to-image.json")
    saved = {**tiny_models["tiny-sd15"], "key": "key-on-another-server", "hash": "blake3:0"}
    workflow = handle.definition.to_dict()
    loader = next(n for n in workflow["nodes"] if n["id"] == "main_model_loader:2pkAFEn3z5")
    loader["data"]["inputs"]["model"]["value"] = saved
    moved = client.workflow_repo.create_workflow_handle(workflow)
    moved.find_input("Steps").field.value = 2  # type: ignore[attr-defined]
    moved.find_input("Width").field.value = 64  # type: ignore[attr-defined]
    moved.find_input("Height").field.value = 64  # type: ignore[attr-defined]
    moved.submit_sync()
    moved.wait_for_completion_sync(timeout=120)
    sent = moved.get_queue_item().session["graph"]["nodes"]["main_model_loader:2pkAFEn3z5"]["model"]
    assert sent["key"] == tiny_models["tiny-sd15"]["key"]
    assert (TEAM / "sd15-text-to-image.json").read_text() == definition
    moved.cleanup_outputs()
    moved.cleanup_queue_items()


def test_a_wait_that_runs_out_is_a_timeout_and_the_job_can_be_canceled(
    client: InvokeAIClient,
) -> None:
    handle = client.workflow_repo.create_workflow_handle(slow_workflow(blurs=3))
    handle.submit_sync()
    with pytest.raises(JobTimeoutError) as caught:
        handle.wait_for_completion_sync(poll_interval=0.1, timeout=0.5)
    assert isinstance(caught.value, TimeoutError) and "still unfinished after 0.5 s" in str(
        caught.value
    )
    handle.cancel()
    with pytest.raises(JobCanceledError):
        handle.wait_for_completion_sync(timeout=60)
    handle.cleanup_queue_items()


async def test_a_server_stopped_mid_job_is_a_clear_error_not_a_hang() -> None:
    server = InvokeAIServer().start()
    try:
        with InvokeAIClient.from_url(server.url, timeout=5) as client:
            handle = client.workflow_repo.create_workflow_handle(slow_workflow(blurs=20))
            running = asyncio.Event()
            await handle.submit(on_invocation_started=lambda e: running.set())
            await asyncio.wait_for(running.wait(), timeout=30)
            stopper = threading.Thread(target=server.stop)
            stopper.start()
            with pytest.raises(IvkgenError) as caught:
                await handle.wait_for_completion(timeout=45)
            stopper.join()
    finally:
        server.stop()
        server.remove_root()
    assert not isinstance(caught.value, JobTimeoutError), caught.value  # it did not hang
    assert isinstance(caught.value, ServerUnreachableError | JobCanceledError)
    assert server.url.split("//")[1] in str(caught.value) or "canceled" in str(caught.value)
