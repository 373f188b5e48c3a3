"""``ivkgen check`` and ``ivkgen run`` against the real server: images saved, boards, uploads
deleted, failures reported without a traceback, Ctrl-C cancels and cleans up."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ivkgen.cli.main import main
from ivkgen.runtime._client import InvokeAIClient
from PIL import Image

from tests.conftest import REPO
from tests.harness.server import InvokeAIServer
from tests.live._runs import blur_inputs_workflow, failing_workflow, image_count, png
from tests.live.test_auth_live import ADMIN, ADMIN_PASSWORD
from tests.unit._workflows import edge, field, node, workflow

TEAM = REPO / "data" / "workflows"
SD15 = str(TEAM / "sd15-text-to-image.json")
PIPELINE = str(TEAM / "image-pipeline.json")


@pytest.fixture(scope="module")
def client(server_url: str) -> Iterator[InvokeAIClient]:
    with InvokeAIClient.from_url(server_url) as client:
        yield client


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def write(tmp_path: Path, data: dict[str, Any], name: str) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_check_passes_a_runnable_workflow_and_lists_what_is_missing(
    capsys: pytest.CaptureFixture[str], server_url: str, shared_dir: Path
) -> None:
    code, out, _ = run_main(capsys, "check", PIPELINE, "--server", server_url)
    assert code == 0
    assert out.splitlines() == [
        f"ivkgen check: {PIPELINE} on {server_url} (InvokeAI 6.14.2)",
        "ok: the server knows every node and model, and every required input has a value",
    ]
    code, out, _ = run_main(capsys, "check", SD15, "--server", server_url)
    assert code == 1
    assert "error: input [7] 'Model' (model): required: set a value" in out
    code, out, _ = run_main(
        capsys, "check", SD15, "--server", server_url, "--set", "model=tiny-sd15"
    )
    assert code == 0, out
    assert out.splitlines()[-1].startswith("ok: the server knows every node and model")
    sdxl = str(shared_dir / "data" / "workflows" / "sdxl-text-to-image.json")
    code, out, _ = run_main(capsys, "check", sdxl, "--server", server_url)
    assert code == 1
    assert "closest installed: 'tiny-sdxl' (sdxl main); pass --set model=tiny-sdxl" in out
    assert "warning: node 'Denoise - SD1.5, SDXL' (denoise_latents:TRC0Y88EWe) was saved as" in out


def test_check_takes_the_server_from_ivkgen_server_and_a_file_for_an_image_input(
    capsys: pytest.CaptureFixture[str],
    server_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("IVKGEN_SERVER", server_url)
    path = write(tmp_path, blur_inputs_workflow(1), "blur.json")
    code, out, _ = run_main(capsys, "check", path)
    assert code == 1
    assert "error: input [0] 'Image' (blur_0_image): required: set a value" in out
    photo = tmp_path / "photo.png"
    Image.new("RGB", (32, 32), (10, 20, 30)).save(photo)
    code, out, _ = run_main(capsys, "check", path, "--image", f"blur_0_image={photo}")
    assert code == 0, out
    assert out.splitlines()[0] == f"ivkgen check: {path} on {server_url} (InvokeAI 6.14.2)"


def test_run_sets_inputs_by_name_and_label_and_saves_the_images_on_the_board(
    capsys: pytest.CaptureFixture[str],
    server_url: str,
    tiny_models: dict[str, dict[str, Any]],
    client: InvokeAIClient,
    tmp_path: Path,
) -> None:
    board = client.board_repo.create_board("ivkgen cli run")
    try:
        sets = ["model=tiny-sd15", "Width=64", "height=64", "steps=3", "CFG Scale=5"]
        argv = [f"--set={text}" for text in sets]
        code, out, err = run_main(
            capsys,
            "run",
            SD15,
            "--server",
            server_url,
            *argv,
            "--board",
            "ivkgen cli run",
            "--out",
            str(tmp_path),
        )
        assert code == 0, err
        paths = [Path(line) for line in out.splitlines()]
        assert [p.parent for p in paths] == [tmp_path]
        assert Image.open(paths[0]).size == (64, 64)
        assert client.image_repo.get_image_dto(paths[0].name).board_id == board.board_id
        assert "started Denoise (denoise_latents)" in err
        assert "Denoise (denoise_latents) 100%" in err
        assert f"ivkgen: saved 1 file(s) in {tmp_path}/" in err
    finally:
        client.board_repo.delete_board(board.board_id, include_images=True)


def test_run_uploads_local_images_and_deletes_them_afterwards(
    capsys: pytest.CaptureFixture[str], server_url: str, client: InvokeAIClient, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(png(24, 16))
    path = write(tmp_path, blur_inputs_workflow(1), "blur.json")
    before = image_count(client)
    code, out, err = run_main(
        capsys,
        "run",
        path,
        "--server",
        server_url,
        "--image",
        f"Image={photo}",
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 0, err
    (saved,) = [Path(line) for line in out.splitlines()]
    assert Image.open(saved).size == (24, 16)
    assert image_count(client) == before + 1  # the output stays, the upload is gone
    client.image_repo.delete_image(saved.name)


def test_unknown_board_lists_the_boards_there_are(
    capsys: pytest.CaptureFixture[str], server_url: str, client: InvokeAIClient
) -> None:
    board = client.board_repo.create_board("ivkgen cli existing")
    try:
        code, _, err = run_main(
            capsys, "run", PIPELINE, "--server", server_url, "--board", "ivkgen cli missing"
        )
    finally:
        client.board_repo.delete_board(board.board_id)
    assert code == 1
    assert "--board: the server has no board named 'ivkgen cli missing'; its boards are" in err
    assert "'ivkgen cli existing'" in err


def test_failed_job_exits_1_with_the_servers_error(
    capsys: pytest.CaptureFixture[str], server_url: str, tmp_path: Path
) -> None:
    path = write(tmp_path, failing_workflow(), "fails.json")
    code, _, err = run_main(capsys, "run", path, "--server", server_url, "--out", str(tmp_path))
    assert code == 1
    assert "failed Crop Missing (img_crop): " in err  # the progress line
    assert "ivkgen: error: queue item " in err
    assert "failed in node 'Crop Missing' (crop)" in err
    assert "ImageRecordNotFoundException" in err
    assert "fix that node's inputs and submit again" in err
    assert "ivkgen: hint: `ivkgen inputs WORKFLOW.json` lists the inputs" in err
    assert list(tmp_path.glob("*.png")) == []


def test_graph_the_server_rejects_exits_1_naming_the_edge(
    capsys: pytest.CaptureFixture[str], server_url: str, tmp_path: Path
) -> None:
    data = json.loads(Path(PIPELINE).read_text(encoding="utf-8"))
    data["edges"][0]["sourceHandle"] = "width"  # an integer into an image input
    path = write(tmp_path, data, "bad-edge.json")
    code, _, err = run_main(capsys, "run", path, "--server", server_url)
    assert code == 1
    assert "the server rejected POST /api/v1/queue/default/enqueue_batch (422)" in err
    assert "blank_image:OhbVrpoiVg.width -> img_blur:RV5IfLBcbf.image" in err
    assert "ivkgen: hint: fix the node or field named above" in err


def wait_until_idle(client: InvokeAIClient, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while client.queue_repo.get_status().processor.is_processing:
        assert time.monotonic() < deadline, "the server is still processing"
        time.sleep(0.2)


def slow_workflow_with_an_image_input(blurs: int = 12) -> dict[str, Any]:
    """The uploaded image scaled to 2048 px, then blurred again and again: seconds of work."""
    nodes = [
        node(
            "resize",
            "img_resize",
            label="Resize",
            width=2048,
            height=2048,
            use_cache=False,
            image=field("image", label="Photo"),
        )
    ]
    edges = []
    for i in range(blurs):
        nodes.append(
            node(f"blur:{i}", "img_blur", label=f"Blur {i}", radius=120.0, use_cache=False)
        )
        edges.append(edge(nodes[-2]["id"], "image", f"blur:{i}", "image"))
    return workflow(nodes, edges, exposed=[("resize", "image")], name="slow")


def test_timeout_cancels_the_job_and_says_how_to_wait_longer(
    capsys: pytest.CaptureFixture[str], server_url: str, client: InvokeAIClient, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(png(32, 32))
    path = write(tmp_path, slow_workflow_with_an_image_input(), "slow.json")
    code, _, err = run_main(
        capsys, "run", path, "--server", server_url, "--image", f"Photo={photo}", "--timeout", "1"
    )
    assert code == 1
    assert "did not finish within 1 s; they were canceled" in err
    assert "ivkgen: hint: pass a larger --timeout to wait longer" in err
    item_id = int(err.split("queue item(s) ")[1].split()[0])
    assert client.queue_repo.get_queue_item(item_id).status == "canceled"
    wait_until_idle(client)  # the node running when it was canceled still finishes


def test_ctrl_c_cancels_the_job_and_deletes_what_the_run_made(
    server_url: str, client: InvokeAIClient, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(png(32, 32))
    path = write(tmp_path, slow_workflow_with_an_image_input(), "slow.json")
    wait_until_idle(client)
    before = image_count(client)
    command = [sys.executable, "-m", "ivkgen.cli", "run", path, "--server", server_url]
    process = subprocess.Popen(
        [*command, "--image", f"photo={photo}", "--out", str(tmp_path / "out")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith("started Blur 0"):
            process.send_signal(signal.SIGINT)
            break
    out, rest = process.communicate(timeout=120)
    err = "".join(seen) + rest
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "ivkgen: interrupted: canceled queue item(s) " in err
    item_id = int(err.split("canceled queue item(s) ")[1].split(",")[0].split()[0])
    assert client.queue_repo.get_queue_item(item_id).status == "canceled"
    assert image_count(client) == before  # the upload and the resized image are deleted
    assert out == ""


def test_multi_user_server_needs_a_login_and_says_how(
    capsys: pytest.CaptureFixture[str], multiuser_invokeai: InvokeAIServer
) -> None:
    url = multiuser_invokeai.url
    with InvokeAIClient.from_url(url) as anonymous:
        if anonymous.get_auth_status().setup_required:
            anonymous.setup_admin(ADMIN, ADMIN_PASSWORD, display_name="Admin")
    code, _, err = run_main(capsys, "check", PIPELINE, "--server", url)
    assert code == 1
    assert "was refused (401)" in err
    assert "ivkgen: hint: pass --email and --password (or set INVOKEAI_EMAIL and " in err
    login = ["--email", ADMIN, "--password", ADMIN_PASSWORD]
    code, out, err = run_main(capsys, "check", PIPELINE, "--server", url, *login)
    assert code == 0, err
    assert out.endswith(
        "ok: the server knows every node and model, and every required input " "has a value\n"
    )
    assert ADMIN_PASSWORD not in out + err
