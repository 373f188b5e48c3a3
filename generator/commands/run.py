"""``ivkgen run``: set a workflow's inputs from the command line, run it, save its outputs.

``--set NAME=VALUE`` finds the input by generated attribute name or label and parses the text by
the input's type: numbers, booleans and strings as such, JSON for lists and structured fields,
``#RRGGBB`` for colours, an installed model's name for model inputs and a board's name for board
inputs. ``--image NAME=PATH`` uploads a local image for an image input, ``--video NAME=PATH`` a
local MP4 file for a video input. ``--fields DIR`` reads the node catalog that ``ivkgen fields``
wrote for the server (a server with custom node packs). ``--board NAME`` names an
existing board (it is never created: the error lists the boards there are).

The job runs with the async client: events drive the progress display, the images and videos of
the output nodes are downloaded into the output folder, and the uploads are deleted at the end,
also when the job fails. Ctrl-C (or ``--timeout``) cancels the job, deletes the uploads and the
images and videos the job made so far.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivkgen.generator.commands.check import blocker_findings, input_findings
from ivkgen.generator.commands.errors import CommandError
from ivkgen.generator.commands.inputs import NamedInput, find_named, load_handle
from ivkgen.generator.progress import Progress
from ivkgen.generator.terminal import safe
from ivkgen.runtime.client import AsyncInvokeAIClient
from ivkgen.runtime.errors import IvkgenError, JobTimeoutError
from ivkgen.runtime.fields import IvkColorMixin, IvkStructField
from ivkgen.runtime.jobs.resolve import MODEL_FIELD_TYPE
from ivkgen.runtime.media import OutputKind
from ivkgen.runtime.server.dto import BoardDTO, ModelConfig
from ivkgen.runtime.timeouts import JOB_TIMEOUT
from ivkgen.runtime.typed import input_candidates, pick_model
from ivkgen.runtime.values import IvkAnyField, IvkCollectionField, IvkValueField
from ivkgen.runtime.workflow.definition import node_labels
from ivkgen.runtime.workflow.handle import WorkflowHandle
from pydantic import ValidationError

INTERRUPTED = 130


@dataclass
class RunOptions:
    """What ``ivkgen run`` was asked to do."""

    workflow: str
    servers: list[str]
    sets: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    videos: list[str] = field(default_factory=list)
    fields: Path | None = None
    out: Path = Path("outputs")
    runs: int = 1
    board: str | None = None
    timeout: float | None = None
    """Cancel after this many seconds (one server without a sweep: ``JOB_TIMEOUT`` when not
    given)."""
    email: str | None = None
    password: str | None = None
    sweeps: list[str] = field(default_factory=list)
    ledger: Path | None = None
    resume: bool = False

    @property
    def uses_pool(self) -> bool:
        """Several servers, a sweep or a ledger: the run goes through a server pool."""
        return len(self.servers) > 1 or bool(self.sweeps) or self.ledger is not None


def split_assignment(text: str, option: str) -> tuple[str, str]:
    """``"Width=512"`` -> ``("Width", "512")``."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise CommandError(f"{option} {text!r}: expected NAME=VALUE, e.g. {option} width=512")
    return key.strip(), value


class ServerLookups:
    """Installed models and boards, read once per run."""

    def __init__(self, client: AsyncInvokeAIClient) -> None:
        self._client = client
        self._models: list[ModelConfig] | None = None
        self._boards: list[BoardDTO] | None = None

    async def models(self) -> list[ModelConfig]:
        if self._models is None:
            self._models = await self._client.model_repo.list_models()
        return self._models

    async def board_id(self, name: str, option: str) -> str:
        """The id of the board called ``name`` (or with that id)."""
        if self._boards is None:
            self._boards = await self._client.board_repo.list_boards()
        for board in sorted(self._boards, key=lambda b: b.board_name != name):
            if name in (board.board_name, board.board_id):
                return board.board_id
        names = ", ".join(repr(b.board_name) for b in self._boards)
        there = f"its boards are {names}" if names else "it has no boards"
        raise CommandError(
            f"{option}: the server has no board named {name!r}; {there}. Create the board in "
            "the InvokeAI gallery first, or leave the option out"
        )


