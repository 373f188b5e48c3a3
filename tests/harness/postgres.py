"""Start a real PostgreSQL 15 on loopback for the tests, from the machine's binaries.

``PostgresServer`` runs ``initdb`` and ``pg_ctl`` from ``/usr/lib/postgresql/15/bin`` (installing
Debian's ``postgresql`` package when they are missing) in a temporary folder owned by the
``postgres`` user, since PostgreSQL refuses to run as root; it listens on 127.0.0.1 at a free
port (its socket in that folder too), trusts loopback connections, and ``stop`` removes it all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.install import cache_lock
from tests.harness.server import ServerError, _free_port

BIN = Path(os.environ.get("IVKGEN_PG_BIN", "/usr/lib/postgresql/15/bin"))
SYSTEM_USER = "postgres"
START_TIMEOUT = 60.0


def ensure_binaries() -> Path:
    """The folder of ``initdb`` and ``pg_ctl``, installed from Debian's packages when missing."""
    if (BIN / "initdb").is_file():
        return BIN
    if os.geteuid() != 0:
        raise ServerError(f"PostgreSQL 15 is not installed ({BIN}): apt-get install postgresql")
    with cache_lock():
        if not (BIN / "initdb").is_file():
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            for command in (["apt-get", "update"], ["apt-get", "install", "-y", "postgresql"]):
                subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    if not (BIN / "initdb").is_file():
        raise ServerError(f"installing postgresql did not provide {BIN / 'initdb'}")
    return BIN


def _as_postgres(*command: str | Path) -> list[str]:
    """``command`` run as the ``postgres`` user when this process is root."""
    words = [str(word) for word in command]
    return ["runuser", "-u", SYSTEM_USER, "--", *words] if os.geteuid() == 0 else words


@dataclass
class PostgresServer:
    """One throw-away PostgreSQL cluster (see the module docstring)."""

    port: int = field(default_factory=_free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ivkgen-pg-")))
    database: str = "ivkgen"

    @property
    def url(self) -> str:
        return f"postgresql://{SYSTEM_USER}@127.0.0.1:{self.port}/{self.database}"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    def start(self) -> PostgresServer:
        binaries = ensure_binaries()
        if os.geteuid() == 0:
            shutil.chown(self.root, SYSTEM_USER, SYSTEM_USER)
        self._run(
            binaries / "initdb",
            "-D",
            self.data,
            "-U",
            SYSTEM_USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c max_connections=200 -c fsync=off"
        self._run(
            binaries / "pg_ctl",
            "-D",
            self.data,
            "-l",
            self.log_path,
            "-o",
            options,
            "-w",
            "-t",
            str(int(START_TIMEOUT)),
            "start",
        )
        self._run(binaries / "createdb", "-h", "127.0.0.1", "-p", str(self.port), self.database)
        return self

    def stop(self) -> None:
        """Stop the cluster at once and remove its folder."""
        if (self.data / "postmaster.pid").is_file():
            subprocess.run(
                _as_postgres(BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.is_file():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _run(self, *command: str | Path) -> None:
        started = time.monotonic()
        done = subprocess.run(_as_postgres(*command), capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            raise ServerError(
                f"{Path(str(command[0])).name} failed after {time.monotonic() - started:.1f}s: "
                f"{done.stderr.strip() or done.stdout.strip()}\n{self.log_tail()}"
            )


__all__ = ["PostgresServer", "ensure_binaries"]
