"""Hostile requests to the service on a simulated server: each is a clear 4xx, nothing reaches
InvokeAI, no traceback is logged or answered."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit._serve import fake, service_on

RUN = "/v1/workflows/prompt_arithmetic/runs"
PIPELINE = "/v1/workflows/image_pipeline/runs"
JSON = {"Content-Type": "application/json"}
CAP = 64 * 1024


def _deep(levels: int) -> bytes:
    return b'{"scale": ' + b"[" * levels + b"]" * levels + b"}"


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 4096):
        yield data[start : start + 4096]


CASES: list[tuple[str, str, str, dict[str, Any], int]] = [
    ("unknown workflow", "POST", "/v1/workflows/nope/runs", {"json": {}}, 404),
    ("workflow name with ..", "POST", "/v1/workflows/../runs", {"json": {}}, 404),
    ("not JSON", "POST", RUN, {"content": b"{scale: 2", "headers": JSON}, 422),
    ("invalid UTF-8", "POST", RUN, {"content": b'{"subject": "\xff\xfe"}', "headers": JSON}, 400),
    ("a JSON array", "POST", RUN, {"json": [1, 2]}, 422),
    ("a JSON string", "POST", RUN, {"json": "scale=2"}, 422),
    ("no body", "POST", RUN, {}, 422),
    ("misspelled input", "POST", RUN, {"json": {"scael": 2}}, 422),
    ("wrong type", "POST", RUN, {"json": {"scale": "two"}}, 422),
    ("object for a number", "POST", RUN, {"json": {"scale": {"a": 1}}}, 422),
    (
        "huge integer",
        "POST",
        RUN,
        {"content": b'{"scale": 1' + b"0" * 5000 + b"}", "headers": JSON},
        400,
    ),
    ("float for an integer", "POST", RUN, {"json": {"scale": 2.5}}, 422),
    ("deeply nested", "POST", RUN, {"content": _deep(100000), "headers": JSON}, 413),
    ("below a bound", "POST", PIPELINE, {"json": {"output_width": -8}}, 422),
    ("colour out of range", "POST", PIPELINE, {"json": {"canvas_color": {"r": 999}}}, 422),
    ("unknown colour key", "POST", PIPELINE, {"json": {"canvas_color": {"x": 1}}}, 422),
    ("missing required model", "POST", "/v1/workflows/sd15_text_to_image/runs", {"json": {}}, 422),
    ("oversized body", "POST", RUN, {"content": b"x" * (CAP + 1), "headers": JSON}, 413),
    (
        "oversized streamed body",
        "POST",
        RUN,
        {"content": _chunks(b" " * (CAP * 2)), "headers": JSON},
        413,
    ),
    ("unknown run", "GET", "/v1/runs/0123456789abcdef", {}, 404),
    ("run id with ..", "GET", "/v1/runs/..%2F..%2Fetc%2Fpasswd", {}, 404),
    ("cancel unknown run", "DELETE", "/v1/runs/nope", {}, 404),
    ("events of unknown run", "GET", "/v1/runs/nope/events", {}, 404),
    ("file of unknown run", "GET", "/v1/runs/nope/files/x.png", {}, 404),
    ("file with ..", "GET", "/v1/runs/nope/files/..%2F..%2Fstore.sqlite3", {}, 404),
    ("wrong method on runs", "PUT", "/v1/runs/nope", {}, 405),
    ("wrong method on workflows", "POST", "/v1/workflows", {"json": {}}, 405),
    ("unknown route", "GET", "/v2/anything", {}, 404),
]


@pytest.mark.parametrize(
    ("method", "path", "options", "status"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
async def test_a_hostile_request_is_a_clear_4xx(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    options: dict[str, Any],
    status: int,
) -> None:
    server = fake("a")
    caplog.set_level(logging.DEBUG)
    async with service_on([server], cache=tmp_path, max_body_bytes=CAP) as http:
        answer = await http.request(method, path, **options)
    assert answer.status_code == status, answer.text
    assert "Traceback" not in answer.text and "Traceback" not in caplog.text
    assert not server.items and not server.uploads


async def test_files_of_a_run_are_only_its_outputs(tmp_path: Path) -> None:
    async with service_on([fake("a")], cache=tmp_path) as http:
        run = (await http.post(RUN, json={}, headers={"Prefer": "wait=10"})).json()
        for name in ("..%2F..", "inputs", "..%2Fruns.sqlite3", "%2Fetc%2Fpasswd", "x.png"):
            answer = await http.get(f"/v1/runs/{run['id']}/files/{name}")
            assert answer.status_code == 404, name


async def test_a_flood_past_max_pending_is_refused_and_nothing_more_is_enqueued(
    tmp_path: Path,
) -> None:
    server = fake("a", duration=3600)
    async with service_on([server], cache=tmp_path, max_pending=3) as http:
        answers = [await http.post(RUN, json={"scale": s}) for s in range(20)]
        statuses = [a.status_code for a in answers]
        assert statuses == [202] * 3 + [429] * 17
        assert all(json.loads(a.text)["detail"] for a in answers[3:])
        for run in answers[:3]:
            await http.delete(run.json()["links"]["cancel"])
    assert len(server.chunks) <= 3 and not server.items


def test_the_table_holds_at_least_the_bad_requests_the_issue_lists() -> None:
    assert len(CASES) >= 25
    assert len({case[0] for case in CASES}) == len(CASES)
