"""How each item of a pool run ended: ``ItemResult``, and ``ItemError`` when it failed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ivkgen.runtime._media import OutputImage


@dataclass(frozen=True, slots=True)
class ItemError:
    """Why an item failed, as the server reported it: the error's type and message."""

    type: str | None
    message: str | None

    def __str__(self) -> str:
        return f"{self.type}: {self.message}" if self.type else str(self.message)

    def to_text(self) -> str:
        """The form a ledger keeps."""
        return json.dumps({"type": self.type, "message": self.message})

    @classmethod
    def from_text(cls, text: str | None) -> ItemError | None:
        """The error a ledger kept (``None`` for none); text that is not the ledger's form is
        the message of an error of unknown type."""
        if not text:
            return None
        try:
            kept = json.loads(text)
        except ValueError:
            return cls(None, text)
        if not isinstance(kept, dict):
            return cls(None, text)
        return cls(kept.get("type"), kept.get("message"))


@dataclass(slots=True)
class ItemResult:
    """How one item of the run ended: where it ran, its output images and the saved files."""

    index: int
    server: str
    item_id: int | None
    status: str
    images: list[OutputImage] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    error: ItemError | None = None
    created: list[str] = field(default_factory=list)
    """Every image the item's nodes saved (for clean-up)."""
    session_id: str | None = None
