"""The server pool against simulated servers: spread, faults, lost answers, full queues, resume."""

from __future__ import annotations

import asyncio
import importlib
import json
import warnings
from collections import Counter
from pathlib import Path

import httpx
import pytest
from ivkgen.runtime import AsyncInvokeAIClient, InvokeAIClient, WorkflowDefinition, WorkflowHandle
from ivkgen.runtime._errors import (
    FormerServerWarning,
    JobFailedError,
    LedgerError,
    NoServerError,
    QueueFullWarning,
)
from ivkgen.runtime._pool.ledger import Ledger
from ivkgen.runtime._pool.outcome import ItemError, ItemResult
from ivkgen.runtime._pool.pool import AsyncServerPool, ServerPool
from ivkgen.runtime._pool.scheduler import Scheduler
from ivkgen.runtime._pool.work import Work, grid_work

from tests.harness.fake_invokeai import FakeInvokeAI, VirtualClock
from tests.unit._workflows import field, node, workflow

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16

WORKFLOWS = Path(__file__).resolve().parents[2] / "data" / "workflows"
SUBJECT = "string:FfWd3hjOkY"


def _work(count: int) -> Work:
    handle = WorkflowHandle(WorkflowDefinition.from_file(WORKFLOWS / "prompt-arithmetic.json"))
    return grid_work(handle, {"Subject": [f"subject {i}" for i in range(count)]})


def _subject(server: FakeInvokeAI, item_id: int) -> str:
    return str(server.items[item_id].session["graph"]["nodes"][SUBJECT]["value"])


def _pool(servers: list[FakeInvokeAI], clock: VirtualClock, **options: object) -> ServerPool:
    clients = [InvokeAIClient(f"http://{s.name}.test", transport=s.transport()) for s in servers]
    return ServerPool(clients, sleep=clock.sleep, clock=clock, poll_interval=0.5, **options)  # type: ignore[arg-type]


def _statuses(ledger: Path) -> dict[str, int]:
    """How many items the ledger file records in each status."""
    book = Ledger(ledger)
    try:
        return dict(Counter(entry.status for entry in book.entries()))
    finally:
        book.close()


def _ran_once(servers: list[FakeInvokeAI], count: int) -> None:
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


def test_no_server_holds_more_than_its_share_of_what_is_left() -> None:
    scheduler = Scheduler(range(10), ["a", "b"], window=8)
    assert scheduler.take("a") == [0, 1, 2, 3, 4]  # 10 unfinished over 2 servers
    assert scheduler.take("b") == [5, 6, 7, 8, 9]
    scheduler.at_least("a", 100)
    assert scheduler.slots["a"].window == 100
    scheduler.at_least("a", 10_000)
    assert scheduler.slots["a"].window == scheduler.max_window


def test_a_pool_of_many_servers_gives_fast_ones_larger_windows() -> None:
    clock = VirtualClock()
    servers = [FakeInvokeAI(f"s{i}", clock) for i in range(10)]
    pool = _pool(servers, clock)
    results = pool.run(_work(500))

    assert len(results) == 500
    _ran_once(servers, 500)
    assert all(s.chunks[0] == 4 for s in servers)  # a few first, until a server's pace is known
    assert all(max(s.chunks) > 4 for s in servers)  # then enough to stay busy between steps


@pytest.mark.parametrize("summaries", [True, False])
def test_statuses_are_read_without_sessions_where_the_server_can(summaries: bool) -> None:
    clock = VirtualClock()
    servers = [FakeInvokeAI("a", clock, summaries=summaries), FakeInvokeAI("b", clock)]
    results = _pool(servers, clock).run(_work(30))

    assert [r.index for r in results] == list(range(30))
    assert all(r.images for r in results)
    _ran_once(servers, 30)
    light = "POST /api/v1/queue/default/item_summaries_by_ids"
    assert (light in servers[0].requests) is summaries
    assert light in servers[1].requests
    full = [r for r in servers[1].requests if r.endswith("/items_by_ids")]
    assert len(full) < servers[1].requests.count(light)  # full items only once they ended


def test_a_sweep_spreads_in_proportion_to_each_servers_devices() -> None:
    clock = VirtualClock()
    servers = [FakeInvokeAI("a", clock, devices=1), FakeInvokeAI("b", clock, devices=2)]
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
    servers = [FakeInvokeAI("a", clock), FakeInvokeAI("b", clock)]

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
    servers = [FakeInvokeAI("a", clock, lose_enqueue_answers=1), FakeInvokeAI("b", clock)]
    results = _pool(servers, clock).run(_work(12))

    assert len(results) == 12
    assert "GET /api/v1/queue/default/list_all" in servers[0].requests
    _ran_once(servers, 12)
    assert not [i for s in servers for i in s.items.values() if i.status == "pending"]


