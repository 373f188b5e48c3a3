"""The naming rule of blocking and awaited twins, checked on every public class.

The rule (docs/sync-async-and-events.md): where one object offers a blocking server method and
its awaited twin, the twin is the blocking name with an ``a`` prefix (``run``/``arun``,
``get_outputs``/``aget_outputs``, ``save``/``asave``, ``close``/``aclose``, ``__enter__``/
``__aenter__``). A class made for the async client (``AsyncInvokeAIClient``, ``Async*``
repositories, pools and board handles) keeps the names of its blocking class, its server methods
awaited. The seed's names stay: ``submit_sync``/``submit``,
``wait_for_completion_sync``/``wait_for_completion``, ``cancel``/``cancel_async``. Event sockets
are async only (``lease_event_socket`` has no blocking twin).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import ivkgen.runtime
import pytest

SEED_TWINS = {
    "submit_sync": "submit",
    "wait_for_completion_sync": "wait_for_completion",
    "cancel": "cancel_async",
}
"""The seed's blocking names and their awaited twins, kept as the seed named them."""
ASYNC_ONLY = {"lease_event_socket"}
"""Awaited by nature: an event socket runs on an event loop."""
ASYNC_ONLY_CLASSES = {"EventSocket"}


def awaited_twin(blocking: str) -> str:
    """The name the rule gives the awaited twin of a blocking method."""
    if blocking in SEED_TWINS:
        return SEED_TWINS[blocking]
    if blocking.startswith("__"):
        return f"__a{blocking[2:]}"
    return f"a{blocking}"


def public_classes() -> list[type]:
    exported = [getattr(ivkgen.runtime, name) for name in ivkgen.runtime.__all__]
    found = {id(c): c for c in exported if inspect.isclass(c)}
    return sorted(found.values(), key=lambda c: c.__name__)


def methods(cls: type) -> Iterator[tuple[str, Callable[..., Any]]]:
    """The public methods of ``cls`` (and its context-manager methods), not its pydantic ones."""
    for name in dir(cls):
        if name.startswith("_") and name not in (
            "__enter__",
            "__exit__",
            "__aenter__",
            "__aexit__",
        ):
            continue
        attribute = inspect.getattr_static(cls, name)
        function = getattr(attribute, "__func__", attribute)
        if not inspect.isfunction(function) or function.__module__.startswith("pydantic"):
            continue
        yield name, function


def awaited(function: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)


def needs_a_blocking_client(function: Callable[..., Any]) -> bool:
    """Whether the method talks to the server blocking: its ``self`` or a parameter is typed by
    the blocking client (what makes mypy refuse it on an async client's object)."""
    annotations = [str(p.annotation) for p in inspect.signature(function).parameters.values()]
    return any(
        ("SyncClient" in a or "InvokeAIClient" in a) and "Async" not in a for a in annotations
    )


def mixed_classes() -> list[type]:
    """Classes with blocking and awaited server methods side by side (not an ``Async*``
    class, whose twins live on its blocking class)."""
    return [
        cls
        for cls in public_classes()
        if not cls.__name__.startswith("Async")
        and cls.__name__ not in ASYNC_ONLY_CLASSES
        and any(awaited(f) and n not in ASYNC_ONLY for n, f in methods(cls))
    ]


def test_the_walk_sees_the_classes_with_twins() -> None:
    names = {cls.__name__ for cls in mixed_classes()}
    assert {"WorkflowHandle", "WorkflowRun", "Workflow", "OutputImage", "OutputVideo"} <= names
    assert "WorkflowForm" not in names  # a form has no client


@pytest.mark.parametrize("cls", mixed_classes(), ids=lambda cls: cls.__name__)
def test_every_awaited_method_has_its_blocking_twin_by_the_rule(cls: type) -> None:
    found = dict(methods(cls))
    expected = {awaited_twin(name): name for name, f in found.items() if not awaited(f)}
    orphans = [
        name
        for name, function in found.items()
        if awaited(function)
        and name not in ASYNC_ONLY
        and not (name in expected and not awaited(found[expected[name]]))
    ]
    assert orphans == [], f"{cls.__name__}: awaited methods without a blocking twin"


@pytest.mark.parametrize("cls", mixed_classes(), ids=lambda cls: cls.__name__)
def test_every_blocking_server_method_has_its_awaited_twin(cls: type) -> None:
    found = dict(methods(cls))
    missing = [
        f"{name} -> {awaited_twin(name)}"
        for name, function in found.items()
        if not awaited(function)
        and needs_a_blocking_client(function)
        and not awaited(found.get(awaited_twin(name), lambda: None))
    ]
    assert missing == [], f"{cls.__name__}: blocking server methods without an awaited twin"


def async_pairs() -> list[tuple[type, type]]:
    by_name = {cls.__name__: cls for cls in public_classes()}
    return [
        (by_name[name.removeprefix("Async")], cls)
        for name, cls in by_name.items()
        if name.startswith("Async") and name.removeprefix("Async") in by_name
    ]


@pytest.mark.parametrize("pair", async_pairs(), ids=lambda pair: pair[1].__name__)
def test_an_async_class_keeps_its_blocking_class_s_names(pair: tuple[type, type]) -> None:
    blocking, async_class = pair
    lifecycle = {"close", "__enter__", "__exit__"}  # these take the ``a`` prefix
    names = {n for n, _ in methods(blocking)}
    expected = (names - lifecycle - ASYNC_ONLY) | {awaited_twin(n) for n in names & lifecycle}
    found = {n for n, _ in methods(async_class)} - ASYNC_ONLY - {"event_socket"}
    assert found == expected, f"{async_class.__name__} against {blocking.__name__}"


def test_the_rule_names_the_seed_s_twins_and_the_a_prefix() -> None:
    assert awaited_twin("get_outputs") == "aget_outputs"
    assert awaited_twin("__exit__") == "__aexit__"
    assert awaited_twin("cancel") == "cancel_async"
    assert awaited_twin("wait_for_completion_sync") == "wait_for_completion"
