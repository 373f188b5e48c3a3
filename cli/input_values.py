"""Input values from the command line: ``--set NAME=VALUE``, ``--image NAME=PATH`` and
``--video NAME=PATH``, as ``ivkgen run`` and ``ivkgen check`` take them.

``--set`` finds the input by generated attribute name or label and parses the text by the
input's type: numbers, booleans and strings as such, JSON for lists and structured fields,
``#RRGGBB`` for colours, an installed model's name for model inputs and a board's name for board
inputs (both looked up on the server). ``--image`` and ``--video`` give an image or video input a
local file, uploaded when the job is submitted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ivkgen.cli.errors import CommandError
from ivkgen.cli.workflow_inputs import NamedInput, find_named
from ivkgen.runtime._client import AsyncInvokeAIClient
from ivkgen.runtime._fields import IvkColorMixin, IvkStructField
from ivkgen.runtime._jobs.resolve import MODEL_FIELD_TYPE
from ivkgen.runtime._media import OutputKind
from ivkgen.runtime._server.dto import BoardDTO, ModelConfig
from ivkgen.runtime._values import IvkAnyField, IvkCollectionField, IvkValueField
from ivkgen.runtime._workflow.handle import WorkflowHandle
from ivkgen.runtime._workflow.model_inputs import input_candidates, pick_model
from pydantic import ValidationError


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


async def apply_values(
    handle: WorkflowHandle[Any],
    lookups: ServerLookups,
    sets: Sequence[str],
    images: Sequence[str] = (),
    videos: Sequence[str] = (),
) -> list[int]:
    """Apply the ``--set``, ``--image`` and ``--video`` options in that order; the indexes of
    the inputs that get a file uploaded at submission."""
    for text in sets:
        await set_input(handle, lookups, text)
    return [add_image(handle, text) for text in images] + [
        add_video(handle, text) for text in videos
    ]
