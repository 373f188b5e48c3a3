"""The error tree and how server answers map onto it (no server)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

import httpx
import ivkgen.runtime
import ivkgen.runtime._errors as errors
import pytest
from ivkgen.runtime._server.core import Call, error_from_response, parse_none, transport_error

CALL: Call[None] = Call("POST", "/api/v1/queue/default/enqueue_batch", parse_none)


def answer(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)


PACKAGES = ("ivkgen.runtime", "ivkgen.generator", "ivkgen.cli", "ivkgen.service")
BRANCH = re.compile(r"^    (?P<indent>(?:[│ ]   )*)[├└]── (?P<name>\S+)")


def package_exceptions() -> dict[str, type[BaseException]]:
    """Every exception and warning class the package's modules define, by name."""
    found: dict[str, type[BaseException]] = {}
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            if module.name.endswith(".__main__"):
                continue
            for value in vars(importlib.import_module(module.name)).values():
                if (
                    isinstance(value, type)
                    and issubclass(value, BaseException)
                    and value.__module__.startswith(PACKAGES)
                ):
                    same = found.setdefault(value.__name__, value)
                    assert same is value, f"two exception classes named {value.__name__}"
    return found


def drawn_parents() -> dict[str, str | None]:
    """Each class drawn in the tree of ``errors.py``'s docstring -> the class drawn above it
    (a parenthesised heading such as ``(internal: ...)`` groups, it is not a class)."""
    diagram = (errors.__doc__ or "").split("::", 1)[1].split("\n\n", 2)[1]
    parents: dict[str, str | None] = {"IvkgenError": None}
    above = ["IvkgenError"]
    for line in diagram.splitlines():
        branch = BRANCH.match(line)
        if branch is None:
            continue
        depth = len(branch["indent"]) // 4 + 1
        name = branch["name"]
        del above[depth:]
        if name.startswith("("):
            above.append(above[-1])
            continue
        assert name not in parents, f"{name} drawn twice"
        parents[name] = above[-1]
        above.append(name)
    return parents


def test_every_exception_and_warning_of_the_package_is_drawn_under_its_parent() -> None:
    classes = package_exceptions()
    drawn = drawn_parents()
    assert {"CommandError", "GeneratorError", "Problem", "FormerServerWarning"} <= set(classes)
    assert sorted(set(drawn) - set(classes)) == [], "drawn but not defined"
    for name, cls in classes.items():
        assert name in drawn, f"{cls.__module__}.{name} is not drawn in runtime/_errors.py"
        if name == "IvkgenError":
            continue
        parent = next(base for base in cls.__bases__ if issubclass(base, errors.IvkgenError))
        assert parent.__name__ == drawn[name], f"{name} is drawn under {drawn[name]}"


def test_every_warning_is_a_user_warning_and_an_ivkgen_error() -> None:
    warnings_ = [c for c in package_exceptions().values() if issubclass(c, Warning)]
    assert len(warnings_) == 8
    for cls in warnings_:
        assert issubclass(cls, errors.IvkgenWarning) and issubclass(cls, UserWarning)
        assert cls.__module__ == errors.__name__, f"{cls.__name__}: define it in errors.py"


def warn_categories() -> list[tuple[str, str]]:
    """(module file, category) of every ``warnings.warn`` call in the package's code."""
    found = []
    for package_name in PACKAGES:
        folder = Path(importlib.import_module(package_name).__path__[0])
        for path in sorted(folder.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and ast.unparse(node.func) == "warnings.warn":
                    given = [k.value for k in node.keywords if k.arg == "category"]
                    category = (node.args[1:2] or given or [ast.Constant("no category")])[0]
                    found.append((path.name, ast.unparse(category)))
    return found


def test_every_warning_issued_is_one_of_the_tree() -> None:
    issued = warn_categories()
    assert ("queue.py", "PriorityWarning") in issued
    for where, category in issued:
        assert issubclass(getattr(errors, category, type), errors.IvkgenWarning), (where, category)


def test_every_error_and_warning_is_exported_from_runtime() -> None:
    defined = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and value.__module__ == errors.__name__
    ]
    assert len(defined) == 30
    for cls in defined:
        assert cls.__name__ in ivkgen.runtime.__all__
        assert getattr(ivkgen.runtime, cls.__name__) is cls


def test_a_misdrawn_class_is_found() -> None:
    doc = errors.__doc__
    try:
        errors.__doc__ = (doc or "").replace("│   ├── JobFailedError", "├── JobFailedError")
        assert drawn_parents()["JobFailedError"] == "IvkgenError"
    finally:
        errors.__doc__ = doc


