"""Labels and server text reach the terminal with their control characters escaped."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from ivkgen.cli.console import console
from ivkgen.cli.inputs import print_table
from ivkgen.cli.main import main
from ivkgen.cli.pool_progress import PoolDisplay
from ivkgen.cli.progress import Progress
from ivkgen.cli.terminal import safe
from ivkgen.cli.workflow_inputs import load_handle
from ivkgen.runtime._events.messages import (
    InvocationErrorEvent,
    InvocationProgressEvent,
    InvocationStartedEvent,
    parse_event,
)
from ivkgen.runtime._pool.progress import PoolProgress, ServerProgress

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


MARKUP = ["[bold red]x[/]", "[link=https://x]y[/link]", ":smile: [/]"]
CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _shown_literally(drawn: str, labels: list[str]) -> None:
    """Each label is on the terminal as written, and the display made no hyperlink (OSC 8) nor
    any escape sequence other than rich's own styles and cursor moves."""
    assert "\x1b]" not in drawn
    text = CSI.sub("", drawn)
    assert "\x1b" not in text
    for label in labels:
        assert label in text


@pytest.mark.parametrize("label", MARKUP)
def test_node_progress_on_a_terminal_shows_markup_in_labels_as_text(label: str) -> None:
    stream = io.StringIO()
    progress = Progress(stream, {"n": label}, tty=True)
    common = {"queue_id": "default", "item_id": 1, "batch_id": "b", "session_id": "s"}
    node = {"invocation": {"id": "n:p", "type": "noise"}, "invocation_source_id": "n"}
    started = parse_event("invocation_started", {**common, **node})
    running = parse_event(
        "invocation_progress", {**common, **node, "message": label, "percentage": 0.5}
    )
    assert isinstance(started, InvocationStartedEvent)
    assert isinstance(running, InvocationProgressEvent)
    progress.started(started)
    progress.progress(running)
    progress.close()
    _shown_literally(stream.getvalue(), [f"{label} (noise)"])


def test_pool_display_on_a_terminal_shows_markup_in_server_text_as_text() -> None:
    stream = io.StringIO()
    display = PoolDisplay(stream, tty=True)
    servers = [
        ServerProgress("http://127.0.0.1:9090", 4, 1, 2, None),
        ServerProgress("[bold red]x[/]", 0, 0, 0, "[link=https://x]y[/link]\x1b[2J"),
    ]
    display(PoolProgress(10, 4, 1, 2, servers, 75.0))
    display.close()
    _shown_literally(stream.getvalue(), ["[bold red]x[/]", "[link=https://x]y[/link]\\x1b[2J"])
    assert "4/10 done, 1 failed | ETA 1m15s" in CSI.sub("", stream.getvalue())


def test_inputs_table_shows_markup_and_control_characters_as_text(tmp_path: Path) -> None:
    labelled = [
        node(f"noise:{i}", "noise", width=field("width", 64, label=label))
        for i, label in enumerate([*MARKUP, HOSTILE])
    ]
    exposed = [(f"noise:{i}", "width") for i in range(len(labelled))]
    path = tmp_path / "markup.json"
    path.write_text(json.dumps(workflow(labelled, exposed=exposed, name=MARKUP[1])), "utf-8")
    stream = io.StringIO()
    print_table(load_handle(path), console(stream, terminal=True, width=300))
    drawn = stream.getvalue()
    _shown_literally(drawn, [f"Workflow: {MARKUP[1]}", *(f"│ {label} " for label in MARKUP)])
    assert f"│ {safe(HOSTILE)} " in drawn
