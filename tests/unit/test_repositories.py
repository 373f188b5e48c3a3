"""Repository requests match the server protocol; answers parse; bad input fails early."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from ivkgen.runtime import AsyncInvokeAIClient, InvokeAIClient, NotFoundError
from ivkgen.runtime._repositories.images import image_file
from ivkgen.runtime._repositories.workflows import workflow_json
from PIL import Image

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
B1 = "0c0ffee0-0000-4000-8000-0000000000b1"
"""A board id (the server's ids are UUIDs; other strings are board names)."""

BOARD = {
    "board_id": B1,
    "board_name": "Samples",
    "user_id": "system",
    "created_at": "t",
    "updated_at": "t",
    "cover_image_name": None,
    "archived": False,
    "image_count": 0,
    "asset_count": 0,
}
IMAGE = {
    "image_name": "i1.png",
    "image_url": "api/v1/images/i/i1.png/full",
    "thumbnail_url": "api/v1/images/i/i1.png/thumbnail",
    "image_origin": "external",
    "image_category": "user",
    "width": 8,
    "height": 8,
    "created_at": "t",
    "updated_at": "t",
    "is_intermediate": True,
    "starred": False,
    "has_workflow": False,
    "board_id": B1,
}
WORKFLOW: dict[str, Any] = {
    "id": "lib-1",
    "name": "Blur",
    "author": "",
    "description": "",
    "version": "1.0.0",
    "contact": "",
    "tags": "",
    "notes": "",
    "exposedFields": [],
    "meta": {"version": "3.0.0", "category": "default"},
    "nodes": [],
    "edges": [],
}
RECORD = {
    "workflow_id": "lib-1",
    "name": "Blur",
    "created_at": "t",
    "updated_at": "t",
    "user_id": "system",
    "is_public": False,
    "workflow": WORKFLOW,
}
MODEL = {"key": "k1", "hash": "blake3:aa", "name": "tiny-sd15", "base": "sd-1", "type": "main"}
STATUS = {"pending": 0, "in_progress": 0, "completed": 0, "failed": 0, "canceled": 0, "total": 0}


class Recorder:
    """A mock server answering every request with ``answer`` and keeping the requests."""

    def __init__(self, answer: Any = None, status: int = 200) -> None:
        self.answer = answer
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if isinstance(self.answer, bytes):
            return httpx.Response(self.status, content=self.answer)
        return httpx.Response(self.status, json=self.answer)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def client_for(recorder: Recorder) -> InvokeAIClient:
    return InvokeAIClient.from_url("http://h", transport=httpx.MockTransport(recorder))


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


# fmt: off
CASES: list[tuple[str, Callable[[InvokeAIClient], Any], Any, str, str, dict[str, Any], Any]] = [
    # name, call, answer, method, path, query, json body
    ("list boards", lambda c: c.board_repo.list_boards(), [BOARD], "GET", "/api/v1/boards/",
     {"all": "true", "include_archived": "false"}, None),
    ("get board", lambda c: c.board_repo.get_board(B1), BOARD, "GET", f"/api/v1/boards/{B1}", {},
     None),
    ("create board", lambda c: c.board_repo.create_board("My board"), BOARD, "POST",
     "/api/v1/boards/", {"board_name": "My board"}, None),
    ("update board", lambda c: c.board_repo.update_board(B1, board_name="N", archived=True),
     BOARD, "PATCH", f"/api/v1/boards/{B1}", {}, {"board_name": "N", "archived": True}),
    ("delete board", lambda c: c.board_repo.delete_board(B1),
     {"board_id": B1, "deleted_board_images": [], "deleted_images": []}, "DELETE",
     f"/api/v1/boards/{B1}", {"include_images": "false"}, None),
    ("handle images", lambda c: c.board_repo.get_board_handle(B1).list_images(limit=5),
     {"items": [IMAGE], "total": 1, "offset": 0, "limit": 5}, "GET", "/api/v1/images/",
     {"board_id": B1, "offset": "0", "limit": "5", "order_dir": "DESC"}, None),
    ("handle move", lambda c: c.board_repo.get_board_handle(B1).move_image_to("i1.png", "b2"),
     {"added_images": ["i1.png"]}, "POST", "/api/v1/board_images/", {},
     {"board_id": "b2", "image_name": "i1.png"}),
    ("handle move to none",
     lambda c: c.board_repo.get_board_handle(B1).move_image_to("i1.png", "none"),
     {"removed_images": ["i1.png"]}, "DELETE", "/api/v1/board_images/", {},
     {"image_name": "i1.png"}),
    ("handle remove", lambda c: c.board_repo.get_board_handle(B1).remove_image("i1.png"),
     {"removed_images": ["i1.png"]}, "DELETE", "/api/v1/board_images/", {},
     {"image_name": "i1.png"}),
    ("handle star", lambda c: c.board_repo.get_board_handle(B1).star_image("i1.png"),
     {"starred_images": ["i1.png"]}, "POST", "/api/v1/images/star", {},
     {"image_names": ["i1.png"]}),
    ("handle delete image", lambda c: c.board_repo.get_board_handle(B1).delete_image("i1.png"),
     {"deleted_images": ["i1.png"]}, "DELETE", "/api/v1/images/i/i1.png", {}, None),
    ("image dto", lambda c: c.image_repo.get_image_dto("i1.png"), IMAGE, "GET",
     "/api/v1/images/i/i1.png", {}, None),
    ("image metadata", lambda c: c.image_repo.get_image_metadata("i1.png"), {"seed": 1}, "GET",
     "/api/v1/images/i/i1.png/metadata", {}, None),
    ("image full", lambda c: c.image_repo.download_image("i1.png"), PNG, "GET",
     "/api/v1/images/i/i1.png/full", {}, None),
    ("image thumbnail", lambda c: c.image_repo.download_thumbnail("i1.png"), b"RIFF", "GET",
     "/api/v1/images/i/i1.png/thumbnail", {}, None),
    ("delete many", lambda c: c.image_repo.delete_images(["a.png", "b.png"]),
     {"deleted_images": ["a.png", "b.png"]}, "POST", "/api/v1/images/delete", {},
     {"image_names": ["a.png", "b.png"]}),
    ("list images", lambda c: c.image_repo.list_images(board_id="none", is_intermediate=False),
     {"items": [], "total": 0, "offset": 0, "limit": 100}, "GET", "/api/v1/images/",
     {"board_id": "none", "is_intermediate": "false", "offset": "0", "limit": "100",
      "order_dir": "DESC", "starred_first": "false"}, None),
    ("list workflows", lambda c: c.workflow_repo.list_workflows(per_page=5, categories=["user"]),
     {"page": 0, "pages": 1, "per_page": 5, "total": 0, "items": []}, "GET", "/api/v1/workflows/",
     {"page": "0", "per_page": "5", "order_by": "name", "direction": "ASC",
      "categories": "user"}, None),
    ("get workflow", lambda c: c.workflow_repo.get_workflow("lib-1"), RECORD, "GET",
     "/api/v1/workflows/i/lib-1", {}, None),
    ("delete workflow", lambda c: c.workflow_repo.delete_workflow("lib-1"), None, "DELETE",
     "/api/v1/workflows/i/lib-1", {}, None),
    ("list models", lambda c: c.model_repo.list_models(base="sdxl", type="main"),
     {"models": [MODEL]}, "GET", "/api/v2/models/", {"base_models": "sdxl", "model_type": "main"},
     None),
    ("get model", lambda c: c.model_repo.get_model("k1"), MODEL, "GET", "/api/v2/models/i/k1", {},
     None),
    ("model by hash", lambda c: c.model_repo.get_model_by_hash("blake3:aa"), MODEL, "GET",
     "/api/v2/models/get_by_hash", {"hash": "blake3:aa"}, None),
    ("model by attrs", lambda c: c.model_repo.get_model_by_attrs("tiny-sd15", "sd-1", "main"),
     MODEL, "GET", "/api/v2/models/get_by_attrs",
     {"name": "tiny-sd15", "base": "sd-1", "type": "main"}, None),
    ("queue status", lambda c: c.queue_repo.get_status(),
     {"queue": {"queue_id": "default", **STATUS}, "processor": {"is_started": True,
                                                                "is_processing": False}},
     "GET", "/api/v1/queue/default/status", {}, None),
    ("items by ids", lambda c: c.queue_repo.get_queue_items([3, 1]), [], "POST",
     "/api/v1/queue/default/items_by_ids", {}, {"item_ids": [3, 1]}),
    ("batch status", lambda c: c.queue_repo.get_batch_status("bt"),
     {"queue_id": "default", "batch_id": "bt", **STATUS}, "GET",
     "/api/v1/queue/default/b/bt/status", {}, None),
    ("cancel by batch", lambda c: c.queue_repo.cancel_by_batch_ids(["bt"]), {"canceled": 2},
     "PUT", "/api/v1/queue/default/cancel_by_batch_ids", {}, {"batch_ids": ["bt"]}),
    ("prune", lambda c: c.queue_repo.prune(), {"deleted": 4}, "PUT",
     "/api/v1/queue/default/prune", {}, None),
    ("clear", lambda c: c.queue_repo.clear(), {"deleted": 4}, "PUT",
     "/api/v1/queue/default/clear", {}, None),
    ("enqueue", lambda c: c.queue_repo.enqueue_batch({"batch": {"graph": {}}, "prepend": False}),
     {"queue_id": "default", "enqueued": 1, "requested": 1, "batch": {"batch_id": "bt"},
      "priority": 0, "item_ids": [7]}, "POST", "/api/v1/queue/default/enqueue_batch", {},
     {"batch": {"graph": {}}, "prepend": False}),
]
# fmt: on


@pytest.mark.parametrize(
    ("call", "answer", "method", "path", "params", "json_body"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_request_shape(
    call: Callable[[InvokeAIClient], Any],
    answer: Any,
    method: str,
    path: str,
    params: dict[str, Any],
    json_body: Any,
) -> None:
    recorder = Recorder(answer)
    call(client_for(recorder))
    request = recorder.last
    assert (request.method, request.url.path) == (method, path)
    assert dict(request.url.params) == params
    if json_body is None:
        assert request.content == b""
    else:
        assert body(request) == json_body


def test_answers_are_parsed_into_typed_values() -> None:
    client = client_for(Recorder([BOARD]))
    board = client.board_repo.list_boards()[0]
    assert (board.board_id, board.board_name) == (B1, "Samples")
    client = client_for(Recorder({"models": [MODEL]}))
    assert client.model_repo.list_models()[0].identifier() == {**MODEL, "submodel_type": None}
    client = client_for(Recorder({"removed_images": []}))
    assert client.board_repo.get_board_handle(B1).remove_image("i1.png") is False
    client = client_for(Recorder({"deleted": 4}))
    assert client.queue_repo.prune() == 4


def test_get_board_by_name_filters_exact_names() -> None:
    other = {**BOARD, "board_id": "b2", "board_name": "Samples 2"}
    client = client_for(Recorder([other, BOARD]))
    found = client.board_repo.get_board_by_name("Samples")
    assert found is not None and found.board_id == B1
    assert client.board_repo.get_board_by_name("samples") is None


def test_find_models_filters_by_hash() -> None:
    other = {**MODEL, "key": "k2", "hash": "blake3:bb"}
    client = client_for(Recorder({"models": [MODEL, other]}))
    assert [m.key for m in client.model_repo.find_models(hash="blake3:bb")] == ["k2"]
    assert client.model_repo.find_models(name="x", hash="blake3:cc") == []


def test_names_are_escaped_in_paths() -> None:
    recorder = Recorder(IMAGE)
    client_for(recorder).image_repo.get_image_dto("../../boards/x")
    assert recorder.last.url.raw_path == b"/api/v1/images/i/..%2F..%2Fboards%2Fx"


def test_upload_sends_file_category_intermediate_board_and_metadata(tmp_path: Path) -> None:
    recorder = Recorder(IMAGE, status=201)
    path = tmp_path / "in.png"
    Image.new("RGB", (8, 8)).save(path)
    dto = (
        client_for(recorder)
        .board_repo.get_board_handle(B1)
        .upload_image(path, category="user", is_intermediate=True, metadata={"seed": 3})
    )
    request = recorder.last
    assert (request.method, request.url.path) == ("POST", "/api/v1/images/upload")
    assert dict(request.url.params) == {
        "image_category": "user",
        "is_intermediate": "true",
        "board_id": B1,
    }
    content = request.content
    assert b'name="file"; filename="in.png"' in content
    assert b"Content-Type: image/png" in content
    assert b'name="metadata"' in content and b'{"seed": 3}' in content
    assert dto.image_name == "i1.png" and dto.is_intermediate


def test_image_sources(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="JPEG")
    assert image_file(buffer.getvalue())[::2] == ("image.jpg", "image/jpeg")
    name, data, mime = image_file(Image.new("RGBA", (4, 4)))
    assert (name, mime) == ("image.png", "image/png")
    assert Image.open(io.BytesIO(data)).size == (4, 4)
    webp = tmp_path / "x.webp"
    Image.new("RGB", (4, 4)).save(webp)
    assert image_file(str(webp), filename="y.webp")[::2] == ("y.webp", "image/webp")


def test_non_images_are_refused_before_upload(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"'notes\.txt' is not a PNG, JPEG"):
        image_file(text)
    with pytest.raises(TypeError, match="give a file path, image bytes or a PIL image"):
        image_file(42)  # type: ignore[arg-type]


def test_name_lists_are_checked() -> None:
    client = client_for(Recorder({}))
    with pytest.raises(TypeError, match="list of image names"):
        client.image_repo.delete_images("a.png")
    with pytest.raises(ValueError, match="at most 1000"):
        client.image_repo.delete_images([f"{i}.png" for i in range(1001)])
    with pytest.raises(ValueError, match="at most 1000"):
        client.queue_repo.get_queue_items(list(range(1001)))


def test_workflow_json_is_a_user_copy_without_id() -> None:
    data = workflow_json(WORKFLOW)
    assert "id" not in data and data["meta"] == {"version": "3.0.0", "category": "user"}
    assert WORKFLOW["id"] == "lib-1" and WORKFLOW["meta"]["category"] == "default"
    with pytest.raises(ValueError, match="not an InvokeAI workflow"):
        workflow_json({"name": "x"})


def test_create_and_update_workflow_bodies() -> None:
    recorder = Recorder(RECORD)
    client = client_for(recorder)
    client.workflow_repo.create_workflow(WORKFLOW)
    assert body(recorder.last) == {"workflow": workflow_json(WORKFLOW)}
    client.workflow_repo.update_workflow("lib-1", WORKFLOW)
    request = recorder.last
    assert (request.method, request.url.path) == ("PATCH", "/api/v1/workflows/i/lib-1")
    assert body(request)["workflow"]["id"] == "lib-1"


def test_download_workflow_as_definition_and_file(tmp_path: Path) -> None:
    client = client_for(Recorder(RECORD))
    definition = client.workflow_repo.download_workflow("lib-1")
    assert (definition.name, definition.id) == ("Blur", "lib-1")
    path = client.workflow_repo.download_workflow_file("lib-1", tmp_path / "blur.json")
    assert json.loads(path.read_text()) == WORKFLOW


def test_upload_workflow_file_checks_then_creates(tmp_path: Path) -> None:
    recorder = Recorder(RECORD)
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(WORKFLOW))
    record = client_for(recorder).workflow_repo.upload_workflow_file(path)
    assert record.workflow_id == "lib-1"
    assert body(recorder.last)["workflow"]["name"] == "Blur"
    from ivkgen.runtime._errors import WorkflowError

    path.write_text("{}")
    with pytest.raises(WorkflowError):
        client_for(recorder).workflow_repo.upload_workflow_file(path)


def test_create_workflow_handle_makes_independent_handles() -> None:
    from ivkgen.runtime._workflow.handle import WorkflowHandle

    client = client_for(Recorder())
    first = client.workflow_repo.create_workflow_handle(WORKFLOW)
    second = client.workflow_repo.create_workflow_handle(WORKFLOW)
    assert isinstance(first, WorkflowHandle) and first is not second
    assert first.definition.name == "Blur"


def test_not_found_is_raised_for_a_missing_object() -> None:
    client = client_for(Recorder({"detail": "Board not found"}, status=404))
    with pytest.raises(NotFoundError, match="GET /api/v1/boards/nope: not found"):
        client.board_repo.get_board("nope")


async def test_async_repositories_send_the_same_requests() -> None:
    recorder = Recorder([BOARD])
    client = AsyncInvokeAIClient.from_url("http://h", transport=httpx.MockTransport(recorder))
    boards = await client.board_repo.list_boards()
    handle = client.board_repo.get_board_handle(B1)
    recorder.answer = {"starred_images": ["i1.png"]}
    assert await handle.star_image("i1.png") is True
    assert boards[0].board_id == B1
    assert [f"{r.method} {r.url.path}" for r in recorder.requests] == [
        "GET /api/v1/boards/",
        "POST /api/v1/images/star",
    ]
    await client.aclose()


def test_a_board_handle_by_name_looks_the_board_up_once() -> None:
    recorder = Recorder([{**BOARD, "board_name": "samples"}])
    handle = client_for(recorder).board_repo.get_board_handle("samples")
    assert handle.board_id == B1 and len(recorder.requests) == 1
    assert client_for(recorder).board_repo.get_board_handle(B1).board_id == B1
    assert len(recorder.requests) == 1  # an id costs no request
    with pytest.raises(NotFoundError, match=r"no board with the id or name 'other'.*'samples'"):
        client_for(recorder).board_repo.get_board_handle("other")


def test_board_images_are_ordered_by_creation_time_only() -> None:
    recorder = Recorder({"items": [{"image_name": "a.png"}]})
    handle = client_for(recorder).board_repo.get_board_handle(B1)
    assert handle.list_images(limit=10, order_by="created_at") == ["a.png"]
    with pytest.raises(ValueError, match="orders images by creation time only"):
        handle.list_images(order_by="starred")  # type: ignore[arg-type]


def test_the_workflow_repository_keeps_the_handles_it_makes() -> None:
    recorder = Recorder(RECORD)
    repo = client_for(recorder).workflow_repo
    handle = repo.get_workflow_handle("lib-1")
    assert handle.definition.name == "Blur" and repo.get_workflow_handle("lib-1") is handle
    assert [str(r.url.path) for r in recorder.requests] == ["/api/v1/workflows/i/lib-1"]
    other = repo.create_workflow_handle(WORKFLOW)
    assert repo.list_workflow_handles() == [handle, other]
    del other
    assert repo.list_workflow_handles() == [handle]


async def test_the_async_repository_loads_a_library_handle_once() -> None:
    recorder = Recorder(RECORD)
    client = AsyncInvokeAIClient.from_url("http://h", transport=httpx.MockTransport(recorder))
    handle = await client.workflow_repo.get_workflow_handle("lib-1")
    assert await client.workflow_repo.get_workflow_handle("lib-1") is handle
    assert len(recorder.requests) == 1


def test_an_image_field_uploads_a_local_image_and_downloads_it_again() -> None:
    from ivkgen.runtime import IvkImageField

    recorder = Recorder(IMAGE)
    client = client_for(recorder)
    field = IvkImageField()
    with pytest.raises(ValueError, match="names no image"):
        field.download(client)
    dto = field.upload(client, PNG, board_id=B1)
    assert field.value == dto.image_name == IMAGE["image_name"]
    assert recorder.last.url.params["board_id"] == B1
    recorder.answer = PNG
    assert field.download(client) == PNG
    assert recorder.last.url.path == f"/api/v1/images/i/{IMAGE['image_name']}/full"
