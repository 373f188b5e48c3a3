"""Submission plans against the fake InvokeAI (``tests.harness.fake_invokeai``): bodies,
rollback, polling."""

from __future__ import annotations

import importlib
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from ivkgen.runtime import (
    AsyncInvokeAIClient,
    InvokeAIClient,
    InvokeAIVersionWarning,
    IvkModelIdentifierField,
    JobCanceledError,
    NotFoundError,
    PriorityWarning,
    ServerValidationError,
    WorkflowError,
)

from tests.harness.fake_invokeai import FakeInvokeAI, VirtualClock
from tests.unit._workflows import field, node, workflow

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
MODEL = {"key": "k1", "hash": "blake3:1", "name": "tiny", "base": "sd-1", "type": "main"}
SAMPLES = "5a3f1e2c-0000-4000-8000-00000000a11e"
BOARD_RECORD = {"board_id": "", "board_name": "", "created_at": "", "updated_at": ""}
BUNDLED_SCHEMA = Path(__file__).parents[2] / "data" / "openapi" / "invokeai-6.14.2.json"


def fake(**options: Any) -> FakeInvokeAI:
    """A server with ``MODEL``, a ``samples`` board and the bundled schema (no drift); its
    items progress as the client polls."""
    board = {**BOARD_RECORD, "board_id": SAMPLES, "board_name": "samples"}
    return FakeInvokeAI(
        "invokeai",
        VirtualClock(tick=1.0),
        duration=4.0,
        models=[MODEL],
        boards=[board],
        schema=BUNDLED_SCHEMA.read_bytes(),
        **options,
    )


def client_for(server: FakeInvokeAI) -> InvokeAIClient:
    return InvokeAIClient.from_url("http://invokeai.test", transport=server.transport())


def image_workflow() -> dict[str, Any]:
    moved_model = {**MODEL, "key": "key-elsewhere", "hash": "blake3:other"}
    nodes = [
        node(
            "blur",
            "img_blur",
            radius=1.0,
            is_intermediate=False,
            image=field("image", {"image_name": "saved.png"}),
        ),
        node("loader", "main_model_loader", model=field("model", moved_model)),
    ]
    return workflow(nodes, exposed=[("blur", "image"), ("blur", "radius"), ("loader", "model")])


def enqueued_batch(server: FakeInvokeAI) -> dict[str, Any]:
    assert server.last_enqueued is not None
    batch: dict[str, Any] = server.last_enqueued["batch"]
    return batch


def test_submit_uploads_resolves_models_and_sends_the_sweep_in_one_enqueue() -> None:
    server = fake()
    handle = client_for(server).workflow_repo.create_workflow_handle(image_workflow())
    handle.set_input_image(0, PNG)
    result = handle.submit_sync(sweep={1: [1, 2.5]})
    batch = enqueued_batch(server)
    assert result.batch_id == batch["batch_id"] and result.item_ids == [1, 2]
    assert batch["graph"]["nodes"]["blur"]["image"] == {"image_name": "invokeai-upload-0.png"}
    assert batch["graph"]["nodes"]["loader"]["model"]["key"] == "k1"
    assert batch["data"] == [[{"node_path": "blur", "field_name": "radius", "items": [1.0, 2.5]}]]
    assert handle.get_uploaded_assets() == ["invokeai-upload-0.png"]


def test_a_required_input_without_a_value_is_refused_before_anything_is_sent() -> None:
    server = fake()
    unset = image_workflow()
    unset["nodes"][0]["data"]["inputs"]["image"].pop("value")
    handle = client_for(server).workflow_repo.create_workflow_handle(unset)
    assert handle.validate_inputs() == {0: ["required: set a value"]}
    with pytest.raises(WorkflowError) as caught:
        handle.submit_sync()
    assert str(caught.value) == (
        "workflow 'test' cannot be sent: required input(s) [0] 'Image' have no value; set them "
        "first (validate_inputs() lists every problem)"
    )
    assert (caught.value.node_id, caught.value.field_name) == ("blur", "image")
    assert server.requests == []
    handle.submit_sync(sweep={"Image": [{"image_name": "a.png"}]})  # a value per item is a value


def test_a_model_of_a_base_the_loader_does_not_take_is_refused_before_anything_is_sent() -> None:
    server = fake()
    handle = client_for(server).workflow_repo.create_workflow_handle(image_workflow())
    sdxl = {"key": "k-xl", "hash": "blake3:xl", "name": "big-xl", "base": "sdxl", "type": "main"}
    handle.set_input_value(2, type(handle.get_input_value(2)).model_validate(sdxl))
    expected = "takes a main model of base sd-1 or sd-2; 'big-xl' is a main model of base sdxl"
    assert handle.validate_inputs() == {2: [expected]}
    with pytest.raises(WorkflowError) as caught:
        handle.submit_sync()
    assert str(caught.value) == f"workflow 'test' cannot be sent: input [2] 'Model' {expected}"
    assert server.requests == []


