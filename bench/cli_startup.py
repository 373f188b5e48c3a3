"""Start-up of the ``ivkgen`` command: ``ivkgen --help`` and ``ivkgen inputs`` in a new process,
against the same commands as they were before the command line moved out of the generator
(``BEFORE``, read from this checkout's git history into a scratch folder)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.offline import REPO, bytecode_env
from bench.stats import Row, scaled

BEFORE = "1fdbd86"
"""The last commit whose ``ivkgen`` command lived in ``ivkgen.generator.cli``."""
FOLDERS = {
    "runtime": "runtime",
    "generator": "generator",
    "templates": "templates",
    "bundled": "generated/fields_6_14_2",
}
"""Import name under ``ivkgen`` -> the folder of the checkout it is (as ``make setup`` links)."""
WORKFLOW = REPO / "data" / "workflows" / "sd15-text-to-image.json"
COMMANDS = {"`ivkgen --help`": ["--help"], "`ivkgen inputs sd15-text-to-image.json`": ["inputs"]}
ROUNDS = 3
"""Runs per cold run of the suite: a start-up takes a few tenths of a second and varies by a few
percent from one process to the next."""


def _launcher(main: str, path: Path | None) -> str:
    """``python -c`` code that runs ``main`` with the process's arguments (``path`` first on
    ``sys.path``)."""
    first = f"sys.path.insert(0, {str(path)!r})\n" if path else ""
    module, name = main.split(":")
    return f"import sys\n{first}from {module} import {name}\nsys.exit({name}())\n"


def _checkout_before(scratch: Path) -> Path | None:
    """``scratch/ivkgen/...`` as the folders were at ``BEFORE``; ``None`` without that commit."""
    source = scratch / "source"
    source.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", BEFORE, *FOLDERS.values()], capture_output=True
    )
    if archive.returncode != 0:
        return None
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True)
    package = scratch / "ivkgen"
    package.mkdir()
    for name, folder in FOLDERS.items():
        (package / name).symlink_to(source / folder)
    return scratch


def _cold(code: str, argv: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one new process running ``code`` with ``argv``."""
    begun = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, cwd=REPO, env=env
    )
    elapsed = time.perf_counter() - begun
    if done.returncode != 0:
        raise RuntimeError(f"{argv}: exit {done.returncode}: {done.stderr.decode()[-500:]}")
    return elapsed


def startup_rows(cold_runs: int) -> list[Row]:
    """A row per command: its start-up now, and before the move."""
    with (
        tempfile.TemporaryDirectory(prefix="ivkgen-before-") as scratch,
        tempfile.TemporaryDirectory(prefix="ivkgen-pyc-") as cache,
    ):
        env = bytecode_env(Path(cache))
        before = _checkout_before(Path(scratch))
        now_code = _launcher("ivkgen.cli.main:main", None)
        then_code = _launcher("ivkgen.generator.cli:main", before) if before else None
        rows = []
        for metric, words in COMMANDS.items():
            argv = [*words, str(WORKFLOW)] if words == ["inputs"] else words
            codes = [now_code, *([then_code] if then_code else [])]
            for code in codes:  # fill the bytecode cache
                _cold(code, argv, env)
            rounds = [[_cold(c, argv, env) for c in codes] for _ in range(ROUNDS * cold_runs)]
            now = scaled([r[0] for r in rounds], 1e3, "ms")
            then = scaled([r[1] for r in rounds], 1e3, "ms") if then_code else None
            rows.append(
                Row(
                    "2 import",
                    f"{metric}, cold process (bytecode cached)",
                    now,
                    f"the same command at {BEFORE} (before `ivkgen.cli`)",
                    then,
                    "<= 1.00x",
                    None if then is None else now.median <= then.median,
                )
            )
        return rows
