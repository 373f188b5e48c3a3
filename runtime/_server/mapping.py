"""Dict-style reads of pydantic results: ``item["status"]``, ``"key" in item``, ``dict(item)``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from pydantic import BaseModel


class ReadableAsDict(BaseModel):
    """Base of pydantic results: the object reads like a read-only mapping of its keys.

    The keys are the declared fields, then the undeclared keys the server sent (``model_extra``),
    then the properties named in ``derived_keys`` whose value is not None (so
    ``event.get("progress", 0)`` falls back to its default while the node reports no progress).
    ``obj[key]``, ``obj.get(key)``, ``key in obj``, ``obj.keys()``, ``len(obj)``, ``dict(obj)``
    and iteration (over the keys, as a dict's) all agree. There is no ``items()``/``values()``
    (pages have an ``items`` field): use ``dict(obj).items()``.
    """

    derived_keys: ClassVar[tuple[str, ...]] = ()

    def keys(self) -> list[str]:
        fields = list(type(self).model_fields)
        extra = [k for k in self.model_extra or {} if k not in fields]
        derived = [k for k in self.derived_keys if getattr(self, k) is not None]
        return [*fields, *extra, *(k for k in derived if k not in fields)]

    def __getitem__(self, key: str) -> Any:
        if key in type(self).model_fields:
            return getattr(self, key)
        extra = self.model_extra or {}
        if key in extra:
            return extra[key]
        if key in self.derived_keys:
            value = getattr(self, key)
            if value is not None:
                return value
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self.keys()

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        """The keys, as a dict's iteration (pydantic's own yields ``(name, value)`` pairs)."""
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())
