"""Run ``mypy --strict`` on a script of user code, as a user's project would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def mypy_report(script: str, folder: Path) -> str:
    """mypy's report on ``script`` (written to ``folder/pipeline.py``), one line per error."""
    (folder / "pipeline.py").write_text(script, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(folder / "pipeline.py")],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    return result.stdout