def _spec_type(handle: WorkflowHandle[Any], named: NamedInput) -> str:
    node = handle.definition.node_by_id(named.entry.node_id) or {}
    spec = handle.catalog.node(node["data"]["type"]).inputs[named.entry.field_name]
    return spec.type


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{what}: not valid JSON ({exc.msg})") from None


def _first_error(exc: ValidationError | ValueError) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        return str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
    return str(exc)


async def set_input(handle: WorkflowHandle[Any], lookups: ServerLookups, text: str) -> None:
    """Apply one ``--set NAME=VALUE``."""
    key, value = split_assignment(text, "--set")
    named = find_named(handle, key)
    entry, what = named.entry, f"--set {key}={value}"
    index, current = entry.input_index, entry.field
    kind = _spec_type(handle, named)
    try:
        if MODEL_FIELD_TYPE in kind and not value.lstrip().startswith("{"):
            await _set_model(handle, lookups, named, value, what)
        elif kind == "BoardField":
            board = await lookups.board_id(value, what)
            handle.set_input_value(index, type(current).model_validate({"board_id": board}))
        elif isinstance(current, IvkCollectionField):
            current.value = _json(value, what)
        elif isinstance(current, IvkAnyField):
            current.value = _json(value, what) if value.lstrip()[:1] in "[{" else value
        elif isinstance(current, IvkValueField):
            current.value = value
        elif isinstance(current, IvkColorMixin) and value.startswith("#"):
            current.set_hex(value)
        elif isinstance(current, IvkStructField):
            data = _json(value, what) if value.lstrip().startswith("{") else value
            handle.set_input_value(index, type(current).model_validate(data))
    except (ValidationError, ValueError) as exc:
        raise CommandError(
            f"{what}: input {named.describe()} holds a {type(current).__name__}: "
            f"{_first_error(exc)}"
        ) from None


async def _set_model(
    handle: WorkflowHandle[Any], lookups: ServerLookups, named: NamedInput, name: str, what: str
) -> None:
    models = await lookups.models()
    found = [m for m in models if m.name == name]
    if not found:
        close = input_candidates(handle, named.entry.input_index, name, models)
        listing = ", ".join(repr(m.name) for m in close) or "none"
        raise CommandError(
            f"{what}: no model named {name!r} is installed on the server; closest installed: "
            f"{listing}"
        )
    pick_model(handle, named.entry.input_index, name, models)


def add_image(handle: WorkflowHandle[Any], text: str) -> int:
    """Apply one ``--image NAME=PATH``: the file is uploaded when the job is submitted.
    Returns the input's index."""
    return _add_file(handle, text, "image")


def add_video(handle: WorkflowHandle[Any], text: str) -> int:
    """Apply one ``--video NAME=PATH`` (an MP4 file), like ``--image``."""
    return _add_file(handle, text, "video")


def _add_file(handle: WorkflowHandle[Any], text: str, kind: OutputKind) -> int:
    option = f"--{kind}"
    key, value = split_assignment(text, option)
    named = find_named(handle, key)
    path = Path(value)
    if not hasattr(named.entry.field, f"{kind}_name"):
        article = "an" if kind == "image" else "a"
        raise CommandError(
            f"{option} {text}: input {named.describe()} is a {type(named.entry.field).__name__}, "
            f"not {article} {kind} input; use --set for it"
        )
    if not path.is_file():
        raise CommandError(f"{option} {text}: no such file {str(path)!r}")
    try:
        if kind == "video":
            handle.set_input_video(named.entry.input_index, path)
        else:
            handle.set_input_image(named.entry.input_index, path)
    except ValueError as exc:
        raise CommandError(f"{option} {text}: {exc}") from None
    return named.entry.input_index


