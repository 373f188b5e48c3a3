"""Installed models (``/api/v2/models``): list, get by key, hash or attributes, find."""

from __future__ import annotations

import httpx
from ivkgen.runtime._repositories._base import AsyncRepository, SyncRepository
from ivkgen.runtime._server.core import Call, operation, parse_model
from ivkgen.runtime._server.dto import ModelConfig
from ivkgen.runtime._server.urls import query, segment
from pydantic import TypeAdapter

_CONFIGS = TypeAdapter(list[ModelConfig])


def _list(
    base: str | None, type: str | None, name: str | None, format: str | None, hash: str | None
) -> Call[list[ModelConfig]]:
    def parse(response: httpx.Response) -> list[ModelConfig]:
        models = _CONFIGS.validate_python(response.json()["models"])
        return [m for m in models if hash is None or m.hash == hash]

    params = query(base_models=base, model_type=type, model_name=name, model_format=format)
    return Call("GET", "/api/v2/models/", parse, params=params)


class ModelOps:
    """Model operations, written once for the sync and async repositories."""

    @operation
    def list_models(
        self,
        *,
        base: str | None = None,
        type: str | None = None,
        name: str | None = None,
        format: str | None = None,
    ) -> Call[list[ModelConfig]]:
        """Installed models, filtered on the server by base (``sd-1``, ``sdxl``, ...), type
        (``main``, ``vae``, ``lora``, ...), exact name and format."""
        return _list(base, type, name, format, None)

    @operation
    def get_model(self, key: str) -> Call[ModelConfig]:
        """The model with this key (NotFoundError if none)."""
        return Call("GET", f"/api/v2/models/i/{segment(key)}", parse_model(ModelConfig))

    @operation
    def get_model_by_hash(self, hash: str) -> Call[ModelConfig]:
        """The model with this hash, e.g. ``blake3:...`` (NotFoundError if none)."""
        return Call(
            "GET", "/api/v2/models/get_by_hash", parse_model(ModelConfig), params={"hash": hash}
        )

    @operation
    def get_model_by_attrs(self, name: str, base: str, type: str) -> Call[ModelConfig]:
        """The first model with this name, base and type (NotFoundError if none)."""
        return Call(
            "GET",
            "/api/v2/models/get_by_attrs",
            parse_model(ModelConfig),
            params={"name": name, "base": base, "type": type},
        )

    @operation
    def find_models(
        self,
        *,
        name: str | None = None,
        base: str | None = None,
        type: str | None = None,
        hash: str | None = None,
    ) -> Call[list[ModelConfig]]:
        """Installed models matching every criterion given (an empty list if none)."""
        return _list(base, type, name, None, hash)


class ModelRepository(SyncRepository, ModelOps):
    """``client.model_repo``: the models installed on the server."""


class AsyncModelRepository(AsyncRepository, ModelOps):
    """``async_client.model_repo``: the models installed on the server."""
