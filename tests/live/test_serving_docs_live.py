"""The curl and httpx examples of docs/serving.md (the multipart upload too), run as written
against a real ``ivkgen serve`` on the real server."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.conftest import REPO
from tests.live._runs import png
from tests.live._serve import GENERATED, server_holdings
from tests.live._serve_process import ServeProcess
from tests.unit._workflows import field, node, workflow

PAGE = REPO / "docs" / "serving.md"
DOCUMENTED_URL = "http://127.0.0.1:8000"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)


def _blur_workflow() -> dict[str, Any]:
    """The ``blur`` workflow the multipart example names: an image input and a radius."""
    blur = node(
        "blur",
        "img_blur",
        label="Blur",
        is_intermediate=False,
        image=field("image", label="Image"),
        radius=field("radius", 1.0, label="Radius"),
    )
    return workflow([blur], exposed=[("blur", "image"), ("blur", "radius")], name="blur")


@pytest.fixture(scope="module")
def service(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    folder = tmp_path_factory.mktemp("docs")
    blur = folder / "blur.json"
    blur.write_text(json.dumps(_blur_workflow()))
    store = str(folder / "runs.sqlite3")
    args = [str(GENERATED), str(blur), "--server", server_url, "--store", store]
    process = ServeProcess(args, folder / "serve.log").start()
    try:
        yield process
    finally:
        process.stop()


def _settled(url: str) -> tuple[int, int]:
    """What the server holds once it holds no queue item: the earlier examples' runs (with no
    uploads) are cleaned up right after their answers, their queue items deleted last."""
    deadline = time.monotonic() + 60
    while (holdings := server_holdings(url))[1] != 0:
        assert time.monotonic() < deadline, "the examples' queue items stay on InvokeAI"
        time.sleep(0.05)
    return holdings


@pytest.mark.parametrize(
    "index", range(3), ids=["wait-and-fetch", "events-and-poll", "multipart-upload"]
)
def test_the_curl_examples_run_as_written(
    service: ServeProcess, server_url: str, tmp_path: Path, index: int
) -> None:
    examples = [b for b in _blocks("sh") if "curl" in b]
    assert len(examples) == 3
    (tmp_path / "photo.png").write_bytes(png(30, 20))
    before = _settled(server_url)
    script = "set -euo pipefail\n" + examples[index].replace(DOCUMENTED_URL, service.url)
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "completed"
    if index == 0:
        assert (tmp_path / "square.png").read_bytes().startswith(b"\x89PNG")
    elif index == 1:
        assert "event: completed" in done.stdout and "event: node_started" in done.stdout
    else:
        run = json.loads((tmp_path / "run.json").read_text())
        assert run["inputs"]["radius"] == 2.5 and len(run["outputs"]["blur"]) == 1
        blurred = httpx.get(service.url + run["outputs"]["blur"][0]["url"])
        assert Image.open(io.BytesIO(blurred.content)).size == (30, 20)
        deadline = time.monotonic() + 60
        while server_holdings(server_url) != before:  # deleted right after the answer
            assert time.monotonic() < deadline, "the run's files stay on InvokeAI"
            time.sleep(0.05)


def test_the_httpx_example_runs_as_written(service: ServeProcess, tmp_path: Path) -> None:
    [example] = _blocks("python")
    script = example.replace(DOCUMENTED_URL, service.url)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "completed"
    [saved] = tmp_path.glob("*.png")
    assert saved.read_bytes().startswith(b"\x89PNG")
    assert "Traceback" not in service.output()
