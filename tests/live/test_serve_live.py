"""``ivkgen serve`` against the real server: a run answered with its PNG, a run followed by
polling, outputs by attribute name, a model given by its installed name, runs spread over two
servers, nothing left on InvokeAI."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
from ivkgen.runtime._client import InvokeAIClient
from PIL import Image

from tests.conftest import REPO
from tests.harness.server import InvokeAIServer
from tests.live._serve import server_holdings, serving


async def test_a_waited_run_answers_with_its_png_and_leaves_invokeai_clean(
    server_url: str, tmp_path: Path
) -> None:
    before = server_holdings(server_url)
    async with serving([server_url], tmp_path / "store.sqlite3") as http:
        answer = await http.post(
            "/v1/workflows/image_pipeline/runs",
            json={"output_width": 40, "output_height": 24, "crop_size": 16, "blur_radius": 1.25},
            headers={"Prefer": "wait=60"},
        )
        assert answer.status_code == 200, answer.text
        run = answer.json()
        assert run["status"] == "completed"
        assert answer.headers["Location"] == f"/v1/runs/{run['id']}"
        assert list(run["outputs"]) == ["save"]
        [saved] = run["outputs"]["save"]
        image = await http.get(saved["url"])
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(image.content)).size == (16, 48)  # the crop keeps its height
    assert server_holdings(server_url) == before


async def test_an_accepted_run_is_followed_by_polling_until_it_completes(
    server_url: str, tmp_path: Path
) -> None:
    before = server_holdings(server_url)
    async with serving([server_url], tmp_path / "store.sqlite3") as http:
        answer = await http.post(
            "/v1/workflows/prompt_arithmetic/runs", json={"base_size": 13, "scale": 2}
        )
        assert answer.status_code == 202, answer.text
        run = answer.json()
        assert run["status"] in ("queued", "running")
        seen = {run["status"]}
        while run["status"] not in ("completed", "failed", "canceled"):
            await asyncio.sleep(0.1)
            run = (await http.get(run["links"]["self"])).json()
            seen.add(run["status"])
        assert run["status"] == "completed", run["error"]
        assert run["started_at"] and run["finished_at"] and run["duration_seconds"] >= 0
        [square] = run["outputs"]["square"]
        image = await http.get(square["url"])
        assert Image.open(io.BytesIO(image.content)).size == (26, 26)
    assert server_holdings(server_url) == before


async def test_a_model_served_by_its_name_runs_and_one_of_another_base_is_422(
    server_url: str, tiny_models: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    before = server_holdings(server_url)
    name = "sd15_text_to_image"
    sets = [f"{name}.{i}" for i in ("model=tiny-sd15", "width=64", "height=64", "steps=2")]
    async with serving([server_url], tmp_path / "store.sqlite3", sets=sets) as http:
        runs = f"/v1/workflows/{name}/runs"
        answer = await http.post(runs, json={}, headers={"Prefer": "wait=120"})
        run = answer.json()
        assert run["status"] == "completed", answer.text
        assert run["inputs"]["model"]["key"] == tiny_models["tiny-sd15"]["key"]
        [decoded] = run["outputs"]["decode"]
        image = await http.get(decoded["url"])
        assert Image.open(io.BytesIO(image.content)).size == (64, 64)
        wrong = await http.post(runs, json={"model": "tiny-sdxl"})
        assert wrong.status_code == 422, wrong.text
        assert wrong.json()["errors"][0]["input"] == "model"
        assert "'tiny-sdxl' is a main model of base sdxl" in wrong.json()["detail"]
    assert server_holdings(server_url) == before


async def test_runs_are_spread_over_two_servers_and_each_is_left_clean(
    server_url: str, spare_invokeai: InvokeAIServer, tmp_path: Path
) -> None:
    urls = [server_url, spare_invokeai.url]
    before = [server_holdings(url) for url in urls]
    async with serving(urls, tmp_path / "store.sqlite3") as http:
        runs = [
            (await http.post("/v1/workflows/prompt_arithmetic/runs", json={"base_size": s})).json()
            for s in range(30, 36)
        ]
        ended = [await _finished(http, run["id"]) for run in runs]
    assert {run["status"] for run in ended} == {"completed"}
    assert {run["server"] for run in ended} == set(urls)
    assert [server_holdings(url) for url in urls] == before


async def _finished(http: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    while True:
        run: dict[str, Any] = (await http.get(f"/v1/runs/{run_id}")).json()
        if run["status"] in ("completed", "failed", "canceled"):
            return run
        await asyncio.sleep(0.1)


async def test_a_library_workflow_is_served_under_its_module_name(
    server_url: str, tmp_path: Path
) -> None:
    name = f"Served Arithmetic {uuid.uuid4().hex[:8]}"
    data = json.loads((REPO / "data" / "workflows" / "prompt-arithmetic.json").read_text())
    with InvokeAIClient.from_url(server_url) as client:
        record = client.workflow_repo.create_workflow({**data, "name": name})
    try:
        store = tmp_path / "store.sqlite3"
        async with serving([server_url], store, paths=[], library=[name]) as http:
            [served] = (await http.get("/v1/workflows")).json()["workflows"]
            assert served["title"] == name
            answer = await http.post(
                served["links"]["runs"], json={"base_size": 21}, headers={"Prefer": "wait=60"}
            )
            assert answer.json()["status"] == "completed", answer.text
    finally:
        with InvokeAIClient.from_url(server_url) as client:
            client.workflow_repo.delete_workflow(record.workflow_id)
