"""Every kind of workflow InvokeAI 6.14.2 runs, on a server with the suite's own node pack
(``tests/live/nodepack``): video in and out, a saved workflow called from another, and a
custom node type through ``ivkgen fields``, ``gen``, ``check`` and ``run``. Each test leaves the
server's image, video and queue counts as it found them."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ivkgen.cli.main import main
from ivkgen.runtime._client import AsyncInvokeAIClient, InvokeAIClient
from ivkgen.runtime._errors import WorkflowError
from ivkgen.runtime._events.messages import QueueItemStatusChangedEvent
from ivkgen.runtime._repositories.videos import is_mp4
from ivkgen.runtime._workflow.catalog import Catalog, default_catalog
from ivkgen.runtime._workflow.definition import WorkflowDefinition
from ivkgen.runtime._workflow.handle import WorkflowHandle
from PIL import Image

from tests import conftest
from tests.harness.install import venv_python
from tests.harness.server import InvokeAIServer
from tests.live._runs import image_count
from tests.unit._workflows import edge, form, node, node_field, workflow

NODEPACK = Path(__file__).with_name("nodepack") / "ivkgen_stripes"
FRAMES = 8
FPS = 8


@pytest.fixture(scope="module")
def server() -> Iterator[InvokeAIServer]:
    """A single-user server with the ``ivkgen_stripes`` node pack installed (no models)."""
    server = InvokeAIServer(node_packs=(NODEPACK,))
    conftest.started_servers.append(server)
    try:
        yield server.start()
    finally:
        server.stop()
        server.remove_root()


@pytest.fixture(scope="module")
def client(server: InvokeAIServer) -> Iterator[InvokeAIClient]:
    with InvokeAIClient.from_url(server.url) as client:
        yield client


def video_count(client: InvokeAIClient) -> int:
    return sum(
        client.video_repo.list_videos(is_intermediate=flag, limit=1).total for flag in (True, False)
    )


def counts(client: InvokeAIClient) -> tuple[int, int, int]:
    """Images, videos and queue items on the server."""
    return image_count(client), video_count(client), len(client.queue_repo.list_item_ids())


def make_mp4(folder: Path) -> Path:
    """An 8-frame 64x64 MP4 at 8 fps, made with the ffmpeg the server venv ships."""
    ffmpeg = subprocess.run(
        [str(venv_python()), "-c", "import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    target = folder / "clip.mp4"
    command = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"]
    command += ["-i", f"testsrc=size=64x64:rate={FPS}", "-frames:v", str(FRAMES)]
    command += ["-pix_fmt", "yuv420p", "-c:v", "libx264", str(target)]
    subprocess.run(command, check=True)
    return target


def versioned(data: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    """The workflow with each node saved at its type's version in ``catalog``."""
    for item in data["nodes"]:
        spec = catalog.nodes.get(item["data"]["type"])
        if spec is not None:
            item["data"]["version"] = spec.version
    return data


def video_workflow() -> dict[str, Any]:
    """Clip (a video input) -> frames 2..5 as a new video -> frame 1 of that as an image."""
    nodes = [
        node(
            "clip", "video", label="Clip", video={"name": "video", "label": "", "description": ""}
        ),
        node(
            "range",
            "extract_video_range",
            is_intermediate=False,
            use_cache=False,
            start_frame=2,
            end_frame=5,
            fps=0,
        ),
        node("frame", "video_frame_extract", is_intermediate=False, use_cache=False, frame_index=1),
    ]
    edges = [edge("clip", "video", "range", "video"), edge("range", "video", "frame", "video")]
    return versioned(
        workflow(nodes, edges, form=form(node_field("clip", "video")), version="4.0.0"),
        default_catalog(),
    )


