"""The options several commands share, defined once.

``--server`` defaults to ``$IVKGEN_SERVER`` wherever a command takes one; ``--email`` and
``--password`` to ``$INVOKEAI_EMAIL`` and ``$INVOKEAI_PASSWORD``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeAlias

SERVER_ENV = "IVKGEN_SERVER"
"""The environment variable that names the server when ``--server`` is not given."""

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What a command's ``add_parser`` adds its parser to."""


def server_default() -> str | None:
    """``$IVKGEN_SERVER``, when set to something."""
    return os.environ.get(SERVER_ENV) or None


class _AppendServers(argparse.Action):
    """``--server`` given several times: the given ones replace the ``$IVKGEN_SERVER`` default."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        given = getattr(namespace, self.dest)
        servers = [] if given is self.default or given is None else list(given)
        setattr(namespace, self.dest, [*servers, values])


def add_server(parser: argparse.ArgumentParser, *, several: bool = False) -> None:
    """``--server URL`` (``$IVKGEN_SERVER`` when not given; :func:`missing_server` says when
    neither is), with the login options."""
    add_server_urls(parser, several=several)
    add_login(parser)


def add_server_urls(parser: argparse.ArgumentParser, *, several: bool) -> None:
    """``--server URL`` alone, for a command that does not log in."""
    default = server_default()
    where = f"default: ${SERVER_ENV}"
    if several:
        parser.add_argument(
            "--server",
            metavar="URL",
            action=_AppendServers,
            default=[default] if default else None,
            help=f"an InvokeAI server (repeatable: the items are spread over the servers; "
            f"{where})",
        )
    else:
        parser.add_argument(
            "--server", metavar="URL", default=default, help=f"the InvokeAI server ({where})"
        )
    parser.set_defaults(needs_server=True)


def missing_server(args: argparse.Namespace) -> str | None:
    """The usage error of a command that needs a server and got none."""
    if getattr(args, "needs_server", False) and not args.server:
        return f"give the server: --server URL, or set ${SERVER_ENV}"
    return None


def add_login(parser: argparse.ArgumentParser) -> None:
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


def add_schema_source(parser: argparse.ArgumentParser, *, library: bool = False) -> None:
    """``--openapi FILE`` or ``--server URL``: the schema to generate from (default: the bundled
    one, whatever ``$IVKGEN_SERVER`` says, so that the schema is the one the command line names;
    with ``library``, the variable names the server of ``--workflow``/``--all``)."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--openapi", metavar="FILE", help="a captured openapi.json")
    default = (
        f"${SERVER_ENV} only names the server of --workflow/--all"
        if library
        else (f"not ${SERVER_ENV}")
    )
    source.add_argument(
        "--server",
        metavar="URL",
        help=f"a running InvokeAI server, for its schema (default: the bundled schema; {default})",
    )


def add_workflow(parser: argparse.ArgumentParser, *, module: bool = False) -> None:
    if module:
        parser.add_argument(
            "workflow",
            metavar="MODULE_OR_JSON",
            help="a workflow exported from InvokeAI, or a module ivkgen gen wrote",
        )
    else:
        parser.add_argument(
            "workflow", metavar="WORKFLOW.json", help="a workflow exported from InvokeAI"
        )


def add_fields(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fields",
        metavar="DIR",
        help="the node catalog `ivkgen fields` wrote for the server (default: the bundled "
        "InvokeAI one); needed for workflows with custom nodes",
    )


def add_input_values(parser: argparse.ArgumentParser, *, uploads: str) -> None:
    """``--set``, ``--image`` and ``--video``: input values as ``ivkgen run`` takes them."""
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
        help=f"a local image for an image input (repeatable; {uploads})",
    )
    parser.add_argument(
        "--video",
        metavar="NAME=PATH",
        action="append",
        default=[],
        help=f"a local MP4 file for a video input (repeatable; {uploads})",
    )


def add_folders(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "folders", nargs="*", default=["generated"], metavar="FOLDER", help="default: generated"
    )


def folders(args: argparse.Namespace) -> list[Path]:
    """The FOLDER arguments, each an existing folder."""
    from ivkgen.generator import GeneratorError

    found = [Path(folder) for folder in args.folders]
    for folder in found:
        if not folder.is_dir():
            raise GeneratorError(f"{folder}: no such folder")
    return found


def positive(kind: type[int] | type[float]) -> Callable[[str], Any]:
    """An argparse ``type`` for numbers above 0."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be above 0")
        return value

    return parse
