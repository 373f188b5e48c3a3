"""The ``openai`` client example of docs/openai.md, run as written against a real
``ivkgen serve`` on the real server with the tiny SD1.5 model."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from PIL import Image

from tests.conftest import REPO
from tests.live._serve import GENERATED, server_holdings
from tests.live._serve_process import ServeProcess

PAGE = REPO / "docs" / "openai.md"
DOCUMENTED_URL = "http://127.0.0.1:8000"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)


def test_the_openai_client_example_runs_as_written(
    server_url: str, tiny_models: dict[str, Any], tmp_path: Path
) -> None:
    before = server_holdings(server_url)
    model = json.dumps(tiny_models["tiny-sd15"])
    args = [str(GENERATED), "--server", server_url, "--store", str(tmp_path / "runs.sqlite3")]
    args += ["--set", f"sd15_text_to_image.model={model}", "--set", "sd15_text_to_image.steps=2"]
    service = ServeProcess(args, tmp_path / "serve.log").start()
    try:
        [example] = _blocks("python")
        script = example.replace(DOCUMENTED_URL, service.url)
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        service.stop()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['sd15_text_to_image']"
    assert Image.open(tmp_path / "fox.png").size == (256, 256)
    log = service.output()
    assert "Traceback" not in log
    assert log.count("is not an OpenAI model") == 3
    assert server_holdings(server_url) == before
