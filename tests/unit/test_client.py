"""Both clients over a mock transport: auth, token refresh, timeouts, retries, errors, secrecy."""

from __future__ import annotations

import asyncio
import inspect
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ivkgen.runtime import (
    AsyncInvokeAIClient,
    AuthError,
    InvokeAIClient,
    RequestTimeoutError,
    ServerUnreachableError,
)
from ivkgen.runtime._errors import ServerURLError
from ivkgen.runtime._server.features import schema_call

from tests.harness.fake_invokeai import FakeInvokeAI, VirtualClock

URL = "http://invoke.test:9090"
WORKFLOWS = Path(__file__).resolve().parents[2] / "data" / "workflows"
TOKEN = "tok-0123456789-secret"
PASSWORD = "pw-very-secret-42"
ADMIN = "admin@x.io"
Handler = Callable[[httpx.Request], httpx.Response]
AnyClient = InvokeAIClient | AsyncInvokeAIClient


async def run(result: Any) -> Any:
    """The value of a sync call, or of an awaited async one."""
    return await result if inspect.isawaitable(result) else result


@pytest.fixture(params=["sync", "async"])
def make_client(request: pytest.FixtureRequest) -> Iterator[Callable[..., AnyClient]]:
    """Builds the sync or the async client over a mock transport."""

    def make(handler: Handler, **options: Any) -> AnyClient:
        transport = httpx.MockTransport(handler)
        if request.param == "sync":
            return InvokeAIClient.from_url(URL, transport=transport, **options)
        return AsyncInvokeAIClient.from_url(URL, transport=transport, **options)

    yield make


def multiuser(**options: Any) -> FakeInvokeAI:
    """A 7.0 server with users (``admin@x.io``), whose ``handle`` a client is built on."""
    return FakeInvokeAI(
        "invoke",
        VirtualClock(),
        version="7.0.0",
        multiuser=True,
        users={ADMIN: PASSWORD},
        **options,
    )


async def test_logs_in_once_before_the_first_request_and_sends_bearer(
    make_client: Callable[..., AnyClient],
) -> None:
    server = multiuser()
    client = make_client(server.handle, email=ADMIN, password=PASSWORD)
    assert not client.is_authenticated
    assert await run(client.board_repo.list_boards()) == []
    assert await run(client.board_repo.list_boards()) == []
    assert server.requests == [
        "POST /api/v1/auth/login",
        "GET /api/v1/boards/",
        "GET /api/v1/boards/",
    ]
    [token] = server.tokens
    assert server.authorizations == [None, f"Bearer {token}", f"Bearer {token}"]


async def test_adopts_the_refreshed_token(make_client: Callable[..., AnyClient]) -> None:
    server = multiuser(tokens={TOKEN}, refresh_next=True)
    client = make_client(server.handle, token=TOKEN)
    await run(client.board_repo.list_boards())
    await run(client.board_repo.list_boards())
    [refreshed] = server.tokens - {TOKEN}
    assert server.authorizations == [f"Bearer {TOKEN}", f"Bearer {refreshed}"]
    assert client.socketio_options()["auth"] == {"token": refreshed}


async def test_401_is_an_auth_error_telling_how_to_log_in(
    make_client: Callable[..., AnyClient],
) -> None:
    client = make_client(multiuser().handle)
    with pytest.raises(AuthError, match=r"GET /api/v1/boards/ was refused \(401\).*log in"):
        await run(client.board_repo.list_boards())


async def test_wrong_password_is_an_auth_error_without_secrets(
    make_client: Callable[..., AnyClient],
) -> None:
    client = make_client(multiuser().handle, email=ADMIN, password="wrong-" + PASSWORD)
    with pytest.raises(AuthError, match="check the email and password") as caught:
        await run(client.board_repo.list_boards())
    assert PASSWORD not in str(caught.value) + repr(caught.value.detail)