def test_a_rejected_enqueue_deletes_the_uploads_it_made() -> None:
    server = fake(reject_enqueues="bad batch")
    handle = client_for(server).workflow_repo.create_workflow_handle(image_workflow())
    handle.set_input_image(0, PNG)
    with pytest.raises(ServerValidationError, match="bad batch"):
        handle.submit_sync()
    assert server.images == set() and handle.get_uploaded_assets() == []
    assert "DELETE /api/v1/images/i/invokeai-upload-0.png" in server.requests


def test_a_sweep_is_checked_before_anything_is_sent() -> None:
    server = fake()
    handle = client_for(server).workflow_repo.create_workflow_handle(image_workflow())
    with pytest.raises(ValueError, match="one length"):
        handle.submit_sync(sweep={1: [1.0, 2.0], "Image": ["a.png"]})
    with pytest.raises(ValueError, match="sweep value 'wide'"):
        handle.submit_sync(sweep={1: ["wide"]})
    assert server.requests == []


def test_polling_reports_progress_and_ends_on_terminal_statuses() -> None:
    server = fake()
    handle = client_for(server).workflow_repo.create_workflow_handle(image_workflow())
    result = handle.submit_sync(sweep={1: [1.0, 2.0]})  # two items, run one after the other
    assert result.session_id == result["session_id"] == handle.session_id == "s-invokeai-1"
    seen: dict[int, list[str]] = {1: [], 2: []}
    final = handle.wait_for_completion_sync(
        poll_interval=0.01,
        timeout=5,
        progress_callback=lambda item: seen[item.item_id].append(item.status),
    )
    assert final.item_id == 1 and final.status == "completed"
    order = ["pending", "in_progress", "completed"]
    for statuses in seen.values():  # each item's statuses as they came, in order
        assert statuses == sorted(statuses, key=order.index) and statuses[-1] == "completed"
    assert "in_progress" in seen[1] + seen[2] and "pending" in seen[2]
    polls = [r for r in server.requests if r.endswith(("/items_by_ids", "/item_summaries_by_ids"))]
    assert len(seen[1]) == len(polls) > 0  # while both ran, one request read both
    assert [job.status for job in handle.jobs] == ["completed", "completed"]


def test_an_item_deleted_from_the_queue_ends_the_wait_as_canceled() -> None:
    server = fake()
    handle = client_for(server).workflow_repo.create_workflow_handle(image_workflow())
    handle.submit_sync()
    server.items.clear()
    with pytest.raises(JobCanceledError, match="deleted from the queue"):
        handle.wait_for_completion_sync(poll_interval=0.01, timeout=5)


def test_sync_methods_on_an_async_client_say_what_to_do() -> None:
    client = AsyncInvokeAIClient.from_url("http://invokeai.test")
    handle = client.workflow_repo.create_workflow_handle(image_workflow())
    with pytest.raises(TypeError, match="await the async methods"):
        handle.submit_sync()


def test_nothing_to_wait_for_before_a_submission() -> None:
    handle = client_for(fake()).workflow_repo.create_workflow_handle(image_workflow())
    with pytest.raises(RuntimeError, match="not submitted"):
        handle.wait_for_completion_sync()
    assert handle.batch_id is None and handle.item_ids == []


def board_workflow() -> dict[str, Any]:
    saved = {"board_id": "board-of-another-server"}
    nodes = [
        node("saved", "save_image", board=field("board", saved), is_intermediate=False),
        node("auto", "save_image", board=field("board", "auto"), is_intermediate=False),
        node("mine", "save_image", board=field("board", "auto"), is_intermediate=False),
        node("none", "save_image", board=field("board", "none"), is_intermediate=False),
    ]
    return workflow(nodes, exposed=[("mine", "board"), ("none", "board")])


def test_a_board_named_at_submission_takes_every_output_the_user_did_not_place() -> None:
    server = fake()
    handle = client_for(server).workflow_repo.create_workflow_handle(board_workflow())
    handle.get_input(0).field.value = "f00dcafe-0000-4000-8000-000000000001"  # type: ignore[attr-defined]
    handle.submit_sync(board_id="samples")
    nodes = enqueued_batch(server)["graph"]["nodes"]
    assert nodes["saved"]["board"] == nodes["auto"]["board"] == {"board_id": SAMPLES}
    assert nodes["none"]["board"] == {"board_id": SAMPLES}  # on the form, left as saved
    assert nodes["mine"]["board"] == {"board_id": "f00dcafe-0000-4000-8000-000000000001"}


