"""The OpenAI images routes on simulated InvokeAI servers: answers and errors in OpenAI's
shapes, ``n`` items spread over the servers, multipart edits, no queue item or upload left
(the live tests check the outputs are deleted on a real server)."""

from __future__ import annotations

import base64
import io
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from ivkgen.service.auth import ApiKeys
from ivkgen.service.file_links import signed_path
from PIL import Image

from tests.harness.fake_invokeai import FakeInvokeAI
from tests.unit._openai import openai_service
from tests.unit._serve import fake

SIZES = "size 999x9 is refused by model 'prompt_canvas': sizes that work: WIDTHxHEIGHT, the width"
SIZES += " >= 16 and <= 128; the height >= 16 and <= 128 (default 64x48)"


def _enqueued(server: FakeInvokeAI) -> int:
    return sum(r.endswith("/enqueue_batch") for r in server.requests)


def _error(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert set(answer.json()) == {"error"}
    error: dict[str, Any] = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


async def test_models_list_the_bound_workflows(tmp_path: Path) -> None:
    async with openai_service([fake("a")], tmp_path) as http:
        answer = (await http.get("/v1/models")).json()
        one = (await http.get("/v1/models/prompt_canvas")).json()
        missing = await http.get("/v1/models/nope")
    assert answer["object"] == "list"
    assert [m["id"] for m in answer["data"]] == ["mask_paste", "prompt_canvas"]
    assert one == {"id": "prompt_canvas", "object": "model", "created": 0, "owned_by": "ivkgen"}
    assert _error(missing, 404)["code"] == "model_not_found"


async def test_a_generation_answers_urls_of_the_service_and_leaves_the_server_clean(
    tmp_path: Path,
) -> None:
    server = fake("a")
    async with openai_service([server], tmp_path) as http:
        body = {"model": "prompt_canvas", "prompt": "a fox", "size": "32x16", "quality": "hd"}
        answer = await http.post("/v1/images/generations", json=body)
        assert answer.status_code == 200, answer.text
        [item] = answer.json()["data"]
        assert item["url"].startswith("http://service/v1/runs/")
        image = await http.get(item["url"])
        assert image.status_code == 200
        assert image.content.startswith(b"\x89PNG")
        run_id = item["url"].split("/")[5]
        run = (await http.get(f"/v1/runs/{run_id}")).json()
    assert run["inputs"] == {"prompt": "a fox", "width": 32, "height": 16}
    assert _enqueued(server) == 1
    assert server.items == {}


async def test_n_items_are_one_batch_spread_over_the_servers_and_come_as_base64(
    tmp_path: Path,
) -> None:
    servers = [fake("a"), fake("b")]
    async with openai_service(servers, tmp_path) as http:
        body = {"model": "prompt_canvas", "prompt": "x", "n": 4, "response_format": "b64_json"}
        answer = await http.post("/v1/images/generations", json=body)
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert len(data) == 4
    assert all(base64.b64decode(d["b64_json"]).startswith(b"\x89PNG") for d in data)
    assert [s.chunks for s in servers] == [[2], [2]]  # one enqueue of two items on each
    assert all(s.items == {} for s in servers)


async def test_n_items_are_one_run_whose_outputs_name_the_servers_that_made_them(
    tmp_path: Path,
) -> None:
    servers = [fake("a"), fake("b")]
    async with openai_service(servers, tmp_path) as http:
        body = {"model": "prompt_canvas", "prompt": "x", "n": 3}
        answer = await http.post("/v1/images/generations", json=body)
        assert answer.status_code == 200, answer.text
        [run_id] = {item["url"].split("/")[5] for item in answer.json()["data"]}
        run = (await http.get(f"/v1/runs/{run_id}")).json()
    made_by = [f["server"] for files in run["outputs"].values() for f in files]
    assert sorted(made_by) == ["http://a", "http://a", "http://b"]
    assert len(answer.json()["data"]) == 3


@pytest.mark.parametrize(
    ("body", "status", "param", "says"),
    [
        ({"model": "prompt_canvas", "prompt": "x", "size": "999x9"}, 400, "size", SIZES),
        ({"model": "prompt_canvas", "prompt": "x", "size": "big"}, 400, "size", "WIDTHxHEIGHT"),
        ({"model": "prompt_canvas", "prompt": "x", "n": 0}, 400, "n", "greater than"),
        ({"model": "prompt_canvas", "prompt": "x", "n": 11}, 400, "n", "less than"),
        ({"model": "prompt_canvas", "prompt": "x", "response_format": "gif"}, 400, None, ""),
        ({"model": "prompt_canvas"}, 400, "prompt", "required"),
        ({"model": "dall-e-3", "prompt": "x"}, 404, "model", "mask_paste, prompt_canvas"),
        ({"model": "mask_paste", "prompt": "x"}, 400, "model", "edits only"),
        ({"prompt": "x"}, 400, "model", "GET /v1/models"),
        ([1, 2], 400, None, "JSON object"),
    ],
)
async def test_a_bad_generation_is_openais_error_object(
    tmp_path: Path, body: Any, status: int, param: str | None, says: str
) -> None:
    server = fake("a")
    async with openai_service([server], tmp_path) as http:
        answer = await http.post("/v1/images/generations", json=body)
    error = _error(answer, status)
    if param is not None:
        assert error["param"] == param
    assert says in error["message"]
    assert error["type"] == "invalid_request_error"
    assert server.items == {}


async def test_a_body_that_is_not_json_is_a_400(tmp_path: Path) -> None:
    async with openai_service([fake("a")], tmp_path) as http:
        answer = await http.post("/v1/images/generations", content=b"{nope")
    assert "not JSON" in _error(answer, 400)["message"]


async def test_pending_runs_past_the_limit_are_a_429(tmp_path: Path) -> None:
    async with openai_service([fake("a", duration=3600)], tmp_path, max_pending=1) as http:
        waiting = await http.post("/v1/workflows/prompt_canvas/runs", json={"prompt": "y"})
        assert waiting.status_code == 202, waiting.text
        body = {"model": "prompt_canvas", "prompt": "x", "n": 3}
        answer = await http.post("/v1/images/generations", json=body)
        models = await http.get("/v1/models")
        await http.delete(waiting.json()["links"]["cancel"])
    assert _error(answer, 429)["type"] == "rate_limit_exceeded"
    assert answer.headers["retry-after"] == "5"
    assert models.status_code == 200


def _png(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format="PNG")
    return buffer.getvalue()


IMAGE, MASK = _png("blue"), _png("white")


async def test_an_edit_uploads_the_image_and_the_mask(tmp_path: Path) -> None:
    server = fake("a")
    files = {"image": ("in.png", IMAGE, "image/png"), "mask": ("m.png", MASK, "image/png")}
    async with openai_service([server], tmp_path) as http:
        form = {"model": "mask_paste", "prompt": "ignored", "response_format": "b64_json"}
        answer = await http.post("/v1/images/edits", data=form, files=files)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["data"]) == 1
    [first, second] = server.uploads.values()  # multipart bodies
    assert (IMAGE in first and MASK in second) or (MASK in first and IMAGE in second)
    assert not set(server.uploads) & server.images  # the uploads are deleted


