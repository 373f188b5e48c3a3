"""``ivkgen serve`` as a user starts it: a subprocess on a free loopback port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from tests.unit._workflows import edge, node, workflow

START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def slow_workflow_file(folder: Path, blurs: int = 8) -> Path:
    """A canvas (its width on the form) blurred ``blurs`` times, the last blur saved: seconds of
    model-free work, never served from the node cache."""
    nodes = [node("canvas", "blank_image", width=1024, height=1024, use_cache=False)]
    edges = []
    for i in range(blurs):
        last = i == blurs - 1
        nodes.append(
            node(f"blur{i}", "img_blur", radius=80.0, use_cache=False, is_intermediate=not last)
        )
        edges.append(edge(nodes[-2]["id"], "image", f"blur{i}", "image"))
    data = workflow(nodes, edges, exposed=[("canvas", "width")], name="Slow Blur")
    path = folder / "slow_blur.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


class ServeProcess:
    """One ``ivkgen serve`` process; ``url`` answers once ``start`` returned."""

    def __init__(self, args: Sequence[str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = [*args, "--port", str(self.port)]
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServeProcess:
        command = [sys.executable, "-m", "ivkgen.cli", "serve", *self.args]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"ivkgen serve exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError(f"ivkgen serve did not answer: {self.log.read_text()[-3000:]}")

    def signal(self, number: int) -> int:
        assert self.process is not None
        self.process.send_signal(number)
        return self.process.wait(timeout=60)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.signal(signal.SIGTERM)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def client(self, **options: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **options)


def env_without(names: Sequence[str]) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in names}
