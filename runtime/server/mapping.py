"""Dict-style reads of pydantic results (``item["status"]``, ``item.get("session_id")``)."""

from __future__ import annotations

from typing import Any


class ReadableAsDict:
    """Mixin for pydantic models: ``obj["field"]`` and ``obj.get("field", default)`` read a
    field, a property or an undeclared key the server sent, as plain-dict code expects."""

    def __getitem__(self, key: str) -> Any:
        if key in getattr(type(self), "model_fields", {}) or hasattr(type(self), key):
            return getattr(self, key)
        extra = getattr(self, "model_extra", None) or {}
        if key in extra:
            return extra[key]
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default
