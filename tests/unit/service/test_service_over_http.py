"""The hostile table over a real HTTP connection: uvicorn on 127.0.0.1 (a socket this test binds),
each request answered with its 4xx problem, and nothing but access lines in uvicorn's log (no
traceback, no error)."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import httpx
import pytest
import uvicorn
from ivkgen.service.auth import ApiKeys

from tests.unit.service.test_service_hostile import ALICE, BOB, TABLE, make_app


async def test_the_hostile_table_over_http_leaves_no_traceback_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # as before any uvicorn.Config
        monkeypatch.setattr(logging.getLogger(name), "propagate", True)  # set its log config
        caplog.set_level(logging.DEBUG, logger=name)
    keys = tmp_path / "api-keys"
    keys.write_text(f"{ALICE}\n{BOB}\n")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(make_app(ApiKeys.from_file(keys)), log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    caplog.set_level(logging.DEBUG)
    try:
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as http:
            for case in TABLE:
                if (
                    case.authorization is not None
                    and case.authorization != case.authorization.strip()
                ):
                    continue  # HTTP/1.1 cannot carry a header value ending in a space
                headers = {"authorization": f"Bearer {case.key}"} if case.key else {}
                if case.authorization is not None:
                    headers["authorization"] = case.authorization
                if case.content is not None:
                    headers["content-type"] = "application/json"
                answer = await http.request(
                    case.method, case.path, json=case.body, content=case.content, headers=headers
                )
                assert answer.status_code == case.status, (case.why, answer.text[:200])
                assert answer.headers["content-type"] == "application/problem+json", case.why
    finally:
        server.should_exit = True
        await serving
        listener.close()
    uvicorn_records = [r for r in caplog.records if r.name.startswith("uvicorn")]
    assert uvicorn_records  # the log was captured
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]
    assert "Traceback" not in caplog.text