@pytest.mark.parametrize(
    ("model", "files", "param", "says"),
    [
        ("mask_paste", {}, "image", "an image file is required"),
        ("mask_paste", {"image": ("in.png", IMAGE, "image/png")}, "mask", "Field required"),
        ("mask_paste", {"image": ("in.png", b"I", "image/png")}, "image", "'in.png' is not a PNG"),
        (
            "mask_paste",
            {"image": ("in.png", b"", "image/png")},
            "image",
            "image: the uploaded file is empty",
        ),
        ("mask_paste", {"image": ("i.png", IMAGE), "mask": ("m.txt", b"M")}, "mask", "not a PNG"),
        ("prompt_canvas", {"image": ("in.png", IMAGE, "image/png")}, "model", "generations only"),
    ],
)
async def test_a_bad_edit_is_a_400_naming_the_field(
    tmp_path: Path, model: str, files: dict[str, Any], param: str, says: str
) -> None:
    async with openai_service([fake("a")], tmp_path) as http:
        answer = await http.post(
            "/v1/images/edits", data={"model": model, "prompt": "x"}, files=files or None
        )
    error = _error(answer, 400)
    assert error["param"] == param
    assert says in error["message"]


async def test_a_seed_goes_to_the_bound_input_one_more_for_each_further_image(
    tmp_path: Path,
) -> None:
    path = tmp_path / "binding.toml"
    path.write_text('[prompt_canvas]\nseed = "height"\n')  # any whole-number input will do
    async with openai_service([fake("a")], tmp_path, path) as http:
        body = {"model": "prompt_canvas", "prompt": "x", "n": 3, "seed": 20}
        answer = await http.post("/v1/images/generations", json=body)
        assert answer.status_code == 200, answer.text
        [run_id] = {item["url"].split("/")[5] for item in answer.json()["data"]}
        run = (await http.get(f"/v1/runs/{run_id}")).json()
        refused = await http.post("/v1/images/generations", json={**body, "seed": 2})
    assert [{**run["inputs"], **change}["height"] for change in run["batch"]] == [20, 21, 22]
    error = _error(refused, 400)
    assert error["param"] == "seed"
    assert "greater than or equal to 16" in error["message"]


