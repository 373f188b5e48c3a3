"""A generated package stands on its own: moved, vendored or installed away from the workflow
JSON it was generated from, it runs the copy of the workflow written beside each module, and
``ivkgen regen`` renders it again from that copy."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ivkgen.cli.main import main
from ivkgen.generator.package import generate_modules

from tests.conftest import REPO

WORKFLOW = REPO / "data" / "workflows" / "sd15-text-to-image.json"
LOAD = """\
import warnings
warnings.simplefilter("error")
from {package}.sd15_text_to_image import Sd15TextToImage
workflow = Sd15TextToImage()
print(workflow.source.name, workflow.definition.name)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose ``pipelines/`` package was generated from ``workflows/``."""
    (tmp_path / "workflows").mkdir()
    shutil.copy(WORKFLOW, tmp_path / "workflows")
    generate_modules([tmp_path / "workflows" / WORKFLOW.name], tmp_path / "pipelines")
    return tmp_path


def _load(package: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    code = LOAD.format(package=package)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True)


def test_the_workflow_travels_beside_its_module(project: Path) -> None:
    copy = project / "pipelines" / "sd15_text_to_image.workflow.json"
    assert copy.read_bytes() == WORKFLOW.read_bytes()
    done = _load("pipelines", project)
    assert done.stdout == "sd15-text-to-image.json SD1.5 Text to Image\n", done.stderr


def test_a_moved_package_runs_the_copy_of_its_workflow(project: Path, tmp_path: Path) -> None:
    vendored = tmp_path / "elsewhere" / "vendor"
    vendored.mkdir(parents=True)
    (vendored / "__init__.py").write_text("")
    shutil.move(project / "pipelines", vendored / "pipelines")
    done = _load("vendor.pipelines", tmp_path / "elsewhere")
    assert done.stdout == "sd15_text_to_image.workflow.json SD1.5 Text to Image\n", done.stderr


def test_an_edited_source_still_warns(project: Path) -> None:
    source = project / "workflows" / WORKFLOW.name
    source.write_text(source.read_text().replace("SD1.5 Text to Image", "Edited"))
    done = _load("pipelines", project)
    assert done.returncode == 1
    assert (
        "SourceChangedWarning: " in done.stderr and "changed since Sd15TextToImage" in done.stderr
    )


def test_a_moved_package_regenerates_from_the_copy(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = (project / "pipelines" / "sd15_text_to_image.py").read_text()
    moved = tmp_path / "moved"
    shutil.move(project / "pipelines", moved)
    assert main(["regen", "--check", str(moved)]) == 0
    assert main(["regen", str(moved)]) == 0
    assert (moved / "sd15_text_to_image.py").read_text() == module  # SOURCE kept as written
    assert capsys.readouterr().out == f"ivkgen: regenerated 1 modules in {moved}/\n"


def test_without_source_nor_copy_regeneration_names_the_missing_workflow(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "workflows" / WORKFLOW.name).unlink()
    (project / "pipelines" / "sd15_text_to_image.workflow.json").unlink()
    assert main(["regen", str(project / "pipelines")]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("ivkgen: error: ") and "sd15-text-to-image.json is missing" in line
