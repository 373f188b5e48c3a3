"""Shared fixtures; tests under ``tests/live/`` are marked ``live`` and get a real server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.harness.postgres import PostgresServer
from tests.harness.server import InvokeAIServer

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("IVKGEN_SHARED", REPO.parent / "shared"))
LIVE_DIR = Path(__file__).resolve().parent / "live"

started_servers: list[InvokeAIServer] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if LIVE_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.live)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed and item.get_closest_marker("live"):
        for server in started_servers:
            report.sections.append((f"InvokeAI log tail ({server.url})", server.log_tail()))
    return report


def _start(multiuser: bool) -> InvokeAIServer:
    server = InvokeAIServer(multiuser=multiuser)
    started_servers.append(server)
    return server.start()


@pytest.fixture(scope="session")
def invokeai() -> Iterator[InvokeAIServer]:
    """A single-user InvokeAI 6.14.2 with the tiny SD1.5, SDXL and VAE models installed."""
    server = _start(multiuser=False)
    try:
        server.install_tiny_models()
        yield server
    finally:
        server.stop()
        server.remove_root()


@pytest.fixture(scope="session")
def server_url(invokeai: InvokeAIServer) -> str:
    return invokeai.url


def model_identifier(config: dict[str, Any]) -> dict[str, Any]:
    """The ModelIdentifierField value for an installed model's config."""
    keys = ("key", "hash", "name", "base", "type")
    return {**{k: config[k] for k in keys}, "submodel_type": None}


@pytest.fixture(scope="session")
def tiny_models(invokeai: InvokeAIServer) -> dict[str, dict[str, Any]]:
    """Model identifiers by name: ``tiny-sd15``, ``tiny-sdxl``, ``tiny-vae``."""
    return {name: model_identifier(config) for name, config in invokeai.models.items()}


@pytest.fixture(scope="session")
def multiuser_invokeai() -> Iterator[InvokeAIServer]:
    """A second server started with ``multiuser: true`` (no models)."""
    server = _start(multiuser=True)
    try:
        yield server
    finally:
        server.stop()
        server.remove_root()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL 15 on loopback in a temporary folder (removed after the session)."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def spare_invokeai() -> Iterator[InvokeAIServer]:
    """A second single-user server without models (for model-free workflows)."""
    server = _start(multiuser=False)
    try:
        yield server
    finally:
        server.stop()
        server.remove_root()


@pytest.fixture
def fresh_database(postgres: PostgresServer) -> Iterator[str]:
    """The URL of a new empty database of the session's PostgreSQL (dropped after the test)."""
    import uuid

    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres.url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield postgres.url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(postgres.url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared data folder beside the checkout (GUI exports, recorded runs, specs)."""
    if not SHARED.is_dir():
        pytest.fail(f"shared data not found at {SHARED}; set IVKGEN_SHARED")
    return SHARED


@dataclass(frozen=True)
class InstalledIvkgen:
    """ivkgen's wheel installed into a new venv outside the checkout, as a user installs it."""

    wheel: Path
    venv: Path

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)


@pytest.fixture(scope="session")
def installed_ivkgen(tmp_path_factory: pytest.TempPathFactory) -> InstalledIvkgen:
    """The wheel built from the checkout (``pip wheel --no-deps``) and installed with mypy into a
    new venv in a temporary folder: one per session."""
    folder = tmp_path_factory.mktemp("installed")
    quiet = {"check": True, "capture_output": True, "timeout": 600}
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", folder / "dist", REPO], **quiet
    )
    [wheel] = (folder / "dist").glob("ivkgen-*.whl")
    subprocess.run([sys.executable, "-m", "venv", folder / "venv"], **quiet)
    installed = InstalledIvkgen(wheel, folder / "venv")
    subprocess.run([installed.bin("python"), "-m", "pip", "install", wheel, "mypy"], **quiet)
    return installed