def test_a_full_queue_is_reported_and_the_rest_waits_for_room() -> None:
    clock = VirtualClock()
    servers = [FakeInvokeAI("a", clock, max_queue_size=3)]
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
    with_model = FakeInvokeAI("a", clock, models=[{**TINY, "key": "k-on-a"}])
    without = FakeInvokeAI("b", clock)
    results = _pool([with_model, without], clock).run(grid_work(handle, runs=3))

    assert {r.server for r in results} == {"http://a.test"}
    assert not without.items
    graph = with_model.items[results[0].item_id or 0].session["graph"]
    assert graph["nodes"][model.node_id]["model"]["key"] == "k-on-a"  # the server's own key

    others = [FakeInvokeAI("c", clock), FakeInvokeAI("d", clock)]
    with pytest.raises(
        NoServerError, match=r"'tiny-sd15' \(sd-1 main\) is not installed"
    ) as caught:
        _pool(others, clock).run(grid_work(handle, runs=2))
    assert sorted(caught.value.reasons) == ["http://c.test", "http://d.test"]
    assert not any(s.items for s in others)


def test_a_server_that_refuses_the_login_is_dropped_and_the_others_finish() -> None:
    clock = VirtualClock()
    good = FakeInvokeAI("b", clock)

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
    servers = [FakeInvokeAI("a", clock), FakeInvokeAI("b", clock)]
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
    first = _statuses(ledger)
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
    assert _statuses(ledger) == {"completed": 16}
    assert {p: p.stat().st_mtime_ns for p in downloaded} == mtimes  # never downloaded twice
    assert len(list((tmp_path / "out").iterdir())) == 16


def test_a_failed_items_error_keeps_its_type_and_message_after_a_resume(tmp_path: Path) -> None:
    clock = VirtualClock()
    server = FakeInvokeAI("a", clock, fail_node=SUBJECT)

    def reported(request: httpx.Request) -> httpx.Response:
        response = server.handle(request)
        if not request.url.path.endswith("/items_by_ids"):
            return response
        items = json.loads(response.read())
        for item in items:
            if item["status"] == "failed":
                item.update(error_type="ValueError", error_message="size: not a multiple of 8")
        return httpx.Response(200, json=items)

    ledger = tmp_path / "run.sqlite"
    for resume in (False, True):  # the second run finds both items ended in the ledger
        client = InvokeAIClient("http://a.test", transport=httpx.MockTransport(reported))
        pool = ServerPool([client], sleep=clock.sleep, clock=clock, poll_interval=0.5)
        with pytest.raises(JobFailedError, match="ValueError: size: not a multiple of 8") as caught:
            pool.run(_work(2), ledger=ledger, resume=resume)
        assert (caught.value.error_type, caught.value.error_message) == (
            "ValueError",
            "size: not a multiple of 8",
        )
        assert pool.last_run is not None
        errors = [r.error for r in pool.last_run.ordered_results()]
        assert errors == [ItemError("ValueError", "size: not a multiple of 8")] * 2
    assert len(server.items) == 2  # nothing ran again


def test_an_items_error_survives_the_ledger_and_older_plain_text_is_its_message() -> None:
    error = ItemError("ValueError", "size: not a multiple of 8")
    assert ItemError.from_text(error.to_text()) == error
    assert str(error) == "ValueError: size: not a multiple of 8"
    older = ItemError.from_text("ValueError: size: not a multiple of 8")  # an earlier ledger's
    assert older == ItemError(None, "ValueError: size: not a multiple of 8")
    assert str(older) == "ValueError: size: not a multiple of 8"
    assert ItemError.from_text(None) is None


def test_the_async_pool_spreads_and_returns_outputs_in_order() -> None:
    servers = [
        FakeInvokeAI("a", _wall_clock, duration=0.01),
        FakeInvokeAI("b", _wall_clock, duration=0.01),
    ]

    async def main() -> list[int]:
        clients = [
            AsyncInvokeAIClient(f"http://{s.name}.test", transport=s.transport()) for s in servers
        ]
        pool = AsyncServerPool(clients, poll_interval=0.01)
        return [r.index for r in await pool.run(_work(12))]

    assert asyncio.run(main()) == list(range(12))
    _ran_once(servers, 12)
    assert all(s.ran() for s in servers)


def _wall_clock() -> float:
    import time

    return time.monotonic()


def test_the_single_server_path_warns_when_the_queue_takes_fewer_items() -> None:
    clock = VirtualClock()
    server = FakeInvokeAI("a", clock, max_queue_size=2)
    client = InvokeAIClient("http://a.test", transport=server.transport())
    handle = client.workflow_repo.create_workflow_handle(WORKFLOWS / "prompt-arithmetic.json")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = handle.submit_sync(sweep={"Subject": ["x", "y", "z"]})
    assert (result.enqueued, result.requested) == (2, 3)
    assert any(issubclass(w.category, QueueFullWarning) for w in caught)


