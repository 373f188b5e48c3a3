"""Malformed workflow files get ivkgen's own errors, from loading through the enqueue body.

Hypothesis mutates the real workflows of ``data/workflows`` (types swapped, keys dropped, nesting
deepened, numbers out of range, strings made hostile) and runs each through what a user does:
load the file, list and validate the inputs, build the enqueue body, render the typed module.
Only ``WorkflowError`` (and the generator's ``GeneratorError``) may come out, and a message names
the file. The same mutations run on the shared GUI exports in ``tests/live``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ivkgen.cli.main import main
from ivkgen.generator import GeneratorError
from ivkgen.generator.module import render_module
from ivkgen.runtime._errors import WorkflowError
from ivkgen.runtime._workflow.catalog import default_catalog
from ivkgen.runtime._workflow.definition import WorkflowDefinition
from ivkgen.runtime._workflow.handle import WorkflowHandle

from tests.conftest import REPO

TEAM = sorted((REPO / "data" / "workflows").glob("*.json"))
Path_ = list[str | int]

REPLACEMENTS: list[Any] = [
    None,
    True,
    0,
    -1,
    10**400,
    1e308,
    -1e308,
    float("nan"),
    "",
    "x",
    "\x1b[2J\ud800",
    [],
    [1, "a"],
    {},
    {"a": 1},
    {"hash": 1},
]


def _paths(value: Any, prefix: Path_ | None = None) -> list[Path_]:
    """Every path into a JSON value (keys and indices), down to 40 levels."""
    prefix = prefix or []
    found = [prefix]
    if len(prefix) > 40:
        return found
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, [*prefix, key])
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, [*prefix, index])
    return found


def _parent(data: Any, path: Path_) -> Any:
    for step in path[:-1]:
        data = data[step]
    return data


def _deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": [value]}
    return value


Mutation = Callable[[Any, Path_], None]


def _replace(value: Any) -> Mutation:
    def apply(data: Any, path: Path_) -> None:
        _parent(data, path)[path[-1]] = copy.deepcopy(value)

    return apply


def _drop(data: Any, path: Path_) -> None:
    del _parent(data, path)[path[-1]]


def _deepen(data: Any, path: Path_) -> None:
    _parent(data, path)[path[-1]] = _deep(600)


MUTATIONS: list[Mutation] = [*map(_replace, REPLACEMENTS), _drop, _deepen]


@st.composite
def mutated(draw: st.DrawFn, sources: list[Path]) -> tuple[str, Any]:
    source = draw(st.sampled_from(sources))
    data = json.loads(source.read_text(encoding="utf-8"))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        draw(st.sampled_from(MUTATIONS))(data, path)
    return source.name, data


def exercise(name: str, data: Any, tmp_path: Path) -> None:
    """Do with the data what a user does; only ivkgen's errors may come out."""
    try:
        definition = WorkflowDefinition.from_dict(data, source=name)
        handle = WorkflowHandle(definition)
        handle.list_inputs()
        handle.validate_inputs()
        handle.build_enqueue_body()
        path = tmp_path / name
        path.write_text(json.dumps(data), encoding="utf-8")
        render_module(path, tmp_path, default_catalog(), ["ivkgen", "gen", name])
    except WorkflowError as exc:
        named = exc.source == name or exc.node_id or exc.field_name
        assert named or str(exc).startswith("input "), str(exc)
    except GeneratorError as exc:
        assert name in str(exc), str(exc)


def cli_one_line(name: str, data: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``ivkgen inputs`` and ``gen`` on the file: exit 0, or exit 2 with one line naming it."""
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    for argv in (["inputs", str(path)], ["gen", str(path), "-o", str(tmp_path / "out")]):
        code = main(argv)
        err = capsys.readouterr().err
        if code != 0:
            assert code == 2 and err.count("\n") == 1 and name in err, (argv, err)


def check_mutations(
    sources: list[Path],
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str] | None = None,
    examples: int = 200,
) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
        derandomize=True,  # the same mutations every run: a failure reproduces as it was seen
    )
    @given(mutated(sources))
    def run(case: tuple[str, Any]) -> None:
        folder = tmp_path_factory.mktemp("case")
        exercise(*case, folder)
        if capsys is not None:
            cli_one_line(*case, folder, capsys)

    run()


def test_mutated_team_workflows_give_only_ivkgen_errors(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    check_mutations(TEAM, tmp_path_factory)


def test_the_cli_says_one_line_and_exits_2_for_mutated_team_workflows(
    tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    check_mutations(TEAM, tmp_path_factory, capsys, examples=40)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 5000 + "]" * 5000, "RecursionError"),
        ('{"meta": {"version": "3.0.0"}, "nodes": [], "n": ' + "9" * 5000 + "}", "ValueError"),
        ('{"meta": {"version": "3.0.0"}, "nodes": [], "x": 1e400}', "x is inf"),
        ('{"meta": {"version": "3.0.0"}, "nodes": [], "form": {"elements": []}}', "elements"),
    ],
    ids=["5000 deep", "5000 digits", "1e400", "form elements list"],
)
def test_files_json_cannot_carry_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = tmp_path / "hostile.json"
    path.write_text(text, encoding="utf-8")
    for argv in (["inputs", str(path)], ["gen", str(path), "-o", str(tmp_path / "out")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "hostile.json" in err and message in err, err
    assert not (tmp_path / "out").exists()