async def test_an_upload_past_the_size_cap_is_a_413(tmp_path: Path) -> None:
    server = fake("a")
    big = IMAGE + bytes(300 * 1024)
    async with openai_service([server], tmp_path) as http:
        answer = await http.post(
            "/v1/images/edits",
            data={"model": "mask_paste", "prompt": "x"},
            files={"image": ("in.png", big, "image/png"), "mask": ("m.png", MASK, "image/png")},
        )
    error = _error(answer, 413)
    assert (error["param"], error["message"]) == (
        "image",
        "image: the media is larger than 262144 bytes",
    )
    assert server.uploads == {}


async def test_a_wrong_key_is_a_401_and_the_right_key_is_served(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("sk-right\n")
    owner = ApiKeys.from_file(keys).owner
    async with openai_service([fake("a")], tmp_path, owner=owner) as http:
        wrong = await http.get("/v1/models", headers={"Authorization": "Bearer sk-wrong"})
        missing = await http.post("/v1/images/generations", json={"prompt": "x"})
        right = await http.get("/v1/models", headers={"Authorization": "Bearer sk-right"})
    error = _error(wrong, 401)
    assert (error["code"], error["message"]) == ("invalid_api_key", "unknown API key")
    assert wrong.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert _error(missing, 401)["message"].startswith("no API key")
    assert right.status_code == 200


async def test_an_image_url_is_a_signed_link_that_needs_no_key_until_the_run_is_deleted(
    tmp_path: Path,
) -> None:
    keys = tmp_path / "keys"
    keys.write_text("sk-right\n")
    owner, secret = ApiKeys.from_file(keys).owner, b"s" * 32
    key = {"Authorization": "Bearer sk-right"}
    async with openai_service([fake("a")], tmp_path, owner=owner, webhook_secret=secret) as http:
        body = {"model": "prompt_canvas", "prompt": "a fox"}
        answer = await http.post("/v1/images/generations", json=body, headers=key)
        [item] = answer.json()["data"]
        url = httpx.URL(item["url"])
        linked = await http.get(url)
        bare = await http.get(url.copy_with(query=None))
        owned = await http.get(url.copy_with(query=None), headers=key)
        forged = await http.get(url.copy_set_param("signature", "A" * 43))
        later = await http.get(url.copy_set_param("expires", int(url.params["expires"]) + 1))
        run_id, name = url.path.split("/")[3], url.path.split("/")[5]
        past = await http.get(signed_path(secret, run_id, name, int(time.time()) - 1))
        other = await http.get(signed_path(b"t" * 32, run_id, name, int(time.time()) + 60))
        run = (await http.get(f"/v1/runs/{run_id}", headers=key)).json()
    finished = datetime.fromisoformat(run["finished_at"]).timestamp()
    assert abs(int(url.params["expires"]) - (finished + 24 * 3600)) < 1  # the run's --keep hours
    assert linked.status_code == 200 and linked.content.startswith(b"\x89PNG")
    assert bare.status_code == 401
    assert owned.content == linked.content
    for refused in (forged, later, past, other):
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"] == "the link to this file is not valid or has expired"