async def test_secrets_never_in_repr_errors_or_logs(
    make_client: Callable[..., AnyClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = multiuser()
    client = make_client(server.handle, email=ADMIN, password=PASSWORD)
    await run(client.board_repo.list_boards())
    assert client.is_authenticated
    [token] = server.tokens
    server.forbid = "Admin only"
    with pytest.raises(AuthError) as caught:
        await run(client.queue_repo.pause_processor())
    seen = " ".join(
        [repr(client), str(client), str(caught.value), repr(caught.value.args), caplog.text]
    )
    assert "admin only" in seen.lower()
    for secret in (token, PASSWORD):
        assert secret not in seen
    assert "auth='token'" in repr(client)


def test_email_without_password_is_refused() -> None:
    with pytest.raises(ValueError, match="email= and password="):
        InvokeAIClient.from_url(URL, email="a@b.c")


@pytest.mark.parametrize("url", ["127.0.0.1:9090", "ftp://host", "http://"])
def test_bad_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        InvokeAIClient.from_url(url)


def test_a_url_without_its_scheme_says_which_to_use() -> None:
    with pytest.raises(ServerURLError) as caught:
        InvokeAIClient.from_url("127.0.0.1:9190")
    assert str(caught.value) == (
        "'127.0.0.1:9190' is not a server URL: it lacks its scheme; use http://127.0.0.1:9190"
    )


def test_a_path_whose_page_refuses_a_post_names_the_root_url() -> None:
    def static_files(request: httpx.Request) -> httpx.Response:  # a POST to InvokeAI's page
        return httpx.Response(405, json={"detail": "Method Not Allowed"})

    client = InvokeAIClient.from_url(f"{URL}/api", transport=httpx.MockTransport(static_files))
    with pytest.raises(ServerURLError) as caught:
        client.queue_repo.clear()
    assert str(caught.value).endswith(
        f"answered HTTP 405 (application/json), not InvokeAI's API; use the server's root URL, "
        f"{URL}"
    )


def test_a_path_that_answers_no_api_names_the_root_url() -> None:
    def web_page(request: httpx.Request) -> httpx.Response:  # InvokeAI's page for any path
        return httpx.Response(200, html="<!doctype html><title>Invoke</title>")

    client = InvokeAIClient.from_url(f"{URL}/api", transport=httpx.MockTransport(web_page))
    with pytest.raises(ServerURLError) as caught:
        client.get_version()
    assert str(caught.value) == (
        f"GET /api/v1/app/version at {URL}/api answered text/html, not InvokeAI's API; use the "
        f"server's root URL, {URL}"
    )


async def test_every_request_carries_the_timeout(make_client: Callable[..., AnyClient]) -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"version": "6.14.2"})

    client = make_client(handler, timeout=7.5)
    assert await run(client.get_version()) == "6.14.2"
    assert seen == [{"connect": 7.5, "read": 7.5, "write": 7.5, "pool": 7.5}]


def failing(exc: Exception, calls: list[str]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise exc

    return handler


async def test_get_is_retried_a_bounded_number_of_times(
    make_client: Callable[..., AnyClient],
) -> None:
    calls: list[str] = []
    client = make_client(failing(httpx.ConnectError("refused"), calls), retries=2)
    with pytest.raises(ServerUnreachableError, match=r"cannot connect to http://invoke\.test:9090"):
        await run(client.queue_repo.get_status())
    assert calls == ["GET", "GET", "GET"]


async def test_a_get_that_recovers_returns_the_answer(
    make_client: Callable[..., AnyClient],
) -> None:
    calls: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) == 1:
            raise httpx.RemoteProtocolError("server disconnected")
        return httpx.Response(200, json={"version": "6.14.2"})

    client = make_client(flaky)
    assert await run(client.get_version()) == "6.14.2"
    assert len(calls) == 2


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.board_repo.create_board("b"),
        lambda c: c.queue_repo.enqueue_batch({"batch": {"graph": {}}, "prepend": False}),
        lambda c: c.queue_repo.cancel_queue_item(3),
        lambda c: c.image_repo.delete_image("x.png"),
    ],
    ids=["POST", "enqueue", "PUT", "DELETE"],
)
async def test_non_idempotent_requests_are_never_retried(
    make_client: Callable[..., AnyClient], call: Callable[[AnyClient], Awaitable[Any] | Any]
) -> None:
    calls: list[str] = []
    client = make_client(failing(httpx.ReadError("connection reset"), calls), retries=5)
    with pytest.raises(ServerUnreachableError, match="lost"):
        await run(call(client))
    assert len(calls) == 1


