"""The ``ivkgen`` command line: one subcommand per job, each a small function over argparse args.

``fields``, ``gen`` and ``regen`` write code; ``inputs``, ``check`` and ``run`` work on one
workflow (their logic lives in ``ivkgen.generator.commands``). Expected failures (bad OpenAPI or
workflow file, server unreachable, unknown input, rejected values, failed job) end with the
error and a hint on stderr and exit code 1, never a traceback; Ctrl-C exits with 130.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ivkgen.generator import GeneratorError, generator_version
from ivkgen.generator.commands.errors import CommandError, report
from ivkgen.runtime.errors import IvkgenError
from ivkgen.runtime.timeouts import JOB_TIMEOUT
from ivkgen.runtime.workflow.catalog import Catalog, default_catalog

if TYPE_CHECKING:
    from ivkgen.generator.openapi import Spec

Command = Callable[[argparse.Namespace], int]


def _fields(args: argparse.Namespace) -> int:
    from ivkgen.generator.fields import generate_fields
    from ivkgen.generator.openapi import fetch, load_file

    started = time.perf_counter()
    if args.server:
        spec = fetch(args.server, args.invokeai_version)
    else:
        spec = load_file(args.openapi, args.invokeai_version)
    written = generate_fields(spec, args.output)
    elapsed = time.perf_counter() - started
    folders = sorted({str(path.parent) for path in written})
    print(
        f"ivkgen: wrote {len(written)} files in {', '.join(folders)} for InvokeAI "
        f"{spec.invokeai_version} in {elapsed:.2f} s"
    )
    return 0


def _add_fields(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "fields",
        help="emit the Ivk field classes and the node catalog from InvokeAI's OpenAPI",
        description="Write the fields package and catalog.json for one InvokeAI OpenAPI schema.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--openapi", metavar="FILE", help="a captured openapi.json")
    source.add_argument("--server", metavar="URL", help="a running InvokeAI server")
    parser.add_argument("-o", "--output", metavar="DIR", default="generated", help="output folder")
    parser.add_argument(
        "--invokeai-version",
        metavar="VERSION",
        help="default: from the invokeai-<version>.json name or the server's /api/v1/app/version",
    )
    parser.set_defaults(command=_fields)


def _spec(args: argparse.Namespace) -> Spec | None:
    """The schema of ``--openapi FILE`` or ``--server URL``; ``None`` for the bundled one (also
    when the file is the bundled schema, recognised by its hash before it is parsed)."""
    from ivkgen.generator.openapi import fetch, load_file, read_file

    if args.server:
        return fetch(args.server)
    bundled = default_catalog().openapi_sha256
    if not args.openapi or hashlib.sha256(read_file(args.openapi)).hexdigest() == bundled:
        return None
    return load_file(args.openapi)


def _catalog(args: argparse.Namespace) -> Catalog:
    """The catalog for ``--openapi FILE`` or ``--server URL``; the bundled one by default."""
    from ivkgen.generator.openapi import build_catalog

    spec = _spec(args)
    if spec is None or spec.sha256 == default_catalog().openapi_sha256:
        return default_catalog()
    nodes = {node.type: node for node in build_catalog(spec)}
    return Catalog(spec.invokeai_version, spec.sha256, nodes, default_catalog().fields_module)


def _gen(args: argparse.Namespace) -> int:
    from ivkgen.generator.package import gen_command, generate_modules

    started = time.perf_counter()
    commands = [
        gen_command(workflow, args.output, openapi=args.openapi, server=args.server)
        for workflow in args.workflows
    ]
    written = generate_modules(
        [Path(w) for w in args.workflows], Path(args.output), _spec(args), commands
    )
    for path in written:
        print(f"ivkgen: wrote {path} in {time.perf_counter() - started:.2f} s")
    return 0


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--openapi", metavar="FILE", help="a captured openapi.json")
    source.add_argument("--server", metavar="URL", help="a running InvokeAI server")


def _add_gen(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "gen",
        help="emit the typed module of one or more workflow JSON files",
        description="Write <name>.py with <Name>Inputs, <Name>Outputs and <Name> per workflow.",
    )
    parser.add_argument("workflows", nargs="+", metavar="WORKFLOW.json")
    parser.add_argument("-o", "--output", metavar="DIR", default="generated", help="output folder")
    _add_source_options(parser)
    parser.set_defaults(command=_gen)


def _regen(args: argparse.Namespace) -> int:
    from ivkgen.generator.openapi import fetch, load_file
    from ivkgen.generator.package import ensure_fields
    from ivkgen.generator.regen import find_modules, rerender
    from ivkgen.generator.render import write_files

    spec = fetch(args.server) if args.server else load_file(args.openapi) if args.openapi else None
    for folder in map(Path, args.folders):
        if not folder.is_dir():
            raise GeneratorError(f"{folder}: no such folder")
        if spec is not None:
            ensure_fields(folder, spec, replace=True)
        found = find_modules(folder)
        modules = [rerender(module, {}) for module in found]
        write_files({module.path: module.source for module in modules})
        print(f"ivkgen: regenerated {len(modules)} modules in {folder}/")
    return 0


def _add_regen(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "regen",
        help="regenerate every module ivkgen gen wrote in a folder",
        description="Render each generated module in FOLDER again from its workflow JSON and "
        "the folder's fields package; with --openapi or --server, rewrite the fields "
        "package from that schema first.",
    )
    parser.add_argument(
        "folders", nargs="*", default=["generated"], metavar="FOLDER", help="default: generated"
    )
    _add_source_options(parser)
    parser.set_defaults(command=_regen)


def _add_workflow_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "workflow", metavar="WORKFLOW.json", help="a workflow exported from InvokeAI"
    )


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", metavar="URL", required=True, help="the InvokeAI server")
    parser.add_argument(
        "--email",
        default=os.environ.get("INVOKEAI_EMAIL"),
        help="log in as this user (multi-user servers; default: $INVOKEAI_EMAIL)",
    )
    parser.add_argument(
        "--password",
        default=os.environ.get("INVOKEAI_PASSWORD"),
        help="the user's password (default: $INVOKEAI_PASSWORD)",
    )


def _inputs(args: argparse.Namespace) -> int:
    from ivkgen.generator.commands.inputs import inputs_command

    return inputs_command(args.workflow, as_json_output=args.json)


def _add_inputs(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "inputs",
        help="list a workflow's form inputs (no server needed)",
        description="Name, description, version and author of a workflow, then each form "
        "input: index, label, attribute name (for run --set), node, field, type, required, "
        "current value.",
    )
    _add_workflow_argument(parser)
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    parser.set_defaults(command=_inputs)


def _check(args: argparse.Namespace) -> int:
    from ivkgen.generator.commands.check import check_command
    from ivkgen.runtime.client import InvokeAIClient

    with InvokeAIClient.from_url(args.server, email=args.email, password=args.password) as client:
        return check_command(args.workflow, client, lambda: _catalog(args))


def _add_check(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check that a server can run a workflow (exit 0) or say what is missing (exit 1)",
        description="Node types and versions the server does not know, models the workflow "
        "names that are not installed (with the closest installed ones), required inputs "
        "without a value.",
    )
    _add_workflow_argument(parser)
    _add_server_options(parser)
    parser.set_defaults(command=_check, openapi=None)


def _positive(kind: type[int] | type[float]) -> Callable[[str], Any]:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be above 0")
        return value

    return parse


def _run(args: argparse.Namespace) -> int:
    from ivkgen.generator.commands.run import RunOptions, run_command

    options = RunOptions(
        workflow=args.workflow,
        server=args.server,
        sets=args.set,
        images=args.image,
        out=Path(args.out),
        runs=args.runs,
        board=args.board,
        timeout=args.timeout,
        email=args.email,
        password=args.password,
    )
    return run_command(options)


def _add_run(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a workflow on a server and save its images",
        description="Set inputs, upload images, submit, follow the progress, download the "
        "output images, delete the uploads. Ctrl-C cancels the job and cleans up.",
    )
    _add_workflow_argument(parser)
    _add_server_options(parser)
    parser.add_argument(
        "--set",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="set an input by attribute name or label (see `ivkgen inputs`); model inputs "
        "take an installed model's name, board inputs a board's name, lists and structured "
        "inputs JSON, colours #RRGGBB (repeatable)",
    )
    parser.add_argument(
        "--image",
        metavar="NAME=PATH",
        action="append",
        default=[],
        help="upload a local image for an image input (repeatable; deleted after the run)",
    )
    parser.add_argument(
        "--out", metavar="DIR", default="outputs", help="where images go (default: outputs)"
    )
    parser.add_argument(
        "--runs", metavar="N", type=_positive(int), default=1, help="run the workflow N times"
    )
    parser.add_argument(
        "--board",
        metavar="NAME",
        help="an existing board for the output images whose board is unset (not created)",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_positive(float),
        default=JOB_TIMEOUT,
        help="cancel the job if it has not finished by then (default %(default)g)",
    )
    parser.set_defaults(command=_run)


SUBCOMMANDS = (_add_fields, _add_gen, _add_regen, _add_inputs, _add_check, _add_run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ivkgen", description="Typed Python for InvokeAI workflows."
    )
    parser.add_argument("--version", action="version", version=f"ivkgen {generator_version()}")
    subparsers = parser.add_subparsers(metavar="COMMAND", required=True)
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


@contextlib.contextmanager
def _warnings_as_lines(stream: TextIO) -> Iterator[None]:
    """Show warnings as ``ivkgen: warning: ...`` lines, without source locations."""

    def show(message: Warning | str, *args: Any, **kwargs: Any) -> None:
        print(f"ivkgen: warning: {message}", file=stream)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command: Command = args.command
    try:
        with _warnings_as_lines(sys.stderr):
            return command(args)
    except BrokenPipeError:  # the reader went away (`ivkgen inputs ... | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("ivkgen: interrupted", file=sys.stderr)
        return 130
    except (GeneratorError, IvkgenError, CommandError) as exc:
        for line in report(exc):
            print(line, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
