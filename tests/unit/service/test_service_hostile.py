"""Hostile requests against the service's guards (auth, problems, intake): each one is a clear 4xx
problem, no traceback in the answer or the log, and no request leaves for a refused URL.

The app below wires the guards as ``ivkgen serve`` does: an owner from the API key, the workflow's
Inputs as the body, media inputs through ``read_media``, the webhook through
``check_outbound_url``, file names through ``safe_file_name``. Names resolve through a test
resolver and fetches are answered by httpx MockTransport: no traffic leaves this machine."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Header, Request
from ivkgen.service.auth import ApiKeys
from ivkgen.service.intake import UrlPolicy, check_outbound_url, read_media, safe_file_name
from ivkgen.service.limits import install_body_limit
from ivkgen.service.problems import PROBLEM_JSON, NotFound, install_problem_handlers
from pydantic import BaseModel, ConfigDict, Field

from tests.unit.service._asgi import asgi_client

ALICE, BOB = "alice-key-0123456789", "bob-key-9876543210"
PUBLIC = "93.184.215.14"
DNS = {
    "media.example": [PUBLIC],
    "big.example": [PUBLIC],
    "moved.example": [PUBLIC],
    "localhost": ["127.0.0.1", "::1"],
    "rebind.example": ["10.0.0.8"],
    "mapped.example": ["::ffff:169.254.169.254"],
}
MAX_BYTES = 2048
MAX_BODY = 32 * 1024


async def resolver(host: str, port: int) -> Sequence[str]:
    if host not in DNS:
        raise OSError(host)
    return DNS[host]


POLICY = UrlPolicy(frozenset(DNS), MAX_BYTES, resolver=resolver)
fetched: list[httpx.URL] = []


def answer_fetch(request: httpx.Request) -> httpx.Response:
    fetched.append(request.url)
    host = request.headers["host"]
    if host == "moved.example":
        return httpx.Response(302, headers={"location": "https://127.0.0.1/"})
    if host == "big.example":
        return httpx.Response(200, content=b"\0" * (MAX_BYTES + 1))
    return httpx.Response(200, content=b"\x89PNG")


class RunInputs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str = ""
    width: int = Field(512, ge=64, le=1024)
    image: str | None = None
    webhook: str | None = None


def owner(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    keys: ApiKeys = request.app.state.keys
    return keys.owner(authorization)


Owner = Annotated[str, Depends(owner)]


def make_app(keys: ApiKeys) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None)
    app.state.keys = keys
    install_problem_handlers(app)
    install_body_limit(app, MAX_BODY)
    client = httpx.AsyncClient(transport=httpx.MockTransport(answer_fetch))
    runs = {"run-alice": keys.owner(f"Bearer {ALICE}")}

    @app.post("/v1/workflows/{name}/runs", status_code=202)
    async def create_run(name: str, inputs: RunInputs, who: Owner) -> dict[str, Any]:
        if name != "text_to_image":
            raise NotFound(f"no workflow {name!r}")
        if inputs.image is not None:
            await read_media(inputs.image, POLICY, input_name="image", client=client)
        if inputs.webhook is not None:
            await check_outbound_url(inputs.webhook, POLICY)
        return {"id": "run-new", "status": "queued"}

    @app.get("/v1/runs/{run_id}/files/{file}")
    async def run_file(run_id: str, file: str, who: Owner) -> dict[str, str]:
        if runs.get(run_id) != who:
            raise NotFound(f"no run {run_id!r}")
        return {"file": safe_file_name(file)}

    return app


@dataclass(frozen=True)
class Hostile:
    why: str
    status: int
    body: dict[str, Any] | None = None
    path: str = "/v1/workflows/text_to_image/runs"
    method: str = "POST"
    key: str | None = ALICE
    authorization: str | None = None
    content: bytes | None = None
    names: str | None = None  # the input the problem must name
    words: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def b64(size: int) -> str:
    return base64.b64encode(b"\0" * size).decode()


def image(value: str, status: int, words: str) -> Hostile:
    return Hostile(f"image {value[:40]}", status, {"image": value}, names="image", words=words)


def webhook(url: str, words: str) -> Hostile:
    return Hostile(f"webhook {url}", 422, {"webhook": url}, names="webhook", words=words)


FILES = "/v1/runs/run-alice/files/"
TABLE = [
    # -- who is asking
    Hostile("no key", 401, {}, key=None, words="no API key"),
    Hostile("unknown key", 401, {}, key="not-a-key", words="unknown API key"),
    Hostile("basic auth", 401, {}, key=None, authorization="Basic YWxpY2U6cHc=", words="malformed"),
    Hostile("empty bearer", 401, {}, key=None, authorization="Bearer ", words="malformed"),
    Hostile("two tokens", 401, {}, key=None, authorization=f"Bearer {ALICE} {BOB}"),
    Hostile("key without scheme", 401, {}, key=None, authorization=ALICE, words="malformed"),
    Hostile("another key's run", 404, path=FILES + "out.png", method="GET", key=BOB),
    # -- what is asked
    Hostile("unknown workflow", 404, {}, path="/v1/workflows/nope/runs", words="nope"),
    Hostile("wrong method", 405, path="/v1/workflows/text_to_image/runs", method="PUT"),
    Hostile("unknown route", 404, path="/v1/../../etc/passwd", method="GET"),
    Hostile("oversized body", 413, {"prompt": "p" * MAX_BODY}, words="larger than"),
    Hostile("body not JSON", 422, content=b"{width: 5", names="body"),
    Hostile("body a list", 422, content=b"[1, 2]", names="body"),
    Hostile("misspelled input", 422, {"widht": 512}, names="widht"),
    Hostile("wrong type", 422, {"width": "wide"}, names="width"),
    Hostile("out of bounds", 422, {"width": 16384}, names="width", words="1024"),
    Hostile("null for a number", 422, {"width": None}, names="width"),
    # -- media values
    image("not//base64!!", 422, "not valid base64"),
    image("data:image/png;base64,%%%%", 422, "not valid base64"),
    image("data:image/png;base64", 422, "','"),
    image(b64(MAX_BYTES + 1), 413, "larger than"),
    image("data:image/png;base64," + b64(MAX_BYTES * 4), 413, "larger than"),
    image("data:," + "a" * (MAX_BYTES + 1), 413, "larger than"),
    image("   ", 422, "empty"),
    # -- media URLs
    image("https://127.0.0.1/a.png", 422, "not one the service may fetch from"),
    image("https://[::1]/a.png", 422, "not one the service may fetch from"),
    image("https://169.254.169.254/latest/meta-data/", 422, "not one"),
    image("https://localhost/a.png", 422, "loopback"),
    image("https://rebind.example/a.png", 422, "private"),
    image("https://mapped.example/a.png", 422, "metadata"),
    image("ftp://media.example/a.png", 422, "only https://"),
    image("http://media.example/a.png", 422, "only https://"),
    image("file:///etc/passwd", 422, "only https://"),
    image("gopher://media.example/", 422, "only https://"),
    image("https://media.example@127.0.0.1/", 422, "credentials"),
    image("https://user:pw@media.example/", 422, "credentials"),
    image("https://2130706433/", 422, "not one"),
    image("https://0177.0.0.1/", 422, ""),
    image("https://0x7f000001/", 422, "not one"),
    image("https://[::ffff:127.0.0.1]/", 422, "not one"),
    image("https://nowhere.example/", 422, "not one"),
    image("https://moved.example/a.png", 422, "redirects are not followed"),
    image("https://big.example/a.png", 413, "larger than"),
    image("https://" + "a" * 3000 + ".example/", 422, "longer than"),
    # -- webhooks
    webhook("http://127.0.0.1:8080/hook", "only https://"),
    webhook("https://localhost/hook", "loopback"),
    webhook("https://metadata.google.internal/", "not one"),
    webhook("https://[fd00:ec2::254]/", "not one"),
    # -- file names
    Hostile("dot-dot file", 422, path=FILES + "%2E%2E", method="GET", names="file"),
    Hostile("dot-dot inside", 422, path=FILES + "a..png", method="GET", names="file"),
    Hostile("hidden file", 422, path=FILES + ".env", method="GET", names="file"),
    Hostile("backslash", 422, path=FILES + "..%5C..%5Cx", method="GET", names="file"),
    Hostile("encoded slash", 404, path=FILES + "..%2F..%2Fetc%2Fpasswd", method="GET"),
    Hostile("control character", 422, path=FILES + "a%0Ab.png", method="GET", names="file"),
]


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    path = tmp_path / "api-keys"
    path.write_text(f"{ALICE}\n{BOB}\n")
    async with asgi_client(make_app(ApiKeys.from_file(path))) as client:
        yield client


def test_the_table_is_at_least_thirty_requests() -> None:
    assert len(TABLE) >= 30


async def test_a_good_request_passes_the_guards(client: httpx.AsyncClient) -> None:
    fetched.clear()
    good = {
        "width": 640,
        "image": "https://media.example/a.png",
        "webhook": "https://media.example/h",
    }
    answer = await client.post(
        "/v1/workflows/text_to_image/runs",
        json=good,
        headers={"authorization": f"Bearer {ALICE}"},
    )
    assert answer.status_code == 202
    assert fetched == [httpx.URL(f"https://{PUBLIC}/a.png")]
    owned = await client.get(FILES + "out.png", headers={"authorization": f"Bearer {ALICE}"})
    assert owned.json() == {"file": "out.png"}


@pytest.mark.parametrize("case", TABLE, ids=[case.why for case in TABLE])
async def test_hostile_request_is_a_clear_4xx_problem(
    client: httpx.AsyncClient, case: Hostile, caplog: pytest.LogCaptureFixture
) -> None:
    fetched.clear()
    headers = dict(case.headers)
    if case.key is not None:
        headers["authorization"] = f"Bearer {case.key}"
    if case.authorization is not None:
        headers["authorization"] = case.authorization
    if case.content is not None:
        headers["content-type"] = "application/json"
    with caplog.at_level(logging.DEBUG):
        answer = await client.request(
            case.method, case.path, json=case.body, content=case.content, headers=headers
        )
    assert answer.status_code == case.status, answer.text[:300]
    assert answer.headers["content-type"] == PROBLEM_JSON
    problem = answer.json()
    assert problem["status"] == case.status and problem["title"]
    assert "\n" not in problem["detail"] and len(problem["detail"]) < 300
    assert case.words in problem["detail"]
    if case.names is not None:
        assert case.names in [error["input"] for error in problem["errors"]]
    assert "Traceback" not in answer.text and 'File "' not in answer.text
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    if case.body and len(str(case.body)) > 200:
        assert str(next(iter(case.body.values())))[:100] not in answer.text  # not echoed
    assert case.status != 401 or answer.headers["www-authenticate"].startswith("Bearer")
    expected_fetches = {"https://moved.example/a.png": 1, "https://big.example/a.png": 1}
    assert len(fetched) == expected_fetches.get(str((case.body or {}).get("image")), 0)
    assert all(url.host == PUBLIC for url in fetched)