async def test_timeouts_are_not_retried(make_client: Callable[..., AnyClient]) -> None:
    calls: list[str] = []
    client = make_client(failing(httpx.ReadTimeout("slow"), calls), retries=5)
    with pytest.raises(RequestTimeoutError) as caught:
        await run(client.queue_repo.get_status())
    assert isinstance(caught.value, TimeoutError)
    assert calls == ["GET"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_refused_connection_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    for client in (InvokeAIClient.from_url(url), AsyncInvokeAIClient.from_url(url)):
        with pytest.raises(ServerUnreachableError, match="is InvokeAI running"):
            await run(client.get_version())


async def test_silent_server_is_a_request_timeout() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        for client in (
            InvokeAIClient.from_url(url, timeout=0.3),
            AsyncInvokeAIClient.from_url(url, timeout=0.3),
        ):
            with pytest.raises(RequestTimeoutError, match="raise the client's timeout="):
                await run(client.get_version())


@pytest.mark.parametrize(
    ("url", "token", "expected"),
    [
        (
            "http://h:9090",
            None,
            {"url": "http://h:9090", "socketio_path": "/ws/socket.io", "auth": None},
        ),
        (
            "https://h/invoke/",
            TOKEN,
            {"url": "https://h", "socketio_path": "/invoke/ws/socket.io", "auth": {"token": TOKEN}},
        ),
    ],
)
def test_socketio_options(url: str, token: str | None, expected: dict[str, Any]) -> None:
    options = InvokeAIClient.from_url(url, token=token).socketio_options()
    assert options == {**expected, "transports": ["websocket"]}


def test_base_path_prefixes_every_request() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"version": "6.14.2"})

    client = InvokeAIClient.from_url(
        "http://h:9090/invoke/", transport=httpx.MockTransport(handler)
    )
    client.get_version()
    assert seen == ["http://h:9090/invoke/api/v1/app/version"]


def test_importing_runtime_does_not_load_socketio() -> None:
    import subprocess
    import sys

    code = "import ivkgen.runtime, sys; print('socketio' in sys.modules, 'aiohttp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_http_trace_logs_mask_tokens_and_cookies(caplog: pytest.LogCaptureFixture) -> None:
    InvokeAIClient.from_url(URL)  # installs the mask
    caplog.set_level(logging.DEBUG, logger="httpcore")
    headers = [
        (b"content-type", b"application/json"),
        (b"X-Refreshed-Token", TOKEN.encode()),
        (b"set-cookie", f"invokeai_media_token={TOKEN}; HttpOnly".encode()),
    ]
    message = (
        f"receive_response_headers.complete return_value={(b'HTTP/1.1', 200, b'OK', headers)!r}"
    )
    logging.getLogger("httpcore.http11").debug(message)
    assert TOKEN not in caplog.text
    assert "(b'X-Refreshed-Token', b'***')" in caplog.text
    assert "application/json" in caplog.text


async def test_an_async_submit_to_a_path_that_answers_no_api_is_one_error_before_any_socket(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str] = []

    def web_page(request: httpx.Request) -> httpx.Response:  # InvokeAI's page for any path
        seen.append(request.url.path)
        return httpx.Response(200, html="<!doctype html><title>Invoke</title>")

    transport = httpx.MockTransport(web_page)
    async with AsyncInvokeAIClient.from_url(f"{URL}/api", transport=transport) as client:
        handle = client.workflow_repo.create_workflow_handle(WORKFLOWS / "prompt-arithmetic.json")
        with caplog.at_level(logging.WARNING), pytest.raises(ServerURLError) as caught:
            await handle.submit()
    assert str(caught.value).endswith(f"not InvokeAI's API; use the server's root URL, {URL}")
    assert seen == ["/api/openapi.json"]
    assert not caplog.records


async def test_concurrent_calls_of_one_memo_send_it_once() -> None:
    server = FakeInvokeAI("a", VirtualClock())

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)  # every caller asks before the first answer comes
        return server.handle(request)

    client = AsyncInvokeAIClient("http://a", transport=httpx.MockTransport(slow))
    schemas = await asyncio.gather(*(client.execute(schema_call()) for _ in range(10)))
    assert server.requests.count("GET /openapi.json") == 1
    assert all(schema is schemas[0] for schema in schemas)
    await client.aclose()
