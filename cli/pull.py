"""``ivkgen pull``: regenerate the modules whose server library workflow changed."""

from __future__ import annotations

import argparse

from ivkgen.cli.options import Subparsers, add_folders, add_server, folders


def add_parser(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "pull",
        help="regenerate the modules whose server library workflow changed",
        description="For each module in FOLDER generated from the server's library, fetch its "
        "workflow again and, when it changed (updated_at), rewrite its JSON and its module.",
    )
    add_folders(parser)
    add_server(parser)
    parser.set_defaults(command=pull)


def pull(args: argparse.Namespace) -> int:
    from ivkgen.generator.library import pull_folder
    from ivkgen.runtime._client import InvokeAIClient

    with InvokeAIClient.from_url(args.server, email=args.email, password=args.password) as client:
        for folder in folders(args):
            for done in pull_folder(client, folder):
                if done.was == done.now:
                    print(f"ivkgen: {done.path} is up to date ({done.workflow_id})")
                else:
                    print(
                        f"ivkgen: regenerated {done.path}: library workflow "
                        f"{done.workflow_id} changed ({done.was} -> {done.now})"
                    )
    return 0