def test_a_video_goes_in_and_a_video_and_an_image_come_out_leaving_nothing_behind(
    client: InvokeAIClient, tmp_path: Path
) -> None:
    path = tmp_path / "video.json"
    path.write_text(json.dumps(video_workflow()))
    before = counts(client)
    handle = client.workflow_repo.create_workflow_handle(str(path))
    clip = handle.find_input("Video")
    assert type(clip.field).__name__ == "IvkVideoField"
    handle.set_input_video(clip.input_index, make_mp4(tmp_path))
    with handle:
        handle.submit_sync()
        (uploaded,) = handle.get_uploaded_assets()
        assert client.video_repo.get_video_dto(uploaded).width == 64
        handle.wait_for_completion_sync(timeout=180)
        (video,) = handle.get_output_videos()
        (image,) = handle.get_outputs()
        assert (video.node_id, image.node_id) == ("range", "frame")
        record = client.video_repo.get_video_dto(video.video_name)
        assert (record.width, record.height, record.fps) == (64, 64, float(FPS))
        assert record.duration == pytest.approx(4 / FPS)
        assert is_mp4(video.to_bytes())
        assert image.to_pil().size == (64, 64)
        saved = handle.download_outputs(tmp_path / "out")
        assert sorted(p.name for p in saved) == sorted([video.video_name, image.image_name])
        assert is_mp4((tmp_path / "out" / video.video_name).read_bytes())
        assert sorted(handle.cleanup_outputs()) == sorted([video.video_name, image.image_name])
        assert handle.cleanup_queue_items() == handle.item_ids
    assert handle.get_uploaded_assets() == []
    assert counts(client) == before


def child_workflow() -> dict[str, Any]:
    """A callable workflow: one saved 40x24 image, and the workflow_return node calls need."""
    nodes = [
        node("paint", "blank_image", is_intermediate=False, use_cache=False, width=40, height=24),
        node("ret", "workflow_return"),
    ]
    data = versioned(
        workflow(nodes, name="ivkgen called workflow", version="4.0.0"), default_catalog()
    )
    return data


def parent_workflow(workflow_id: str) -> dict[str, Any]:
    nodes = [
        node(
            "call", "call_saved_workflow", label="Call", workflow_id=workflow_id, workflow_inputs={}
        )
    ]
    return versioned(workflow(nodes, name="ivkgen caller", version="4.0.0"), default_catalog())


def test_a_called_saved_workflow_is_waited_for_collected_and_cleaned_up(
    server: InvokeAIServer, client: InvokeAIClient
) -> None:
    record = client.workflow_repo.create_workflow(WorkflowDefinition.from_dict(child_workflow()))
    before = counts(client)
    try:
        statuses, outputs, deleted, items = asyncio.run(
            _call_and_clean(server.url, parent_workflow(record.workflow_id))
        )
    finally:
        client.workflow_repo.delete_workflow(record.workflow_id)
    parent, child = items
    assert "waiting" in statuses[parent], statuses
    assert statuses[parent][-1] == "completed" and statuses[child][-1] == "completed"
    (image,) = outputs
    assert (image.called_by, image.node_id, image.item_id) == ("call", "paint", child)
    assert image.node_type == "blank_image"
    assert deleted == [image.image_name]
    assert counts(client) == before


async def _call_and_clean(
    url: str, parent: dict[str, Any]
) -> tuple[dict[int, list[str]], list[Any], list[str], list[int]]:
    """Run the caller, recording every status change of its batch from the event socket."""
    statuses: dict[int, list[str]] = {}
    async with AsyncInvokeAIClient.from_url(url) as client:
        socket = await client.connect_socketio().connect()
        await socket.subscribe()
        listening = socket.listen_events(kinds=["queue_item_status_changed"])

        async def record() -> None:
            async for event in listening:
                if isinstance(event, QueueItemStatusChangedEvent) and isinstance(
                    event.item_id, int
                ):
                    statuses.setdefault(event.item_id, []).append(event.status)

        recorder = asyncio.create_task(record())
        handle = client.workflow_repo.create_workflow_handle(WorkflowDefinition.from_dict(parent))
        async with handle:
            await handle.submit(socket=socket)
            await handle.wait_for_completion(timeout=120)
            outputs = await handle.aget_outputs()
            items = sorted({handle.item_ids[0], *(o.item_id for o in outputs)})
            for image in outputs:
                assert (await client.image_repo.get_image_dto(image.image_name)).width == 40
            deleted = await handle.acleanup_outputs()
            await handle.acleanup_queue_items()
            remaining = set(await client.queue_repo.list_item_ids())
            assert remaining.isdisjoint(items), "the caller and the called item are deleted"
        listening.close()
        await recorder
        await socket.close()
    return statuses, outputs, deleted, items


