"""Lazy public names (PEP 562): each loads its home module on first use."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(
    package: str, homes: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for the module ``package``: the first use of a name in
    ``homes`` imports its module (absolute, or a submodule of ``package`` when it starts with
    ``.``) and caches the value in the module's globals."""
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = package + home if home.startswith(".") else home
        __import__(module)  # not importlib.import_module: `python -X importtime` counts this
        value = getattr(sys.modules[module], name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(homes))

    return __getattr__, __dir__
