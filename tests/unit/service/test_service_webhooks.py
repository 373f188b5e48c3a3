"""Standard Webhooks: signatures checked by a verifier written from the specification, retries,
the give-up bound, stable ids, the secret file, and one delivery to a real receiver that this test
starts on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import stat
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from ivkgen.runtime._errors import ServeSetupError
from ivkgen.service.intake import UrlPolicy
from ivkgen.service.webhooks import WebhookSender, secret_from, sign
from tenacity import wait_none

SECRET = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
PUBLIC = "93.184.215.14"


def verify(secret: bytes, headers: Mapping[str, str], body: bytes, *, tolerance: int = 300) -> str:
    """The specification's verification: the timestamp within ``tolerance`` seconds, and one of
    the space-separated ``v1,`` signatures equal to HMAC-SHA256(secret, "id.timestamp.body")."""
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        raise ValueError("timestamp out of tolerance")
    content = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(secret, content, hashlib.sha256).digest()).decode()
    for signature in headers["webhook-signature"].split(" "):
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return msg_id
    raise ValueError("no valid signature")


def test_sign_matches_the_specification_example() -> None:
    headers = sign(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }


def test_a_changed_body_id_or_secret_fails_verification() -> None:
    now = int(time.time())
    headers = sign(SECRET, "msg_1", now, b'{"a":1}')
    assert verify(SECRET, headers, b'{"a":1}') == "msg_1"
    for secret, changed, body in (
        (SECRET, headers, b'{"a":2}'),
        (SECRET, {**headers, "webhook-id": "msg_2"}, b'{"a":1}'),
        (b"x" * 24, headers, b'{"a":1}'),
    ):
        with pytest.raises(ValueError, match="no valid signature"):
            verify(secret, changed, body)


async def resolver(host: str, port: int) -> list[str]:
    return {"hooks.example": [PUBLIC]}.get(host, ["127.0.0.1"])


POLICY = UrlPolicy(frozenset({"hooks.example", "localhost"}), 1024, resolver=resolver)
Answer = Callable[[httpx.Request], httpx.Response]


def receiver(*answers: int | type[Exception]) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    """A client whose requests get ``answers`` in turn (the last one repeats)."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        outcome = answers[min(len(seen), len(answers)) - 1]
        if isinstance(outcome, type):
            raise outcome("no connection", request=request)
        return httpx.Response(outcome)

    return httpx.AsyncClient(transport=httpx.MockTransport(answer)), seen


def sender(client: httpx.AsyncClient, attempts: int = 5) -> WebhookSender:
    return WebhookSender(SECRET, POLICY, client, attempts=attempts, backoff=wait_none())


EVENT = {"type": "run.completed", "data": {"run": "r1", "outputs": {"image": "a.png"}}}


async def test_retries_on_5xx_429_and_connection_errors_with_the_same_id() -> None:
    client, seen = receiver(503, 429, httpx.ConnectError, 500, 204)
    await sender(client).send("https://hooks.example/in", "run_r1.completed", EVENT)
    assert len(seen) == 5
    for request in seen:
        assert verify(SECRET, request.headers, request.content) == "run_r1.completed"
        assert json.loads(request.content) == EVENT
        assert request.headers["content-type"] == "application/json"
    assert len({r.content for r in seen}) == 1


async def test_the_request_goes_to_the_checked_address() -> None:
    client, seen = receiver(200)
    await sender(client).send("https://hooks.example:8443/in?k=1", "m1", EVENT)
    [request] = seen
    assert request.url == httpx.URL(f"https://{PUBLIC}:8443/in?k=1")
    assert request.headers["host"] == "hooks.example:8443"
    assert request.extensions["sni_hostname"] == "hooks.example"


async def test_gives_up_after_the_bound_and_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    client, seen = receiver(502)
    with caplog.at_level(logging.WARNING, logger="ivkgen.service.webhooks"):
        await sender(client, attempts=3).send("https://hooks.example/in", "m2", EVENT)
    assert len(seen) == 3
    assert "m2: gave up after 3 tries" in caplog.text and "HTTP 502" in caplog.text


@pytest.mark.parametrize("status", [400, 401, 404, 410, 301, 302, 307])
async def test_a_4xx_or_redirect_is_not_retried_nor_followed(
    status: int, caplog: pytest.LogCaptureFixture
) -> None:
    client, seen = receiver(status)
    with caplog.at_level(logging.WARNING, logger="ivkgen.service.webhooks"):
        await sender(client).send("https://hooks.example/in", "m3", EVENT)
    assert len(seen) == 1
    assert f"m3: not delivered: hooks.example answered HTTP {status}" in caplog.text


