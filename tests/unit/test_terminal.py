"""Labels and server text reach the terminal with their control characters escaped."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from ivkgen.cli.main import main
from ivkgen.cli.progress import Progress
from ivkgen.cli.terminal import safe
from ivkgen.runtime.events.messages import InvocationErrorEvent, parse_event

from tests.unit._workflows import field, node, workflow

HOSTILE = "Width\x1b]0;owned\x07\r[9] Forged\n  Name: x\u202e\ud800\x9b2J\u2028"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain ASCII", "plain ASCII"),
        ("Grüße 日本 🦊", "Grüße 日本 🦊"),
        ("\x1b[2J", "\\x1b[2J"),
        ("a\r\nb\tc", "a\\r\\nb\\tc"),
        ("\x7f\x9b", "\\x7f\\x9b"),
        ("\u202eevil\u2066", "\\u202eevil\\u2066"),
        ("\ud800", "\\ud800"),
        ("\u2028\u2029", "\\u2028\\u2029"),
    ],
)
def test_safe_escapes_only_control_characters(text: str, shown: str) -> None:
    assert safe(text) == shown


def _hostile_workflow(tmp_path: Path) -> Path:
    width = node("noise:1", "noise", label=HOSTILE, width=field("width", 64, label=HOSTILE))
    data = workflow([width], exposed=[("noise:1", "width")], name=HOSTILE)
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _printable(text: str) -> bool:
    return all(ch == "\n" or (ch.isprintable() and ch != "\x1b") for ch in text)


def test_inputs_listing_escapes_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _hostile_workflow(tmp_path)
    assert main(["inputs", str(path)]) == 0
    out, err = capsys.readouterr()
    assert _printable(out) and err == ""
    assert f"Workflow: {safe(HOSTILE)}" in out.splitlines()
    assert not any(line.startswith("[9] Forged") for line in out.splitlines())


def test_inputs_json_is_ascii_json_that_round_trips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inputs", str(_hostile_workflow(tmp_path)), "--json"]) == 0
    out = capsys.readouterr().out
    assert out.isascii() and "\x1b" not in out
    assert json.loads(out)["name"] == HOSTILE


def test_progress_escapes_node_labels_and_server_errors() -> None:
    stream = io.StringIO()
    progress = Progress(stream, {"n": HOSTILE})
    payload = {
        "queue_id": "default",
        "item_id": 1,
        "batch_id": "b",
        "session_id": "s",
        "invocation": {"id": "n:p", "type": "noise"},
        "invocation_source_id": "n",
        "error_type": "ValueError",
        "error_message": "bad\x1b[31m",
        "error_traceback": "",
    }
    event = parse_event("invocation_error", payload)
    assert isinstance(event, InvocationErrorEvent)
    progress.error(event)
    assert _printable(stream.getvalue())
    assert "bad\\x1b[31m" in stream.getvalue()
