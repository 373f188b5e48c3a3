"""The comparison client, invokeai-py-client, in its own cached venv beside the server venv.

Reused when its marker names the same pin and its interpreter imports the package; otherwise
rebuilt, with pip's output in a log whose tail is raised on failure.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.harness.install import cache_dir, cache_lock, log_tail

PIN = "invokeai-py-client==1.1.1"
_MARKER = ".ivkgen-complete"


class PyClientInstallError(RuntimeError):
    """The invokeai-py-client venv could not be installed."""


def venv_dir() -> Path:
    return cache_dir() / "invokeai-py-client-1.1.1"


def _probe_ok(python: Path) -> bool:
    probe = [str(python), "-c", "import invokeai_py_client"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=300).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def ensure_pyclient_venv() -> Path:
    """Return the python of the invokeai-py-client venv, installing it first when needed."""
    venv = venv_dir()
    python = venv / "bin" / "python"
    with cache_lock():
        marker = venv / _MARKER
        if marker.is_file() and marker.read_text() == PIN and _probe_ok(python):
            return python
        shutil.rmtree(venv, ignore_errors=True)
        log = cache_dir() / "invokeai-py-client-install.log"
        print(f"bench: installing {PIN} into {venv} (log: {log})", file=sys.stderr)
        base = shutil.which("python3.11") or sys.executable
        steps = [
            [base, "-m", "venv", str(venv)],
            [str(python), "-m", "pip", "install", "--progress-bar", "off", PIN],
        ]
        with log.open("w") as out:
            for step in steps:
                out.write(f"$ {' '.join(step)}\n")
                out.flush()
                if subprocess.run(step, stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                    raise PyClientInstallError(f"installing {PIN} failed:\n{log_tail(log)}")
        if not _probe_ok(python):
            raise PyClientInstallError(f"the {PIN} venv does not import:\n{log_tail(log)}")
        marker.write_text(PIN)
        return python
