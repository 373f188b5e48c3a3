"""After a cancel, clean-up deletes what the job made, also the image of the node that was running
at the cancel and finished after it. Under CPU load (a busy process beside the server) and
repeated; the measure is the server's image count before and after."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from ivkgen.runtime import AsyncInvokeAIClient, InvokeAIClient, JobTimeoutError
from ivkgen.runtime._events.messages import InvocationStartedEvent
from ivkgen.runtime._workflow.handle import WorkflowHandle

from tests.live._runs import image_count
from tests.unit._workflows import edge, node, workflow

REPEATS = 3


@pytest.fixture(scope="module")
def client(server_url: str) -> Iterator[InvokeAIClient]:
    with InvokeAIClient.from_url(server_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module", autouse=True)
def busy_cpu() -> Iterator[None]:
    """A process that keeps one core busy while the tests run."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        busy.kill()
        busy.wait()


def saving_chain(blurs: int = 8, size: int = 1536) -> dict[str, Any]:
    """A blank canvas blurred again and again; every blur saves its image to the gallery."""
    nodes = [node("canvas", "blank_image", width=size, height=size, use_cache=False)]
    edges = []
    for i in range(blurs):
        nodes.append(
            node(
                f"blur:{i}",
                "img_blur",
                label=f"Blur {i}",
                radius=60.0,
                is_intermediate=False,
                use_cache=False,
            )
        )
        edges.append(edge(nodes[-2]["id"], "image", f"blur:{i}", "image"))
    return workflow(nodes, edges, name="saving chain")


def _handle(client: InvokeAIClient | AsyncInvokeAIClient) -> WorkflowHandle:
    return client.workflow_repo.create_workflow_handle(saving_chain())


def _wait_for_images(client: InvokeAIClient, more_than: int) -> None:
    deadline = time.monotonic() + 120
    while image_count(client) <= more_than:
        assert time.monotonic() < deadline, "the job saved no image"
        time.sleep(0.05)


@pytest.mark.parametrize("attempt", range(REPEATS))
def test_cancel_then_cleanup_outputs_deletes_the_late_image(
    client: InvokeAIClient, attempt: int
) -> None:
    before = image_count(client)
    handle = _handle(client)
    handle.submit_sync()
    _wait_for_images(client, before)  # a blur saved its image; the next one is running
    assert handle.cancel() == handle.item_ids
    deleted = handle.cleanup_outputs()
    assert deleted
    assert handle.get_queue_item().status == "canceled"
    assert image_count(client) == before
    handle.cleanup_queue_items()


@pytest.mark.parametrize("attempt", range(REPEATS))
def test_leaving_the_with_block_deletes_what_the_canceled_job_made(
    client: InvokeAIClient, attempt: int
) -> None:
    before = image_count(client)
    handle = _handle(client)
    with pytest.raises(KeyboardInterrupt), handle:
        handle.submit_sync()
        _wait_for_images(client, before)
        raise KeyboardInterrupt
    assert handle.get_queue_item().status == "canceled"
    assert image_count(client) == before
    handle.cleanup_queue_items()


@pytest.mark.parametrize("attempt", range(REPEATS))
def test_a_timeout_in_an_async_block_deletes_what_the_job_made(
    client: InvokeAIClient, server_url: str, attempt: int
) -> None:
    before = image_count(client)

    async def run() -> None:
        async with AsyncInvokeAIClient.from_url(server_url) as aclient:
            handle = _handle(aclient)
            started = asyncio.Event()

            def on_started(event: InvocationStartedEvent) -> None:
                if event.node_id == "blur:1":
                    started.set()

            with pytest.raises(JobTimeoutError):
                async with handle:
                    await handle.submit(on_invocation_started=on_started)
                    await started.wait()
                    await handle.wait_for_completion(timeout=0.01)
            await handle.acleanup_queue_items()

    asyncio.run(run())
    assert image_count(client) == before
