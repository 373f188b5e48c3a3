"""The service's media inputs and webhooks against the real server: an image given as a data
URI runs and is deleted afterwards; a webhook receiver on loopback verifies every signature and
sees each status event once."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from ivkgen.service.outbound import UrlPolicy

from tests.live._runs import blur_inputs_workflow, png
from tests.live._serve import server_holdings, serving

SECRET = b"a-webhook-secret-of-32-bytes-...."


class Receiver(ThreadingHTTPServer):
    """Webhook deliveries as received: (headers, body)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[dict[str, str], bytes]] = []


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.received.append((dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _verified(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The event, after checking its Standard Webhooks signature."""
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(SECRET, signed, hashlib.sha256).digest()).decode()
    assert f"v1,{expected}" in headers["webhook-signature"].split()
    event: dict[str, Any] = json.loads(body)
    return event


async def test_an_image_input_as_a_data_uri_runs_and_a_webhook_sees_each_event_once(
    server_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    before = server_holdings(server_url)
    workflow = tmp_path / "blurs.json"
    workflow.write_text(json.dumps(blur_inputs_workflow(1)))
    port = receiver.server_address[1]
    urls = UrlPolicy.for_loopback_receiver(port, 1 << 20)
    image = "data:image/png;base64," + base64.b64encode(png(26, 18)).decode()
    async with serving(
        [server_url], tmp_path / "s.sqlite3", paths=[workflow], urls=urls, webhook_secret=SECRET
    ) as http:
        answer = await http.post(
            "/v1/workflows/blurs/runs",
            json={"blur_0_image": image},
            params={"webhook": f"http://127.0.0.1:{port}/hook"},
            headers={"Prefer": "wait=60"},
        )
        run = answer.json()
        assert run["status"] == "completed", answer.text
        [blurred] = run["outputs"]["blur_0"]
        assert (await http.get(blurred["url"])).content.startswith(b"\x89PNG")
        while len(receiver.received) < 3:  # the last delivery may still be on its way
            await asyncio.sleep(0.05)
    events = [_verified(headers, body) for headers, body in receiver.received]
    ids = [headers["webhook-id"] for headers, _ in receiver.received]
    assert len(ids) == len(set(ids))
    assert [e["type"] for e in events] == ["run.queued", "run.running", "run.completed"]
    assert all(e["data"]["run_id"] == run["id"] for e in events)
    assert events[-1]["data"]["outputs"]["blur_0"][0]["url"] == blurred["url"]
    assert server_holdings(server_url) == before
