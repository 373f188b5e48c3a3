"""Submission plans against a fake server (httpx.MockTransport): bodies, rollback, polling."""

from __future__ import annotations

import importlib
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
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

from tests.unit._dtos import image_dto
from tests.unit._workflows import field, node, workflow

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
MODEL = {"key": "k1", "hash": "blake3:1", "name": "tiny", "base": "sd-1", "type": "main"}
SAMPLES = "5a3f1e2c-0000-4000-8000-00000000a11e"
BOARD_RECORD = {"board_id": "", "board_name": "", "created_at": "", "updated_at": ""}
BUNDLED_SCHEMA = Path(__file__).parents[2] / "data" / "openapi" / "invokeai-6.14.2.json"


class FakeServer:
    """Answers the few routes a submission uses; ``statuses`` are served in turn per poll."""

    def __init__(self, statuses: list[str] | None = None, enqueue_status: int = 200) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self.statuses = list(statuses or ["completed"])
        self.enqueue_status = enqueue_status
        self.images: set[str] = set()
        self.boards = [{**BOARD_RECORD, "board_id": SAMPLES, "board_name": "samples"}]
        self.version = "6.14.2"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        body = (
            json.loads(request.content)
            if request.headers.get("content-type") == "application/json"
            else None
        )
        self.requests.append((method, path, body))
        if path == "/api/v1/images/upload":
            name = f"upload-{len(self.images)}.png"
            self.images.add(name)
            return httpx.Response(201, json=image_dto(name))
        if method == "DELETE" and path.startswith("/api/v1/images/i/"):
            name = path.rsplit("/", 1)[1]
            self.images.discard(name)
            return httpx.Response(200, json={"deleted_images": [name]})
        if path == "/api/v1/boards/":
            return httpx.Response(200, json=self.boards)
        if path == "/openapi.json":  # the schema the bundled catalog was made from: no drift
            return httpx.Response(200, content=BUNDLED_SCHEMA.read_bytes())
        if path == "/api/v1/app/version":
            return httpx.Response(200, json={"version": self.version})
        if path == "/api/v2/models/":
            return httpx.Response(200, json={"models": [MODEL]})
        if path.endswith("/enqueue_batch"):
            if self.enqueue_status != 200:
                detail = [{"loc": ["body", "batch"], "msg": "bad batch", "type": "value_error"}]
                return httpx.Response(self.enqueue_status, json={"detail": detail})
            batch = body["batch"]
            return httpx.Response(
                200,
                json={
                    "queue_id": "default",
                    "enqueued": 2,
                    "requested": 2,
                    "batch": batch,
                    "priority": 0,
                    "item_ids": [12, 11],
                },
            )
        if method == "GET" and "/api/v1/queue/default/i/" in path:
            item_id = int(path.rsplit("/", 1)[1])
            status = self.next_status()
            if status == "gone":
                return httpx.Response(404, json={"detail": "Queue item not found"})
            return httpx.Response(200, json=queue_item(item_id, status))
        if path.endswith(("/items_by_ids", "/item_summaries_by_ids")):
            status = self.next_status()
            items = [] if status == "gone" else [queue_item(i, status) for i in body["item_ids"]]
            return httpx.Response(200, json=items)
        return httpx.Response(500, json={"detail": f"unexpected {method} {path}"})

    def next_status(self) -> str:
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]


def queue_item(item_id: int, status: str) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "status": status,
        "batch_id": "b",
        "queue_id": "default",
        "session_id": f"s{item_id}",
        "created_at": "",
        "updated_at": "",
        "session": {},
    }


def client_for(server: Callable[[httpx.Request], httpx.Response]) -> InvokeAIClient:
    return InvokeAIClient.from_url("http://invokeai.test", transport=httpx.MockTransport(server))


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


def enqueued_batch(server: FakeServer) -> dict[str, Any]:
    return next(b for m, p, b in server.requests if p.endswith("/enqueue_batch"))["batch"]


def test_submit_uploads_resolves_models_and_sends_the_sweep_in_one_enqueue() -> None:
    server = FakeServer()
    handle = client_for(server).workflow_repo.create_workflow_handle(image_workflow())
    handle.set_input_image(0, PNG)
    result = handle.submit_sync(sweep={1: [1, 2.5]})
    batch = enqueued_batch(server)
    assert result.batch_id == batch["batch_id"] and result.item_ids == [11, 12]
    assert batch["graph"]["nodes"]["blur"]["image"] == {"image_name": "upload-0.png"}
    assert batch["graph"]["nodes"]["loader"]["model"]["key"] == "k1"
    assert batch["data"] == [[{"node_path": "blur", "field_name": "radius", "items": [1.0, 2.5]}]]
    assert handle.get_uploaded_assets() == ["upload-0.png"]


def test_a_required_input_without_a_value_is_refused_before_anything_is_sent() -> None:
    server = FakeServer()
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
    server = FakeServer()
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
    server = FakeServer(enqueue_status=422)
    handle = client_for(server).workflow_repo.create_workflow_handle(image_workflow())
    handle.set_input_image(0, PNG)
    with pytest.raises(ServerValidationError, match="bad batch"):
        handle.submit_sync()
    assert server.images == set() and handle.get_uploaded_assets() == []
    assert ("DELETE", "/api/v1/images/i/upload-0.png", None) in server.requests


def test_a_sweep_is_checked_before_anything_is_sent() -> None:
    server = FakeServer()
    handle = client_for(server).workflow_repo.create_workflow_handle(image_workflow())
    with pytest.raises(ValueError, match="one length"):
        handle.submit_sync(sweep={1: [1.0, 2.0], "Image": ["a.png"]})
    with pytest.raises(ValueError, match="sweep value 'wide'"):
        handle.submit_sync(sweep={1: ["wide"]})
    assert server.requests == []