def test_an_unknown_board_name_lists_the_boards_and_enqueues_nothing() -> None:
    server = fake()
    handle = client_for(server).workflow_repo.create_workflow_handle(board_workflow())
    with pytest.raises(NotFoundError, match=r"no board with the id or name 'sample'.*'samples'"):
        handle.submit_sync(board_id="sample")
    assert server.last_enqueued is None


def test_a_priority_the_server_cannot_honour_warns_and_prepends() -> None:
    server = fake()
    handle = client_for(server).workflow_repo.create_workflow_handle(image_workflow())
    with pytest.warns(PriorityWarning, match="priority=5: the InvokeAI queue has no numeric"):
        handle.submit_sync(priority=5)
    assert server.last_enqueued is not None and server.last_enqueued["prepend"] is True
    with pytest.warns(PriorityWarning, match="priority=-1.*after them"):
        handle.submit_sync(priority=-1)
    assert server.last_enqueued["prepend"] is False


def test_a_model_typed_by_name_without_key_or_hash_resolves_by_name_base_and_type() -> None:
    server = fake()
    handle = client_for(server).workflow_repo.create_workflow_handle(image_workflow())
    typed = IvkModelIdentifierField(key="", hash="", name="tiny", base="sd-1", type="main")
    handle.set_input_value(2, typed)
    handle.submit_sync()
    assert enqueued_batch(server)["graph"]["nodes"]["loader"]["model"]["key"] == "k1"
    wrong = IvkModelIdentifierField(key="k9", hash="h", name="tiny", base="sd-1", type="main")
    handle.set_input_value(2, wrong)
    with pytest.raises(WorkflowError, match="not installed on the server; closest installed"):
        handle.submit_sync()


def test_a_generated_modules_image_input_takes_a_file_path_uploaded_at_submission(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ivkgen.generator.package import generate_modules

    source = tmp_path / "blur.json"
    source.write_text(json.dumps(image_workflow()), encoding="utf-8")
    module = generate_modules([source], tmp_path / "blur_flows")[0]
    monkeypatch.syspath_prepend(str(tmp_path))
    flows = importlib.import_module(f"blur_flows.{module.stem}")
    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG)
    inputs = flows.BlurInputs(image=str(photo), radius=3.0)
    server = fake()
    handle = flows.Blur().submit(client_for(server), inputs)
    assert "POST /api/v1/images/upload" in server.requests
    assert enqueued_batch(server)["graph"]["nodes"]["blur"]["image"] == {
        "image_name": "invokeai-upload-0.png"
    }
    assert handle.get_uploaded_assets() == ["invokeai-upload-0.png"]


def test_a_module_made_for_another_invokeai_warns_once_per_client() -> None:
    from generated.image_pipeline import ImagePipeline, ImagePipelineInputs

    server = fake(version="6.9.0")
    client = client_for(server)
    with pytest.warns(InvokeAIVersionWarning) as caught:
        ImagePipeline().run(client, ImagePipelineInputs())
        ImagePipeline().sweep(client, ImagePipelineInputs(), "crop_size", [16, 24])
    [warning] = caught
    assert str(warning.message).startswith(
        "ImagePipeline was generated against InvokeAI 6.14.2, but http://invokeai.test runs 6.9.0"
    )
    assert warning.filename == __file__
    assert server.requests.count("GET /api/v1/app/version") == 1
    with pytest.warns(InvokeAIVersionWarning):
        ImagePipeline().submit(client_for(server), ImagePipelineInputs())


def test_a_module_made_for_the_servers_invokeai_does_not_warn() -> None:
    from generated.image_pipeline import ImagePipeline, ImagePipelineInputs

    with warnings.catch_warnings():
        warnings.simplefilter("error", InvokeAIVersionWarning)
        outputs = ImagePipeline().run(client_for(fake()), ImagePipelineInputs())
    assert [output.image_name for output in outputs.save] == ["invokeai-1-0.png"]


def test_a_handle_without_a_client_says_how_to_get_one() -> None:
    from ivkgen.runtime import WorkflowDefinition, WorkflowHandle

    handle = WorkflowHandle(WorkflowDefinition.from_dict(image_workflow()))
    assert handle.client is None
    with pytest.raises(RuntimeError, match=r"has no client: create it with client\.workflow_repo"):
        handle.submit_sync()  # type: ignore[misc]
