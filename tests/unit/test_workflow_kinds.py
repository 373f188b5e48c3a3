"""Video outputs and inputs, called-workflow items, unknown node types and workflow blockers,
without a server (the live proof is ``tests/live/test_workflow_kinds_live.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ivkgen.generator.module import render_module
from ivkgen.runtime._jobs.called_items import called_item_ids
from ivkgen.runtime._jobs.outputs import (
    collect_files,
    created_names,
    graph_output_nodes,
    output_nodes,
)
from ivkgen.runtime._jobs.tracker import CalledItem
from ivkgen.runtime._media import OutputImage, OutputVideo
from ivkgen.runtime._repositories.videos import video_file
from ivkgen.runtime._server.dto import SessionQueueItem
from ivkgen.runtime._typed import OutputAt, WorkflowOutputs
from ivkgen.runtime._workflow.blockers import workflow_blockers
from ivkgen.runtime._workflow.catalog import default_catalog
from ivkgen.runtime._workflow.definition import WorkflowDefinition
from ivkgen.runtime._workflow.handle import WorkflowHandle

from tests.unit._workflows import edge, field, form, node, node_field, workflow

MP4 = b"\x00\x00\x00\x20ftypisom" + bytes(20)


def item(session: dict[str, Any], item_id: int = 3) -> SessionQueueItem:
    return SessionQueueItem.model_validate(
        {
            "item_id": item_id,
            "status": "completed",
            "batch_id": "b",
            "queue_id": "default",
            "session_id": f"s{item_id}",
            "created_at": "",
            "updated_at": "",
            "session": session,
        }
    )


def video_nodes() -> list[dict[str, Any]]:
    return [
        node("clip", "video", video=field("video")),
        node("range", "extract_video_range", is_intermediate=False, fps=0),
        node("frame", "video_frame_extract", is_intermediate=False),
        node("scratch", "extract_video_range"),
    ]


def test_video_saving_nodes_are_output_nodes_of_kind_video() -> None:
    data = workflow(video_nodes())
    found = output_nodes(data, default_catalog())
    assert [(n.node_id, n.kind) for n in found] == [("range", "video"), ("frame", "image")]


def test_videos_and_images_are_collected_and_created_videos_listed() -> None:
    nodes = output_nodes(workflow(video_nodes()), default_catalog())
    session = {
        "source_prepared_mapping": {"range": ["p1"], "frame": ["p2"]},
        "results": {
            "p1": {"type": "extract_video_range_output", "video": {"video_name": "v.mp4"}},
            "p2": {"type": "image_output", "image": {"image_name": "f.png"}},
            "p3": {"type": "video_output", "video": {"video_name": "passed.mp4"}},
        },
        "execution_graph": {
            "nodes": {
                "p1": {"type": "extract_video_range"},
                "p2": {"type": "video_frame_extract"},
                "p3": {"type": "video"},
            }
        },
    }
    video, image = collect_files(item(session), nodes)
    assert isinstance(video, OutputVideo) and video.name == "v.mp4"
    assert isinstance(image, OutputImage) and image.name == "f.png"
    assert created_names(item(session), default_catalog(), "video") == ["v.mp4"]


def test_an_mp4_is_checked_before_it_is_uploaded() -> None:
    assert video_file(MP4) == ("video.mp4", MP4, "video/mp4")
    with pytest.raises(ValueError, match="not an MP4 video"):
        video_file(b"\x89PNG\r\n\x1a\n" + bytes(8))


def test_a_video_input_takes_a_local_file_and_refuses_other_inputs(tmp_path: Path) -> None:
    data = workflow(
        video_nodes(), form=form(node_field("clip", "video"), node_field("range", "fps"))
    )
    handle = WorkflowHandle(WorkflowDefinition.from_dict(data))
    handle.set_input_video(0, MP4)
    with pytest.raises(TypeError, match="not a video input"):
        handle.set_input_video(1, MP4)
    with pytest.raises(ValueError, match="not an MP4"):
        handle.set_input_video(0, b"plain text")


def test_called_items_are_read_from_the_history_and_the_waiting_call() -> None:
    session = {
        "workflow_call_history": [{"source_call_node_id": "call", "child_item_ids": [7, 8]}],
        "waiting_workflow_call_execution": {"source_call_node_id": "later", "child_item_ids": [9]},
    }
    assert list(called_item_ids(session)) == [(7, "call"), (8, "call"), (9, "later")]
    assert list(called_item_ids({})) == []


def test_a_called_items_outputs_come_from_its_own_graph() -> None:
    session = {
        "graph": {
            "nodes": {
                "paint": {"type": "blank_image", "is_intermediate": False},
                "tmp": {"type": "blank_image", "is_intermediate": True},
            }
        },
        "source_prepared_mapping": {"paint": ["p"], "tmp": ["q"]},
        "results": {
            "p": {"image": {"image_name": "a.png"}},
            "q": {"image": {"image_name": "b.png"}},
        },
    }
    child = CalledItem(item(session, 9), "call")
    nodes = graph_output_nodes(child.item, default_catalog())
    (image,) = collect_files(child.item, nodes, called_by=child.called_by)
    assert (image.name, image.called_by, image.item_id) == ("a.png", "call", 9)


def test_typed_outputs_put_a_called_workflows_files_under_its_call_node() -> None:
    from typing import Annotated

    from ivkgen.runtime._typed import Workflow, WorkflowInputs

    class Outputs(WorkflowOutputs):
        called: Annotated[list[OutputImage | OutputVideo], OutputAt("call")]

    class Flow(Workflow[WorkflowInputs, Outputs]):
        outputs_class = Outputs

    common = {"node_label": "", "node_type": "blank_image", "prepared_node_id": "p"}
    child = OutputImage(
        image_name="a.png", node_id="paint", item_id=9, session_id="s", called_by="call", **common
    )
    assert Flow.__new__(Flow).outputs([child]).called == [child]


def test_generated_modules_type_video_outputs_inputs_and_call_nodes(tmp_path: Path) -> None:
    data = workflow(
        [*video_nodes(), node("call", "call_saved_workflow", label="Upscale", workflow_id="w")],
        form=form(node_field("clip", "video")),
        name="Clips",
    )
    source = tmp_path / "clips.json"
    source.write_text(json.dumps(data))
    text = render_module(source, tmp_path, default_catalog(), ["ivkgen gen clips.json"]).source
    assert "video: Annotated[IvkVideoField | VideoSource, At('clip', 'video')]" in text.replace(
        '"', "'"
    )
    assert 'Annotated[list[OutputVideo], OutputAt("range")]' in text
    assert 'Annotated[list[OutputImage], OutputAt("frame")]' in text
    assert 'upscale: Annotated[list[OutputImage | OutputVideo], OutputAt("call")]' in text
    assert '"""The images or videos of each output node, in workflow order."""' in text


def test_unknown_node_inputs_are_typed_from_their_saved_values_and_say_so() -> None:
    custom = node("c", "my_pack_node", count=3, ratio=0.5, title="x", image={"image_name": "i"})
    data = workflow(
        [custom],
        form=form(*(node_field("c", name) for name in ("count", "ratio", "title", "image"))),
    )
    handle = WorkflowHandle(WorkflowDefinition.from_dict(data))
    kinds = [type(entry.field).__name__ for entry in handle.list_inputs()]
    assert kinds == ["IvkIntegerField", "IvkFloatField", "IvkStringField", "IvkImageField"]
    assert all("typed from its saved value" in e.description for e in handle.list_inputs())
    problems = handle.validate_inputs()
    assert sorted(problems) == [0, 1, 2, 3] and len(problems.blockers) == 1
    assert "'my_pack_node'" in problems.workflow[0] and "node pack" in problems.workflow[0]


def test_generating_a_workflow_with_an_unknown_node_type_says_one_line_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ivkgen.cli.main import main

    source = tmp_path / "custom.json"
    source.write_text(json.dumps(workflow([node("c", "my_pack_node", count=3)])), "utf-8")
    assert main(["gen", str(source), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "c (my_pack_node)" in err and "--server URL" in err
    assert not (tmp_path / "out" / "custom.py").exists()


def test_blockers_name_edges_to_missing_fields_required_values_and_newer_versions() -> None:
    resize = node("r", "img_resize", width=8, height=8)
    resize["data"]["version"] = "99.0.0"
    blur = node("b", "img_blur", radius=1.0)
    data = workflow(
        [node("i", "integer", value=8), resize, blur],
        [edge("i", "mmditx", "r", "width"), edge("i", "value", "b", "no_such_input")],
    )
    found = workflow_blockers(WorkflowDefinition.from_dict(data), default_catalog())
    assert sorted((b.kind, b.node_id, b.field_name) for b in found) == [
        ("missing_field", "b", "no_such_input"),
        ("missing_field", "i", "mmditx"),
        ("newer_version", "r", None),
        ("required_value", "b", "image"),
        ("required_value", "r", "image"),
    ]
    in_form = workflow_blockers(
        WorkflowDefinition.from_dict(data), default_catalog(), form={("r", "image"), ("b", "image")}
    )
    assert not [b for b in in_form if b.kind == "required_value"]


def test_a_workflow_without_blockers_validates_empty_and_false() -> None:
    data = workflow([node("a", "blank_image", width=8, height=8)])
    problems = WorkflowHandle(WorkflowDefinition.from_dict(data)).validate_inputs()
    assert not problems and problems.blockers == []
