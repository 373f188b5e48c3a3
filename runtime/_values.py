"""The ``Ivk*`` fields with a single ``.value``: strings, numbers, booleans, enums, lists, anything.

Each checks its per-instance constraints (``ge``, ``multiple_of``, ``choices``, ...) on
construction and on every assignment (:func:`constraint_problem` says why a value breaks one).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeVar

from ivkgen.runtime._fields import IvkField
from pydantic import ConfigDict, Field, ValidationInfo, field_validator

T = TypeVar("T")


def constraint_problem(value: Any, limits: Mapping[str, Any]) -> str | None:
    """Why ``value`` breaks one of ``limits`` (``ge``, ``choices``...), or ``None``."""
    if value is None:
        return None
    if isinstance(value, str | list | tuple):
        problem = _length_problem(len(value), limits.get("min_length"), limits.get("max_length"))
        if problem or isinstance(value, str):
            return problem or _choice_problem(value, limits.get("choices"))
        return next((p for item in value if (p := _item_problem(item, limits))), None)
    return _item_problem(value, limits)


def _item_problem(value: Any, limits: Mapping[str, Any]) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number_problem(value, limits) or _choice_problem(value, limits.get("choices"))
    if isinstance(value, str):
        return _choice_problem(value, limits.get("choices"))
    return None


def _length_problem(length: int, low: int | None, high: int | None) -> str | None:
    if low is not None and length < low:
        return f"length {length} breaks min_length={low}"
    if high is not None and length > high:
        return f"length {length} breaks max_length={high}"
    return None


def _choice_problem(value: Any, choices: tuple[Any, ...] | None) -> str | None:
    if choices is None or value in choices:
        return None
    return f"{value!r} breaks choices: must be one of {', '.join(map(repr, choices))}"


def _number_problem(value: float, limits: Mapping[str, Any]) -> str | None:
    checks = (
        ("ge", ">=", lambda bound: value >= bound),
        ("le", "<=", lambda bound: value <= bound),
        ("gt", ">", lambda bound: value > bound),
        ("lt", "<", lambda bound: value < bound),
        ("multiple_of", "a multiple of", lambda bound: _is_multiple(value, bound)),
    )
    for name, words, holds in checks:
        bound = limits.get(name)
        if bound is not None and not holds(bound):
            return f"{value!r} breaks {name}={_num(bound)} (must be {words} {_num(bound)})"
    return None


def _is_multiple(value: float, step: float) -> bool:
    quotient = value / step
    return math.isclose(quotient, round(quotient), rel_tol=0, abs_tol=1e-9)


def _num(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


class IvkValueField(IvkField[T]):
    """A field with a single ``.value`` (``None`` = not set).

    The constraints are per instance (a catalog input gives them from the schema), are checked on
    construction and on every assignment, and never appear in ``to_json_dict()``.
    """

    ge: int | float | None = Field(default=None, exclude=True, repr=False)
    le: int | float | None = Field(default=None, exclude=True, repr=False)
    gt: int | float | None = Field(default=None, exclude=True, repr=False)
    lt: int | float | None = Field(default=None, exclude=True, repr=False)
    multiple_of: int | float | None = Field(default=None, exclude=True, repr=False)
    min_length: int | None = Field(default=None, exclude=True, repr=False)
    max_length: int | None = Field(default=None, exclude=True, repr=False)
    choices: tuple[Any, ...] | None = Field(default=None, exclude=True, repr=False)
    value: T | None = None

    @field_validator("value")
    @classmethod
    def _check_constraints(cls, value: Any, info: ValidationInfo) -> Any:
        problem = constraint_problem(value, info.data)
        if problem:
            raise ValueError(problem)
        return value

    def to_json_dict(self) -> Any:
        return self.value


class IvkStringField(IvkValueField[str]):
    """A string input; numbers are turned into strings as the server does."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    value: str | None = None


class IvkIntegerField(IvkValueField[int]):
    """An integer input; ``"1024"`` becomes ``1024``."""

    value: int | None = None


class IvkFloatField(IvkValueField[float]):
    """A float input; an integer such as ``7`` is kept as ``7.0``."""

    value: float | None = None


class IvkBooleanField(IvkValueField[bool]):
    """A boolean input."""

    value: bool | None = None


class IvkEnumField(IvkValueField[str]):
    """One of a closed set of strings (``choices``)."""

    value: str | None = None


class IvkSchedulerField(IvkEnumField):
    """A scheduler name (``euler``, ``dpmpp_2m_k``...)."""


class IvkCollectionField(IvkValueField[list[Any]]):
    """A list input; the constraints apply to its length and to each item."""

    value: list[Any] | None = None


class IvkAnyField(IvkValueField[Any]):
    """An input of any type (``Any``, free-form objects): normally fed by a connection."""

    value: Any = None
