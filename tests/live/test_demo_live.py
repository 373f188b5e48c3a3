"""``make demo`` goes from nothing to PNGs: its own server, a generated module, a run, a stop."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.conftest import REPO


def test_make_demo_saves_the_pngs_prints_them_and_stops_its_server(tmp_path: Path) -> None:
    done = subprocess.run(
        ["make", "demo", f"DEMO_OUT={tmp_path}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert f"ivkgen: wrote {tmp_path / 'sd15_text_to_image.py'}" in done.stdout
    images = sorted((tmp_path / "images").glob("*.png"))
    assert len(images) == 1
    assert Image.open(images[0]).size == (64, 64)
    listed = done.stdout.split("the PNGs are in", 1)[1]
    assert str(images[0]) in listed
    url = re.search(r"InvokeAI is up at (http://\S+)", done.stdout)
    assert url, done.stdout
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url.group(1)}/api/v1/app/version", timeout=5)
