"""Generator nodes' item lists, computed offline with the GUI's maths."""

from __future__ import annotations

from typing import Any

import pytest
from ivkgen.runtime._workflow.generators import resolve_generator


@pytest.mark.parametrize(
    ("node_type", "value", "expected"),
    [
        ("integer_generator", {"type": "integer_generator_arithmetic_sequence"}, list(range(10))),
        (
            "integer_generator",
            {"type": "integer_generator_arithmetic_sequence", "start": 3, "step": 0, "count": 5},
            [3],
        ),
        (
            "integer_generator",
            {"type": "integer_generator_linear_distribution", "start": 0, "end": 5, "count": 3},
            [0, 3, 5],  # 2.5 rounds half up, as JavaScript's Math.round does
        ),
        (
            "integer_generator",
            {"type": "integer_generator_linear_distribution", "start": 4, "end": 9, "count": 1},
            [4],
        ),
        (
            "integer_generator",
            {"type": "integer_generator_parse_string", "input": " 1, 2x,, -3 ,a", "splitOn": ","},
            [1, 2, -3],
        ),
        (
            "float_generator",
            {"type": "float_generator_arithmetic_sequence", "start": 1, "step": 0.5, "count": 3},
            [1.0, 1.5, 2.0],
        ),
        (
            "float_generator",
            {"type": "float_generator_linear_distribution", "start": 0, "end": 1, "count": 5},
            [0.0, 0.25, 0.5, 0.75, 1.0],
        ),
        (
            "float_generator",
            {"type": "float_generator_parse_string", "input": "0.5|1e1|x|.25", "splitOn": "|"},
            [0.5, 10.0, 0.25],
        ),
        (
            "float_generator",
            {"type": "float_generator_parse_string", "input": "1\n2", "splitOn": "\\n"},
            [1.0, 2.0],
        ),
        (
            "float_generator",
            {"type": "float_generator_random_distribution_uniform", "values": [0.1, 0.2]},
            [0.1, 0.2],
        ),
        (
            "string_generator",
            {"type": "string_generator_parse_string", "input": "a,,b,c", "splitOn": ","},
            ["a", "b", "c"],
        ),
        (
            "string_generator",
            {"type": "string_generator_parse_string", "input": "a,b", "splitOn": ""},
            ["a,b"],
        ),
    ],
)
def test_generator_values(node_type: str, value: dict[str, Any], expected: list[Any]) -> None:
    assert resolve_generator(node_type, value) == expected


@pytest.mark.parametrize("kind", ["integer", "float"])
def test_seeded_random_values_repeat_and_stay_in_range(kind: str) -> None:
    value = {"type": f"{kind}_generator_random_distribution_uniform", "min": 2, "max": 4}
    value.update(count=20, seed=7)
    first = resolve_generator(f"{kind}_generator", value)
    assert first == resolve_generator(f"{kind}_generator", value)
    assert len(first) == 20 and all(2 <= v <= 4 for v in first)
    if kind == "integer":
        assert all(isinstance(v, int) for v in first)


@pytest.mark.parametrize(
    ("node_type", "value"),
    [
        ("string_generator", {"type": "string_generator_dynamic_prompts_random", "input": "{a|b}"}),
        ("image_generator", {"type": "image_generator_images_from_board", "board_id": "b"}),
        ("integer_generator", {"type": "float_generator_arithmetic_sequence"}),
        ("integer_generator", {"start": 1}),
        ("integer_generator", None),
    ],
)
def test_generators_that_cannot_be_resolved_offline_raise(node_type: str, value: Any) -> None:
    with pytest.raises(ValueError, match="generator"):
        resolve_generator(node_type, value)
