"""Modules of workflows saved in a server's library: ``ivkgen gen --server URL --workflow X``,
``--all`` and ``ivkgen pull``.

The fetched workflow JSON is written beside its module, as ``<out>/workflows/<module>.json`` (the
module's ``SOURCE``), so the module runs and regenerates like one made from an exported file; its
header names the library id and ``updated_at`` it was fetched at, which ``ivkgen pull`` compares
with the library's to regenerate the modules whose workflow changed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ivkgen.generator import GeneratorError
from ivkgen.generator.module import LibraryOrigin
from ivkgen.generator.naming import module_name
from ivkgen.generator.package import generate_modules
from ivkgen.generator.regen import ExistingModule, find_modules, rerender
from ivkgen.generator.render import restore_files, shell_lines, write_files
from ivkgen.runtime._client import InvokeAIClient
from ivkgen.runtime._errors import NotFoundError
from ivkgen.runtime._server.dto import WorkflowRecord

if TYPE_CHECKING:
    from ivkgen.generator.openapi import Spec

WORKFLOWS_DIR = "workflows"
"""The folder, inside the output folder, that holds the JSON of library workflows."""
VISIBLE = ("user", "project")
"""The library categories ``--all`` generates (the server's own default workflows are not)."""


@dataclass(frozen=True)
class Fetched:
    """A library workflow and where its JSON goes."""

    record: WorkflowRecord
    path: Path

    @property
    def text(self) -> str:
        return json.dumps(self.record.workflow, indent=2, ensure_ascii=False) + "\n"

    @property
    def origin(self) -> LibraryOrigin:
        return LibraryOrigin(self.record.workflow_id, self.record.updated_at)


def find_records(client: InvokeAIClient, wanted: Sequence[str], every: bool) -> list[str]:
    """The library ids of ``wanted`` (ids or exact names), or of every user and project workflow
    when ``every``; a name or id the library lacks, or a name several workflows share, is an
    error naming what there is."""
    entries = client.workflow_repo.list_workflows(per_page=None).items
    if every:
        return [entry.workflow_id for entry in entries if entry.category in VISIBLE]
    ids = []
    for key in wanted:
        matches = [e for e in entries if e.workflow_id == key] or [
            e for e in entries if e.name == key
        ]
        if len(matches) > 1:
            found = ", ".join(e.workflow_id for e in matches)
            raise GeneratorError(
                f"{len(matches)} library workflows are named {key!r} ({found}); pass the id"
            )
        if not matches:
            names = ", ".join(repr(e.name) for e in entries[:10]) or "none"
            raise GeneratorError(
                f"no workflow named or with id {key!r} in the library of {client.base_url} "
                f"(its workflows: {names})"
            )
        ids.append(matches[0].workflow_id)
    return ids


def _json_path(record: WorkflowRecord, out_dir: Path) -> Path:
    """``out_dir/workflows/<module>.json``: named after the workflow (else its id), so that the
    module, named after its JSON file, is too."""
    name = module_name(record.workflow_id, file_stem=record.name)
    return out_dir / WORKFLOWS_DIR / f"{name}.json"


def library_command(server: str, workflow_id: str, out_dir: str | Path) -> list[str]:
    """The header's command: the module of one library workflow, generated again."""
    words = ["ivkgen", "gen", "--server", server, "--workflow", workflow_id]
    return shell_lines([*words, "-o", Path(out_dir).as_posix()])


def _write_json(fetched: Sequence[Fetched]) -> dict[Path, bytes | None]:
    """Write the workflows' JSON; returns what each file held before (``None``: no file)."""
    before = {f.path: f.path.read_bytes() if f.path.is_file() else None for f in fetched}
    write_files({f.path: f.text for f in fetched})
    return before


def _restore(before: dict[Path, bytes | None]) -> None:
    """Undo :func:`_write_json`, and remove the folders it left empty."""
    restore_files(list(before.items()))
    for folder in {path.parent for path in before}:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def generate_from_library(
    client: InvokeAIClient, ids: Sequence[str], out_dir: Path, spec: Spec | None, server: str
) -> list[Path]:
    """Fetch the library workflows ``ids``, write their JSON into ``out_dir/workflows/`` and
    their modules into ``out_dir``: all of them or, when one fails, none."""
    records = [client.workflow_repo.get_workflow(workflow_id) for workflow_id in ids]
    fetched = [Fetched(record, _json_path(record, out_dir)) for record in records]
    created = next((p for p in [*reversed(out_dir.parents), out_dir] if not p.exists()), None)
    before = _write_json(fetched)
    try:
        return generate_modules(
            [f.path for f in fetched],
            out_dir,
            spec,
            [library_command(server, f.record.workflow_id, out_dir) for f in fetched],
            [f.origin for f in fetched],
        )
    except BaseException:
        _restore(before)
        if created is not None:  # the folders this run made for them
            shutil.rmtree(created, ignore_errors=True)
        raise


@dataclass(frozen=True)
class Pulled:
    """What ``ivkgen pull`` did with one module: regenerated when ``was != now``."""

    path: Path
    workflow_id: str
    was: str
    """The ``updated_at`` in the module's header."""
    now: str
    """The library's ``updated_at``."""


def pull_folder(client: InvokeAIClient, folder: Path) -> list[Pulled]:
    """Regenerate the modules in ``folder`` whose library workflow changed since they were
    generated (its ``updated_at`` differs), with the folder's fields package."""
    done = []
    for module in find_modules(folder):
        if module.library is None:
            continue
        workflow_id = module.library.workflow_id
        try:
            record = client.workflow_repo.get_workflow(workflow_id)
        except NotFoundError:
            raise GeneratorError(
                f"{module.path}: library workflow {workflow_id} is gone from "
                f"{client.base_url}; delete the module or generate it from a file"
            ) from None
        pulled = Pulled(module.path, workflow_id, module.library.updated_at, record.updated_at)
        if pulled.was != pulled.now:
            _regenerate(module, Fetched(record, module.source))
        done.append(pulled)
    return done


def _regenerate(module: ExistingModule, fetched: Fetched) -> None:
    """Write the fetched JSON and the module rendered from it, or neither."""
    before = _write_json([fetched])
    try:
        rendered = rerender(module, {}, fetched.origin)
        write_files(rendered.files())
    except BaseException:
        _restore(before)
        raise
