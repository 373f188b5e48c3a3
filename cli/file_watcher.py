"""The file watcher of ``ivkgen gen --watch DIR``: keep the modules of the workflow JSON files
in DIR current.

Each ``*.json`` added or changed in DIR gets its module (re)generated into the output folder;
when a JSON file is deleted, its module goes too, but only a module ivkgen generated from that
file. One line per change; Ctrl-C stops. File events come from ``watchfiles``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import watchfiles
from ivkgen.generator import GeneratorError
from ivkgen.generator.package import generate_modules
from ivkgen.generator.regen import find_modules
from ivkgen.runtime._errors import IvkgenError

if TYPE_CHECKING:
    from ivkgen.generator.openapi import Spec

Command = Callable[[Path], list[str]]
READY_TIMEOUT_MS = 500
"""How long the watcher waits for events before it yields an empty batch (the first one tells
that it is watching: a change saved before then would be missed)."""


def _is_json(change: watchfiles.Change, path: str) -> bool:
    return path.endswith(".json") and not Path(path).name.startswith(".")


def _generate(source: Path, out_dir: Path, spec: Spec | None, command: Command) -> str:
    try:
        [written] = generate_modules([source], out_dir, spec, [command(source)])
    except IvkgenError as exc:
        return f"ivkgen: error: {exc}"
    return f"ivkgen: wrote {written} from {source}"


def _remove(source: Path, out_dir: Path) -> str | None:
    """Delete the module ivkgen generated from ``source``, if there is one."""
    target = os.path.abspath(source)
    for module in find_modules(out_dir) if out_dir.is_dir() else []:
        if os.path.abspath(module.source) == target:
            module.path.unlink()
            module.workflow_copy.unlink(missing_ok=True)
            return f"ivkgen: removed {module.path}: {source} was deleted"
    return None


def watch(
    folder: Path,
    out_dir: Path,
    spec: Spec | None,
    command: Command,
    stop: threading.Event | None = None,
) -> int:
    """Watch ``folder`` until Ctrl-C (or ``stop``); ``command`` gives a module's header
    command for its JSON file."""
    if not folder.is_dir():
        raise GeneratorError(f"{folder}: no such folder to watch")
    ready = False
    for changes in watchfiles.watch(
        folder,
        watch_filter=_is_json,
        recursive=False,
        stop_event=stop,
        yield_on_timeout=True,  # a first, empty batch: the watcher is up
        rust_timeout=READY_TIMEOUT_MS,
    ):
        if not ready:
            print(f"ivkgen: watching {folder}/*.json for {out_dir}/ (Ctrl-C stops)", flush=True)
            ready = True
        for path in sorted({Path(path) for _, path in changes}):
            source = Path(os.path.relpath(path)) if path.is_absolute() else path
            line = (
                _generate(source, out_dir, spec, command)
                if path.is_file()
                else _remove(source, out_dir)
            )
            if line:
                print(line, flush=True)
    return 0
