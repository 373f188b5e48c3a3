"""The server pool against simulated servers: spread, faults, lost answers, full queues, resume."""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path

import httpx
import pytest
from ivkgen.runtime import AsyncInvokeAIClient, InvokeAIClient, WorkflowDefinition, WorkflowHandle
from ivkgen.runtime.errors import NoServerError, QueueFullWarning
from ivkgen.runtime.pool import AsyncServerPool, Ledger, LedgerError, ServerPool, grid_work
from ivkgen.runtime.pool.scheduler import Scheduler
from ivkgen.runtime.pool.work import Work

from tests.harness.fake_queue import FakeServer, VirtualClock

WORKFLOWS = Path(__file__).resolve().parents[2] / "data" / "workflows"
SUBJECT = "string:FfWd3hjOkY"


def _work(count: int) -> Work:
    handle = WorkflowHandle(WorkflowDefinition.from_file(WORKFLOWS / "prompt-arithmetic.json"))
    return grid_work(handle, {"Subject": [f"subject {i}" for i in range(count)]})


def _subject(server: FakeServer, item_id: int) -> str:
    return str(server.items[item_id].session["graph"]["nodes"][SUBJECT]["value"])


def _pool(servers: list[FakeServer], clock: VirtualClock, **options: object) -> ServerPool:
    clients = [InvokeAIClient(f"http://{s.name}.test", transport=s.transport()) for s in servers]
    return ServerPool(clients, sleep=clock.sleep, clock=clock, poll_interval=0.5, **options)  # type: ignore[arg-type]


def _ran_once(servers: list[FakeServer], count: int) -> None:
    subjects = sorted(_subject(s, i.item_id) for s in servers for i in s.ran())
    assert subjects == sorted(f"subject {i}" for i in range(count))


def test_scheduler_refills_each_server_with_what_it_finished() -> None:
    scheduler = Scheduler(range(20), ["a", "b"], window=2)
    assert scheduler.take("a") == [0, 1] and scheduler.take("b") == [2, 3]
    assert scheduler.take("a") == []  # never more than its window ahead
    scheduler.done("b", 2)
    scheduler.done("b", 3)
    assert scheduler.take("b") == [4, 5]
    assert scheduler.drop("a", "gone") == [0, 1]
    assert list(scheduler.waiting)[:2] == [0, 1]  # a dropped server's items go first


def test_a_sweep_spreads_in_proportion_to_each_servers_devices() -> None:
    clock = VirtualClock()
    servers = [FakeServer("a", clock, devices=1), FakeServer("b", clock, devices=2)]
    results = _pool(servers, clock).run(_work(120))

    assert [r.index for r in results] == list(range(120))
    for result in results:
        server = next(s for s in servers if s.name in result.server)
        assert result.item_id is not None
        assert _subject(server, result.item_id) == f"subject {result.index}"
        assert result.images and result.images[0].image_name.startswith(server.name)
    _ran_once(servers, 120)
    one, two = len(servers[0].ran()), len(servers[1].ran())
    assert 1.8 <= two / one <= 2.2  # the server with two devices took twice the work
    assert [s.chunks[0] for s in servers] == [4, 4]  # never all of the sweep up front


def test_the_items_of_a_server_that_dies_run_elsewhere_exactly_once() -> None:
    clock = VirtualClock()
    servers = [FakeServer("a", clock), FakeServer("b", clock)]

    def kill_a(progress: object) -> None:
        if clock.now >= 3:
            servers[0].down = True

    pool = _pool(servers, clock)
    results = pool.run(_work(20), on_progress=kill_a)

    assert len(results) == 20
    assert all(r.status == "completed" for r in results)
    assert pool.last_run is not None
    assert pool.last_run.scheduler.slots["http://a.test"].dropped
    _ran_once(servers, 20)


def test_a_lost_enqueue_answer_is_looked_up_not_sent_again() -> None:
    clock = VirtualClock()
    servers = [FakeServer("a", clock, lose_enqueue_answers=1), FakeServer("b", clock)]
    results = _pool(servers, clock).run(_work(12))

    assert len(results) == 12
    assert "GET /api/v1/queue/default/list_all" in servers[0].requests
    _ran_once(servers, 12)
    assert not [i for s in servers for i in s.items.values() if i.status == "pending"]


def test_a_full_queue_is_reported_and_the_rest_waits_for_room() -> None:
    clock = VirtualClock()
    servers = [FakeServer("a", clock, max_queue_size=3)]
    with pytest.warns(QueueFullWarning, match="took 3 of 8"):
        results = _pool(servers, clock, window=8).run(_work(10))
    assert len(results) == 10
    _ran_once(servers, 10)


TINY = {"key": "k-a", "hash": "h", "name": "tiny-sd15", "base": "sd-1", "type": "main"}


