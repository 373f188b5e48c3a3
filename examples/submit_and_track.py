"""Submit the SD1.5 workflow and follow the job three ways.

    python examples/submit_and_track.py [--mode sync|async|hybrid|all] [--server URL] ...

sync: ``submit_sync`` and polling; async: ``submit`` with per-node event callbacks; hybrid:
``submit_sync`` and the event socket of ``client.connect_socketio()``. Each run deletes the
images it made (see outputs_and_cleanup.py to keep them).
"""

from __future__ import annotations

import argparse
import asyncio

from ivkgen.runtime import (
    AsyncInvokeAIClient,
    InvocationCompleteEvent,
    InvocationErrorEvent,
    InvocationProgressEvent,
    InvocationStartedEvent,
    InvokeAIClient,
    QueueItemStatusChangedEvent,
    SessionQueueItem,
)

from examples import _common
from examples.set_inputs import configure, prepare


def track_sync(client: InvokeAIClient, args: argparse.Namespace) -> None:
    with prepare(client, args) as handle:  # on the way out: cancel if unfinished, delete uploads
        result = handle.submit_sync()
        print(f"Batch submitted: {result.batch_id}")
        print(f"Items enqueued: {result.enqueued}, item ids: {result.item_ids}")
        item = handle.get_queue_item()
        print(f"Session ID: {item.session_id}, status: {item.status}")

        def show(item: SessionQueueItem) -> None:
            print(f"  Status: {item.status} - Item {item.item_id}")

        final = handle.wait_for_completion_sync(
            poll_interval=0.5, timeout=args.timeout, progress_callback=show
        )
        print(f"Job completed: item {final.item_id} is {final.status}")
        print(f"Deleted outputs: {handle.cleanup_outputs()}")


async def track_async(args: argparse.Namespace) -> None:
    def started(event: InvocationStartedEvent) -> None:
        print(f"  Node started: {event.node_id} ({event.node_type})")

    def progress(event: InvocationProgressEvent) -> None:
        if event.percentage is not None:
            print(f"  Progress: {event.percentage:.0%} {event.message}")

    def complete(event: InvocationCompleteEvent) -> None:
        print(f"  Node completed: {event.node_id}, output {event.result.get('type')}")

    def error(event: InvocationErrorEvent) -> None:
        print(f"  Node error: {event.node_id} {event.error}")

    async with AsyncInvokeAIClient.from_url(args.server) as client:
        found = await client.model_repo.find_models(name=args.model)
        if not found:
            raise SystemExit(f"error: no model named {args.model!r} on {args.server}")
        handle = client.workflow_repo.create_workflow_handle(_common.SD15)
        configure(handle, found[0], args.size, args.steps)
        async with handle:
            result = await handle.submit(
                on_invocation_started=started,
                on_invocation_progress=progress,
                on_invocation_complete=complete,
                on_invocation_error=error,
            )
            print(f"Batch submitted: {result.batch_id}, items {result.item_ids}")
            job = await handle.wait_for_completion(timeout=args.timeout)
            print(f"Workflow completed: job {job.id} {job.status} in {job.duration_seconds} s")
            print(f"Deleted outputs: {await handle.acleanup_outputs()}")


async def track_hybrid(client: InvokeAIClient, args: argparse.Namespace) -> None:
    with prepare(client, args) as handle:
        async with client.connect_socketio() as socket:
            await socket.subscribe("default")  # before the enqueue: no event is missed
            result = handle.submit_sync()
            print(f"Submitted batch: {result.batch_id}")
            # events that arrived while submit_sync blocked wait in the socket for the loop
            events = socket.listen_events(batch_ids=[result.batch_id], item_ids=result.item_ids)
            async for event in events:
                if isinstance(event, InvocationStartedEvent):
                    print(f"  {event.node_type} started")
                elif isinstance(event, InvocationCompleteEvent):
                    print(f"  {event.node_type} completed")
                elif isinstance(event, InvocationErrorEvent):
                    print(f"  Error: {event.error}")
                elif isinstance(event, QueueItemStatusChangedEvent) and event.is_terminal:
                    print(f"Workflow {event.status}!")
                    break
        item = handle.wait_for_completion_sync(timeout=args.timeout)  # raises if it failed
        print(f"Queue item {item.item_id}: {item.status}")
        print(f"Deleted outputs: {handle.cleanup_outputs()}")


def run() -> None:
    parser = _common.parser(__doc__)
    parser.add_argument("--mode", choices=("sync", "async", "hybrid", "all"), default="all")
    args = parser.parse_args()
    with InvokeAIClient.from_url(args.server) as client:
        if args.mode in ("sync", "all"):
            print("=== Synchronous submission ===")
            track_sync(client, args)
        if args.mode in ("async", "all"):
            print("\n=== Asynchronous submission ===")
            asyncio.run(track_async(args))
        if args.mode in ("hybrid", "all"):
            print("\n=== Hybrid submission ===")
            asyncio.run(track_hybrid(client, args))


if __name__ == "__main__":
    _common.main(run)
