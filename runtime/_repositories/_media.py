"""What the image and video routes share: ``/api/v1/images`` and ``/api/v1/videos`` take the same
upload, record, list and delete shapes, with ``image`` or ``video`` in their names."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
from ivkgen.runtime._media import OutputKind
from ivkgen.runtime._server.core import Call
from ivkgen.runtime._server.dto import ImageCategory
from ivkgen.runtime._server.urls import query, segment

T = TypeVar("T")

MAX_NAMES_PER_CALL = 1000
OrderDir = Literal["ASC", "DESC"]


def read_source(source: object, filename: str | None) -> tuple[bytes, str | None] | None:
    """The bytes and file name of a file given as bytes or a path; None for anything else."""
    if isinstance(source, bytes | bytearray):
        return bytes(source), filename
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        return path.read_bytes(), filename or path.name
    return None


@dataclass(frozen=True)
class MediaRoutes:
    """The routes of one kind of file on the server."""

    kind: OutputKind

    @property
    def root(self) -> str:
        return f"/api/v1/{self.kind}s"

    def path(self, name: str, tail: str = "") -> str:
        """The route of one file (``tail``: ``/full``, ``/thumbnail``, ``/metadata``)."""
        return f"{self.root}/i/{segment(name)}{tail}"

    def names_body(self, names: Sequence[str]) -> dict[str, list[str]]:
        """The body of a call on several files, checked against the server's limit."""
        if isinstance(names, str):
            raise TypeError(f"give a list of {self.kind} names, not one string")
        if len(names) > MAX_NAMES_PER_CALL:
            raise ValueError(
                f"{len(names)} {self.kind} names: the server takes at most {MAX_NAMES_PER_CALL}"
            )
        return {f"{self.kind}_names": list(names)}

    def upload(
        self,
        file: tuple[str, bytes, str],
        parse: Callable[[httpx.Response], T],
        *,
        category: ImageCategory,
        is_intermediate: bool,
        board_id: str | None,
        session_id: str | None,
        metadata: Mapping[str, Any] | None,
    ) -> Call[T]:
        """Upload one file (``(name, bytes, content type)``); ``board_id="none"``: no board."""
        params = query(
            **{f"{self.kind}_category": category},
            is_intermediate=is_intermediate,
            board_id=None if board_id == "none" else board_id,
            session_id=session_id,
        )
        return Call(
            "POST",
            f"{self.root}/upload",
            parse,
            params=params,
            files={"file": file},
            data={"metadata": json.dumps(dict(metadata))} if metadata is not None else None,
        )

    def listing(
        self,
        parse: Callable[[httpx.Response], T],
        categories: Sequence[ImageCategory] | None,
        **params: Any,
    ) -> Call[T]:
        """One page of files; ``categories`` repeat as query parameters."""
        pairs = [*query(**params).items(), *(("categories", c) for c in categories or ())]
        return Call("GET", f"{self.root}/", parse, params=pairs)

    def delete_many(self, names: Sequence[str], parse: Callable[[httpx.Response], T]) -> Call[T]:
        """Delete up to ``MAX_NAMES_PER_CALL`` files."""
        return Call("POST", f"{self.root}/delete", parse, json=self.names_body(names))
