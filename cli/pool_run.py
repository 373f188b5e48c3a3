"""``ivkgen run`` over several servers, or with ``--sweep`` / ``--ledger``: the run goes through
an ``AsyncServerPool``.

Inputs are set as for one server (``--set``, ``--image``, ``--video``, ``--board``, looked up on
the first server; models are matched on each server by name, base and type). ``--sweep
NAME=V1,V2,...`` (repeatable) runs every combination of the values, each ``--runs`` times; an
image or video input's values are file paths. ``--ledger FILE``
records the run; the same command with ``--resume`` continues it after an interruption. A
sweep prints each saved file with the swept inputs' values that made it (by input name) and
records them in ``OUT/ivkgen-sweep.json``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from ivkgen.cli.errors import CommandError
from ivkgen.cli.findings import input_findings
from ivkgen.cli.input_values import ServerLookups, apply_values, split_assignment
from ivkgen.cli.pool_progress import PoolDisplay
from ivkgen.cli.run import INTERRUPTED, RunOptions, uncancel
from ivkgen.cli.sweep_files import print_files, record_sweep, sweep_files
from ivkgen.cli.workflow_inputs import find_named, load_handle
from ivkgen.runtime._client import AsyncInvokeAIClient
from ivkgen.runtime._pool.pool import AsyncServerPool
from ivkgen.runtime._pool.work import grid_work
from ivkgen.runtime._workflow.handle import WorkflowHandle


def parse_sweeps(handle: WorkflowHandle[Any], texts: list[str]) -> dict[int | str, list[str]]:
    """``--sweep NAME=V1,V2`` options -> input index -> values (as text; the input's field
    class parses them)."""
    grid: dict[int | str, list[str]] = {}
    for text in texts:
        key, values = split_assignment(text, "--sweep")
        named = find_named(handle, key)
        index = named.entry.input_index
        if index in grid:
            raise CommandError(f"--sweep {text}: input {named.describe()} is swept twice")
        grid[index] = [v.strip() for v in values.split(",") if v.strip()]
        if not grid[index]:
            raise CommandError(f"--sweep {text}: give values, e.g. --sweep {key}=1,2,3")
    return grid


async def run_pool(options: RunOptions) -> int:
    """Set, spread over the servers, follow, download, clean up; the exit code."""
    handle = load_handle(options.workflow)
    started = time.monotonic()
    clients = [
        AsyncInvokeAIClient.from_url(url, email=options.email, password=options.password)
        for url in options.servers
    ]
    display = PoolDisplay(sys.stderr)
    try:
        lookups = ServerLookups(clients[0])
        uploading = await apply_values(
            handle, lookups, options.sets, options.images, options.videos
        )
        sweeps = parse_sweeps(handle, options.sweeps)
        problems = input_findings(handle, [*uploading, *(i for i in sweeps if isinstance(i, int))])
        if problems:
            raise CommandError("; ".join(p.message for p in problems))
        board_id = await lookups.board_id(options.board, "--board") if options.board else None
        try:
            work = grid_work(handle, sweeps, runs=options.runs, board_id=board_id)
        except ValueError as exc:
            raise CommandError(f"--sweep: {exc}") from None
        pool = AsyncServerPool(
            clients,
            connect=lambda url: AsyncInvokeAIClient.from_url(
                url, email=options.email, password=options.password
            ),
        )
        try:
            results = await pool.run(
                work,
                ledger=options.ledger,
                resume=options.resume,
                download_to=options.out,
                on_progress=display,
                timeout=options.timeout,
            )
        except asyncio.CancelledError:
            uncancel()
            display.close()
            again = f" {' '.join(sys.argv[1:])} --resume" if options.ledger else ""
            print(
                "ivkgen: interrupted: the unfinished items were canceled and the uploads "
                + ("deleted" + (f"; continue with: ivkgen{again}" if again else "")),
                file=sys.stderr,
            )
            return INTERRUPTED
        finally:
            display.close()
    finally:
        for client in clients:
            await client.aclose()
    files = sweep_files(work, handle, results)
    print_files(files)
    if options.sweeps:
        record_sweep(options.out, files)
    servers = sorted({r.server for r in results})
    print(
        f"ivkgen: {len(results)} item(s) completed on {len(servers)} server(s); saved "
        f"{len(files)} image(s) in {options.out}/ ({time.monotonic() - started:.1f} s)",
        file=sys.stderr,
    )
    return 0