def test_work_goes_only_to_servers_with_the_models_and_none_left_is_an_error() -> None:
    clock = VirtualClock()
    handle = WorkflowHandle(WorkflowDefinition.from_file(WORKFLOWS / "sd15-text-to-image.json"))
    model = handle.find_input("Model")
    handle.set_input_value(model.input_index, type(model.field).model_validate(TINY))
    with_model = FakeServer("a", clock, models=[{**TINY, "key": "k-on-a"}])
    without = FakeServer("b", clock)
    results = _pool([with_model, without], clock).run(grid_work(handle, runs=3))

    assert {r.server for r in results} == {"http://a.test"}
    assert not without.items
    graph = with_model.items[results[0].item_id or 0].session["graph"]
    assert graph["nodes"][model.node_id]["model"]["key"] == "k-on-a"  # the server's own key

    others = [FakeServer("c", clock), FakeServer("d", clock)]
    with pytest.raises(
        NoServerError, match=r"'tiny-sd15' \(sd-1 main\) is not installed"
    ) as caught:
        _pool(others, clock).run(grid_work(handle, runs=2))
    assert sorted(caught.value.reasons) == ["http://c.test", "http://d.test"]
    assert not any(s.items for s in others)


def test_a_server_that_refuses_the_login_is_dropped_and_the_others_finish() -> None:
    clock = VirtualClock()
    good = FakeServer("b", clock)

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"detail": "Not authenticated"})

    clients = [
        InvokeAIClient("http://a.test", transport=httpx.MockTransport(refuse)),
        InvokeAIClient("http://b.test", transport=good.transport()),
    ]
    pool = ServerPool(clients, sleep=clock.sleep, clock=clock, poll_interval=0.5)
    assert len(pool.run(_work(5))) == 5
    assert pool.last_run is not None
    assert "401" in str(pool.last_run.scheduler.slots["http://a.test"].dropped)


def test_a_ledger_run_resumes_after_a_crash_without_running_anything_twice(
    tmp_path: Path,
) -> None:
    clock = VirtualClock()
    servers = [FakeServer("a", clock), FakeServer("b", clock)]
    ledger = tmp_path / "run.sqlite"

    class Crash(Exception):
        pass

    def crash(progress: object) -> None:
        if clock.now >= 2:
            for server in servers:
                server.down = True  # the client dies: no clean-up reaches the servers
            raise Crash

    with pytest.raises(Crash):
        _pool(servers, clock).run(
            _work(16), ledger=ledger, download_to=tmp_path / "out", on_progress=crash
        )
    first = Ledger(ledger).counts()
    assert first.get("completed", 0) > 0 and first.get("completed") != 16
    downloaded = sorted((tmp_path / "out").iterdir())
    for server in servers:
        server.down = False

    with pytest.raises(LedgerError, match="--resume"):
        _pool(servers, clock).run(_work(16), ledger=ledger)
    with pytest.raises(LedgerError, match="another run"):
        _pool(servers, clock).run(_work(15), ledger=ledger, resume=True)
    mtimes = {p: p.stat().st_mtime_ns for p in downloaded}
    results = _pool(servers, clock).run(
        _work(16), ledger=ledger, resume=True, download_to=tmp_path / "out"
    )

    assert [r.status for r in results] == ["completed"] * 16
    _ran_once(servers, 16)
    assert Ledger(ledger).counts() == {"completed": 16}
    assert {p: p.stat().st_mtime_ns for p in downloaded} == mtimes  # never downloaded twice
    assert len(list((tmp_path / "out").iterdir())) == 16


def test_the_async_pool_spreads_and_returns_outputs_in_order() -> None:
    servers = [
        FakeServer("a", _wall_clock, duration=0.01),
        FakeServer("b", _wall_clock, duration=0.01),
    ]

    async def main() -> list[int]:
        clients = [
            AsyncInvokeAIClient(f"http://{s.name}.test", transport=_async_transport(s))
            for s in servers
        ]
        pool = AsyncServerPool(clients, poll_interval=0.01)
        return [r.index for r in await pool.run(_work(12))]

    assert asyncio.run(main()) == list(range(12))
    _ran_once(servers, 12)
    assert all(s.ran() for s in servers)


def _wall_clock() -> float:
    import time

    return time.monotonic()


def _async_transport(server: FakeServer) -> httpx.MockTransport:
    return httpx.MockTransport(server.handle)


def test_the_single_server_path_warns_when_the_queue_takes_fewer_items() -> None:
    clock = VirtualClock()
    server = FakeServer("a", clock, max_queue_size=2)
    client = InvokeAIClient("http://a.test", transport=server.transport())
    handle = client.workflow_repo.create_workflow_handle(WORKFLOWS / "prompt-arithmetic.json")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = handle.submit_sync(sweep={"Subject": ["x", "y", "z"]})
    assert (result.enqueued, result.requested) == (2, 3)
    assert any(issubclass(w.category, QueueFullWarning) for w in caught)
