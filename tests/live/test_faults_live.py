"""Fault injection against real servers on loopback: one test per fault.

Each test asserts the error the user sees (its type, and that its message names the problem) and
that the run left nothing on the server (images, videos, queue items and boards, counted before
and after). The time to the error and what was left are written to ``bench-results/faults.md``
and printed; times are recorded, never asserted. The single-user faults share one dedicated
server (``victim``): the proxy faults first, then the restart, then the kill (each restarts it).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from ivkgen.runtime import (
    AsyncInvokeAIClient,
    AuthError,
    HTTPStatusError,
    InvokeAIClient,
    JobCanceledError,
    ServerUnreachableError,
)
from ivkgen.runtime._server.core import Call, parse_json
from ivkgen.runtime._workflow.handle import WorkflowHandle

from tests.conftest import REPO
from tests.harness.proxy import FaultProxy, Rule
from tests.harness.server import InvokeAIServer
from tests.live._runs import blur_inputs_workflow, image_count, png, slow_workflow
from tests.live._tokens import token_of

ARITHMETIC = REPO / "data" / "workflows" / "prompt-arithmetic.json"
RESULTS = REPO / "bench-results" / "faults.md"
WAIT = 180.0
ADMIN, ADMIN_PASSWORD = "admin@ivkgen.test", "Admin-pass-0042"
USER, USER_PASSWORD = "faults@ivkgen.test", "Faults-pass-0042"


@dataclass
class Row:
    fault: str
    error: str
    seconds: float
    left: str


_rows: list[Row] = []


@pytest.fixture(scope="module", autouse=True)
def table() -> Iterator[None]:
    yield
    lines = [
        "| fault | error the user sees | time to it | left after clean-up |",
        "|---|---|---|---|",
        *(f"| {r.fault} | {r.error} | {r.seconds:.2f} s | {r.left} |" for r in _rows),
    ]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n" + "\n".join(lines))


@pytest.fixture(scope="module")
def victim() -> Iterator[InvokeAIServer]:
    """A dedicated single-user server (model-free workflows only); tests kill and restart it."""
    server = InvokeAIServer().start()
    try:
        yield server
    finally:
        server.stop()
        server.remove_root()


@pytest.fixture
def proxy(victim: InvokeAIServer) -> Iterator[FaultProxy]:
    proxy = FaultProxy(victim.port).start()
    try:
        yield proxy
    finally:
        proxy.stop()


def counts(client: InvokeAIClient) -> dict[str, int]:
    """What is on the server: images (gallery and intermediates), videos, queue items, boards."""
    videos = client.execute(Call("GET", "/api/v1/videos/", parse_json, params={"limit": 1}))
    return {
        "images": image_count(client),
        "videos": int(videos["total"]),
        "queue items": len(client.queue_repo.list_item_ids()),
        "boards": len(client.board_repo.list_boards(include_archived=True)),
    }


def left(before: dict[str, int], after: dict[str, int]) -> str:
    return ", ".join(f"{after[k] - before[k]} {k}" for k in before)


def record(fault: str, error: BaseException | str, seconds: float, leftover: str) -> None:
    text = error if isinstance(error, str) else f"`{type(error).__name__}`: {error}"
    text = text.replace("|", "\\|").replace("\n", " ")
    _rows.append(Row(fault, text[:220], seconds, leftover))


def _images(handle: WorkflowHandle, count: int) -> None:
    for i in range(count):
        handle.set_input_image(i, png(color=(i * 40, 90, 200)))


def _wait_running(handle: WorkflowHandle) -> None:
    deadline = time.monotonic() + WAIT
    while handle.get_queue_item().status != "in_progress":
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.1)


def _kill(server: InvokeAIServer) -> None:
    assert server.process is not None
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=30)
    server.process = None


# Faults behind the proxy -----------------------------------------------------------------------


def test_an_enqueue_answered_409_deletes_the_uploads(
    victim: InvokeAIServer, proxy: FaultProxy
) -> None:
    proxy.rules.append(Rule(b"/enqueue_batch", answer=409))
    with InvokeAIClient.from_url(victim.url) as direct, InvokeAIClient.from_url(proxy.url) as c:
        before = counts(direct)
        handle = c.workflow_repo.create_workflow_handle(blur_inputs_workflow(2))
        _images(handle, 2)
        start = time.monotonic()
        with pytest.raises(HTTPStatusError) as caught:
            handle.submit_sync()
        seconds = time.monotonic() - start
        after = counts(direct)
    assert caught.value.status_code == 409
    assert "/enqueue_batch" in str(caught.value) and "409" in str(caught.value)
    assert proxy.rules[0].fired == 1
    assert handle.get_uploaded_assets() == []
    record("enqueue answered 409", caught.value, seconds, left(before, after))
    assert after == before


def test_a_lost_enqueue_answer_is_reconciled_and_never_enqueued_twice(
    victim: InvokeAIServer, proxy: FaultProxy
) -> None:
    proxy.rules.append(Rule(b"/enqueue_batch", lose_answer=True))
    with InvokeAIClient.from_url(victim.url) as direct, InvokeAIClient.from_url(proxy.url) as c:
        before = counts(direct)
        handle = c.workflow_repo.create_workflow_handle(ARITHMETIC)
        start = time.monotonic()
        result = handle.submit_sync()
        seconds = time.monotonic() - start
        assert proxy.rules[0].fired == 1
        assert proxy.rules[0].seen == 1  # one enqueue request, no second one
        mine = [i for i in direct.queue_repo.list_all_items() if i.batch_id == result.batch_id]
        assert [i.item_id for i in mine] == result.item_ids and len(mine) == 1
        assert handle.wait_for_completion_sync(timeout=WAIT).status == "completed"
        handle.cleanup_outputs()
        handle.cleanup_queue_items()
        after = counts(direct)
    record(
        "enqueue answer lost after the server took it",
        "none: the batch is found by its batch id and adopted (1 item, enqueued once)",
        seconds,
        left(before, after),
    )
    assert after == before


def test_a_failed_upload_in_the_middle_deletes_the_earlier_uploads(
    victim: InvokeAIServer, proxy: FaultProxy
) -> None:
    proxy.rules.append(Rule(b"/api/v1/images/upload", nth=2, answer=500))
    with InvokeAIClient.from_url(victim.url) as direct, InvokeAIClient.from_url(proxy.url) as c:
        before = counts(direct)
        handle = c.workflow_repo.create_workflow_handle(blur_inputs_workflow(3))
        _images(handle, 3)
        start = time.monotonic()
        with pytest.raises(HTTPStatusError) as caught:
            handle.submit_sync()
        seconds = time.monotonic() - start
        after = counts(direct)
    assert caught.value.status_code == 500
    assert "/api/v1/images/upload" in str(caught.value) and "500" in str(caught.value)
    assert proxy.rules[0].seen == 2  # the third upload was never tried
    assert handle.get_uploaded_assets() == []
    record("2nd of 3 uploads fails (HTTP 500)", caught.value, seconds, left(before, after))
    assert after == before


def test_the_connection_cut_repeatedly_under_the_client(
    victim: InvokeAIServer, proxy: FaultProxy
) -> None:
    cuts = 6

    async def run() -> tuple[str, float]:
        async with AsyncInvokeAIClient.from_url(proxy.url) as client:
            handle = client.workflow_repo.create_workflow_handle(slow_workflow(size=1024, blurs=6))
            async with handle:
                await handle.submit()
                start = time.monotonic()
                for _ in range(cuts):
                    await asyncio.sleep(0.7)
                    proxy.restart()  # every connection, socket and HTTP, is cut under the client
                job = await handle.wait_for_completion(timeout=WAIT)
                seconds = time.monotonic() - start
                await handle.acleanup_outputs()
                await handle.acleanup_queue_items()
            return job.status, seconds

    with InvokeAIClient.from_url(victim.url) as direct:
        before = counts(direct)
        status, seconds = asyncio.run(run())
        after = counts(direct)
    assert proxy.cuts >= cuts
    assert status == "completed"
    record(
        f"connection cut {cuts} times mid-job (proxy killed and restarted)",
        "none: the job completed",
        seconds,
        left(before, after),
    )
    assert after == before


# Faults of the server process ------------------------------------------------------------------


def test_the_server_restarted_mid_job(victim: InvokeAIServer) -> None:
    with InvokeAIClient.from_url(victim.url) as client:
        before = counts(client)
        handle = client.workflow_repo.create_workflow_handle(slow_workflow(size=2048, blurs=8))
        start = time.monotonic()
        with pytest.raises(JobCanceledError) as caught, handle:
            handle.submit_sync()
            _wait_running(handle)
            start = time.monotonic()
            _kill(victim)
            victim.start()  # same root and port: 6.14.2 marks the running item canceled
            handle.wait_for_completion_sync(timeout=WAIT)
        seconds = time.monotonic() - start
        assert handle.get_queue_item().status == "canceled"
        handle.cleanup_outputs()
        handle.cleanup_queue_items()
        after = counts(client)
    assert "canceled" in str(caught.value)
    assert caught.value.item_id == handle.item_ids[0]
    record("server restarted mid-job (SIGKILL, start)", caught.value, seconds, left(before, after))
    assert after == before


def test_the_server_killed_mid_job(victim: InvokeAIServer) -> None:
    with InvokeAIClient.from_url(victim.url) as client:
        before = counts(client)
        handle = client.workflow_repo.create_workflow_handle(slow_workflow(size=2048, blurs=8))
        handle.submit_sync()
        _wait_running(handle)
        _kill(victim)
        start = time.monotonic()
        with pytest.raises(ServerUnreachableError) as caught:
            handle.wait_for_completion_sync(timeout=WAIT)
        seconds = time.monotonic() - start
        victim.start()  # the user brings the server back and cleans up
        handle.cleanup_outputs()
        handle.cleanup_queue_items()
        after = counts(client)
    assert victim.url in str(caught.value) and "cannot connect" in str(caught.value)
    record("server killed mid-job (SIGKILL)", caught.value, seconds, left(before, after))
    assert after == before


# A token revoked mid-run -----------------------------------------------------------------------


def _users(url: str) -> str:
    """Make sure the admin and this module's user exist; return the user's id."""
    with InvokeAIClient.from_url(url) as anonymous:
        if anonymous.get_auth_status().setup_required:
            anonymous.setup_admin(ADMIN, ADMIN_PASSWORD, display_name="Admin")
    with InvokeAIClient.from_url(url, email=ADMIN, password=ADMIN_PASSWORD) as admin:
        users = admin.execute(Call("GET", "/api/v1/auth/users", parse_json))
        for user in users:
            if user["email"] == USER:
                return str(user["user_id"])
        body = {"email": USER, "password": USER_PASSWORD, "display_name": "F", "is_admin": False}
        made = admin.execute(
            Call("POST", "/api/v1/auth/users", parse_json, json=body, sensitive=True)
        )
        return str(made["user_id"])


def test_a_token_revoked_mid_run_on_a_multiuser_server(multiuser_invokeai: InvokeAIServer) -> None:
    url = multiuser_invokeai.url
    user_id = _users(url)
    with InvokeAIClient.from_url(url, email=USER, password=USER_PASSWORD) as login:
        login.get_me()
        token = token_of(login)
        before = counts(login)
    new_password = USER_PASSWORD + "-2"
    with InvokeAIClient.from_url(url, token=token) as client:
        handle = client.workflow_repo.create_workflow_handle(slow_workflow(size=2048, blurs=8))
        with pytest.raises(AuthError) as caught, handle:
            handle.submit_sync()
            _wait_running(handle)
            with InvokeAIClient.from_url(url, email=ADMIN, password=ADMIN_PASSWORD) as admin:
                # an admin resets the password: the server's revocation epoch moves on and the
                # token is refused from now on, as an expired one is
                reset = {"password": new_password}
                admin.execute(
                    Call(
                        "PATCH",
                        f"/api/v1/auth/users/{user_id}",
                        parse_json,
                        json=reset,
                        sensitive=True,
                    )
                )
            start = time.monotonic()
            handle.wait_for_completion_sync(timeout=WAIT)
        seconds = time.monotonic() - start
    try:
        with InvokeAIClient.from_url(url, email=USER, password=new_password) as again:
            handle.bind_client(again)  # the user logs in again and cleans up
            handle.cancel()
            handle.cleanup_outputs()
            handle.cleanup_queue_items()
            after = counts(again)
    finally:
        with InvokeAIClient.from_url(url, email=ADMIN, password=ADMIN_PASSWORD) as admin:
            back = {"password": USER_PASSWORD}
            admin.execute(
                Call(
                    "PATCH", f"/api/v1/auth/users/{user_id}", parse_json, json=back, sensitive=True
                )
            )
    assert caught.value.status_code == 401
    assert "401" in str(caught.value) and "token may have expired" in str(caught.value)
    record(
        "token revoked mid-run (multi-user; clean-up after logging in again)",
        caught.value,
        seconds,
        left(before, after),
    )
    assert after == before
