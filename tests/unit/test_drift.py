"""Drift between a module's schema and the server's: found per node and field, warned about
before a run, the server's schema read once per client."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from ivkgen.runtime import AsyncInvokeAIClient, InvokeAIClient, SchemaDriftWarning
from ivkgen.runtime._jobs.plans import drive, drive_sync
from ivkgen.runtime._workflow.catalog import default_catalog
from ivkgen.runtime._workflow.definition import WorkflowDefinition
from ivkgen.runtime._workflow.drift import compare, drift_plan
from ivkgen.runtime._workflow.schema import node_specs

from tests.conftest import REPO
from tests.harness.fake_invokeai import FakeInvokeAI, VirtualClock

SCHEMA = REPO / "data" / "openapi" / "invokeai-6.14.2.json"
WORKFLOW = REPO / "data" / "workflows" / "sd15-text-to-image.json"
EXPECTED = [
    "node noise:VuddLEG62H (noise): version 1.1.0 when generated, 2.0.0 on the server",
    "node denoise_latents:kd9Gf2leMe (denoise_latents), field steps: retyped from int to float "
    "on the server",
    "node denoise_latents:kd9Gf2leMe (denoise_latents), field cfg_scale: the server's node has "
    "no such field any more",
    "node denoise_latents:kd9Gf2leMe (denoise_latents), field scheduler: the server no longer "
    "accepts 'euler'",
]


def _invocation(schemas: dict[str, Any], node_type: str) -> dict[str, Any]:
    return next(
        s
        for s in schemas.values()
        if s.get("properties", {}).get("type", {}).get("default") == node_type
    )


def changed_schema() -> bytes:
    """The bundled schema as a newer server might serve it."""
    data = json.loads(SCHEMA.read_bytes())
    schemas = data["components"]["schemas"]
    _invocation(schemas, "noise")["version"] = "2.0.0"
    denoise = _invocation(schemas, "denoise_latents")["properties"]
    del denoise["cfg_scale"]
    denoise["steps"]["type"] = "number"
    denoise["scheduler"]["enum"].remove("euler")
    return json.dumps(data).encode()


def test_compare_names_each_node_and_field_that_changed() -> None:
    definition = WorkflowDefinition.from_file(WORKFLOW)
    ours = default_catalog()
    theirs = node_specs(json.loads(changed_schema())["components"]["schemas"])
    nodes = {node.type: node for node in theirs}
    found = compare(definition, ours, nodes)
    assert [str(item) for item in found] == EXPECTED
    assert compare(definition, ours, ours.nodes) == []
    del nodes["noise"]
    [gone, *_] = compare(definition, ours, nodes)
    assert str(gone) == "node noise:VuddLEG62H (noise): the server has no such node type"


def _server(schema: bytes) -> FakeInvokeAI:
    return FakeInvokeAI("h", VirtualClock(), schema=schema)


def _client(server: FakeInvokeAI) -> InvokeAIClient:
    return InvokeAIClient.from_url("http://h:9090", transport=server.transport())


def test_a_run_warns_before_enqueueing_and_reads_the_schema_once() -> None:
    from generated.fields_6_14_2 import IvkModelIdentifierField
    from generated.sd15_text_to_image import Sd15TextToImage, Sd15TextToImageInputs

    server = _server(changed_schema())
    model = IvkModelIdentifierField.model_validate(
        {"key": "k", "hash": "h", "name": "tiny-sd15", "base": "sd-1", "type": "main"}
    )
    with _client(server) as client:
        with pytest.warns(SchemaDriftWarning) as caught:
            Sd15TextToImage().handle(Sd15TextToImageInputs(model=model), client)
        message = str(caught[0].message)
        assert message.startswith(
            "Sd15TextToImage was generated for InvokeAI 6.14.2's schema and the server's differs "
            "where the workflow uses it:\n"
        )
        assert [line.strip() for line in message.splitlines()[1:-1]] == EXPECTED
        assert message.endswith("(`ivkgen regen FOLDER --server URL`)")
        with pytest.warns(SchemaDriftWarning):
            Sd15TextToImage().handle(Sd15TextToImageInputs(model=model), client)
    assert server.requests == ["GET /openapi.json"]


def test_the_schema_a_module_was_generated_from_is_no_drift(tmp_path: Path) -> None:
    server = _server(SCHEMA.read_bytes())
    definition = WorkflowDefinition.from_file(WORKFLOW)
    with _client(server) as client, warnings.catch_warnings():
        warnings.simplefilter("error")
        assert drive_sync(drift_plan("M", definition, default_catalog()), client.execute) == []
    assert server.requests == ["GET /openapi.json"]


async def test_an_async_client_gets_the_same_warning() -> None:
    server = _server(changed_schema())
    definition = WorkflowDefinition.from_file(WORKFLOW)
    transport = server.transport()
    async with AsyncInvokeAIClient.from_url("http://h:9090", transport=transport) as client:
        with pytest.warns(SchemaDriftWarning, match="field cfg_scale: the server's node has no"):
            found = await drive(drift_plan("M", definition, default_catalog()), client)
        assert [str(item) for item in found] == EXPECTED
    assert server.requests == ["GET /openapi.json"]
