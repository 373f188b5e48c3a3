"""``ivkgen gen --watch DIR`` in a subprocess: one line per change, Ctrl-C stops it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

BIN = Path(sys.executable).parent
WORKFLOW = REPO / "data" / "workflows" / "sd15-text-to-image.json"


def _save(path: Path, text: str) -> None:
    """Write ``path`` whole in one step, as an editor saves it."""
    staged = path.parent.parent / f".{path.name}.tmp"
    staged.write_text(text)
    os.replace(staged, path)


def test_watch_regenerates_changed_json_and_removes_only_its_own_modules(
    tmp_path: Path,
) -> None:
    workflows, out = tmp_path / "workflows", tmp_path / "generated"
    workflows.mkdir()
    out.mkdir()
    (out / "mine.py").write_text("# the user's own module\n")
    watcher = subprocess.Popen(
        [str(BIN / "ivkgen"), "gen", "--watch", "workflows", "-o", "generated"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert watcher.stdout is not None
    try:
        line = watcher.stdout.readline
        assert line() == "ivkgen: watching workflows/*.json for generated/ (Ctrl-C stops)\n"

        _save(workflows / WORKFLOW.name, WORKFLOW.read_text())
        module = out / "sd15_text_to_image.py"
        wrote = f"ivkgen: wrote generated/{module.name} from workflows/{WORKFLOW.name}\n"
        assert line() == wrote
        assert "= 512" in module.read_text()

        data = json.loads(WORKFLOW.read_text())
        noise = next(n for n in data["nodes"] if n["data"]["type"] == "noise")
        noise["data"]["inputs"]["width"]["value"] = 320
        _save(workflows / WORKFLOW.name, json.dumps(data))
        assert line() == wrote
        assert 'At("noise:VuddLEG62H", "width")] = 320' in module.read_text()

        _save(workflows / "broken.json", '{"nodes": [')
        assert line().startswith("ivkgen: error: workflows/broken.json: not JSON")

        (workflows / WORKFLOW.name).unlink()
        assert line() == (
            f"ivkgen: removed generated/{module.name}: workflows/{WORKFLOW.name} was deleted\n"
        )
        (workflows / "broken.json").unlink()  # it has no module: nothing to remove, no line
        (workflows / "notes.txt").write_text("not a workflow")
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(timeout=60) == 130
        assert watcher.stdout.read() == ""
        assert watcher.stderr is not None and watcher.stderr.read() == "ivkgen: interrupted\n"
    finally:
        watcher.kill()
        watcher.wait()
    assert not module.exists()
    assert (out / "mine.py").read_text() == "# the user's own module\n"
    assert sorted(p.name for p in out.iterdir()) == [
        "__init__.py",
        "fields_6_14_2",
        "mine.py",
        "py.typed",
    ]
