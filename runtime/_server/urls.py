"""The variable parts of request URLs, for every repository: path segments and query parameters."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote


def segment(value: str) -> str:
    """A path segment, percent-encoded so that a name can never change the path."""
    return quote(value, safe="")


def query(**params: Any) -> dict[str, Any]:
    """Query parameters without the ones left as None."""
    return {key: value for key, value in params.items() if value is not None}
