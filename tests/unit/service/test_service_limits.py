"""The request body cap: declared or streamed, past it is a 413 problem; within it the app reads
the whole body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from ivkgen.service.limits import install_body_limit
from ivkgen.service.problems import PROBLEM_JSON, install_problem_handlers

from tests.unit.service._asgi import asgi_client

CAP = 1000


def make_app() -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None)
    install_problem_handlers(app)
    install_body_limit(app, CAP)

    @app.post("/json")
    async def take_json(body: dict[str, Any]) -> dict[str, int]:
        return {"keys": len(body)}

    @app.post("/raw")
    async def take_raw(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(make_app()) as client:
        yield client


async def chunks(total: int, size: int = 300) -> AsyncIterator[bytes]:
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


def assert_too_large(answer: httpx.Response) -> None:
    assert answer.status_code == 413
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert answer.json()["detail"] == f"the request body is larger than {CAP} bytes"


async def test_a_body_within_the_cap_is_read_whole(client: httpx.AsyncClient) -> None:
    assert (await client.post("/raw", content=b"x" * CAP)).json() == {"bytes": CAP}
    assert (await client.post("/raw", content=chunks(CAP))).json() == {"bytes": CAP}
    assert (await client.post("/json", json={"a": 1})).json() == {"keys": 1}
    assert (await client.get("/healthz")).status_code == 200


@pytest.mark.parametrize("path", ["/json", "/raw"])
async def test_a_declared_length_past_the_cap_is_413(client: httpx.AsyncClient, path: str) -> None:
    assert_too_large(await client.post(path, content=b"{" + b" " * CAP + b"}"))


@pytest.mark.parametrize("path", ["/json", "/raw"])
async def test_a_streamed_body_past_the_cap_is_413(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.post(
        path, content=chunks(CAP * 5), headers={"content-type": "application/json"}
    )
    assert_too_large(answer)
