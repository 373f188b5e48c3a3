"""Every script in examples/ runs against the real server and does what it prints."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ivkgen.runtime import InvokeAIClient
from PIL import Image

from tests.conftest import REPO
from tests.live._runs import image_count


def example(
    name: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<name>`` the way the README does (``python -m examples.<name>``), with the
    checkout on the import path and ``cwd`` as the current folder."""
    return subprocess.run(
        [sys.executable, "-m", f"examples.{Path(name).stem}", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        capture_output=True,
        text=True,
        timeout=400,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def png_sizes(folder: Path) -> list[tuple[int, int]]:
    return sorted(Image.open(path).size for path in folder.rglob("*.png"))


@pytest.fixture(scope="module")
def client(server_url: str) -> Iterator[InvokeAIClient]:
    with InvokeAIClient.from_url(server_url) as client:
        yield client


@pytest.fixture
def images_left(client: InvokeAIClient, tiny_models: dict[str, Any]) -> Iterator[None]:
    """The example under test leaves no image behind on the server."""
    before = image_count(client)
    yield
    assert image_count(client) == before


def test_list_inputs_takes_the_server_from_the_environment(server_url: str, tmp_path: Path) -> None:
    out = ok(example("list_inputs.py", cwd=tmp_path, env={"IVKGEN_SERVER": server_url}))
    assert out.startswith(f"Server: InvokeAI 6.14.2 at {server_url}\nWorkflow: SD1.5 Text to Image")
    assert "Total configurable inputs: 9" in out
    assert "[2] Width\n  Node: Noise (noise:VuddLEG62H)\n  Field: width\n" in out
    assert "  Type: IvkIntegerField\n  Required: False\n  Current Value: 512" in out
    assert out.endswith("Required inputs still needed:\n  [7] Model\n")


def test_list_inputs_of_another_workflow(server_url: str, tmp_path: Path) -> None:
    workflow = REPO / "data" / "workflows" / "image-pipeline.json"
    out = ok(example("list_inputs.py", str(workflow), "--server", server_url, cwd=tmp_path))
    assert "Workflow: Image Pipeline" in out
    assert "Total configurable inputs: 8" in out
    assert "Required inputs still needed" not in out


def test_set_inputs_sets_by_index_and_rejects_a_bad_value(
    server_url: str, tiny_models: dict[str, Any], tmp_path: Path
) -> None:
    out = ok(example("set_inputs.py", "--server", server_url, cwd=tmp_path))
    assert "✓ Set [2] Width = 64\n✓ Set [3] Height = 64\n✓ Set [4] Steps = 4\n" in out
    assert f"✓ Set [7] Model = {tiny_models['tiny-sd15']}" in out
    assert "Field validation error: Value error, -5 breaks gt=0" in out
    assert out.endswith("Steps still 4\nAll inputs are valid, workflow ready for submission\n")


@pytest.mark.usefixtures("images_left")
def test_submit_and_track_sync_async_and_hybrid(server_url: str, tmp_path: Path) -> None:
    out = ok(example("submit_and_track.py", "--server", server_url, cwd=tmp_path))
    sync, rest = out.split("=== Asynchronous submission ===")
    events, hybrid = rest.split("=== Hybrid submission ===")
    assert "Status: completed - Item" in sync
    assert "Job completed: item" in sync and "is completed" in sync
    assert "Node started: denoise_latents:kd9Gf2leMe (denoise_latents)" in events
    assert "Progress: 100% Denoising" in events
    assert "Workflow completed: job" in events
    assert "  denoise_latents started\n  denoise_latents completed\n" in hybrid
    assert "Workflow completed!\nQueue item" in hybrid
    assert out.count("Deleted outputs: ['") == 3


@pytest.mark.usefixtures("images_left")
def test_outputs_and_cleanup_downloads_then_deletes_everything(
    client: InvokeAIClient, server_url: str, tmp_path: Path
) -> None:
    out = ok(
        example("outputs_and_cleanup.py", "--server", server_url, "--out", "pngs", cwd=tmp_path)
    )
    assert png_sizes(tmp_path / "pngs") == [(64, 64)]
    assert "Output of 'Decode' (l2i)" in out
    assert "Loaded image: (64, 64) RGB" in out
    assert "holds 1 image(s)" in out
    board_name = out.rsplit("Deleted board ", 1)[1].strip().strip("'")
    assert client.board_repo.get_board_by_name(board_name) is None


@pytest.mark.usefixtures("images_left")
@pytest.mark.parametrize("flags", [[], ["--async"]], ids=["run", "arun"])
def test_generated_module_saves_the_png(server_url: str, tmp_path: Path, flags: list[str]) -> None:
    out = ok(
        example("generated_module.py", "--server", server_url, "--out", "o", *flags, cwd=tmp_path)
    )
    assert png_sizes(tmp_path / "o") == [(64, 64)]
    assert f"Saved {next((tmp_path / 'o').glob('*.png')).relative_to(tmp_path)}" in out


@pytest.mark.usefixtures("images_left")
def test_sweep_saves_one_png_per_value(server_url: str, tmp_path: Path) -> None:
    args = ("--server", server_url, "--input", "steps", "--values", "1", "2", "--size", "32")
    out = ok(example("sweep.py", *args, cwd=tmp_path))
    assert png_sizes(tmp_path / "outputs" / "steps-1") == [(32, 32)]
    assert png_sizes(tmp_path / "outputs" / "steps-2") == [(32, 32)]
    assert out.startswith("steps=1: outputs/steps-1/")


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        (
            "sweep.py",
            ["--values", "1", "x", "--input", "steps"],
            "sweep value 'x' for input 'Steps'",
        ),
        ("sweep.py", ["--input", "nope"], "--input must be one of: positive_prompt, "),
        ("set_inputs.py", ["--model", "nope"], "no model named 'nope'"),
    ],
)
def test_examples_explain_bad_input_without_a_traceback(
    server_url: str, tmp_path: Path, name: str, args: list[str], message: str
) -> None:
    done = example(name, "--server", server_url, *args, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and message in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unreachable_server_is_named(tmp_path: Path) -> None:
    done = example("list_inputs.py", "--server", "http://127.0.0.1:9", cwd=tmp_path)
    assert done.returncode == 1
    assert "error: cannot connect to http://127.0.0.1:9" in done.stderr
    assert "Traceback" not in done.stderr
