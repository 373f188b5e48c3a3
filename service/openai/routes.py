"""``POST /v1/images/generations``, ``POST /v1/images/edits`` (multipart), ``GET /v1/models``.

Every answer and error is in OpenAI's shape; the caller is known by the service's own
``Authorization: Bearer`` check. Fields OpenAI defines that a workflow has no input for
(``quality``, ``style``, ``background`` ...) are accepted and ignored.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from ivkgen.runtime._repositories.images import sniff_image_type
from ivkgen.service.catalog import ServedWorkflow
from ivkgen.service.intake import read_upload
from ivkgen.service.openai.binding import Binding
from ivkgen.service.openai.errors import ANSWERED, OpenAIError, as_openai
from ivkgen.service.openai.images import Format, images_answer, request_body, run_images
from ivkgen.service.openai.sizes import requested_size
from ivkgen.service.state import owner, service
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile

MAX_N = 10
router = APIRouter(tags=["openai"])


class ImagesRequest(BaseModel):
    """The OpenAI fields the service reads; any other is ignored."""

    model_config = ConfigDict(extra="ignore")
    model: str | None = None
    prompt: str | None = None
    n: int = Field(default=1, ge=1, le=MAX_N)
    size: str | None = None
    response_format: Format = "url"
    user: str | None = None
    seed: int | None = None


def install_openai(app: FastAPI, bindings: Mapping[str, Binding]) -> None:
    """Serve the OpenAI Images API for the workflows of ``bindings`` on ``app``."""
    app.state.openai_bindings = dict(bindings)
    app.include_router(router)


def _bindings(request: Request) -> dict[str, Binding]:
    found: dict[str, Binding] = getattr(request.app.state, "openai_bindings", {})
    return found


def _fields(data: Mapping[str, Any]) -> ImagesRequest:
    try:
        return ImagesRequest.model_validate(dict(data))
    except ValidationError as exc:
        error = exc.errors()[0]
        param = str(error["loc"][0]) if error["loc"] else None
        raise OpenAIError(400, f"{param}: {error['msg']}", param=param) from None


def _model(request: Request, name: str | None, edits: bool) -> tuple[ServedWorkflow, Binding]:
    """The served workflow the request names (the only model when it names none)."""
    bindings = _bindings(request)
    if name is None:
        if len(bindings) != 1:
            raise OpenAIError(400, "model: name one of GET /v1/models", param="model")
        name = next(iter(bindings))
    binding = bindings.get(name)
    if binding is None:
        raise OpenAIError(
            404,
            f"model {name!r} does not exist (models: {', '.join(bindings) or 'none'})",
            param="model",
            code="model_not_found",
        )
    if not (binding.edits if edits else binding.generations):
        other = "generations" if edits else "edits"
        raise OpenAIError(400, f"model {name!r} serves {other} only", param="model")
    return service(request).config.catalog[name], binding


async def _answer(request: Request, handle: Callable[[], Awaitable[dict[str, Any]]]) -> Response:
    """``handle``'s answer, or its error as OpenAI's error object."""
    try:
        owner(request)
        return JSONResponse(await handle())
    except ANSWERED as exc:
        return as_openai(exc).response()


async def _images(
    request: Request,
    fields: ImagesRequest,
    model: tuple[ServedWorkflow, Binding],
    media: Mapping[str, str],
) -> dict[str, Any]:
    """Run ``fields.n`` items of the model's workflow, as one run, with the bound inputs set."""
    served, binding = model
    values: dict[str, Any] = {**media, **requested_size(fields.size, binding)}
    if binding.prompt and fields.prompt is not None:
        values[binding.prompt] = fields.prompt
    elif binding.prompt and not media:
        raise OpenAIError(400, "prompt: a prompt is required", param="prompt")
    roles = {"width": "size", "height": "size", "prompt": "prompt", "seed": "seed"}
    roles.update(image="image", mask="mask")
    field_of = {getattr(binding, r): f for r, f in roles.items() if getattr(binding, r)}
    bodies = []
    for index in range(fields.n):
        if binding.seed and fields.seed is not None:
            values[binding.seed] = fields.seed + index
        bodies.append(request_body(served, binding, values, field_of, fields.size))
    record = await run_images(request, served, bodies)
    return images_answer(request, record, fields.response_format)


@router.post("/v1/images/generations")
async def generations(request: Request) -> Response:
    """Images made by a workflow from a prompt (OpenAI's ``images.generate``)."""

    async def handle() -> dict[str, Any]:
        try:
            data = await request.json()
        except ValueError:
            raise OpenAIError(400, "the body is not JSON") from None
        if not isinstance(data, dict):
            raise OpenAIError(400, "the body is not a JSON object")
        fields = _fields(data)
        return await _images(request, fields, _model(request, fields.model, False), {})

    return await _answer(request, handle)


async def _data_uri(request: Request, upload: UploadFile, field: str) -> str:
    """An uploaded image file (``field`` of the form) as a data URI, read under the service's
    size cap; a file that is empty, too large or no image is refused, naming the field."""
    try:
        raw = await read_upload(upload, service(request).config.urls, input_name=field)
    except ANSWERED as exc:
        refused = as_openai(exc)
        raise OpenAIError(refused.status, f"{field}: {refused.message}", param=field) from None
    kind = sniff_image_type(raw)
    if kind is None:
        message = f"{field}: {upload.filename!r} is not a PNG, JPEG, WebP, GIF, BMP or TIFF image"
        raise OpenAIError(400, message, param=field)
    return f"data:{kind};base64,{base64.b64encode(raw).decode()}"


@router.post("/v1/images/edits")
async def edits(request: Request) -> Response:
    """Images made by a workflow from an uploaded image, an optional mask and a prompt
    (OpenAI's ``images.edit``; multipart)."""

    async def handle() -> dict[str, Any]:
        async with request.form() as form:
            texts = {k: v for k, v in form.multi_items() if isinstance(v, str)}
            files = {k: v for k, v in form.multi_items() if isinstance(v, UploadFile)}
            fields = _fields(texts)
            served, binding = _model(request, fields.model, True)
            image = files.get("image") or files.get("image[]")
            if image is None:
                raise OpenAIError(400, "image: an image file is required", param="image")
            assert binding.image is not None
            media = {binding.image: await _data_uri(request, image, "image")}
            if "mask" in files:
                if binding.mask is None:
                    raise OpenAIError(400, f"model {served.name!r} takes no mask", param="mask")
                media[binding.mask] = await _data_uri(request, files["mask"], "mask")
            return await _images(request, fields, (served, binding), media)

    return await _answer(request, handle)


def _model_object(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "ivkgen"}


@router.get("/v1/models")
async def models(request: Request) -> Response:
    """The served workflows that have an OpenAI binding, as models."""

    async def handle() -> dict[str, Any]:
        return {"object": "list", "data": [_model_object(name) for name in _bindings(request)]}

    return await _answer(request, handle)


@router.get("/v1/models/{name}")
async def model(request: Request, name: str) -> Response:
    """One model."""

    async def handle() -> dict[str, Any]:
        if name not in _bindings(request):
            raise OpenAIError(404, f"model {name!r} does not exist", code="model_not_found")
        return _model_object(name)

    return await _answer(request, handle)


__all__ = ["ImagesRequest", "install_openai", "router"]
