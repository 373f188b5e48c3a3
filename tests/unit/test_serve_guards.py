"""The service's guards on simulated servers: API keys (another key's run is a 404), media
inputs (data URI, base64, multipart upload; loopback URLs and bad base64 refused), webhooks
(outbound rules), every refusal an application/problem+json."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from ivkgen.service.auth import ApiKeys
from PIL import Image

from tests.live._runs import blur_inputs_workflow
from tests.unit._serve import fake, finished, service_on

RUN = "/v1/workflows/prompt_arithmetic/runs"
BLURS = "/v1/workflows/blurs/runs"
ALICE = {"Authorization": "Bearer alice-key-1"}
BOB = {"Authorization": "Bearer bob-key-2"}
PROBLEM = "application/problem+json"


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (12, 8), (10, 200, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def keys(tmp_path: Path) -> ApiKeys:
    path = tmp_path / "keys.txt"
    path.write_text("# the team\nalice-key-1\nbob-key-2\n")
    return ApiKeys.from_file(path)


@pytest.fixture
def blurs(tmp_path: Path) -> Path:
    path = tmp_path / "blurs.json"
    path.write_text(json.dumps(blur_inputs_workflow(1)))
    return path


async def test_each_key_sees_only_its_own_runs_and_no_key_is_401(
    tmp_path: Path, keys: ApiKeys
) -> None:
    async with service_on([fake("a")], cache=tmp_path, owner=keys.owner) as http:
        missing = await http.post(RUN, json={"scael": 1})
        assert missing.status_code == 401  # before the body is even read
        assert missing.headers["content-type"] == PROBLEM
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert (
            await http.get("/v1/workflows", headers={"Authorization": "Bearer x"})
        ).status_code == 401
        run = (await http.post(RUN, json={}, headers={**ALICE, "Prefer": "wait=10"})).json()
        assert run["status"] == "completed"
        urls = [run["links"]["self"], run["links"]["events"], run["outputs"]["square"][0]["url"]]
        for url in urls:
            assert (await http.get(url, headers=ALICE)).status_code == 200
            hidden = await http.get(url, headers=BOB)
            assert hidden.status_code == 404 and hidden.headers["content-type"] == PROBLEM
        # the same Idempotency-Key of two owners names two runs
        key = {"Idempotency-Key": "k1"}
        mine = (await http.post(RUN, json={}, headers={**ALICE, **key})).json()["id"]
        theirs = (await http.post(RUN, json={}, headers={**BOB, **key})).json()["id"]
        assert mine != theirs
        for run_id in (mine, theirs):
            await finished(http, run_id, **(ALICE if run_id == mine else BOB))


async def test_an_image_input_takes_a_data_uri_base64_or_an_upload_deleted_after_the_run(
    tmp_path: Path, blurs: Path
) -> None:
    server = fake("a")
    png = _png()
    data_uri = "data:image/png;base64," + base64.b64encode(png).decode()
    async with service_on([server], cache=tmp_path, paths=[blurs]) as http:
        schema = (await http.get("/openapi.json")).json()
        body = schema["paths"][BLURS]["post"]["requestBody"]["content"]
        assert set(body) == {"application/json", "multipart/form-data"}
        runs = [
            await http.post(BLURS, json={"blur_0_image": data_uri}, headers={"Prefer": "wait=10"}),
            await http.post(
                BLURS,
                json={"blur_0_image": base64.b64encode(png).decode()},
                headers={"Prefer": "wait=10"},
            ),
            await http.post(
                BLURS,
                files={"blur_0_image": ("in.png", png, "image/png")},
                headers={"Prefer": "wait=10"},
            ),
        ]
        assert [r.json()["status"] for r in runs] == ["completed"] * 3, runs[-1].text
    assert len(server.uploads) == 3
    assert all(png in sent for sent in server.uploads.values())
    assert not set(server.uploads) & server.images  # every upload deleted after its run


@pytest.mark.parametrize(
    "value",
    [
        "data:image/png;base64,@@@not-base64@@@",
        "%%%",
        "https://127.0.0.1/a.png",
        "https://[::1]/a.png",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/a.png",
        "file:///etc/passwd",
        "",
    ],
)
async def test_a_bad_media_value_is_a_422_naming_the_input_and_nothing_is_uploaded(
    tmp_path: Path, blurs: Path, value: str
) -> None:
    server = fake("a")
    async with service_on([server], cache=tmp_path, paths=[blurs]) as http:
        answer = await http.post(BLURS, json={"blur_0_image": value})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["errors"][0]["input"] == "blur_0_image"
    assert not server.uploads and not server.items


@pytest.mark.parametrize(
    "url",
    ["https://127.0.0.1/hook", "http://example.com/hook", "https://10.0.0.1/hook", "nonsense"],
)
async def test_a_webhook_the_outbound_rules_refuse_is_a_422(tmp_path: Path, url: str) -> None:
    server = fake("a")
    async with service_on([server], cache=tmp_path, webhook_secret=b"s" * 32) as http:
        answer = await http.post(RUN, json={}, params={"webhook": url})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert not server.items
