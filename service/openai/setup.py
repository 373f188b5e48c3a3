"""The OpenAI options of ``ivkgen serve``: the binding file, and printing the bindings."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command's options load without the serve extra
    from ivkgen.service.catalog import ServedWorkflow
    from ivkgen.service.openai.binding import Binding


def add_openai_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--openai-binding",
        metavar="FILE",
        help="TOML: the inputs each workflow's OpenAI images fields go to (overrides the guess)",
    )
    parser.add_argument(
        "--explain-bindings",
        action="store_true",
        help="print each workflow's OpenAI binding and exit",
    )


def openai_bindings(
    catalog: Mapping[str, ServedWorkflow], args: argparse.Namespace
) -> dict[str, Binding]:
    """The bindings of the served workflows; one warning line per workflow left out (on
    stderr); with ``--explain-bindings`` each binding printed on stdout."""
    from ivkgen.service.openai.binding import bindings_for, explain

    path = Path(args.openai_binding) if args.openai_binding else None
    bindings, warnings = bindings_for(catalog, path)
    for warning in warnings:
        print(f"ivkgen serve: warning: {warning}", file=sys.stderr)
    if args.explain_bindings:
        for binding in bindings.values():
            print(explain(binding))
    return bindings


__all__ = ["add_openai_arguments", "openai_bindings"]