@pytest.mark.parametrize(
    "url",
    ["https://localhost/in", "http://hooks.example/in", "https://other.example/", "https://[::1]/"],
)
async def test_a_refused_url_gets_no_request(url: str, caplog: pytest.LogCaptureFixture) -> None:
    client, seen = receiver(200)
    with caplog.at_level(logging.WARNING, logger="ivkgen.service.webhooks"):
        await sender(client).send(url, "m4", EVENT)
    assert seen == []
    assert "m4: not delivered" in caplog.text


async def test_retry_after_lengthens_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def record(delay: float) -> None:
        slept.append(delay)

    monkeypatch.setattr(asyncio, "sleep", record)

    def answer(request: httpx.Request) -> httpx.Response:
        return (
            httpx.Response(429, headers={"retry-after": "7"}) if not slept else httpx.Response(200)
        )

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    await sender(client).send("https://hooks.example/in", "m5", EVENT)
    assert slept == [7.0]


async def test_a_sender_closes_only_the_client_it_made(monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[httpx.AsyncClient] = []
    close = httpx.AsyncClient.aclose

    async def recorded(self: httpx.AsyncClient) -> None:
        closed.append(self)
        await close(self)

    monkeypatch.setattr(httpx.AsyncClient, "aclose", recorded)
    client, _ = receiver(200)
    await sender(client).aclose()
    assert not client.is_closed and closed == []
    own = WebhookSender(SECRET, POLICY)
    await own.aclose()
    assert len(closed) == 1 and closed[0] is not client and closed[0].is_closed


# -- the secret -----------------------------------------------------------------------------


def test_secret_from_a_value_in_both_forms(tmp_path: Path) -> None:
    encoded = base64.b64encode(SECRET).decode()
    assert secret_from(f"whsec_{encoded}", tmp_path / "s") == SECRET
    assert secret_from(encoded, tmp_path / "s") == SECRET
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("value", ["not base64!", "whsec_c2hvcnQ=", "", "whsec_" + "A" * 100])
def test_an_unusable_secret_value_is_an_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(ServeSetupError, match="24 to 64 bytes"):
        secret_from(value, tmp_path / "s")


def test_secret_is_created_once_owner_only_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "data" / "webhook-secret"
    first = secret_from(None, path)
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("whsec_")
    assert secret_from(None, path) == first


def test_a_damaged_secret_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "webhook-secret"
    path.write_text("whsec_???")
    with pytest.raises(ServeSetupError, match=str(path)):
        secret_from(None, path)


# -- a real receiver on loopback ------------------------------------------------------------


@pytest.fixture
async def live_receiver() -> AsyncIterator[tuple[int, list[str], list[str]]]:
    """An HTTP receiver on 127.0.0.1 that verifies each delivery, fails the first try of each id
    with 503, and records the ids it accepted once (duplicates dropped)."""
    tries: list[str] = []
    accepted: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        msg_id = verify(SECRET, request.headers, body)
        tries.append(msg_id)
        if tries.count(msg_id) == 1:
            return web.Response(status=503)
        if msg_id not in accepted:
            accepted.append(msg_id)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield port, tries, accepted
    finally:
        await runner.cleanup()


async def test_delivers_to_a_real_receiver_on_loopback(
    live_receiver: tuple[int, list[str], list[str]],
) -> None:
    port, tries, accepted = live_receiver
    policy = UrlPolicy.for_loopback_receiver(port, 1024)
    hooks = WebhookSender(SECRET, policy, attempts=3, backoff=wait_none())
    try:
        for msg_id in ("run_1.queued", "run_1.completed"):
            await hooks.send(f"http://127.0.0.1:{port}/hook", msg_id, EVENT)
        await hooks.send(f"http://localhost:{port}/hook", "run_1.refused", EVENT)
    finally:
        await hooks.aclose()
    assert tries == ["run_1.queued", "run_1.queued", "run_1.completed", "run_1.completed"]
    assert accepted == ["run_1.queued", "run_1.completed"]


async def test_a_policy_allowing_127_0_0_1_as_a_host_still_refuses_it() -> None:
    policy = UrlPolicy(frozenset({"127.0.0.1"}), 1024)
    client, seen = receiver(200)
    hooks = WebhookSender(SECRET, policy, client, backoff=wait_none())
    for url in ("http://127.0.0.1:8000/hook", "https://127.0.0.1:8000/hook"):
        await hooks.send(url, "m6", EVENT)
    assert seen == []


async def test_a_receiver_answer_body_is_not_read() -> None:
    produced: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(1000):
            produced.append(1)
            yield b"\0" * 65536

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    await sender(client).send("https://hooks.example/in", "m7", EVENT)
    assert len(produced) <= 1
