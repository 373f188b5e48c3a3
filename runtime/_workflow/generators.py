"""The item lists of the GUI's generator nodes (integer, float, string), computed offline.

Same maths as the GUI and the server's port: arithmetic sequences, linear distributions,
uniform random values and parsed strings. Seeded random values use Python's ``random`` (as the
server does), so they differ from the numbers the browser would draw for the same seed. Dynamic
prompt and image-board generators need the server and are refused here.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Callable, Mapping
from typing import Any

_INT_PREFIX = re.compile(r"[+-]?\d+")
_FLOAT_PREFIX = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Infinity")


def resolve_generator(node_type: str, value: Any) -> list[Any]:
    """The items a ``*_generator`` node with generator state ``value`` feeds its batch node."""
    if not isinstance(value, Mapping) or not isinstance(value.get("type"), str):
        raise ValueError(f"the generator value {value!r} has no generator type")
    resolver = _RESOLVERS.get(value["type"])
    if resolver is None or not value["type"].startswith(node_type.removesuffix("generator")):
        raise ValueError(f"generator type {value['type']!r} cannot be resolved offline")
    if isinstance(value.get("values"), list) and value["type"].startswith("float_"):
        return list(value["values"])
    return resolver(value)


def _split(value: Mapping[str, Any], default: str) -> list[str]:
    text = str(value.get("input", default))
    split_on = str(value.get("splitOn", ","))
    if split_on == "":
        return [text]
    try:
        separator = json.loads(f'"{split_on}"')
    except json.JSONDecodeError:
        separator = split_on
    return text.split(separator) if separator else [text]


def _rng(seed: Any) -> Callable[[], float]:
    return random.Random(seed).random if seed is not None else random.random


def _arithmetic(value: Mapping[str, Any], cast: type, step: float) -> list[Any]:
    start, step_ = cast(value.get("start", 0)), cast(value.get("step", step))
    count = int(value.get("count", 10))
    return [start] if step_ == 0 else [start + i * step_ for i in range(count)]


def _float_linear(value: Mapping[str, Any]) -> list[Any]:
    start, end = float(value.get("start", 0)), float(value.get("end", 1))
    count = int(value.get("count", 10))
    return (
        [start] if count == 1 else [start + (end - start) * (i / (count - 1)) for i in range(count)]
    )


def _int_linear(value: Mapping[str, Any]) -> list[Any]:
    start, end = int(value.get("start", 0)), int(value.get("end", 10))
    count = int(value.get("count", 10))
    if count == 1:
        return [start]
    return [start + math.floor((end - start) * (i / (count - 1)) + 0.5) for i in range(count)]


def _float_random(value: Mapping[str, Any]) -> list[Any]:
    low, high = float(value.get("min", 0)), float(value.get("max", 1))
    draw = _rng(value.get("seed"))
    return [draw() * (high - low) + low for _ in range(int(value.get("count", 10)))]


def _int_random(value: Mapping[str, Any]) -> list[Any]:
    low, high = int(value.get("min", 0)), int(value.get("max", 10))
    draw = _rng(value.get("seed"))
    return [math.floor(draw() * (high - low + 1)) + low for _ in range(int(value.get("count", 10)))]


def _parse_numbers(
    pattern: re.Pattern[str], cast: Callable[[str], Any]
) -> Callable[..., list[Any]]:
    def parse(value: Mapping[str, Any]) -> list[Any]:
        matches = (pattern.match(part.strip()) for part in _split(value, ""))
        return [cast(match.group().replace("Infinity", "inf")) for match in matches if match]

    return parse


def _string_parse(value: Mapping[str, Any]) -> list[Any]:
    return [part for part in _split(value, "") if part]


_RESOLVERS: dict[str, Callable[[Mapping[str, Any]], list[Any]]] = {
    "float_generator_arithmetic_sequence": lambda v: _arithmetic(v, float, 0.1),
    "float_generator_linear_distribution": _float_linear,
    "float_generator_random_distribution_uniform": _float_random,
    "float_generator_parse_string": _parse_numbers(_FLOAT_PREFIX, float),
    "integer_generator_arithmetic_sequence": lambda v: _arithmetic(v, int, 1),
    "integer_generator_linear_distribution": _int_linear,
    "integer_generator_random_distribution_uniform": _int_random,
    "integer_generator_parse_string": _parse_numbers(_INT_PREFIX, int),
    "string_generator_parse_string": _string_parse,
}
