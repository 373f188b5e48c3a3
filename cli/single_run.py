"""``ivkgen run`` on one server: set the inputs, submit, follow the job node by node, save its
outputs.

The job runs with the async client: events drive the progress display, the images and videos of
the output nodes are downloaded into the output folder, and the uploads are deleted at the end,
also when the job fails. Ctrl-C (or ``--timeout``) cancels the job, deletes the uploads and the
images and videos the job made so far.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from ivkgen.cli.errors import CommandError
from ivkgen.cli.findings import blocker_findings, input_findings
from ivkgen.cli.input_values import ServerLookups, apply_values
from ivkgen.cli.progress import Progress
from ivkgen.cli.run import INTERRUPTED, RunOptions, uncancel
from ivkgen.cli.terminal import safe
from ivkgen.cli.workflow_inputs import load_handle
from ivkgen.runtime._client import AsyncInvokeAIClient
from ivkgen.runtime._errors import IvkgenError, JobTimeoutError
from ivkgen.runtime._timeouts import JOB_TIMEOUT
from ivkgen.runtime._workflow.definition import node_labels
from ivkgen.runtime._workflow.handle import WorkflowHandle


async def run_workflow(options: RunOptions) -> int:
    """Set, submit, follow, download, clean up; the exit code."""
    unbound = load_handle(options.workflow, options.fields)
    started = time.monotonic()
    async with AsyncInvokeAIClient.from_url(
        options.servers[0], email=options.email, password=options.password
    ) as client:
        handle = unbound.bind_client(client)
        lookups = ServerLookups(client)
        uploading = await apply_values(
            handle, lookups, options.sets, options.images, options.videos
        )
        problems = blocker_findings(handle) + input_findings(handle, uploading)
        if problems:
            raise CommandError("; ".join(p.message for p in problems))
        board_id = await lookups.board_id(options.board, "--board") if options.board else None
        progress = Progress(sys.stderr, node_labels(handle.definition, handle.catalog))
        try:
            paths = await _follow(handle, progress, options, board_id)
        except asyncio.CancelledError:
            uncancel()
            progress.close()
            await _delete_outputs(handle)
            canceled = ", ".join(str(i) for i in handle.item_ids) or "none enqueued"
            print(
                f"ivkgen: interrupted: canceled queue item(s) {canceled}, deleted the uploads "
                "and the files the job made",
                file=sys.stderr,
            )
            return INTERRUPTED
        except JobTimeoutError as exc:
            progress.close()
            await _delete_outputs(handle)
            raise JobTimeoutError(
                f"queue item(s) {', '.join(map(str, handle.item_ids))} did not finish within "
                f"{options.timeout or JOB_TIMEOUT:g} s; they were canceled",
                item_id=exc.item_id,
                batch_id=exc.batch_id,
            ) from None
        finally:
            progress.close()
    for path in paths:
        print(path)
    elapsed = time.monotonic() - started
    if paths:
        print(
            f"ivkgen: saved {len(paths)} file(s) in {options.out}/ ({elapsed:.1f} s)",
            file=sys.stderr,
        )
    else:
        print(
            f"ivkgen: the job completed in {elapsed:.1f} s; the workflow has no output node "
            "(save_image, or a node saved to the gallery), so there was nothing to download",
            file=sys.stderr,
        )
    return 0


async def _follow(
    handle: WorkflowHandle[AsyncInvokeAIClient],
    progress: Progress,
    options: RunOptions,
    board_id: str | None,
) -> list[Path]:
    async with handle:  # cancels an unfinished job and deletes the uploads on the way out
        result = await handle.submit(
            board_id=board_id,
            runs=options.runs,
            on_invocation_started=progress.started,
            on_invocation_progress=progress.progress,
            on_invocation_complete=progress.complete,
            on_invocation_error=progress.error,
        )
        progress.set_items(result.item_ids)
        await handle.wait_for_completion(timeout=options.timeout or JOB_TIMEOUT)
        progress.close()
        files = await handle.aget_output_files()
        unique = {file.name: file for file in files}  # cached nodes repeat files
        return [await file.asave(options.out) for file in unique.values()]


async def _delete_outputs(handle: WorkflowHandle[AsyncInvokeAIClient]) -> list[str]:
    """After ``_follow`` canceled the job: delete what the canceled job made that leaving the
    handle could not (the handle's exit logs its errors instead of raising them)."""
    if handle.batch_id is None:
        return []
    try:
        return await handle.acleanup_outputs()
    except IvkgenError as exc:
        print(f"ivkgen: could not delete the job's images: {safe(exc)}", file=sys.stderr)
        return []
