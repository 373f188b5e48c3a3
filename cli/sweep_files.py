"""Which input values made which file of a pool run: printed with each file, and for a sweep
recorded beside the files in ``ivkgen-sweep.json`` (one entry per file, by file name; a later
sweep into the same folder adds its files and replaces the entries of files it wrote again)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivkgen.cli.terminal import safe
from ivkgen.cli.workflow_inputs import named_inputs
from ivkgen.generator.render import write_files
from ivkgen.runtime._pool.outcome import ItemResult
from ivkgen.runtime._pool.work import Work
from ivkgen.runtime._workflow.handle import WorkflowHandle

MANIFEST = "ivkgen-sweep.json"


@dataclass(frozen=True)
class SweptFile:
    """A saved file and the values of the inputs that varied, by input name."""

    path: Path
    inputs: dict[str, Any]


def sweep_files(
    work: Work, handle: WorkflowHandle[Any], results: Iterable[ItemResult]
) -> list[SweptFile]:
    """Each saved file of ``results`` with the values its item set (files by their path)."""
    names = {(n.entry.node_id, n.entry.field_name): n.name for n in named_inputs(handle)}
    columns = [names.get(key, ".".join(key)) for key in work.keys]
    return [
        SweptFile(path, dict(zip(columns, work.item_inputs(result.index).values(), strict=True)))
        for result in results
        for path in result.files
    ]


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def print_files(files: Sequence[SweptFile]) -> None:
    """One line per file: its path, then a tab and ``name=value`` per varied input."""
    for file in files:
        values = " ".join(f"{name}={_shown(value)}" for name, value in file.inputs.items())
        print(safe(file.path) + (f"\t{safe(values)}" if values else ""))


def record_sweep(out: Path, files: Sequence[SweptFile]) -> Path:
    """Write (or extend) ``out/ivkgen-sweep.json``; its path."""
    path = out / MANIFEST
    try:
        entries = {e["file"]: e for e in json.loads(path.read_text("utf-8"))["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        entries = {}
    for file in files:
        entries[file.path.name] = {"file": file.path.name, "inputs": file.inputs}
    text = json.dumps({"files": sorted(entries.values(), key=lambda e: e["file"])}, indent=2)
    write_files({path: text + "\n"})
    return path
