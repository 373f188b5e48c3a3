"""``ivkgen check``: can this server run this workflow as it is (or with the given input
values)?

The findings (:mod:`ivkgen.cli.findings`) are printed one per line; errors make the check fail
(exit 1), warnings (a node saved by an older InvokeAI) do not. ``--set``, ``--image`` and
``--video`` take values as ``ivkgen run`` does (nothing is uploaded: a file input counts as set).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ivkgen.cli.options import Subparsers, add_input_values, add_server, add_workflow


def add_parser(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check that a server can run a workflow (exit 0) or say what is missing (exit 1)",
        description="Node types and versions the server does not know, models the workflow "
        "names that are not installed (with the closest installed ones), required inputs "
        "without a value; for a generated module also where the server's schema differs "
        "from the module's (node versions, removed or retyped fields, enum values gone). "
        "--set, --image and --video give inputs values as in ivkgen run.",
    )
    add_workflow(parser, module=True)
    add_server(parser)
    add_input_values(parser, uploads="checked, not uploaded")
    parser.set_defaults(command=check, openapi=None)


def check(args: argparse.Namespace) -> int:
    import asyncio

    return asyncio.run(check_command(args))


async def check_command(args: argparse.Namespace) -> int:
    """Print the findings; 0 when the workflow can run as it is, else 1. A generated module
    (``.py``) is checked with its workflow JSON, and for drift of its fields package."""
    from ivkgen.cli.findings import check_handle, drift_findings
    from ivkgen.cli.input_values import ServerLookups, apply_values
    from ivkgen.cli.schemas import catalog_of
    from ivkgen.cli.terminal import safe
    from ivkgen.runtime._client import AsyncInvokeAIClient
    from ivkgen.runtime._workflow.checks import Finding
    from ivkgen.runtime._workflow.definition import WorkflowDefinition
    from ivkgen.runtime._workflow.handle import WorkflowHandle

    workflow: str = args.workflow
    async with AsyncInvokeAIClient.from_url(
        args.server, email=args.email, password=args.password
    ) as client:
        version = await client.get_version()
        catalog = catalog_of(args)
        drift: list[Finding] = []
        source: str | Path = workflow
        if workflow.endswith(".py"):
            source, drift = drift_findings(Path(workflow), catalog)
        handle = WorkflowHandle(WorkflowDefinition.from_file(source), catalog)
        lookups = ServerLookups(client)
        uploading = await apply_values(handle, lookups, args.set, args.image, args.video)
        models = await lookups.models()
        base_url = client.base_url
    findings = drift + check_handle(handle, models, uploading)
    print(safe(f"ivkgen check: {workflow} on {base_url} (InvokeAI {version})"))
    for finding in findings:
        print(f"{finding.severity}: {safe(finding.message)}")
    errors = sum(f.severity == "error" for f in findings)
    if errors:
        what = "1 problem: fix it" if errors == 1 else f"{errors} problems: fix them"
        print(f"{what} before running the workflow")
        return 1
    print("ok: the server knows every node and model, and every required input has a value")
    return 0
