"""Server answers for unit tests that fake the server."""

from __future__ import annotations

from typing import Any


def image_dto(name: str, **overrides: Any) -> dict[str, Any]:
    """An ``ImageDTO`` as the server sends it, for an image called ``name``."""
    return {
        "image_name": name,
        "image_url": "",
        "thumbnail_url": "",
        "image_origin": "external",
        "image_category": "user",
        "width": 1,
        "height": 1,
        "created_at": "",
        "updated_at": "",
        "is_intermediate": False,
        "starred": False,
        "has_workflow": False,
        **overrides,
    }