async def run_workflow(options: RunOptions) -> int:
    """Set, submit, follow, download, clean up; the exit code."""
    unbound = load_handle(options.workflow, options.fields)
    started = time.monotonic()
    async with AsyncInvokeAIClient.from_url(
        options.servers[0], email=options.email, password=options.password
    ) as client:
        handle = unbound.bind_client(client)
        lookups = ServerLookups(client)
        for text in options.sets:
            await set_input(handle, lookups, text)
        uploading = [add_image(handle, text) for text in options.images]
        uploading += [add_video(handle, text) for text in options.videos]
        problems = blocker_findings(handle) + input_findings(handle, uploading)
        if problems:
            raise CommandError("; ".join(p.message for p in problems))
        board_id = await lookups.board_id(options.board, "--board") if options.board else None
        progress = Progress(sys.stderr, node_labels(handle.definition, handle.catalog))
        try:
            paths = await _follow(handle, progress, options, board_id)
        except asyncio.CancelledError:
            _uncancel()
            progress.close()
            await _delete_outputs(handle)
            canceled = ", ".join(str(i) for i in handle.item_ids) or "none enqueued"
            print(
                f"ivkgen: interrupted: canceled queue item(s) {canceled}, deleted the uploads "
                "and the files the job made",
                file=sys.stderr,
            )
            return INTERRUPTED
        except JobTimeoutError as exc:
            progress.close()
            await _delete_outputs(handle)
            raise JobTimeoutError(
                f"queue item(s) {', '.join(map(str, handle.item_ids))} did not finish within "
                f"{options.timeout or JOB_TIMEOUT:g} s; they were canceled",
                item_id=exc.item_id,
                batch_id=exc.batch_id,
            ) from None
        finally:
            progress.close()
    for path in paths:
        print(path)
    elapsed = time.monotonic() - started
    if paths:
        print(
            f"ivkgen: saved {len(paths)} file(s) in {options.out}/ ({elapsed:.1f} s)",
            file=sys.stderr,
        )
    else:
        print(
            f"ivkgen: the job completed in {elapsed:.1f} s; the workflow has no output node "
            "(save_image, or a node saved to the gallery), so there was nothing to download",
            file=sys.stderr,
        )
    return 0


async def _follow(
    handle: WorkflowHandle[AsyncInvokeAIClient],
    progress: Progress,
    options: RunOptions,
    board_id: str | None,
) -> list[Path]:
    async with handle:  # cancels an unfinished job and deletes the uploads on the way out
        result = await handle.submit(
            board_id=board_id,
            runs=options.runs,
            on_invocation_started=progress.started,
            on_invocation_progress=progress.progress,
            on_invocation_complete=progress.complete,
            on_invocation_error=progress.error,
        )
        progress.set_items(result.item_ids)
        await handle.wait_for_completion(timeout=options.timeout or JOB_TIMEOUT)
        progress.close()
        files = await handle.aget_output_files()
        unique = {file.name: file for file in files}  # cached nodes repeat files
        return [await file.asave(options.out) for file in unique.values()]


def _uncancel() -> None:
    """Ctrl-C was handled here: the task goes on (to clean up and return the exit code)."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


async def _delete_outputs(handle: WorkflowHandle[AsyncInvokeAIClient]) -> list[str]:
    """After ``_follow`` canceled the job: delete what the canceled job made that leaving the
    handle could not (the handle's exit logs its errors instead of raising them)."""
    if handle.batch_id is None:
        return []
    try:
        return await handle.acleanup_outputs()
    except IvkgenError as exc:
        print(f"ivkgen: could not delete the job's images: {safe(exc)}", file=sys.stderr)
        return []


def run_command(options: RunOptions) -> int:
    if options.uses_pool:
        from ivkgen.generator.commands.pool_run import pool_command

        return pool_command(options)
    return asyncio.run(run_workflow(options))
