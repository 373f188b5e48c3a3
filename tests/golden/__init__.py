"""Golden modules of the shared GUI exports (``../shared/data/workflows``), compared byte for byte.

``python -m tests.golden`` (part of ``make regen``) writes them again. They are rendered for this
folder but not imported: the fields package they name is the bundled one.
"""

from __future__ import annotations

import os
from pathlib import Path

from ivkgen.generator.module import WorkflowModule, render_module
from ivkgen.generator.package import gen_command
from ivkgen.runtime._workflow.catalog import default_catalog

GOLDEN = Path(__file__).parent
REPO = GOLDEN.parent.parent


def render_goldens(shared_workflows: Path) -> list[WorkflowModule]:
    """The golden module of every shared workflow, as generation renders it today."""
    out = Path(os.path.relpath(GOLDEN, REPO))
    catalog = default_catalog()
    return [
        render_module(source, GOLDEN, catalog, gen_command(os.path.relpath(source, REPO), out))
        for source in sorted(shared_workflows.glob("*.json"))
    ]
