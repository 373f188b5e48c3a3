"""``Ivk*`` field classes: typed, validated holders for the value of one invocation input.

Every class is a pydantic model with ``validate_assignment=True``: assigning a value that breaks
the field's type or one of its per-instance constraints raises pydantic's ``ValidationError`` (a
``ValueError``) naming the constraint. ``to_json_dict()`` gives the JSON the server expects for
the input (``1024``, ``"euler"``, ``{"image_name": "x.png"}``); ``None`` means "not set".

Hand-written here: the base :class:`IvkField`, the primitives with a ``.value``
(:class:`IvkStringField`, :class:`IvkIntegerField`, :class:`IvkFloatField`,
:class:`IvkBooleanField`, :class:`IvkEnumField`, :class:`IvkSchedulerField`,
:class:`IvkCollectionField`, :class:`IvkAnyField`) and the behaviour the generated struct classes
(``generated.fields``) mix in: :class:`IvkResourceMixin` (``.value`` for image, board, latents...),
:class:`IvkImageMixin` (upload and download), :class:`IvkColorMixin` and
:class:`IvkBoundingBoxMixin`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

if TYPE_CHECKING:
    from ivkgen.runtime.client import InvokeAIClient
    from ivkgen.runtime.media import ImageSource
    from ivkgen.runtime.server.dto import ImageCategory, ImageDTO

T = TypeVar("T")

CONSTRAINTS = ("ge", "le", "gt", "lt", "multiple_of", "min_length", "max_length", "choices")


class IvkField(BaseModel, Generic[T]):
    """Base of every ``Ivk*`` field; ``T`` is the Python type of the value it holds.

    ``T`` is for type checkers: at run time ``IvkField[X]`` is ``IvkField`` itself and each class
    declares the type of its ``value``. (A pydantic generic submodel would build its parent's
    schema on import; the classes build theirs on first use.)
    """

    model_config = ConfigDict(validate_assignment=True, extra="forbid", defer_build=True)

    if not TYPE_CHECKING:

        def __class_getitem__(cls, params: Any) -> Any:
            return cls

    def constraints(self) -> dict[str, Any]:
        """The constraints set on this instance (only fields with a ``.value`` have any)."""
        found = {name: getattr(self, name, None) for name in CONSTRAINTS}
        return {name: limit for name, limit in found.items() if limit is not None}

    def to_json_dict(self) -> Any:
        """The JSON value the server expects for this input; ``None`` when not set."""
        raise NotImplementedError


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


class IvkStructField(IvkField[dict[str, Any]]):
    """Base of the generated classes for the schema's struct types (``ImageField``...).

    Their attributes mirror the schema's properties, all optional so that an input can be
    "not set"; ``required_keys`` lists the ones the server needs once any is set.
    """

    required_keys: ClassVar[frozenset[str]] = frozenset()
    value_key: ClassVar[str | None] = None

    @model_validator(mode="before")
    @classmethod
    def _value_alias(cls, data: Any) -> Any:
        key = cls.value_key
        if key is None:
            return data
        if isinstance(data, str):
            return {key: data}
        if isinstance(data, Mapping) and "value" in data:
            return {key: data["value"], **{k: v for k, v in data.items() if k != "value"}}
        return data

    def is_set(self) -> bool:
        return bool(self.model_dump(exclude_unset=True))

    def missing_keys(self) -> list[str]:
        """Required keys without a value (empty when complete or not set at all)."""
        if not self.is_set():
            return []
        names = {info.alias or name: name for name, info in type(self).model_fields.items()}
        return sorted(k for k in self.required_keys if getattr(self, names.get(k, k), None) is None)

    def to_json_dict(self) -> dict[str, Any] | None:
        if not self.is_set():
            return None
        missing = self.missing_keys()
        if missing:
            raise ValueError(f"{type(self).__name__} is missing {', '.join(missing)}")
        data: dict[str, Any] = self.model_dump(mode="json", exclude_unset=True, by_alias=True)
        return data


def takes_image(field: IvkField[Any]) -> bool:
    """Whether the field names an uploaded image (``image_name``): its input takes a local image,
    uploaded at submission."""
    return "image_name" in type(field).model_fields


class IvkResourceMixin:
    """``.value`` for struct fields that name one server resource (``image_name``, ``board_id``)."""

    value_key: ClassVar[str | None]

    @property
    def value(self) -> str | None:
        current: str | None = getattr(self, self._key())
        return current

    @value.setter
    def value(self, new: str | None) -> None:
        setattr(self, self._key(), new)

    def _key(self) -> str:
        if self.value_key is None:
            raise TypeError(f"{type(self).__name__} has no value key")
        return self.value_key


class IvkImageMixin:
    """Upload and download for image fields (``image_name``), with a sync client; with an async
    client, ``await client.image_repo.upload_image(...)`` and set ``image_name`` yourself."""

    if TYPE_CHECKING:
        image_name: str | None

    def upload(
        self,
        client: InvokeAIClient,
        image: ImageSource,
        *,
        category: ImageCategory = "user",
        is_intermediate: bool = False,
        board_id: str | None = None,
    ) -> ImageDTO:
        """Upload a local image (a path, PNG bytes or a PIL image) and point this field at it;
        returns its record. The image stays on the server until you delete it
        (``WorkflowHandle.set_input_image`` uploads at submission and cleans up itself)."""
        dto = client.image_repo.upload_image(
            image, category=category, is_intermediate=is_intermediate, board_id=board_id
        )
        self.image_name = dto.image_name
        return dto

    def download(self, client: InvokeAIClient) -> bytes:
        """The full image this field names, as PNG bytes."""
        if not self.image_name:
            raise ValueError("this image field names no image: set image_name or upload() one")
        return client.image_repo.download_image(self.image_name)


class IvkColorMixin:
    """Helpers for colour fields (``r``, ``g``, ``b``, ``a``: integers 0-255)."""

    def set_rgba(self, r: int, g: int, b: int, a: int = 255) -> None:
        for name, component in zip("rgba", (r, g, b, a), strict=True):
            setattr(self, name, component)

    def set_hex(self, color: str) -> None:
        """Set from ``#RRGGBB`` or ``#RRGGBBAA`` (the ``#`` is optional)."""
        digits = color.removeprefix("#")
        if len(digits) not in (6, 8):
            raise ValueError(f"{color!r} is not a #RRGGBB or #RRGGBBAA colour")
        try:
            parts = [int(digits[i : i + 2], 16) for i in range(0, len(digits), 2)]
        except ValueError:
            raise ValueError(f"{color!r} is not a #RRGGBB or #RRGGBBAA colour") from None
        self.set_rgba(*parts)


class IvkBoundingBoxMixin:
    """Helper for bounding-box fields (``x_min``, ``y_min``, ``x_max``, ``y_max``)."""

    def set_box(self, x_min: int, y_min: int, x_max: int, y_max: int) -> None:
        if x_max < x_min or y_max < y_min:
            raise ValueError(f"box ({x_min}, {y_min}, {x_max}, {y_max}) has max below min")
        for name, coordinate in zip(
            ("x_min", "y_min", "x_max", "y_max"), (x_min, y_min, x_max, y_max), strict=True
        ):
            setattr(self, name, coordinate)


__all__ = [
    "CONSTRAINTS",
    "IvkAnyField",
    "IvkBooleanField",
    "IvkBoundingBoxMixin",
    "IvkCollectionField",
    "IvkColorMixin",
    "IvkEnumField",
    "IvkField",
    "IvkFloatField",
    "IvkImageMixin",
    "IvkIntegerField",
    "IvkResourceMixin",
    "IvkSchedulerField",
    "IvkStringField",
    "IvkStructField",
    "IvkValueField",
    "constraint_problem",
    "takes_image",
]
