"""Output nodes, images per node from a final session, safe names, model resolution, uploads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from ivkgen.runtime import AsyncInvokeAIClient
from ivkgen.runtime._errors import WorkflowError
from ivkgen.runtime._jobs.outputs import collect_outputs, created_names, output_nodes
from ivkgen.runtime._jobs.plans import ClientDownloader
from ivkgen.runtime._jobs.resolve import resolve_models
from ivkgen.runtime._jobs.uploads import PendingImage, Uploaded, UploadTracker
from ivkgen.runtime._media import Downloader, OutputImage, OutputKind, safe_file_name
from ivkgen.runtime._server.dto import ModelConfig, SessionQueueItem
from ivkgen.runtime._workflow.catalog import default_catalog
from ivkgen.runtime._workflow.definition import WorkflowDefinition

from tests.unit._workflows import node, workflow

REPO = Path(__file__).resolve().parents[2]
CATALOG = default_catalog()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def test_output_nodes_are_savers_kept_out_of_the_intermediates() -> None:
    data = workflow(
        [
            node("blank", "blank_image"),
            node("blur", "img_blur", is_intermediate=False, label="Blurred"),
            node("boarded", "img_resize", board={"board_id": "b1"}),
            node("save", "save_image"),
            node("passthrough", "image", is_intermediate=False),
            node("text", "string", is_intermediate=False),
        ]
    )
    found = output_nodes(data, CATALOG)
    assert [(n.node_id, n.node_type, n.title) for n in found] == [
        ("blur", "img_blur", "Blurred"),
        ("boarded", "img_resize", "img_resize"),
        ("save", "save_image", "save_image"),
    ]


def test_team_workflows_have_the_expected_output_nodes() -> None:
    def ids(name: str) -> list[str]:
        definition = WorkflowDefinition.from_file(REPO / "data" / "workflows" / name)
        return [n.node_id for n in output_nodes(definition, CATALOG)]

    assert ids("image-pipeline.json") == ["save_image:ZkSBvrjn9W"]
    assert ids("width-sweep.json") == ["img_blur:evbLJoLoae"]
    assert ids("sd15-text-to-image.json") == ["l2i:R3pzh84KpL"]


def session_item(session: dict[str, Any]) -> SessionQueueItem:
    return SessionQueueItem.model_validate(
        {
            "item_id": 3,
            "status": "completed",
            "batch_id": "b",
            "queue_id": "default",
            "session_id": "s3",
            "created_at": "",
            "updated_at": "",
            "session": session,
        }
    )


def image_result(name: str) -> dict[str, Any]:
    return {"type": "image_output", "image": {"image_name": name}, "width": 8, "height": 8}


def test_every_iterate_copy_of_a_node_gives_an_output_with_its_board() -> None:
    data = workflow([node("blur", "img_blur", is_intermediate=False, label="Blur")])
    item = session_item(
        {
            "graph": {"nodes": {"blur": {"type": "img_blur", "board": {"board_id": "bd"}}}},
            "execution_graph": {"nodes": {p: {"type": "img_blur"} for p in ("p1", "p2", "p3")}},
            "source_prepared_mapping": {"blur": ["p1", "p2", "p3"]},
            "results": {p: image_result(f"{p}.png") for p in ("p3", "p1", "p2")},
        }
    )
    outputs = collect_outputs(item, output_nodes(data, CATALOG))
    assert [(o.image_name, o.node_label, o.board_id) for o in outputs] == [
        ("p1.png", "Blur", "bd"),
        ("p2.png", "Blur", "bd"),
        ("p3.png", "Blur", "bd"),
    ]


def test_created_images_leave_out_pass_through_nodes() -> None:
    item = session_item(
        {
            "execution_graph": {"nodes": {"a": {"type": "image"}, "b": {"type": "img_blur"}}},
            "results": {"a": image_result("input.png"), "b": image_result("made.png")},
        }
    )
    assert created_names(item, CATALOG, "image") == ["made.png"]


@pytest.mark.parametrize("name", ["", ".", "..", "../x.png", "a/b.png", "a\\b.png", "x\x00.png"])
def test_server_names_that_could_escape_the_folder_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="path separator"):
        safe_file_name(name)


class Downloads(Downloader):
    """Serves ``PNG`` for every name, blocking and awaited."""

    def fetch(self, kind: OutputKind, name: str) -> bytes:
        return PNG

    async def afetch(self, kind: OutputKind, name: str) -> bytes:
        return PNG


def _output(**changes: Any) -> OutputImage:
    fields: dict[str, Any] = {
        "image_name": "x.png",
        "node_id": "n",
        "node_label": "N",
        "node_type": "save_image",
        "prepared_node_id": "p",
        "item_id": 1,
        "session_id": "s",
    }
    return OutputImage(**{**fields, **changes})


async def test_an_output_saves_under_its_name_blocking_or_awaited(tmp_path: Path) -> None:
    image = _output(downloader=Downloads())
    assert image.save(tmp_path / "out") == tmp_path / "out" / "x.png"
    assert (tmp_path / "out" / "x.png").read_bytes() == PNG
    assert await image.asave(tmp_path / "async") == tmp_path / "async" / "x.png"
    assert (tmp_path / "async" / "x.png").read_bytes() == PNG
    assert "downloader" not in image.model_dump() and "Downloads" not in repr(image)
    evil = _output(image_name="../evil.png", downloader=Downloads())
    with pytest.raises(ValueError):
        evil.save(tmp_path)
    with pytest.raises(ValueError):
        await evil.asave(tmp_path)
    assert not (tmp_path.parent / "evil.png").exists()


async def test_an_output_without_a_client_says_how_to_download_it() -> None:
    with pytest.raises(RuntimeError, match="no client"):
        _output().to_bytes()
    with pytest.raises(RuntimeError, match="no client"):
        await _output().ato_bytes()


async def test_outputs_of_an_async_client_download_only_awaited(tmp_path: Path) -> None:
    served: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        served.append(request.url.path)
        return httpx.Response(200, content=PNG)

    client = AsyncInvokeAIClient.from_url(
        "http://invokeai.test", transport=httpx.MockTransport(serve)
    )
    image = _output(downloader=ClientDownloader(client))
    with pytest.raises(TypeError, match=r"await output\.asave\(folder\)"):
        image.save(tmp_path)
    assert await image.ato_bytes() == PNG
    assert served == ["/api/v1/images/i/x.png/full"]
    await client.aclose()


# Model resolution ----------------------------------------------------------------------------

INSTALLED = [
    ModelConfig(key="k-sd15", hash="blake3:aa", name="tiny-sd15", base="sd-1", type="main"),
    ModelConfig(key="k-sdxl", hash="blake3:bb", name="tiny-sdxl", base="sdxl", type="main"),
    ModelConfig(key="k-vae", hash="blake3:cc", name="tiny-vae", base="sd-1", type="vae"),
]


def model_graph(value: dict[str, Any]) -> dict[str, Any]:
    return {"nodes": {"loader": {"id": "loader", "type": "main_model_loader", "model": value}}}


def ident(key: str, hash: str, name: str, base: str = "sd-1") -> dict[str, Any]:
    return {"key": key, "hash": hash, "name": name, "base": base, "type": "main"}


def test_models_resolve_by_key_then_hash_then_name_base_and_type() -> None:
    by_key = ident("k-sd15", "blake3:aa", "tiny-sd15")
    assert resolve_models(model_graph(by_key), CATALOG, INSTALLED) == {}
    by_hash = ident("elsewhere", "blake3:aa", "renamed")
    patch = resolve_models(model_graph(by_hash), CATALOG, INSTALLED)[("loader", "model")]
    assert (patch["key"], patch["name"]) == ("k-sd15", "tiny-sd15")
    by_name = ident("elsewhere", "blake3:zz", "tiny-sd15")
    patch = resolve_models(model_graph(by_name), CATALOG, INSTALLED)[("loader", "model")]
    assert (patch["key"], patch["hash"]) == ("k-sd15", "blake3:aa")


def test_a_missing_model_names_the_node_field_and_close_candidates() -> None:
    missing = ident("gone", "blake3:zz", "tiny-sd1.5")
    with pytest.raises(WorkflowError) as caught:
        resolve_models(model_graph(missing), CATALOG, INSTALLED, labels={"loader": "Loader"})
    error = caught.value
    assert (error.node_id, error.field_name) == ("loader", "model")
    assert "'Loader'" in str(error) and "'tiny-sd15' (sd-1 main)" in str(error)
    assert "tiny-vae" not in str(error)


def test_a_model_of_a_base_the_loader_does_not_take_is_refused_with_those_it_takes() -> None:
    sdxl = ident("k-sdxl", "blake3:bb", "tiny-sdxl", "sdxl")
    with pytest.raises(WorkflowError) as caught:
        resolve_models(model_graph(sdxl), CATALOG, INSTALLED, labels={"loader": "Loader"})
    assert str(caught.value) == (
        "node 'Loader' (loader) field 'model' takes a main model of base sd-1 or sd-2; "
        "'tiny-sdxl' is a main model of base sdxl; installed models it takes: 'tiny-sd15' (sd-1)"
    )


def test_a_model_the_user_set_is_checked_but_never_replaced() -> None:
    user_value = ident("gone", "blake3:aa", "tiny-sd15")
    with pytest.raises(WorkflowError, match="not installed"):
        resolve_models(model_graph(user_value), CATALOG, INSTALLED, user_set={("loader", "model")})


# Uploads -------------------------------------------------------------------------------------


def test_an_upload_deleted_by_clean_up_is_made_again_next_time() -> None:
    tracker = UploadTracker()
    tracker.add(PendingImage(0, PNG))
    assert [p.index for p in tracker.to_upload()] == [0]
    tracker.record(0, Uploaded("u.png", "image"))
    assert tracker.to_upload() == [] and [u.name for u in tracker.assets()] == ["u.png"]
    tracker.forget("u.png")
    assert [p.index for p in tracker.to_upload()] == [0] and tracker.assets() == []


def test_an_upload_whose_input_gets_another_file_is_still_cleaned_up() -> None:
    tracker = UploadTracker()
    tracker.add(PendingImage(0, PNG))
    tracker.record(0, Uploaded("first.png", "image"))
    tracker.add(PendingImage(0, PNG))
    assert [p.index for p in tracker.to_upload()] == [0]
    tracker.record(0, Uploaded("second.png", "image"))
    assert [u.name for u in tracker.assets()] == ["first.png", "second.png"]
    tracker.forget("first.png")
    assert [u.name for u in tracker.assets()] == ["second.png"] and tracker.to_upload() == []


def test_a_non_image_is_refused_when_given_not_at_submission() -> None:
    with pytest.raises(ValueError, match="not a PNG"):
        UploadTracker().add(PendingImage(0, b"plain text"))