def stripes_workflow() -> dict[str, Any]:
    """One ``ivkgen_stripes`` node (the suite's node pack) saving its image; its count and
    width are in the form."""
    stripes = node(
        "stripes",
        "ivkgen_stripes",
        label="Stripes",
        is_intermediate=False,
        use_cache=False,
        width=32,
        height=16,
        count=4,
    )
    stripes["data"]["nodePack"] = "ivkgen_stripes"
    layout = form(node_field("stripes", "count"), node_field("stripes", "width"))
    return workflow([stripes], form=layout, version="4.0.0", name="Stripes")


def test_a_custom_node_pack_workflow_loads_offline_and_runs_through_the_cli(
    server: InvokeAIServer,
    client: InvokeAIClient,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "stripes.json"
    path.write_text(json.dumps(stripes_workflow()))
    source = str(path)

    # The bundled 6.14.2 catalog lacks the type: it loads, lists, names it, refuses to send.
    assert main(["inputs", source]) == 0
    listing = capsys.readouterr().out
    assert "Type: IvkIntegerField" in listing and "Current Value: 4" in listing
    assert "  ivkgen_stripes (node stripes)" in listing
    handle = WorkflowHandle(WorkflowDefinition.from_file(path)).bind_client(client)
    problems = handle.validate_inputs()
    assert problems and "'ivkgen_stripes'" in problems.workflow[0]
    assert all("'ivkgen_stripes'" in messages[0] for messages in problems.values())
    before = counts(client)
    with pytest.raises(WorkflowError, match="ivkgen_stripes") as refused:
        handle.submit_sync()
    assert refused.value.node_id == "stripes"
    assert counts(client) == before
    assert main(["gen", source, "-o", str(tmp_path / "offline")]) == 2  # bad input here
    error = capsys.readouterr().err.strip()
    assert "stripes (ivkgen_stripes)" in error and "--server URL" in error
    assert len(error.splitlines()) == 1 and not (tmp_path / "offline" / "stripes.py").exists()

    # Against the server that has the pack.
    fields = tmp_path / "fields"
    assert main(["fields", "--server", server.url, "-o", str(fields)]) == 0, capsys.readouterr()
    catalog = Catalog.from_dir(fields)
    assert catalog.node("ivkgen_stripes").inputs["count"].constraints == {"ge": 1, "le": 64}
    mods = tmp_path / "mods"
    assert main(["gen", source, "--server", server.url, "-o", str(mods)]) == 0, capsys.readouterr()
    module = (mods / "stripes.py").read_text()
    assert 'count: Annotated[int, Field(ge=1, le=64), At("stripes", "count")] = 4' in module
    assert main(["check", source, "--server", server.url]) == 0, capsys.readouterr()
    capsys.readouterr()
    out = tmp_path / "out"
    command = ["run", source, "--server", server.url, "--fields", str(fields)]
    command += ["--set", "count=8", "--set", "width=48", "--out", str(out)]
    code = main(command)
    assert code == 0, capsys.readouterr().err
    (saved,) = out.iterdir()
    with Image.open(saved) as image:
        assert image.size == (48, 16)
        assert [image.getpixel((x, 0)) for x in (0, 6, 12)] == [
            (0, 0, 0),
            (255, 255, 255),
            (0, 0, 0),
        ]
    client.image_repo.delete_image(saved.name)