def _crash_with_items_in_flight(
    servers: list[FakeInvokeAI], clock: VirtualClock, ledger: Path
) -> None:
    """Run 16 items on ``servers`` until the client dies at virtual second 2 (the servers
    stop answering, so nothing is cleaned up)."""

    class Crash(Exception):
        pass

    def crash(progress: object) -> None:
        if clock.now >= 2:
            for server in servers:
                server.down = True
            raise Crash

    with pytest.raises(Crash):
        _pool(servers, clock).run(_work(16), ledger=ledger, on_progress=crash)


def _in_flight(ledger: Path, server: str) -> list[int]:
    book = Ledger(ledger)
    try:
        return [
            e.index
            for e in book.entries()
            if e.server == server and e.status not in ("completed", "failed")
        ]
    finally:
        book.close()


def test_a_resumed_run_follows_its_items_on_a_server_no_longer_given(tmp_path: Path) -> None:
    clock = VirtualClock()
    a, b = FakeInvokeAI("a", clock), FakeInvokeAI("b", clock)
    ledger = tmp_path / "run.sqlite"
    _crash_with_items_in_flight([a, b], clock, ledger)
    flying = _in_flight(ledger, "http://a.test")
    assert flying
    a.down = b.down = False
    sent_to_a = len(a.chunks)
    reached: list[str] = []

    def connect(url: str) -> InvokeAIClient:
        reached.append(url)
        return InvokeAIClient(url, transport=a.transport())

    with warnings.catch_warnings():
        warnings.simplefilter("error", FormerServerWarning)
        results = _pool([b], clock, connect=connect).run(
            _work(16), ledger=ledger, resume=True, download_to=tmp_path / "out"
        )

    assert reached == ["http://a.test"]
    assert [r.status for r in results] == ["completed"] * 16
    assert {r.index for r in results if r.server == "http://a.test"} >= set(flying)
    for index in flying:  # looked up there: its outputs collected and downloaded
        assert results[index].images and results[index].files
        assert results[index].files[0].is_file()
    assert len(a.chunks) == sent_to_a  # the former server was sent nothing new
    _ran_once([a, b], 16)
    assert _statuses(ledger) == {"completed": 16}


def test_a_resumed_run_reruns_the_items_of_a_former_server_it_cannot_reach(
    tmp_path: Path,
) -> None:
    clock = VirtualClock()
    a, b = FakeInvokeAI("a", clock), FakeInvokeAI("b", clock)
    ledger = tmp_path / "run.sqlite"
    _crash_with_items_in_flight([a, b], clock, ledger)
    flying = _in_flight(ledger, "http://a.test")
    assert flying
    b.down = False  # a stays down

    def connect(url: str) -> InvokeAIClient:
        return InvokeAIClient(url, transport=a.transport(), retries=0)

    pattern = rf"server http://a\.test .*cannot be reached.* its {len(flying)} unfinished item"
    with pytest.warns(FormerServerWarning, match=pattern):
        results = _pool([b], clock, connect=connect).run(_work(16), ledger=ledger, resume=True)

    assert [r.status for r in results] == ["completed"] * 16
    assert all(results[i].server == "http://b.test" for i in flying)  # run again on b
    assert _statuses(ledger) == {"completed": 16}


def test_the_async_pool_follows_the_items_of_a_former_server_too(tmp_path: Path) -> None:
    clock = VirtualClock()
    a, b = FakeInvokeAI("a", clock), FakeInvokeAI("b", clock)
    ledger = tmp_path / "run.sqlite"
    _crash_with_items_in_flight([a, b], clock, ledger)
    flying = _in_flight(ledger, "http://a.test")
    offset = _wall_clock() - clock.now
    for server in (a, b):  # from here on the servers run on the wall clock, quickly
        server.down = False
        server.clock = lambda: _wall_clock() - offset
        server.duration = 0.01

    async def main() -> list[str]:
        client = AsyncInvokeAIClient("http://b.test", transport=b.transport())
        pool = AsyncServerPool(
            [client],
            poll_interval=0.01,
            connect=lambda url: AsyncInvokeAIClient(url, transport=a.transport()),
        )
        async with pool:
            return [r.server for r in await pool.run(_work(16), ledger=ledger, resume=True)]

    servers = asyncio.run(main())
    assert all(servers[i] == "http://a.test" for i in flying)
    _ran_once([a, b], 16)


def _blur_handle() -> WorkflowHandle[None]:
    nodes = [node("blur", "img_blur", radius=1.0, is_intermediate=False, image=field("image"))]
    definition = WorkflowDefinition.from_dict(
        workflow(nodes, exposed=[("blur", "image"), ("blur", "radius")])
    )
    return WorkflowHandle(definition)


