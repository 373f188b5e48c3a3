"""Start a real InvokeAI server on loopback with the tiny models installed.

``InvokeAIServer`` owns one ``invokeai-web`` process with a temporary root: it writes
``invokeai.yaml`` (host 127.0.0.1, a free port), copies custom node packs into ``nodes/``, waits
for ``/api/v1/app/version``, installs the tiny models through the model-install API and stops
the process by its pid.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.harness.install import cache_dir, cache_lock, ensure_server_venv, log_tail, venv_dir

START_TIMEOUT = 240.0
INSTALL_TIMEOUT = 180.0
_TINY_MODELS = ("tiny-sd15", "tiny-sdxl", "tiny-vae")
_MODELS_MARKER = ".ivkgen-complete"


class ServerError(RuntimeError):
    """The test server could not be started or prepared."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ensure_tiny_models() -> Path:
    """Build the tiny pipelines once, cached beside the server venv."""
    python = ensure_server_venv()
    with cache_lock():
        return _build_tiny_models(python)


def _build_tiny_models(python: Path) -> Path:
    folder = cache_dir() / "tiny-models"
    if (folder / _MODELS_MARKER).is_file():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    log = cache_dir() / "tiny-models.log"
    script = Path(__file__).with_name("tiny_models.py")
    with log.open("w") as out:
        done = subprocess.run([str(python), str(script), str(folder)], stdout=out, stderr=out)
    if done.returncode != 0:
        raise ServerError(f"building the tiny models failed:\n{log_tail(log)}")
    (folder / _MODELS_MARKER).write_text("ok")
    return folder


@dataclass
class InvokeAIServer:
    """One running ``invokeai-web`` with its own root folder."""

    multiuser: bool = False
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ivkgen-invokeai-")))
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    node_packs: tuple[Path, ...] = ()
    """Custom node pack folders, copied into the root's ``nodes`` folder before the start."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    def log_tail(self, lines: int = 60) -> str:
        return log_tail(self.log_path, lines)

    def start(self) -> InvokeAIServer:
        ensure_server_venv()
        config = [
            "schema_version: 4.0.3",
            "host: 127.0.0.1",
            f"port: {self.port}",
            f"multiuser: {'true' if self.multiuser else 'false'}",
        ]
        (self.root / "invokeai.yaml").write_text("\n".join(config) + "\n")
        for pack in self.node_packs:
            shutil.copytree(pack, self.root / "nodes" / pack.name, dirs_exist_ok=True)
        env = {**os.environ, "INVOKEAI_ROOT": str(self.root), "HF_HUB_OFFLINE": "1"}
        binary = venv_dir() / "bin" / "invokeai-web"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(binary), "--root", str(self.root)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self._wait_until_up()
        return self

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServerError(f"invokeai-web exited at start-up:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/api/v1/app/version", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise ServerError(
            f"invokeai-web did not answer in {START_TIMEOUT:.0f} s:\n{self.log_tail()}"
        )

    def install_tiny_models(
        self, headers: dict[str, str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Install the tiny models in place; return their configs by folder name."""
        folder = ensure_tiny_models()
        with httpx.Client(base_url=self.url, timeout=30, headers=headers) as http:
            for name in _TINY_MODELS:
                source = str(folder / name)
                reply = http.post(
                    "/api/v2/models/install", params={"source": source, "inplace": True}, json={}
                )
                reply.raise_for_status()
            self._wait_for_installs(http)
            configs = http.get("/api/v2/models/").raise_for_status().json()["models"]
        self.models = {c["name"]: c for c in configs if c["name"] in _TINY_MODELS}
        missing = set(_TINY_MODELS) - set(self.models)
        if missing:
            raise ServerError(f"tiny models not installed: {sorted(missing)}\n{self.log_tail()}")
        return self.models

    def _wait_for_installs(self, http: httpx.Client) -> None:
        deadline = time.monotonic() + INSTALL_TIMEOUT
        while time.monotonic() < deadline:
            jobs = http.get("/api/v2/models/install").raise_for_status().json()
            failed = [j for j in jobs if j["status"] in ("error", "cancelled")]
            if failed:
                raise ServerError(f"model install failed: {json.dumps(failed)[:2000]}")
            if all(j["status"] == "completed" for j in jobs):
                return
            time.sleep(0.3)
        raise ServerError(f"model installs did not finish in {INSTALL_TIMEOUT:.0f} s")

    def stop(self) -> None:
        """Stop the process group by pid, then remove the root."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None

    def remove_root(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
