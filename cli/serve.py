"""``ivkgen serve``: the served workflows as a typed HTTP API (the ``serve`` extra).

The options and the body live in ``ivkgen.service.command``, which imports the service only
when the command runs, so ``ivkgen --help`` needs no extra.
"""

from __future__ import annotations

from ivkgen.cli.options import Subparsers, add_server_urls


def add_parser(subparsers: Subparsers) -> None:
    from ivkgen.service import command

    parser = subparsers.add_parser(
        "serve",
        help="serve workflows as a typed HTTP API (pip install 'ivkgen[serve]')",
        description="Each workflow's inputs become a request schema: POST "
        "/v1/workflows/{name}/runs runs it on the InvokeAI servers, /docs shows the API.",
    )
    add_server_urls(parser, several=True)
    command.add_arguments(parser)
    parser.set_defaults(command=command.run)
