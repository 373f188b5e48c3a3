"""The ``ivkgen`` parser and ``main``: one subcommand per module listed in ``COMMANDS``.

Expected failures (bad OpenAPI or workflow file, server unreachable, unknown input, rejected
values, failed job) end with the error and a hint on stderr and exit code 1, never a traceback;
options that do not go together print the command's own usage (exit code 2); Ctrl-C exits
with 130.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TextIO

from ivkgen.cli.errors import UsageError, exit_code, report
from ivkgen.cli.options import missing_server
from ivkgen.cli.terminal import safe
from ivkgen.generator import generator_version
from ivkgen.runtime._errors import IvkgenError

COMMANDS = ("fields", "gen", "pull", "regen", "inputs", "check", "run", "serve")
"""The command modules of ``ivkgen.cli``, in the order ``ivkgen --help`` lists them. Each
defines ``add_parser(subparsers)``, which adds the command's parser and sets its body as the
``command`` default (a function of the parsed arguments that returns the exit code)."""

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ivkgen", description="Typed Python for InvokeAI workflows."
    )
    parser.add_argument("--version", action="version", version=f"ivkgen {generator_version()}")
    subparsers = parser.add_subparsers(metavar="COMMAND", dest="command_name", required=True)
    for name in COMMANDS:
        importlib.import_module(f"ivkgen.cli.{name}").add_parser(subparsers)
    return parser


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; an argument the command does not take is reported with the command's own
    usage (argparse would show the top-level one), and so is a missing server."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        command_parser(parser, args).error(f"unrecognized arguments: {' '.join(extra)}")
    if problem := missing_server(args):
        command_parser(parser, args).error(problem)
    return args


def command_parser(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> argparse.ArgumentParser:
    """The parser of the command ``args`` were parsed for."""
    subparsers = next(
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    )
    found: argparse.ArgumentParser = subparsers.choices[args.command_name]
    return found


@contextlib.contextmanager
def _warnings_as_lines(stream: TextIO) -> Iterator[None]:
    """Show warnings as ``ivkgen: warning: ...`` lines, without source locations."""

    def show(message: Warning | str, *args: Any, **kwargs: Any) -> None:
        print(f"ivkgen: warning: {safe(message)}", file=stream)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parse(parser, argv)
    command: Command = args.command
    try:
        with _warnings_as_lines(sys.stderr):
            return command(args)
    except UsageError as exc:
        command_parser(parser, args).error(str(exc))
    except BrokenPipeError:  # the reader went away (`ivkgen inputs ... | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("ivkgen: interrupted", file=sys.stderr)
        return 130
    except IvkgenError as exc:
        for line in report(exc):
            print(line, file=sys.stderr)
        return exit_code(exc)


if __name__ == "__main__":
    sys.exit(main())
