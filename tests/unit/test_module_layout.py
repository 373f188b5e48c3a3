"""Workflow modules are formatted without black over their attributes, byte for byte as black."""

from __future__ import annotations

import random
from pathlib import Path

import black
import pytest
from ivkgen.generator.layout import Attribute, statement_lines, unformatted
from ivkgen.generator.module import TEMPLATE, module_parts, render_module
from ivkgen.generator.render import BLACK_MODE, literal
from ivkgen.runtime._workflow.catalog import default_catalog

from bench.scale import write_scaled
from tests.conftest import REPO

TEAM = sorted((REPO / "data" / "workflows").glob("*.json"))


def _black_over_the_whole_module(source: Path, out_dir: Path) -> tuple[str, str]:
    """The module as generation writes it, and black's formatting of the unformatted module."""
    parts = module_parts(source, out_dir, default_catalog(), ["ivkgen", "gen"], None)
    whole = black.format_str(unformatted(TEMPLATE, parts.context, parts.bodies), mode=BLACK_MODE)
    return render_module(source, out_dir, default_catalog(), ["ivkgen", "gen"]).source, whole


@pytest.mark.parametrize("source", TEAM, ids=lambda path: path.stem)
def test_a_committed_workflow_module_is_what_black_makes_of_it(source: Path) -> None:
    written, whole = _black_over_the_whole_module(source, REPO / "generated")
    assert written == whole


def test_a_big_workflow_module_is_what_black_makes_of_it(tmp_path: Path) -> None:
    big = write_scaled(
        REPO / "data" / "workflows" / "sd15-text-to-image.json", 300, tmp_path / "big.json"
    )
    written, whole = _black_over_the_whole_module(big, tmp_path)
    assert written == whole


def _text(rng: random.Random, longest: int) -> str:
    return "".join(rng.choice("abcdefghijklmnop_ 0123-") for _ in range(rng.randint(1, longest)))


def _json(rng: random.Random, depth: int = 0) -> object:
    """A JSON value: numbers, strings of any length, and nested lists and dicts."""
    pick = rng.random()
    if depth > 2 or pick < 0.35:
        scalars = [rng.randint(-99, 10**9), rng.random() * 10 ** rng.randint(-6, 21), True, None]
        return rng.choice([*scalars, _text(rng, rng.choice([8, 40, 150]))])
    if pick < 0.7:
        return {_text(rng, 20): _json(rng, depth + 1) for _ in range(rng.randint(0, 5))}
    return [_json(rng, depth + 1) for _ in range(rng.randint(0, 5))]


def _attribute(rng: random.Random) -> tuple[str, tuple[str, ...], str | None]:
    """An attribute of the shapes the generator writes, with names and values of random length."""
    name = "a" + _text(rng, rng.choice([10, 40, 70])).replace(" ", "_").replace("-", "_")
    kind = rng.choice(["int", "IvkBoardField | None", "list[str]", "SchedulerName"])
    choices = ", ".join(ascii(_text(rng, 15)) for _ in range(rng.randint(1, 12)))
    parts = [rng.choice([kind, f"Literal[{choices}]"])]
    if rng.random() < 0.3:
        parts.append(f"Field(ge={rng.choice([0, 1e-05, 1e20])!r}, multiple_of=8)")
    parts.append(f"At({_text(rng, 60)!r}, {_text(rng, 30).replace(' ', '_')!r})")
    value = _json(rng)
    default = literal(value)
    if isinstance(value, dict) and rng.random() < 0.5:
        default = f"IvkModelIdentifierField.model_validate({default})"
    return name, tuple(parts), rng.choice([default, default, None])


def test_attributes_of_every_written_shape_are_laid_out_as_black_lays_them_out() -> None:
    rng = random.Random(20240601)
    laid_out = 0
    for _ in range(200):
        target, annotated, value = _attribute(rng)
        attribute = Attribute(target, annotated, value, '"""Doc."""')
        lines = statement_lines(target, annotated, value)
        expected = black.format_str(f"class _:\n{attribute.unformatted}\n", mode=BLACK_MODE)
        assert f"class _:\n{attribute.formatted}\n" == expected, attribute.statement
        laid_out += lines is not None
    assert laid_out > 170  # black formats only the few shapes left


def test_a_shape_the_layout_does_not_know_is_formatted_by_black() -> None:
    value = literal('it\'s "quoted"')  # black weighs the escapes of both quotes
    attribute = Attribute("note", ("str", "At('n', 'v')"), value, '"""Doc."""')
    assert statement_lines(attribute.target, attribute.annotated, attribute.value) is None
    expected = black.format_str(f"class _:\n{attribute.unformatted}\n", mode=BLACK_MODE)
    assert f"class _:\n{attribute.formatted}\n" == expected
