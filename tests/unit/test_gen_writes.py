"""How ``ivkgen gen`` writes: all files or none, no two workflows into one module, and the modes
the user's umask gives (a regenerated file keeps its own)."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from ivkgen.cli.main import main

from tests.conftest import REPO

TEAM = REPO / "data" / "workflows"


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_files_get_the_umask_mode_and_regenerated_ones_keep_theirs(
    tmp_path: Path, umask_027: None, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["gen", str(TEAM / "image-pipeline.json"), "-o", str(out)]) == 0
    written = sorted(p for p in out.rglob("*") if p.is_file())
    assert written and {_mode(p) for p in written} == {0o640}
    module = out / "image_pipeline.py"
    module.chmod(0o644)
    assert main(["gen", str(TEAM / "image-pipeline.json"), "-o", str(out)]) == 0
    assert _mode(module) == 0o644


def test_a_bad_later_file_writes_none_of_the_modules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"nodes": 5}', encoding="utf-8")
    out = tmp_path / "out"
    code = main(["gen", str(TEAM / "image-pipeline.json"), str(bad), "-o", str(out)])
    err = capsys.readouterr().err
    assert code != 0 and "bad.json" in err and "Traceback" not in err
    assert not out.exists()


def test_two_workflows_that_map_to_one_module_name_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    twin = tmp_path / "image_pipeline.json"
    shutil.copy(TEAM / "image-pipeline.json", twin)
    out = tmp_path / "out"
    code = main(["gen", str(TEAM / "image-pipeline.json"), str(twin), "-o", str(out)])
    err = capsys.readouterr().err
    assert code != 0 and "both map to" in err
    assert not out.exists()
