"""Install InvokeAI 6.14.2 into a cached virtual environment outside the repository.

The venv lives in ``$IVKGEN_CACHE`` (default ``~/.cache/ivkgen``). It is reused when its
completion marker names the same package pins and its interpreter still runs; otherwise it
is rebuilt. Install output goes to a log file whose tail is raised on failure.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

INVOKEAI_VERSION = "6.14.2"
PINS = (f"invokeai=={INVOKEAI_VERSION}", "torch==2.14.1", "torchvision==0.29.1")
_MARKER = ".ivkgen-complete"


class InstallError(RuntimeError):
    """The InvokeAI server venv could not be installed."""


def cache_dir() -> Path:
    """The folder for the server venv, tiny models and logs."""
    root = os.environ.get("IVKGEN_CACHE") or str(Path.home() / ".cache" / "ivkgen")
    path = Path(root).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def venv_dir() -> Path:
    return cache_dir() / f"invokeai-{INVOKEAI_VERSION}"


def venv_python() -> Path:
    return venv_dir() / "bin" / "python"


def _is_intact(venv: Path) -> bool:
    marker = venv / _MARKER
    if not marker.is_file() or marker.read_text() != "\n".join(PINS):
        return False
    return _probe_ok(venv)


def log_tail(log: Path, lines: int = 40) -> str:
    if not log.is_file():
        return "(no log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def cache_lock() -> Iterator[None]:
    """Serialise installs and model builds between concurrent test sessions."""
    with (cache_dir() / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def ensure_server_venv() -> Path:
    """Return the venv's python, installing InvokeAI first when needed."""
    with cache_lock():
        return _ensure_server_venv()


def _ensure_server_venv() -> Path:
    venv = venv_dir()
    if _is_intact(venv):
        return venv_python()
    log = cache_dir() / "install.log"
    shutil.rmtree(venv, ignore_errors=True)
    print(
        f"ivkgen: installing InvokeAI {INVOKEAI_VERSION} into {venv} (log: {log})", file=sys.stderr
    )
    python = shutil.which("python3.11") or sys.executable
    steps = [
        [python, "-m", "venv", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--progress-bar", "off", *PINS],
    ]
    with log.open("w") as out:
        for step in steps:
            out.write(f"$ {' '.join(step)}\n")
            out.flush()
            if subprocess.run(step, stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                raise InstallError(f"installing the InvokeAI venv failed:\n{log_tail(log)}")
    if not _probe_ok(venv):
        raise InstallError(f"the new InvokeAI venv does not import:\n{log_tail(log)}")
    (venv / _MARKER).write_text("\n".join(PINS))
    return venv_python()


def _probe_ok(venv: Path) -> bool:
    probe = [str(venv / "bin" / "python"), "-c", "import invokeai.version, torchvision"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=300).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def default_workflows_dir() -> Path:
    """The default workflows shipped inside the installed ``invokeai`` package."""
    site = venv_dir() / "lib" / "python3.11" / "site-packages"
    return site / "invokeai" / "app" / "services" / "workflow_records" / "default_workflows"
