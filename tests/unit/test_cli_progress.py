"""The progress display: one redrawn line per node with a bar on a terminal, plain lines
elsewhere."""

from __future__ import annotations

import io
import re
from typing import Any

from ivkgen.cli.progress import Progress
from ivkgen.runtime._events.messages import Event, parse_event

LABELS = {"denoise:1": "Denoise", "decode:1": "decode:1"}


def event(name: str, node: str, node_type: str, item_id: int = 7, **extra: Any) -> Event:
    payload = {
        "queue_id": "default",
        "item_id": item_id,
        "batch_id": "b",
        "session_id": "s",
        "invocation": {"id": f"prepared-{node}", "type": node_type},
        "invocation_source_id": node,
        **extra,
    }
    return parse_event(name, payload)


def play(progress: Progress, item_id: int = 7) -> None:
    progress.started(event("invocation_started", "denoise:1", "denoise_latents", item_id))
    for percentage in (None, 0.0, 0.25, 0.34, 0.5, 1.0):
        progress.progress(
            event(
                "invocation_progress",
                "denoise:1",
                "denoise_latents",
                item_id,
                message="Denoising",
                percentage=percentage,
            )
        )
    progress.complete(event("invocation_complete", "denoise:1", "denoise_latents", item_id))
    progress.started(event("invocation_started", "decode:1", "l2i", item_id))
    progress.error(
        event(
            "invocation_error",
            "decode:1",
            "l2i",
            item_id,
            error_type="ValueError",
            error_message="bad latents",
        )
    )


def ticking() -> Any:
    times = iter(float(t) for t in range(100))
    return lambda: next(times)


def test_plain_lines_name_each_node_and_every_tenth_of_its_progress() -> None:
    stream = io.StringIO()
    play(Progress(stream, LABELS, tty=False, clock=ticking()))
    assert stream.getvalue().splitlines() == [
        "started Denoise (denoise_latents)",
        "Denoise (denoise_latents)  25%",
        "Denoise (denoise_latents)  34%",
        "Denoise (denoise_latents)  50%",
        "Denoise (denoise_latents) 100%",
        "done Denoise (denoise_latents) in 1.0 s",
        "started decode:1 (l2i)",
        "failed decode:1 (l2i): ValueError: bad latents",
    ]


CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def screen_lines(text: str) -> list[str]:
    """What stays on a terminal fed ``text``: the lines the display printed, each as its last
    redraw left it (cursor moves and styles dropped)."""
    return [CSI.sub("", line.split("\r")[-1]).rstrip() for line in text.split("\n")]


def test_terminal_shows_a_bar_per_running_node_and_a_line_per_finished_one() -> None:
    stream = io.StringIO()
    progress = Progress(stream, LABELS, tty=True, clock=ticking())
    play(progress)
    progress.close()
    shown = stream.getvalue()
    assert screen_lines(shown)[:2] == [
        "done Denoise (denoise_latents) in 1.0 s",
        "failed decode:1 (l2i): ValueError: bad latents",
    ]
    drawn = CSI.sub("", shown)
    for percent in (" 25%", " 34%", " 50%", "100%"):
        assert f"{percent} Denoising" in drawn
    assert "━" in drawn  # the bar


def test_several_queue_items_are_numbered() -> None:
    stream = io.StringIO()
    progress = Progress(stream, LABELS, tty=False, clock=ticking())
    progress.set_items([9, 8])
    progress.started(event("invocation_started", "denoise:1", "denoise_latents", 9))
    assert stream.getvalue() == "started [2/2] Denoise (denoise_latents)\n"


def test_terminal_mode_follows_the_stream() -> None:
    assert Progress(io.StringIO(), LABELS).tty is False
