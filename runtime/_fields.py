"""``Ivk*`` field classes: typed, validated holders for the value of one invocation input.

Every class is a pydantic model with ``validate_assignment=True``: assigning a value that breaks
the field's type or one of its per-instance constraints raises pydantic's ``ValidationError`` (a
``ValueError``) naming the constraint. ``to_json_dict()`` gives the JSON the server expects for
the input (``1024``, ``"euler"``, ``{"image_name": "x.png"}``); ``None`` means "not set".

Hand-written here: the base :class:`IvkField`, :class:`IvkStructField` and the behaviour the
generated struct classes (``generated.fields``) mix in: :class:`IvkResourceMixin` (``.value``
for image, board, latents...), :class:`IvkImageMixin` (upload and download),
:class:`IvkColorMixin` and :class:`IvkBoundingBoxMixin`. The primitives with a ``.value`` are in
:mod:`ivkgen.runtime._values` (a generated module imports only the struct classes it uses).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator

if TYPE_CHECKING:
    from ivkgen.runtime._client import InvokeAIClient
    from ivkgen.runtime._media import ImageSource
    from ivkgen.runtime._server.dto import ImageCategory, ImageDTO

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
