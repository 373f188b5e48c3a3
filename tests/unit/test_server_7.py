"""ivkgen against a simulated InvokeAI 7.0 server (``tests.harness.fake_v7``): enqueue receipts
in submissions and pools, the library's revisions and client-chosen ids, sign-in with revoked
tokens and a server that needs its first administrator. Everything is detected from the
server's schema or answers; the 6.14 fake server keeps today's ways."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from ivkgen.runtime import AsyncInvokeAIClient, InvokeAIClient, WorkflowDefinition, WorkflowHandle
from ivkgen.runtime._errors import AuthError, RevisionConflictError, SetupRequiredError
from ivkgen.runtime._pool.pool import ServerPool
from ivkgen.runtime._pool.work import grid_work
from ivkgen.runtime._server.features import ServerFeatures

from tests.harness.fake_invokeai import FakeInvokeAI, VirtualClock
from tests.harness.fake_records import openapi_7

WORKFLOWS = Path(__file__).resolve().parents[2] / "data" / "workflows"
ARITHMETIC = WORKFLOWS / "prompt-arithmetic.json"
KEYED = "POST /api/v1/queue/default/enqueue_batch (keyed)"
V7 = "7.0.0"
RECEIPT = "GET /api/v1/queue/default/enqueue_batch/receipt"


def _client(server: FakeInvokeAI, **login: str) -> InvokeAIClient:
    return InvokeAIClient(f"http://{server.name}.test", transport=server.transport(), **login)


def _submit(client: InvokeAIClient) -> list[int]:
    handle = client.workflow_repo.create_workflow_handle(ARITHMETIC)
    return handle.submit_sync().item_ids


# Features ------------------------------------------------------------------------------------


def test_receipts_are_read_from_the_schema_routes_and_batch_field() -> None:
    assert ServerFeatures.of(openapi_7()).receipts
    without_field = openapi_7()
    without_field["components"]["schemas"]["Batch"]["properties"].pop("idempotency_key")
    assert not ServerFeatures.of(without_field).receipts
    assert ServerFeatures.of({"paths": {}}) == ServerFeatures()
    assert ServerFeatures.of("not a schema") == ServerFeatures()


# Receipts ------------------------------------------------------------------------------------


def test_a_submission_sends_its_batch_id_as_key_and_acknowledges_the_receipt() -> None:
    server = FakeInvokeAI("v7", VirtualClock(), version=V7)
    with _client(server) as client:
        item_ids = _submit(client)
        _submit(client)
    assert len(item_ids) == 1 and server.requests.count(KEYED) == 2
    batch_id = server.items[item_ids[0]].batch_id
    assert server.acknowledged[0] == batch_id
    assert server.requests.count("GET /openapi.json") == 1  # read once per client


def test_a_lost_enqueue_answer_is_resolved_by_the_receipt() -> None:
    server = FakeInvokeAI("v7", VirtualClock(), version=V7, lose_enqueue_answers=1)
    with _client(server) as client:
        item_ids = _submit(client)
    assert list(server.items) == item_ids  # enqueued once
    assert RECEIPT in server.requests
    assert "GET /api/v1/queue/default/list_all" not in server.requests
    assert server.acknowledged == [server.items[item_ids[0]].batch_id]


def test_a_batch_without_receipt_is_sent_again_under_the_same_key() -> None:
    # the connection drops before the server reads the batch
    server = FakeInvokeAI("v7", VirtualClock(), version=V7, reset_enqueues=1)
    with _client(server) as client:
        item_ids = _submit(client)
    assert list(server.items) == item_ids
    assert server.requests.count(RECEIPT) == 3 and server.requests.count(KEYED) == 2


def test_a_6_14_server_gets_no_key_and_a_lost_answer_is_found_in_the_queue() -> None:
    server = FakeInvokeAI("old", VirtualClock(), lose_enqueue_answers=1)
    with _client(server) as client:
        item_ids = _submit(client)
    assert list(server.items) == item_ids
    assert "GET /api/v1/queue/default/list_all" in server.requests


def test_a_pool_reconciles_lost_chunks_by_receipt() -> None:
    clock = VirtualClock()
    servers = [
        FakeInvokeAI("a", clock, lose_enqueue_answers=2, version=V7),
        FakeInvokeAI("b", clock, version=V7),
    ]
    clients = [_client(server) for server in servers]
    handle = WorkflowHandle(WorkflowDefinition.from_file(ARITHMETIC))
    work = grid_work(handle, {"Subject": [f"subject {i}" for i in range(12)]})
    pool = ServerPool(clients, sleep=clock.sleep, clock=clock, poll_interval=0.5)  # type: ignore[arg-type]
    results = pool.run(work)
    assert len(results) == 12
    assert sum(len(s.ran()) for s in servers) == 12  # nothing ran twice
    assert RECEIPT in servers[0].requests
    assert all("GET /api/v1/queue/default/list_all" not in s.requests for s in servers)
    sent = {key for s in servers for key in s.receipts}
    assert sent == {key for s in servers for key in s.acknowledged}


# Library -------------------------------------------------------------------------------------


def test_an_update_expecting_an_old_revision_is_a_revision_conflict() -> None:
    server = FakeInvokeAI("v7", VirtualClock(), version=V7)
    definition = WorkflowDefinition.from_file(ARITHMETIC)
    with _client(server) as client:
        record = client.workflow_repo.create_workflow(definition)
        assert record.revision == 1
        updated = client.workflow_repo.update_workflow(
            record.workflow_id, definition, expected_revision=1
        )
        assert updated.revision == 2
        with pytest.raises(RevisionConflictError, match="at revision 2 now") as caught:
            client.workflow_repo.update_workflow(
                record.workflow_id, definition, expected_revision=1
            )
    assert caught.value.current_revision == 2 and caught.value.status_code == 409
    assert "\n" not in str(caught.value)


def test_a_create_with_a_chosen_id_is_safe_to_send_again() -> None:
    server = FakeInvokeAI("v7", VirtualClock(), version=V7)
    definition = WorkflowDefinition.from_file(ARITHMETIC)
    with _client(server) as client:
        first = client.workflow_repo.create_workflow(definition, workflow_id="my-arithmetic")
        again = client.workflow_repo.create_workflow(definition, workflow_id="my-arithmetic")
    assert first.workflow_id == again.workflow_id == "my-arithmetic"
    assert list(server.workflows) == ["my-arithmetic"]


# Sign-in -------------------------------------------------------------------------------------


def test_a_server_that_needs_setup_says_so_in_one_line() -> None:
    server = FakeInvokeAI("v7", VirtualClock(), version=V7, multiuser=True)
    client = _client(server, email="a@b.c", password="pw")
    with client, pytest.raises(SetupRequiredError, match="has no administrator yet") as caught:
        client.queue_repo.list_all_items()
    assert "\n" not in str(caught.value)
    with _client(server) as anonymous, pytest.raises(SetupRequiredError):
        anonymous.queue_repo.list_all_items()


def test_a_revoked_token_is_replaced_by_logging_in_again_once() -> None:
    server = FakeInvokeAI("v7", VirtualClock(), version=V7, multiuser=True, users={"a@b.c": "pw"})
    with _client(server, email="a@b.c", password="pw") as client:
        _submit(client)
        server.revoke_tokens()
        _submit(client)
        logins = server.requests.count("POST /api/v1/auth/login")
        server.users["a@b.c"] = "changed elsewhere"
        server.revoke_tokens()
        with pytest.raises(AuthError, match="check the email and password"):
            _submit(client)
    assert logins == 2
    assert server.requests.count("POST /api/v1/auth/login") == 3  # once more, not in a loop


def test_a_token_without_credentials_is_not_renewed() -> None:
    server = FakeInvokeAI("v7", VirtualClock(), version=V7, multiuser=True, users={"a@b.c": "pw"})
    server.tokens.add("given")
    with InvokeAIClient("http://v7.test", token="given", transport=server.transport()) as client:
        client.queue_repo.list_all_items()
        server.revoke_tokens()
        with pytest.raises(AuthError, match="401"):
            client.queue_repo.list_all_items()
    assert "POST /api/v1/auth/login" not in server.requests


def test_a_refreshed_token_is_taken() -> None:
    server = FakeInvokeAI("v7", VirtualClock(), version=V7, multiuser=True, users={"a@b.c": "pw"})
    with _client(server, email="a@b.c", password="pw") as client:
        client.queue_repo.list_all_items()
        server.refresh_next = True
        client.queue_repo.list_all_items()
        assert client.socketio_options()["auth"] == {"token": "token-2"}
        server.tokens.discard("token-1")
        client.queue_repo.list_all_items()
    assert server.requests.count("POST /api/v1/auth/login") == 1


def test_concurrent_requests_refused_together_log_in_again_once() -> None:
    server = FakeInvokeAI("v7", VirtualClock(), version=V7, multiuser=True, users={"a@b.c": "pw"})

    async def scenario() -> None:
        transport = server.transport()
        async with AsyncInvokeAIClient(
            "http://v7.test", email="a@b.c", password="pw", transport=transport
        ) as client:
            await client.queue_repo.list_all_items()
            server.revoke_tokens()
            await asyncio.gather(*(client.queue_repo.list_all_items() for _ in range(5)))

    asyncio.run(scenario())
    assert server.requests.count("POST /api/v1/auth/login") == 2
