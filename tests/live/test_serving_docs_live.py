"""The curl and httpx examples of docs/serving.md, run as written against a real
``ivkgen serve`` on the real server."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.live._serve import GENERATED
from tests.live._serve_process import ServeProcess

PAGE = REPO / "docs" / "serving.md"
DOCUMENTED_URL = "http://127.0.0.1:8000"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)


@pytest.fixture(scope="module")
def service(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    folder = tmp_path_factory.mktemp("docs")
    args = [str(GENERATED), "--server", server_url, "--store", str(folder / "runs.sqlite3")]
    process = ServeProcess(args, folder / "serve.log").start()
    try:
        yield process
    finally:
        process.stop()


@pytest.mark.parametrize("index", range(2), ids=["wait-and-fetch", "events-and-poll"])
def test_the_curl_examples_run_as_written(
    service: ServeProcess, tmp_path: Path, index: int
) -> None:
    examples = [b for b in _blocks("sh") if "curl" in b]
    assert len(examples) == 2
    script = "set -euo pipefail\n" + examples[index].replace(DOCUMENTED_URL, service.url)
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "completed"
    if index == 0:
        assert (tmp_path / "square.png").read_bytes().startswith(b"\x89PNG")
    else:
        assert "event: completed" in done.stdout and "event: node_started" in done.stdout


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