@pytest.mark.parametrize(
    ("child", "parent"),
    [
        (errors.ServerUnreachableError, errors.TransportError),
        (errors.RequestTimeoutError, TimeoutError),
        (errors.AuthError, errors.HTTPStatusError),
        (errors.NotFoundError, errors.HTTPStatusError),
        (errors.ServerValidationError, errors.HTTPStatusError),
        (errors.JobFailedError, errors.JobError),
        (errors.JobCanceledError, errors.JobError),
        (errors.JobTimeoutError, TimeoutError),
    ],
)
def test_tree_shape(child: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(child, parent)


@pytest.mark.parametrize(
    ("status", "cls", "words"),
    [
        (401, errors.AuthError, ["401", "Authentication required", "log in"]),
        (403, errors.AuthError, ["403", "Not allowed", "admin"]),
        (404, errors.NotFoundError, ["404", "Not allowed"]),
        (500, errors.HTTPStatusError, ["HTTP 500", "Not allowed"]),
    ],
)
def test_status_errors_carry_the_servers_detail(
    status: int, cls: type[errors.HTTPStatusError], words: list[str]
) -> None:
    detail = "Authentication required" if status == 401 else "Not allowed"
    error = error_from_response(CALL, answer(status, {"detail": detail}))
    assert type(error) is cls
    assert error.status_code == status and error.detail == detail
    assert error.method == "POST" and error.path == CALL.path
    for word in words:
        assert word in str(error)
    assert "POST /api/v1/queue/default/enqueue_batch" in str(error)


def test_non_json_error_body_becomes_the_detail() -> None:
    error = error_from_response(CALL, httpx.Response(502, text="Bad gateway from proxy"))
    assert error.detail == "Bad gateway from proxy"
    assert "HTTP 502" in str(error)


def test_422_on_a_node_field_names_node_and_field() -> None:
    body = {
        "detail": [
            {
                "type": "int_parsing",
                "loc": ["body", "batch", "graph", "nodes", "blur-1", "img_blur", "radius"],
                "msg": "Input should be a valid integer",
                "input": "abc",
            }
        ]
    }
    error = error_from_response(CALL, answer(422, body))
    assert isinstance(error, errors.ServerValidationError)
    assert (error.node_id, error.field) == ("blur-1", "radius")
    assert "node 'blur-1' field 'radius': Input should be a valid integer" in str(error)
    assert error.errors == body["detail"]


def test_422_graph_check_names_node_and_field_from_the_message() -> None:
    body = {
        "detail": [
            {
                "type": "value_error",
                "loc": ["body", "batch", "graph"],
                "msg": "Value error, Edge destination field nope does not exist in node b",
            },
            {"type": "missing", "loc": ["body", "batch", "runs"], "msg": "Field required"},
        ]
    }
    error = error_from_response(CALL, answer(422, body))
    assert isinstance(error, errors.ServerValidationError)
    assert (error.node_id, error.field) == ("b", "nope")
    assert "(and 1 more)" in str(error)


def test_422_without_node_names_the_location() -> None:
    body = {"detail": [{"type": "missing", "loc": ["body", "batch", "graph"], "msg": "required"}]}
    error = error_from_response(CALL, answer(422, body))
    assert isinstance(error, errors.ServerValidationError)
    assert error.node_id is None
    assert "body.batch.graph: required" in str(error)


def test_422_of_a_sensitive_call_drops_the_echoed_body() -> None:
    login: Call[None] = Call("POST", "/api/v1/auth/login", parse_none, sensitive=True)
    body = {
        "detail": [
            {
                "type": "missing",
                "loc": ["body", "email"],
                "msg": "Field required",
                "input": {"password": "hunter2-secret"},
            }
        ]
    }
    error = error_from_response(login, answer(422, body))
    assert isinstance(error, errors.ServerValidationError)
    assert "hunter2-secret" not in repr(error.detail) + repr(error.errors) + str(error)


@pytest.mark.parametrize(
    ("exc", "cls", "words"),
    [
        (httpx.ConnectError("refused"), errors.ServerUnreachableError, ["cannot connect"]),
        (httpx.ReadError("reset"), errors.ServerUnreachableError, ["lost", "ReadError"]),
        (httpx.ReadTimeout("slow"), errors.RequestTimeoutError, ["in time", "timeout="]),
    ],
)
def test_transport_errors(
    exc: httpx.TransportError, cls: type[Exception], words: list[str]
) -> None:
    error = transport_error(CALL, exc, "http://127.0.0.1:9")
    assert type(error) is cls
    for word in words:
        assert word in str(error)
    assert "http://127.0.0.1:9" in str(error)
