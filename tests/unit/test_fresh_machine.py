"""The live suite collects the same tests on a machine without the InvokeAI venv (an empty
cache folder) as on one that has it: nothing is parametrized from the installed server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.harness.install import cache_dir


def _collected(cache: Path) -> list[str]:
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    result = subprocess.run(
        [*command, "tests/live"],
        cwd=REPO,
        env={**os.environ, "IVKGEN_CACHE": str(cache)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_live_tests_are_collected_without_the_server_venv(tmp_path: Path) -> None:
    fresh = _collected(tmp_path / "empty-cache")
    assert (
        "tests/live/test_shipped_workflows_live.py::test_shipped_workflow[Flux Text to Image]"
        in (fresh)
    )
    assert fresh == _collected(cache_dir())
    assert not (tmp_path / "empty-cache" / "invokeai-6.14.2").exists()
