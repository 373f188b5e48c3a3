"""Boards, images, the workflow library, models and the queue against the real server.

Every test removes what it created; the server's image count is checked to be unchanged.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ivkgen.runtime import AsyncInvokeAIClient, InvokeAIClient, NotFoundError, SessionQueueItem
from ivkgen.runtime._workflow.blockers import unknown_node_blockers
from ivkgen.runtime._workflow.catalog import default_catalog
from PIL import Image

from tests.harness.install import default_workflows_dir


@pytest.fixture(scope="module")
def client(server_url: str) -> Iterator[InvokeAIClient]:
    with InvokeAIClient.from_url(server_url, timeout=60) as client:
        yield client


def image_count(client: InvokeAIClient) -> int:
    """Every image on the server, intermediates and images on boards included."""
    return client.image_repo.list_images(limit=1).total


@pytest.fixture
def unchanged_images(client: InvokeAIClient) -> Iterator[None]:
    before = image_count(client)
    yield
    assert image_count(client) == before, "the test left images behind"


def png(size: tuple[int, int] = (16, 8), color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


# Boards --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("unchanged_images")
def test_board_crud_and_handle_operations(client: InvokeAIClient) -> None:
    repo = client.board_repo
    board = repo.create_board(unique("ivkgen board"))
    other = repo.create_board(unique("ivkgen other"))
    try:
        assert repo.get_board(board.board_id).board_name == board.board_name
        found = repo.get_board_by_name(board.board_name)
        assert found is not None and found.board_id == board.board_id
        renamed = repo.update_board(board.board_id, board_name=board.board_name + " renamed")
        assert renamed.board_name.endswith(" renamed")
        assert board.board_id in {b.board_id for b in repo.list_boards()}

        handle = repo.get_board_handle(board.board_id)
        first = handle.upload_image(png(color="red"))
        second = handle.upload_image(Image.new("RGB", (8, 8), "blue"), category="user")
        assert first.board_id == board.board_id
        assert set(handle.list_images()) == {first.image_name, second.image_name}
        assert handle.list_images(limit=1) == [second.image_name]  # newest first
        assert handle.get_info().image_count == 1  # the "user" upload counts as an asset

        assert Image.open(io.BytesIO(handle.download_image(first.image_name))).size == (16, 8)
        assert handle.star_image(first.image_name) is True
        assert client.image_repo.get_image_dto(first.image_name).starred
        assert handle.unstar_image(first.image_name) is True

        assert handle.move_image_to(first.image_name, other.board_id) is True
        assert client.image_repo.get_image_dto(first.image_name).board_id == other.board_id
        assert handle.list_images() == [second.image_name]
        assert handle.add_image(first.image_name) is True
        assert handle.remove_image(first.image_name) is True
        assert client.image_repo.get_image_dto(first.image_name).board_id is None
        assert handle.delete_image(first.image_name) is True

        deleted = handle.delete(include_images=True)
        assert deleted.deleted_images == [second.image_name]
        with pytest.raises(NotFoundError):
            client.image_repo.get_image_dto(second.image_name)
        assert repo.get_board_by_name(renamed.board_name) is None
    finally:
        for leftover in (board, other):
            if repo.get_board_by_name(leftover.board_name) or repo.get_board_by_name(
                leftover.board_name + " renamed"
            ):
                repo.delete_board(leftover.board_id, include_images=True)


@pytest.mark.usefixtures("unchanged_images")
def test_deleting_a_board_keeps_its_images_on_no_board(client: InvokeAIClient) -> None:
    board = client.board_repo.create_board(unique("ivkgen keep"))
    image = client.board_repo.get_board_handle(board.board_id).upload_image(png())
    try:
        result = client.board_repo.delete_board(board.board_id)
        assert result.deleted_images == []
        assert client.image_repo.get_image_dto(image.image_name).board_id is None
        with pytest.raises(NotFoundError):
            client.board_repo.get_board(board.board_id)
    finally:
        client.image_repo.delete_image(image.image_name)


# Images --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("unchanged_images")
def test_image_upload_sources_dto_metadata_download_delete(
    client: InvokeAIClient, tmp_path: Path
) -> None:
    images = client.image_repo
    path = tmp_path / "mask.png"
    Image.new("L", (24, 12), 255).save(path)
    from_path = images.upload_image(path, category="mask", is_intermediate=True)
    from_bytes = images.upload_image(png((10, 20)), category="control", metadata={"seed": 7})
    from_pil = images.upload_image(Image.new("RGBA", (5, 6)), category="user")
    names = [from_path.image_name, from_bytes.image_name, from_pil.image_name]
    try:
        dto = images.get_image_dto(from_path.image_name)
        assert (dto.image_category, dto.is_intermediate, dto.width, dto.height) == (
            "mask",
            True,
            24,
            12,
        )
        assert (from_bytes.image_category, from_bytes.is_intermediate) == ("control", False)
        assert (from_pil.width, from_pil.height) == (5, 6)
        assert images.get_image_metadata(from_bytes.image_name) == {"seed": 7}
        assert images.get_image_metadata(from_pil.image_name) is None

        full = Image.open(io.BytesIO(images.download_image(from_bytes.image_name)))
        assert (full.format, full.size) == ("PNG", (10, 20))
        thumbnail = Image.open(io.BytesIO(images.download_thumbnail(from_bytes.image_name)))
        assert thumbnail.format == "WEBP"

        intermediates = images.list_images(is_intermediate=True, limit=1000).items
        assert from_path.image_name in {i.image_name for i in intermediates}
        assert images.update_image(from_pil.image_name, starred=True).starred
        assert images.star_images([from_bytes.image_name]) == [from_bytes.image_name]
        assert images.unstar_images([from_bytes.image_name]) == [from_bytes.image_name]

        assert images.delete_image(names[0]).deleted_images == [names[0]]
        result = images.delete_images(names[1:])
        assert sorted(result.deleted_images) == sorted(names[1:])
        with pytest.raises(NotFoundError):
            images.get_image_dto(names[0])
    finally:
        images.delete_images(names)


# Workflow library ----------------------------------------------------------------------------


def test_workflow_library_round_trip(
    client: InvokeAIClient, shared_dir: Path, tmp_path: Path
) -> None:
    from ivkgen.runtime._workflow.definition import WorkflowDefinition

    repo = client.workflow_repo
    before = repo.list_workflows(categories=["user"]).total
    source = shared_dir / "data" / "workflows" / "sdxl-text-to-image.json"
    record = repo.upload_workflow_file(source)
    try:
        assert repo.list_workflows(categories=["user"]).total == before + 1
        original = json.loads(source.read_text())
        assert record.workflow["nodes"] == original["nodes"]
        assert record.workflow["meta"]["category"] == "user"
        assert repo.get_workflow(record.workflow_id).name == original["name"]

        definition = repo.download_workflow(record.workflow_id)
        assert isinstance(definition, WorkflowDefinition)
        assert definition.id == record.workflow_id

        new_name = unique("ivkgen renamed")
        updated = repo.update_workflow(
            record.workflow_id, definition.model_copy(update={"name": new_name})
        )
        assert updated.name == new_name
        page = repo.list_workflows(query_text=new_name, categories=["user"])
        assert [item.workflow_id for item in page.items] == [record.workflow_id]

        path = repo.download_workflow_file(record.workflow_id, tmp_path / "saved.json")
        again = WorkflowDefinition.from_file(path)
        assert (again.name, again.nodes) == (new_name, definition.nodes)

        copy = repo.create_workflow(again)
        assert copy.workflow_id != record.workflow_id
        repo.delete_workflow(copy.workflow_id)
    finally:
        repo.delete_workflow(record.workflow_id)
    with pytest.raises(NotFoundError):
        repo.get_workflow(record.workflow_id)
    assert repo.list_workflows(categories=["user"]).total == before


def test_every_default_workflow_downloads_as_a_definition(client: InvokeAIClient) -> None:
    folder = default_workflows_dir()
    shipped = {json.loads(p.read_text())["id"]: p for p in folder.glob("*.json")}
    page = client.workflow_repo.list_workflows(categories=["default"], per_page=100)
    assert {item.workflow_id for item in page.items} == set(shipped)
    first = client.workflow_repo.list_workflows(categories=["default"], per_page=5, page=1)
    assert (first.page, first.per_page, len(first.items), first.total) == (1, 5, 5, len(shipped))
    known = default_catalog().nodes
    for workflow_id, path in shipped.items():
        nodes = json.loads(path.read_text())["nodes"]
        definition = client.workflow_repo.download_workflow(workflow_id)
        assert definition.nodes == nodes
        # 6.14.2 ships three defaults using removed *_image_processor nodes: they load, named
        unknown = {n["data"]["type"] for n in nodes if n["type"] == "invocation"} - set(known)
        named = unknown_node_blockers(definition, default_catalog())
        assert {blocker.node_type for blocker in named} == unknown


# Models --------------------------------------------------------------------------------------


def test_models_list_get_and_find(
    client: InvokeAIClient, tiny_models: dict[str, dict[str, Any]]
) -> None:
    repo = client.model_repo
    assert set(tiny_models) <= {m.name for m in repo.list_models()}
    assert [m.name for m in repo.list_models(base="sdxl", type="main")] == ["tiny-sdxl"]
    for name, identifier in tiny_models.items():
        key, hash_ = identifier["key"], identifier["hash"]
        assert repo.get_model(key).identifier() == identifier
        assert repo.get_model_by_hash(hash_).key == key
        assert repo.get_model_by_attrs(name, identifier["base"], identifier["type"]).key == key
        found = repo.find_models(name=name, base=identifier["base"], type=identifier["type"])
        assert [m.key for m in found] == [key]
        assert [m.key for m in repo.find_models(hash=hash_)] == [key]
    assert repo.find_models(name="tiny-sd15", base="sdxl") == []
    assert repo.find_models(hash="blake3:" + "0" * 64) == []
    with pytest.raises(NotFoundError):
        repo.get_model("no-such-key")
    with pytest.raises(NotFoundError):
        repo.get_model_by_attrs("tiny-sd15", "sdxl", "main")


# Queue ---------------------------------------------------------------------------------------


def blur_body(runs: int = 1) -> dict[str, Any]:
    """A model-free batch: a blank image (intermediate), blurred and saved to the gallery."""
    nodes = {
        "blank": {
            "id": "blank",
            "type": "blank_image",
            "width": 32,
            "height": 32,
            "color": {"r": 255, "g": 0, "b": 0, "a": 255},
            "is_intermediate": True,
            "use_cache": False,
        },
        "blur": {
            "id": "blur",
            "type": "img_blur",
            "radius": 2.0,
            "is_intermediate": False,
            "use_cache": False,
        },
    }
    edges = [
        {"source": {"node_id": "blank", "field": "image"},
         "destination": {"node_id": "blur", "field": "image"}}
    ]  # fmt: skip
    graph = {"nodes": nodes, "edges": edges}
    batch = {"graph": graph, "runs": runs, "origin": "ivkgen-tests", "destination": "gallery"}
    return {"batch": batch, "prepend": False}


def wait_until_ended(client: InvokeAIClient, item_id: int, timeout: float = 60) -> SessionQueueItem:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = client.queue_repo.get_queue_item(item_id)
        if item.is_terminal:
            return item
        time.sleep(0.2)
    raise AssertionError(f"queue item {item_id} did not end in {timeout} s")


def produced_images(item: SessionQueueItem) -> list[str]:
    results = item.session.get("results", {}).values()
    return [r["image"]["image_name"] for r in results if "image" in r]


@pytest.mark.usefixtures("unchanged_images")
def test_queue_status_items_cancel_prune_clear(client: InvokeAIClient) -> None:
    queue = client.queue_repo
    assert queue.pause_processor().is_started is False
    try:
        sweep = queue.enqueue_batch(blur_body(runs=2))
        single = queue.enqueue_batch(blur_body())
        assert (sweep.enqueued, sweep.requested, len(sweep.item_ids)) == (2, 2, 2)
        status = queue.get_status()
        assert status.processor.is_started is False
        assert status.queue.pending >= 3

        first, second = sorted(sweep.item_ids)
        item = queue.get_queue_item(first)
        assert (item.status, item.batch_id, item.origin) == ("pending", sweep.batch_id,
                                                            "ivkgen-tests")  # fmt: skip
        assert set(item.session["graph"]["nodes"]) == {"blank", "blur"}
        fetched = queue.get_queue_items([second, first])
        assert [i.item_id for i in fetched] == [second, first]
        assert set(queue.list_item_ids()) >= {first, second, *single.item_ids}

        assert queue.get_batch_status(sweep.batch_id).pending == 2
        assert queue.cancel_queue_item(first).status == "canceled"
        assert queue.cancel_by_batch_ids([sweep.batch_id]) == 1
        batch = queue.get_batch_status(sweep.batch_id)
        assert (batch.pending, batch.canceled, batch.total) == (0, 2, 2)
    finally:
        queue.resume_processor()

    done = wait_until_ended(client, single.item_ids[0])
    assert done.status == "completed", done.error_message
    made = produced_images(done)
    assert len(made) == 2  # the intermediate blank image and the saved blur
    client.image_repo.delete_images(made)

    assert queue.prune() >= 3
    with pytest.raises(NotFoundError):
        queue.get_queue_item(first)

    queue.pause_processor()
    try:
        pending = queue.enqueue_batch(blur_body())
        assert queue.clear() >= 1
        with pytest.raises(NotFoundError):
            queue.get_queue_item(pending.item_ids[0])
        assert queue.get_status().queue.total == 0
    finally:
        queue.resume_processor()


# Async repositories --------------------------------------------------------------------------


@pytest.mark.usefixtures("unchanged_images")
async def test_async_repositories_work_concurrently(server_url: str) -> None:
    async with AsyncInvokeAIClient.from_url(server_url) as client:
        names = [unique("ivkgen async") for _ in range(3)]
        boards = await asyncio.gather(*(client.board_repo.create_board(n) for n in names))
        try:
            assert sorted(b.board_name for b in boards) == sorted(names)
            handle = client.board_repo.get_board_handle(boards[0].board_id)
            image = await handle.upload_image(png())
            assert await handle.list_images() == [image.image_name]
            status, models = await asyncio.gather(
                client.queue_repo.get_status(), client.model_repo.list_models(type="vae")
            )
            assert status.processor.is_started
            assert [m.name for m in models] == ["tiny-vae"]
        finally:
            await asyncio.gather(
                *(client.board_repo.delete_board(b.board_id, include_images=True) for b in boards)
            )
