"""Outputs, downloads, uploads and clean-up against the real server (use case 4)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from ivkgen.runtime import (
    AsyncInvokeAIClient,
    InvokeAIClient,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
)
from PIL import Image

from tests.live._runs import TEAM, blur_inputs_workflow, failing_workflow, image_count, png


@pytest.fixture(scope="module")
def client(server_url: str) -> Iterator[InvokeAIClient]:
    with InvokeAIClient.from_url(server_url, timeout=30) as client:
        yield client


def test_iterate_outputs_download_to_a_folder_bytes_and_pil(
    client: InvokeAIClient, tmp_path: Path
) -> None:
    before = image_count(client)
    handle = client.workflow_repo.create_workflow_handle(TEAM / "width-sweep.json")
    handle.find_input("Height").field.value = 40  # type: ignore[attr-defined]
    handle.submit_sync()
    handle.wait_for_completion_sync(timeout=60)
    outputs = handle.get_outputs()
    assert [(o.node_id, o.node_label) for o in outputs] == [("img_blur:evbLJoLoae", "Blur")] * 3
    assert len({o.prepared_node_id for o in outputs}) == 3
    sizes = sorted(o.to_pil().size for o in outputs)
    assert sizes == [(32, 40), (48, 40), (64, 40)]
    paths = handle.download_outputs(tmp_path / "out")
    assert sorted(p.name for p in paths) == sorted(o.image_name for o in outputs)
    assert [Image.open(p).size for p in paths] == [o.to_pil().size for o in outputs]
    assert outputs[0].to_bytes() == paths[0].read_bytes()
    created = handle.cleanup_outputs()
    assert set(created) >= {o.image_name for o in outputs}
    assert len(created) == 6  # three canvases (intermediate) and three blurs
    assert handle.cleanup_outputs() == []
    assert handle.cleanup_queue_items() == handle.item_ids
    assert handle.cleanup_queue_items() == []
    assert image_count(client) == before


def test_outputs_land_on_the_board_given_at_submission(client: InvokeAIClient) -> None:
    board = client.board_repo.create_board("ivkgen outputs test")
    try:
        handle = client.workflow_repo.create_workflow_handle(TEAM / "image-pipeline.json")
        handle.find_input("Crop Size").field.value = 40  # type: ignore[attr-defined]
        handle.submit_sync(board_id=board.board_id)
        handle.wait_for_completion_sync(timeout=60)
        [output] = handle.get_outputs()
        assert output.board_id == board.board_id
        assert client.image_repo.get_image_dto(output.image_name).board_id == board.board_id
        handle.cleanup_outputs()
        handle.cleanup_queue_items()
    finally:
        client.board_repo.delete_board(board.board_id)


def test_images_given_as_path_bytes_and_pil_are_uploaded_used_and_cleaned_up(
    client: InvokeAIClient, tmp_path: Path
) -> None:
    before = image_count(client)
    source = tmp_path / "input.png"
    source.write_bytes(png(20, 10))
    handle = client.workflow_repo.create_workflow_handle(blur_inputs_workflow(3))
    handle.set_input_image(0, source)
    handle.set_input_image(1, png(12, 6, (200, 0, 0)))
    handle.set_input_image(2, Image.new("RGB", (8, 8), (0, 200, 0)))
    assert handle.get_uploaded_assets() == []
    handle.submit_sync()
    uploaded = handle.get_uploaded_assets()
    assert len(uploaded) == 3
    assert [handle.get_input_value(i).to_json_dict() for i in range(3)] == [
        {"image_name": name} for name in uploaded
    ]
    handle.wait_for_completion_sync(timeout=60)
    sizes = sorted(Image.open(io.BytesIO(o.to_bytes())).size for o in handle.get_outputs())
    assert sizes == [(8, 8), (12, 6), (20, 10)]
    assert sorted(handle.cleanup_inputs()) == sorted(uploaded)
    assert handle.get_uploaded_assets() == [] and handle.cleanup_inputs() == []
    handle.cleanup_outputs()
    handle.cleanup_queue_items()
    assert image_count(client) == before


async def test_the_awaited_twins_upload_wait_download_and_clean_up_what_the_runs_made(
    server_url: str, client: InvokeAIClient, tmp_path: Path
) -> None:
    before = image_count(client)
    async with AsyncInvokeAIClient.from_url(server_url, timeout=30) as aclient:
        handle = aclient.workflow_repo.create_workflow_handle(blur_inputs_workflow(2))
        handle.set_input_image(0, png(20, 10))
        handle.set_input_image(1, png(12, 6, (200, 0, 0)))
        first = await handle.submit()
        handle.set_input_image(0, png(16, 8))  # new images: no cached node output is shared
        handle.set_input_image(1, png(10, 4, (200, 0, 0)))
        second = await handle.submit()
        assert [run.batch_id for run in handle.runs] == [first.batch_id, second.batch_id]
        job = await handle.wait_for_completion(timeout=60)
        earlier = await handle.runs[0].wait_for_completion(timeout=60)
        assert (job.status, job.item_id, earlier.item_id) == (
            "completed",
            second.item_ids[0],
            first.item_ids[0],
        )
        item = await handle.aget_queue_item()
        assert (item.item_id, item.status) == (job.item_id, "completed")
        assert [i.item_id for i in await handle.aget_queue_items()] == second.item_ids
        assert await handle.aget_output_videos() == []
        paths = await handle.adownload_outputs(tmp_path)
        assert sorted(Image.open(p).size for p in paths) == [(10, 4), (16, 8)]
        earlier_outputs = await handle.runs[0].aget_outputs()
        assert {o.image_name for o in earlier_outputs}.isdisjoint(p.name for p in paths)
        uploaded = handle.get_uploaded_assets()
        assert len(uploaded) == 4  # two per run
        assert sorted(await handle.acleanup_inputs()) == sorted(uploaded)
        assert await handle.acleanup_inputs() == []
        made = await handle.acleanup_outputs()  # both runs' outputs
        assert set(made) >= {p.name for p in paths} | {o.image_name for o in earlier_outputs}
        assert sorted(await handle.acleanup_queue_items()) == sorted(
            [*first.item_ids, *second.item_ids]
        )
    assert image_count(client) == before


def test_a_failed_run_in_a_with_block_leaves_no_uploads(client: InvokeAIClient) -> None:
    data = blur_inputs_workflow(1)
    data["nodes"] += failing_workflow()["nodes"]
    handle = client.workflow_repo.create_workflow_handle(data)
    with pytest.raises(JobFailedError), handle:
        handle.set_input_image(0, png())
        handle.submit_sync()
        uploaded = handle.get_uploaded_assets()
        handle.wait_for_completion_sync(timeout=60)
    assert handle.get_uploaded_assets() == []
    with pytest.raises(NotFoundError):
        client.image_repo.get_image_dto(uploaded[0])
    handle.cleanup_outputs()
    handle.cleanup_queue_items()


class Interrupted(Exception):
    pass


def test_an_interrupted_run_is_canceled_and_leaves_no_uploads(client: InvokeAIClient) -> None:
    handle = client.workflow_repo.create_workflow_handle(blur_inputs_workflow(2))
    with pytest.raises(Interrupted), handle:
        handle.set_input_image(0, png())
        handle.set_input_image(1, png(30, 30))
        handle.submit_sync()
        uploaded = handle.get_uploaded_assets()
        raise Interrupted
    assert handle.get_uploaded_assets() == []
    for name in uploaded:
        with pytest.raises(NotFoundError):
            client.image_repo.get_image_dto(name)
    assert handle.get_queue_item().status in ("canceled", "completed")
    handle.cleanup_outputs()
    handle.cleanup_queue_items()


async def test_a_timed_out_async_run_is_canceled_and_leaves_no_uploads(
    client: InvokeAIClient,
) -> None:
    handle = client.workflow_repo.create_workflow_handle(blur_inputs_workflow(1))
    with pytest.raises(JobTimeoutError):
        async with handle:
            handle.set_input_image(0, png(40, 40))
            await handle.submit()
            uploaded = handle.get_uploaded_assets()
            await handle.wait_for_completion(timeout=0.001)
    assert handle.get_uploaded_assets() == []
    with pytest.raises(NotFoundError):
        client.image_repo.get_image_dto(uploaded[0])
    assert handle.get_queue_item().status in ("canceled", "completed")
    await handle.acleanup_outputs()
    await handle.acleanup_queue_items()
