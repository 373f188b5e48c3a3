"""The ``ivkgen`` command line: one subcommand per job, each a small function over argparse args.

Errors the user can fix (bad OpenAPI, unwritable folder) end with one line on stderr and exit
code 1, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

from generator import GeneratorError, generator_version

Command = Callable[[argparse.Namespace], int]


def _fields(args: argparse.Namespace) -> int:
    from generator.fields import generate_fields
    from generator.openapi import fetch, load_file

    started = time.perf_counter()
    if args.server:
        spec = fetch(args.server, args.invokeai_version)
    else:
        spec = load_file(args.openapi, args.invokeai_version)
    written = generate_fields(spec, args.output)
    elapsed = time.perf_counter() - started
    names = ", ".join(str(path) for path in written)
    print(f"ivkgen: wrote {names} for InvokeAI {spec.invokeai_version} in {elapsed:.2f} s")
    return 0


def _add_fields(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "fields",
        help="emit the Ivk field classes and the node catalog from InvokeAI's OpenAPI",
        description="Write fields.py and catalog.json for one InvokeAI OpenAPI schema.",
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


SUBCOMMANDS = (_add_fields,)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ivkgen", description="Typed Python for InvokeAI workflows."
    )
    parser.add_argument("--version", action="version", version=f"ivkgen {generator_version()}")
    subparsers = parser.add_subparsers(metavar="COMMAND", required=True)
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command: Command = args.command
    try:
        return command(args)
    except GeneratorError as exc:
        print(f"ivkgen: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