def test_polling_reports_progress_and_ends_on_terminal_statuses() -> None:
    # the first answer is the submission's read of its first item (for the session id)
    server = FakeServer(["pending", "pending", "in_progress", "in_progress", "completed"])
    handle = client_for(server).workflow_repo.create_workflow_handle(image_workflow())
    result = handle.submit_sync()
    assert result.session_id == result["session_id"] == handle.session_id == "s11"
    seen: list[str] = []
    final = handle.wait_for_completion_sync(
        poll_interval=0.01, timeout=5, progress_callback=lambda item: seen.append(item.status)
    )
    assert final.item_id == 11 and final.status == "completed"
    assert seen == ["pending"] * 2 + ["in_progress"] * 4 + ["completed"] * 2
    polls = [path for _, path, _ in server.requests if path.endswith("/items_by_ids")]
    assert len(polls) == 4  # both items in one request per poll
    assert [job.status for job in handle.jobs] == ["completed", "completed"]


def test_an_item_deleted_from_the_queue_ends_the_wait_as_canceled() -> None:
    server = FakeServer(["in_progress", "gone"])
    handle = client_for(server).workflow_repo.create_workflow_handle(image_workflow())
    handle.submit_sync()
    with pytest.raises(JobCanceledError, match="deleted from the queue"):
        handle.wait_for_completion_sync(poll_interval=0.01, timeout=5)


def test_sync_methods_on_an_async_client_say_what_to_do() -> None:
    client = AsyncInvokeAIClient.from_url("http://invokeai.test")
    handle = client.workflow_repo.create_workflow_handle(image_workflow())
    with pytest.raises(TypeError, match="await the async methods"):
        handle.submit_sync()


def test_nothing_to_wait_for_before_a_submission() -> None:
    handle = client_for(FakeServer()).workflow_repo.create_workflow_handle(image_workflow())
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
    server = FakeServer()
    handle = client_for(server).workflow_repo.create_workflow_handle(board_workflow())
    handle.get_input(0).field.value = "f00dcafe-0000-4000-8000-000000000001"  # type: ignore[attr-defined]
    handle.submit_sync(board_id="samples")
    nodes = enqueued_batch(server)["graph"]["nodes"]
    assert nodes["saved"]["board"] == nodes["auto"]["board"] == {"board_id": SAMPLES}
    assert nodes["none"]["board"] == {"board_id": SAMPLES}  # on the form, left as saved
    assert nodes["mine"]["board"] == {"board_id": "f00dcafe-0000-4000-8000-000000000001"}


def test_an_unknown_board_name_lists_the_boards_and_enqueues_nothing() -> None:
    server = FakeServer()
    handle = client_for(server).workflow_repo.create_workflow_handle(board_workflow())
    with pytest.raises(NotFoundError, match=r"no board with the id or name 'sample'.*'samples'"):
        handle.submit_sync(board_id="sample")
    assert not any(path.endswith("/enqueue_batch") for _, path, _ in server.requests)


def test_a_priority_the_server_cannot_honour_warns_and_prepends() -> None:
    server = FakeServer()
    handle = client_for(server).workflow_repo.create_workflow_handle(image_workflow())
    with pytest.warns(PriorityWarning, match="priority=5: the InvokeAI queue has no numeric"):
        handle.submit_sync(priority=5)
    assert server.requests[-2][2]["prepend"] is True
    with pytest.warns(PriorityWarning, match="priority=-1.*after them"):
        handle.submit_sync(priority=-1)
    assert server.requests[-2][2]["prepend"] is False


def test_a_model_typed_by_name_without_key_or_hash_resolves_by_name_base_and_type() -> None:
    server = FakeServer()
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
    server = FakeServer()
    handle = flows.Blur().submit(client_for(server), inputs)
    assert ("POST", "/api/v1/images/upload", None) in server.requests
    assert enqueued_batch(server)["graph"]["nodes"]["blur"]["image"] == {
        "image_name": "upload-0.png"
    }
    assert handle.get_uploaded_assets() == ["upload-0.png"]


def test_a_module_made_for_another_invokeai_warns_once_per_client() -> None:
    from generated.image_pipeline import ImagePipeline, ImagePipelineInputs

    server = FakeServer()
    server.version = "6.9.0"
    client = client_for(server)
    with pytest.warns(InvokeAIVersionWarning) as caught:
        ImagePipeline().run(client, ImagePipelineInputs())
        ImagePipeline().sweep(client, ImagePipelineInputs(), "crop_size", [16, 24])
    [warning] = caught
    assert str(warning.message).startswith(
        "ImagePipeline was generated against InvokeAI 6.14.2, but http://invokeai.test runs 6.9.0"
    )
    assert warning.filename == __file__
    assert [path for _, path, _ in server.requests].count("/api/v1/app/version") == 1
    with pytest.warns(InvokeAIVersionWarning):
        ImagePipeline().submit(client_for(server), ImagePipelineInputs())


def test_a_module_made_for_the_servers_invokeai_does_not_warn() -> None:
    from generated.image_pipeline import ImagePipeline, ImagePipelineInputs

    with warnings.catch_warnings():
        warnings.simplefilter("error", InvokeAIVersionWarning)
        outputs = ImagePipeline().run(client_for(FakeServer()), ImagePipelineInputs())
    assert outputs.save == []


def test_a_handle_without_a_client_says_how_to_get_one() -> None:
    from ivkgen.runtime import WorkflowDefinition, WorkflowHandle

    handle = WorkflowHandle(WorkflowDefinition.from_dict(image_workflow()))
    assert handle.client is None
    with pytest.raises(RuntimeError, match=r"has no client: create it with client\.workflow_repo"):
        handle.submit_sync()  # type: ignore[misc]
