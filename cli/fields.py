"""``ivkgen fields``: the fields package and node catalog of one InvokeAI OpenAPI schema."""

from __future__ import annotations

import argparse
import time

from ivkgen.cli.options import SERVER_ENV, Subparsers, server_default


def add_parser(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "fields",
        help="emit the Ivk field classes and the node catalog from InvokeAI's OpenAPI",
        description="Write the fields package and catalog.json for one InvokeAI OpenAPI schema.",
    )
    default = server_default()
    source = parser.add_mutually_exclusive_group(required=default is None)
    source.add_argument("--openapi", metavar="FILE", help="a captured openapi.json")
    source.add_argument(
        "--server",
        metavar="URL",
        default=default,
        help=f"a running InvokeAI server (default: ${SERVER_ENV}, when --openapi is not given)",
    )
    parser.add_argument("-o", "--output", metavar="DIR", default="generated", help="output folder")
    parser.add_argument(
        "--invokeai-version",
        metavar="VERSION",
        help="default: from the invokeai-<version>.json name or the server's /api/v1/app/version",
    )
    parser.set_defaults(command=fields)


def fields(args: argparse.Namespace) -> int:
    from ivkgen.generator.fields import generate_fields
    from ivkgen.generator.openapi import fetch, load_file

    started = time.perf_counter()
    if args.openapi:
        spec = load_file(args.openapi, args.invokeai_version)
    else:
        spec = fetch(args.server, args.invokeai_version)
    written = generate_fields(spec, args.output)
    elapsed = time.perf_counter() - started
    folders = sorted({str(path.parent) for path in written})
    print(
        f"ivkgen: wrote {len(written)} files in {', '.join(folders)} for InvokeAI "
        f"{spec.invokeai_version} in {elapsed:.2f} s"
    )
    return 0
