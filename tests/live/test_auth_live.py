"""Multi-user mode against a real server started with ``multiuser: true``.

The first test creates the administrator (``POST /api/v1/auth/setup``); the others log in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
import socketio
from ivkgen.runtime import AsyncInvokeAIClient, AuthError, InvokeAIClient
from ivkgen.runtime._server.core import Call, parse_json

from tests.harness.server import InvokeAIServer
from tests.live._tokens import token_of

ADMIN = "admin@ivkgen.test"
ADMIN_PASSWORD = "Admin-pass-0042"
USER = "user@ivkgen.test"
USER_PASSWORD = "User-pass-0042"


@pytest.fixture(scope="module")
def url(multiuser_invokeai: InvokeAIServer) -> str:
    """The server's URL once its administrator and one ordinary user exist."""
    with InvokeAIClient.from_url(multiuser_invokeai.url) as anonymous:
        status = anonymous.get_auth_status()
        assert status.multiuser_enabled
        if status.setup_required:
            admin = anonymous.setup_admin(ADMIN, ADMIN_PASSWORD, display_name="Admin")
            assert admin.is_admin
    with InvokeAIClient.from_url(multiuser_invokeai.url, email=ADMIN, password=ADMIN_PASSWORD) as c:
        user = {"email": USER, "password": USER_PASSWORD, "display_name": "U", "is_admin": False}
        c.execute(Call("POST", "/api/v1/auth/users", parse_json, json=user, sensitive=True))
    return multiuser_invokeai.url


@pytest.fixture
def admin(url: str) -> Iterator[InvokeAIClient]:
    with InvokeAIClient.from_url(url, email=ADMIN, password=ADMIN_PASSWORD) as client:
        yield client


def test_requests_without_login_get_a_clear_401(url: str) -> None:
    with InvokeAIClient.from_url(url) as client:
        assert client.get_auth_status().setup_required is False
        with pytest.raises(AuthError, match=r"\(401\).*log in") as caught:
            client.board_repo.list_boards()
    assert caught.value.status_code == 401


def test_login_sends_bearer_and_adopts_the_refreshed_token(admin: InvokeAIClient) -> None:
    assert admin.get_me().email == ADMIN  # logs in first
    first = token_of(admin)
    assert first
    time.sleep(1.1)  # the refreshed token's expiry is in whole seconds
    board = admin.board_repo.create_board("ivkgen auth board")
    refreshed = token_of(admin)
    assert refreshed and refreshed != first
    assert admin.board_repo.get_board(board.board_id).board_name == "ivkgen auth board"
    admin.board_repo.delete_board(board.board_id)


def test_a_token_can_be_given_instead_of_credentials(url: str, admin: InvokeAIClient) -> None:
    admin.login()
    with InvokeAIClient.from_url(url, token=token_of(admin)) as client:
        assert client.get_me().email == ADMIN


def test_wrong_password_is_a_clear_auth_error(url: str) -> None:
    client = InvokeAIClient.from_url(url, email=ADMIN, password="not-" + ADMIN_PASSWORD)
    with client, pytest.raises(AuthError, match="check the email and password") as caught:
        client.get_me()
    assert ADMIN_PASSWORD not in str(caught.value)


def test_non_admin_gets_a_clear_403(url: str) -> None:
    with InvokeAIClient.from_url(url, email=USER, password=USER_PASSWORD) as user:
        assert user.get_me().is_admin is False
        with pytest.raises(AuthError, match=r"\(403\).*admin") as caught:
            user.queue_repo.pause_processor()
    assert caught.value.status_code == 403


async def test_async_client_logs_in_once_for_concurrent_requests(url: str) -> None:
    async with AsyncInvokeAIClient.from_url(url, email=USER, password=USER_PASSWORD) as client:
        import asyncio

        mes = await asyncio.gather(*(client.get_me() for _ in range(4)))
        assert {me.email for me in mes} == {USER}


async def test_the_token_opens_the_socket_and_nothing_else_does(admin: InvokeAIClient) -> None:
    anonymous = socketio.AsyncClient()
    options = InvokeAIClient.from_url(admin.base_url).socketio_options()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await anonymous.connect(**options, wait_timeout=10)

    admin.login()
    options = admin.socketio_options()
    assert options["auth"]["token"]  # the token the login gave
    sio = socketio.AsyncClient()
    await sio.connect(**options, wait_timeout=10)
    try:
        assert sio.connected
    finally:
        await sio.disconnect()


def test_tokens_and_passwords_never_appear_in_reprs_logs_or_errors(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    with InvokeAIClient.from_url(url, email=ADMIN, password=ADMIN_PASSWORD) as client:
        seen.append(repr(client))
        client.board_repo.list_boards()
        token = token_of(client)
        assert token
        seen += [repr(client), str(client)]
        with InvokeAIClient.from_url(url, email=USER, password=USER_PASSWORD) as user:
            user.get_me()
            with pytest.raises(AuthError) as forbidden:
                user.queue_repo.pause_processor()
            seen += [repr(user), str(forbidden.value), repr(forbidden.value.detail)]
            user_token = token_of(user)
    seen.append(caplog.text)
    text = "\n".join(seen)
    assert "auth='token'" in text and "403" in text and "/api/v1/auth/login" in caplog.text
    for secret in (token, user_token, ADMIN_PASSWORD, USER_PASSWORD):
        assert secret and secret not in text


async def test_a_revoked_token_is_replaced_and_the_socket_reconnects_with_the_new_one(
    admin: InvokeAIClient,
) -> None:
    """A password reset revokes the user's tokens and closes its sockets (as on 7.0): the
    client logs in again once and its socket comes back with the new token."""
    from ivkgen.runtime._events.socket import ConnectionChanged

    async with AsyncInvokeAIClient.from_url(
        admin.base_url, email=USER, password=USER_PASSWORD
    ) as client:
        me = await client.get_me()
        socket = await client.event_socket()
        await socket.subscribe("default")
        changes = socket.listen_events()
        revoked = token_of(client)
        reset = {"password": USER_PASSWORD}
        path = f"/api/v1/auth/users/{me.user_id}"
        admin.execute(Call("PATCH", path, parse_json, json=reset, sensitive=True))
        seen: list[bool] = []
        while seen[-2:] != [False, True]:
            message = await changes.get(timeout=60)
            assert message is not None, f"the socket did not come back (seen {seen})"
            if isinstance(message, ConnectionChanged):
                seen.append(message.connected)
        assert token_of(client) != revoked  # the server took the new token: connected
        assert (await client.get_me()).email == USER
