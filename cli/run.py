"""``ivkgen run``: set a workflow's inputs from the command line, run it, save its outputs.

Inputs are set with ``--set``, ``--image`` and ``--video`` (:mod:`ivkgen.cli.input_values`).
``--fields DIR`` reads the node catalog that ``ivkgen fields`` wrote for the server (a server
with custom node packs). ``--board NAME`` names an existing board (it is never created: the
error lists the boards there are). On one server the job is followed node by node
(:mod:`ivkgen.cli.single_run`); several servers, ``--sweep`` or ``--ledger`` spread the items
over a server pool (:mod:`ivkgen.cli.pool_run`).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from ivkgen.cli.errors import UsageError
from ivkgen.cli.options import (
    Subparsers,
    add_fields,
    add_input_values,
    add_server,
    add_workflow,
    positive,
)

INTERRUPTED = 130


@dataclass
class RunOptions:
    """What ``ivkgen run`` was asked to do."""

    workflow: str
    servers: list[str]
    sets: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    videos: list[str] = field(default_factory=list)
    fields: Path | None = None
    out: Path = Path("outputs")
    runs: int = 1
    board: str | None = None
    timeout: float | None = None
    """Cancel after this many seconds (one server without a sweep: ``JOB_TIMEOUT`` when not
    given)."""
    email: str | None = None
    password: str | None = None
    sweeps: list[str] = field(default_factory=list)
    ledger: Path | None = None
    resume: bool = False

    @property
    def uses_pool(self) -> bool:
        """Several servers, a sweep or a ledger: the run goes through a server pool."""
        return len(self.servers) > 1 or bool(self.sweeps) or self.ledger is not None


def add_parser(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a workflow on a server and save its images and videos",
        description="Set inputs, upload images and videos, submit, follow the progress, "
        "download the output images and videos, delete the uploads. Ctrl-C cancels the job and "
        "cleans up.",
    )
    add_workflow(parser)
    add_server(parser, several=True)
    add_input_values(parser, uploads="deleted after the run")
    add_fields(parser)
    parser.add_argument(
        "--out", metavar="DIR", default="outputs", help="where images go (default: outputs)"
    )
    parser.add_argument(
        "--runs", metavar="N", type=positive(int), default=1, help="run the workflow N times"
    )
    parser.add_argument(
        "--board",
        metavar="NAME",
        help="an existing board for the output images whose board is unset (not created)",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=positive(float),
        help="cancel the job if it has not finished by then (default 600 on one server "
        "without --sweep; no limit for a pool run)",
    )
    parser.add_argument(
        "--sweep",
        metavar="NAME=V1,V2,...",
        action="append",
        default=[],
        help="run once per value of an input (repeatable: every combination, a grid); each "
        "file is printed with the values that made it, which OUT/ivkgen-sweep.json records",
    )
    parser.add_argument(
        "--ledger",
        metavar="FILE",
        help="record the run in this sqlite file, to continue it with --resume",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the run recorded in --ledger: skip finished items, look up those in "
        "flight",
    )
    parser.set_defaults(command=run)


def run(args: argparse.Namespace) -> int:
    if args.resume and not args.ledger:
        raise UsageError("--resume continues the run recorded by --ledger FILE: give both")
    return run_command(
        RunOptions(
            workflow=args.workflow,
            servers=args.server,
            sets=args.set,
            images=args.image,
            videos=args.video,
            fields=Path(args.fields) if args.fields else None,
            out=Path(args.out),
            runs=args.runs,
            board=args.board,
            timeout=args.timeout,
            email=args.email,
            password=args.password,
            sweeps=args.sweep,
            ledger=Path(args.ledger) if args.ledger else None,
            resume=args.resume,
        )
    )


def uncancel() -> None:
    """Ctrl-C was handled here: the task goes on (to clean up and return the exit code)."""
    import asyncio

    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


def run_command(options: RunOptions) -> int:
    import asyncio

    if options.uses_pool:
        from ivkgen.cli.pool_run import run_pool

        return asyncio.run(run_pool(options))
    from ivkgen.cli.single_run import run_workflow

    return asyncio.run(run_workflow(options))
