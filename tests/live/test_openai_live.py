"""The OpenAI Images API of ``ivkgen serve`` through the official ``openai`` client (sync and
async), against real InvokeAI servers: generations as URLs and as base64, an edit with an
uploaded image and mask, ``n`` over two servers, errors (a bad size, an unknown model, a wrong
key) as the client's exception classes, and nothing left on InvokeAI."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from ivkgen.service.auth import ApiKeys
from PIL import Image

from tests.harness.server import InvokeAIServer
from tests.live._openai import openai_service
from tests.live._serve import server_holdings
from tests.live.test_pool_live import spare  # noqa: F401  (a second server, for n over two)

KEY = "sk-unused"


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _run_of(url: str) -> str:
    """The service's run behind an image URL (``.../v1/runs/{id}/files/{name}``)."""
    return url.split("/runs/")[1].split("/")[0]


def test_a_generation_answers_a_url_of_the_image_the_tiny_model_made(
    server_url: str, tiny_models: dict[str, Any], tmp_path: Path
) -> None:
    before = server_holdings(server_url)
    with openai_service([server_url], tmp_path, tiny_models["tiny-sd15"]) as base_url:
        client = openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0)
        models = [model.id for model in client.models.list()]
        answer = client.images.generate(
            model="sd15_text_to_image", prompt="a fox in the snow", size="64x64", n=1
        )
        assert answer.data is not None
        [item] = answer.data
        assert item.url is not None and item.url.startswith(base_url + "/runs/")
        image = httpx.get(item.url)
    assert models == ["sd15_text_to_image", "mask_paste", "prompt_canvas"]
    assert image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (64, 64)
    assert server_holdings(server_url) == before


async def test_a_generation_answers_base64_of_a_png_of_the_size_asked(
    server_url: str, tmp_path: Path
) -> None:
    before = server_holdings(server_url)
    with openai_service([server_url], tmp_path) as base_url:
        client = openai.AsyncOpenAI(base_url=base_url, api_key=KEY, max_retries=0)
        answer = await client.images.generate(
            model="prompt_canvas", prompt="a red square", size="40x24", response_format="b64_json"
        )
        await client.close()
    assert answer.data is not None
    [item] = answer.data
    assert item.b64_json is not None and item.url is None
    image = Image.open(io.BytesIO(base64.b64decode(item.b64_json)))
    assert (image.format, image.size) == ("PNG", (40, 24))
    assert server_holdings(server_url) == before


def test_an_edit_paints_where_the_uploaded_mask_says(server_url: str, tmp_path: Path) -> None:
    before = server_holdings(server_url)
    picture = _png(Image.new("RGB", (64, 64), (0, 0, 255)))
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (0, 0, 32, 64))  # the left half
    with openai_service([server_url], tmp_path) as base_url:
        client = openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0)
        answer = client.images.edit(
            model="mask_paste",
            image=("picture.png", picture, "image/png"),
            mask=("mask.png", _png(mask), "image/png"),
            prompt="ignored: the workflow has no prompt",
            response_format="b64_json",
        )
    assert answer.data is not None
    [item] = answer.data
    assert item.b64_json is not None
    made = Image.open(io.BytesIO(base64.b64decode(item.b64_json))).convert("RGB")
    assert made.size == (64, 64)
    left, right = made.getpixel((8, 32)), made.getpixel((56, 32))
    assert {left, right} == {(200, 40, 40), (0, 0, 255)}  # the fill on one side only
    assert server_holdings(server_url) == before


async def test_n_images_are_one_run_whose_items_are_made_on_both_servers(
    server_url: str, spare: InvokeAIServer, tmp_path: Path  # noqa: F811
) -> None:
    urls = [server_url, spare.url]
    before = [server_holdings(url) for url in urls]
    with openai_service(urls, tmp_path) as base_url:
        client = openai.AsyncOpenAI(base_url=base_url, api_key=KEY, max_retries=0)
        answer = await client.images.generate(
            model="prompt_canvas", prompt="three squares", size="32x32", n=3
        )
        await client.close()
        assert answer.data is not None and len(answer.data) == 3
        async with httpx.AsyncClient(base_url=base_url) as http:
            for item in answer.data:
                assert item.url is not None
                image = Image.open(io.BytesIO((await http.get(item.url)).content))
                assert image.size == (32, 32)
            [run_id] = {_run_of(item.url or "") for item in answer.data}
            run = (await http.get(f"{base_url}/runs/{run_id}")).json()
    made_by = [f["server"] for files in run["outputs"].values() for f in files]
    assert len(made_by) == 3 and set(made_by) == set(urls)  # one batch, spread over both
    assert [server_holdings(url) for url in urls] == before


def test_errors_raise_the_clients_exception_classes(server_url: str, tmp_path: Path) -> None:
    before = server_holdings(server_url)
    with openai_service([server_url], tmp_path) as base_url:
        client = openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0)
        with pytest.raises(openai.BadRequestError) as bad_size:
            client.images.generate(model="sd15_text_to_image", prompt="x", size="100x100")
        with pytest.raises(openai.NotFoundError) as unknown:
            client.images.generate(model="dall-e-3", prompt="x")
    assert bad_size.value.status_code == 400
    assert "the width > 0 and a multiple of 8; the height > 0 and a multiple of 8" in (
        bad_size.value.message
    )
    assert unknown.value.code == "model_not_found"
    assert server_holdings(server_url) == before


async def test_a_wrong_key_raises_authentication_error_and_the_right_key_is_served(
    server_url: str, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    keys.write_text("sk-right\n")
    owner = ApiKeys.from_file(keys).owner
    secret = b"k" * 32
    with openai_service([server_url], tmp_path, owner=owner, webhook_secret=secret) as base_url:
        wrong = openai.AsyncOpenAI(base_url=base_url, api_key="sk-wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as refused:
            await wrong.images.generate(model="prompt_canvas", prompt="x", size="16x16")
        right = openai.AsyncOpenAI(base_url=base_url, api_key="sk-right", max_retries=0)
        answer = await right.images.generate(model="prompt_canvas", prompt="x", size="16x16")
        for client in (wrong, right):
            await client.close()
        assert answer.data is not None and answer.data[0].url is not None
        image = httpx.get(answer.data[0].url)  # as a front-end shows it: without the key
    assert refused.value.code == "invalid_api_key"
    assert len(answer.data) == 1
    assert image.status_code == 200
    assert Image.open(io.BytesIO(image.content)).size == (16, 16)