def _photos(folder: Path, count: int) -> list[Path]:
    paths = [folder / f"photo-{i}.png" for i in range(count)]
    for i, path in enumerate(paths):
        path.write_bytes(PNG + bytes([i]) * 8)
    return paths


def _image_of(servers: list[FakeInvokeAI], result: ItemResult) -> bytes:
    """The bytes uploaded for the image the item ran with (on the server that ran it)."""
    server = next(s for s in servers if result.server == f"http://{s.name}.test")
    assert result.item_id is not None
    image = server.items[result.item_id].session["graph"]["nodes"]["blur"]["image"]
    return server.uploads[image["image_name"]]


def test_each_item_gets_its_own_image_uploaded_once_to_the_server_that_runs_it(
    tmp_path: Path,
) -> None:
    clock = VirtualClock()
    servers = [FakeInvokeAI("a", clock), FakeInvokeAI("b", clock)]
    photos = _photos(tmp_path, 3)
    given = [*photos, photos[0]]
    work = grid_work(_blur_handle(), {0: given, 1: [1.0, 2.0]})
    results = _pool(servers, clock, window=2).run(work)

    assert len(results) == 8 and {r.status for r in results} == {"completed"}
    for result in results:  # image k with both radii: items 2k and 2k+1
        assert given[result.index // 2].read_bytes() in _image_of(servers, result)
    for server in servers:
        name = f"http://{server.name}.test"
        needed = {given[r.index // 2] for r in results if r.server == name}
        sent = [next(p for p in photos if p.read_bytes() in b) for b in server.uploads.values()]
        assert sorted(sent) == sorted(needed)  # each photo it needed, once
        assert not set(server.uploads) & server.images  # and deleted at the end
    assert {r.server for r in results} == {"http://a.test", "http://b.test"}


def test_a_generated_modules_local_images_run_on_the_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ivkgen.generator.package import generate_modules

    source = tmp_path / "blur.json"
    source.write_text(json.dumps(_blur_handle().definition.to_dict()), encoding="utf-8")
    module = generate_modules([source], tmp_path / "pool_flows")[0]
    monkeypatch.syspath_prepend(str(tmp_path))
    flows = importlib.import_module(f"pool_flows.{module.stem}")
    photos = _photos(tmp_path, 2)
    clock = VirtualClock()
    servers = [FakeInvokeAI("a", clock), FakeInvokeAI("b", clock)]
    pool = _pool(servers, clock, window=1)

    varied = [flows.BlurInputs(image=str(p), radius=r) for p in photos for r in (1.0, 2.0)]
    outputs = pool.map(flows.Blur(), varied)
    assert [len(o.img_blur) for o in outputs] == [1, 1, 1, 1]
    assert pool.last_run is not None
    for result in pool.last_run.ordered_results():
        assert photos[result.index // 2].read_bytes() in _image_of(servers, result)

    shared = pool.sweep(flows.Blur(), flows.BlurInputs(image=photos[1]), "radius", [1.0, 2.0, 3.0])
    assert len(shared) == 3
    assert pool.last_run is not None
    for result in pool.last_run.ordered_results():
        assert photos[1].read_bytes() in _image_of(servers, result)
    assert all(not set(s.uploads) & s.images for s in servers)


def test_a_swept_file_that_is_no_image_is_refused_naming_the_input(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not an image", encoding="utf-8")
    with pytest.raises(ValueError, match=r"input 'Image': file 'notes\.txt' is not a PNG"):
        grid_work(_blur_handle(), {0: [*_photos(tmp_path, 1), text]})


def test_a_resumed_run_deletes_the_images_a_crashed_one_uploaded_and_sends_none_twice(
    tmp_path: Path,
) -> None:
    clock = VirtualClock()
    servers = [FakeInvokeAI("a", clock), FakeInvokeAI("b", clock)]
    photos = _photos(tmp_path, 6)
    ledger = tmp_path / "run.sqlite"

    def crash(progress: object) -> None:
        if clock.now >= 2:
            for server in servers:
                server.down = True
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _pool(servers, clock, window=1).run(
            grid_work(_blur_handle(), {0: photos}), ledger=ledger, on_progress=crash
        )
    left = {s.name: set(s.uploads) & s.images for s in servers}
    assert any(left.values())  # the crashed run left its uploads behind
    for server in servers:
        server.down = False

    results = _pool(servers, clock, window=1).run(
        grid_work(_blur_handle(), {0: photos}), ledger=ledger, resume=True
    )
    assert [r.status for r in results] == ["completed"] * 6
    for result in results:
        assert photos[result.index].read_bytes() in _image_of(servers, result)
    for server in servers:
        assert not set(server.uploads) & server.images  # the earlier run's too
        sent = [
            next(p for p in photos if p.read_bytes() in body) for body in server.uploads.values()
        ]
        assert len(sent) == len(set(sent))  # no photo uploaded twice to one server
