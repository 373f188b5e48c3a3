"""The progress display: one redrawn line per node with a bar on a terminal, plain lines
elsewhere."""

from __future__ import annotations

import io
from typing import Any

from ivkgen.generator.progress import Progress
from ivkgen.runtime.events.messages import Event, parse_event

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


def test_terminal_redraws_one_line_per_node_with_a_bar() -> None:
    stream = io.StringIO()
    progress = Progress(stream, LABELS, tty=True, clock=ticking())
    play(progress)
    progress.close()
    lines = stream.getvalue().split("\n")
    assert len(lines) == 3 and lines[2] == ""  # one line per node, each ended once
    redraws = lines[0].split("\r\x1b[K")[1:]
    assert redraws == [
        "Denoise (denoise_latents) ...",
        "Denoise (denoise_latents) Denoising",
        "Denoise (denoise_latents) [------------------------]   0% Denoising",
        "Denoise (denoise_latents) [######------------------]  25% Denoising",
        "Denoise (denoise_latents) [########----------------]  34% Denoising",
        "Denoise (denoise_latents) [############------------]  50% Denoising",
        "Denoise (denoise_latents) [########################] 100% Denoising",
        "done Denoise (denoise_latents) in 1.0 s",
    ]
    assert lines[1].endswith("\r\x1b[Kfailed decode:1 (l2i): ValueError: bad latents")


def test_several_queue_items_are_numbered() -> None:
    stream = io.StringIO()
    progress = Progress(stream, LABELS, tty=False, clock=ticking())
    progress.set_items([9, 8])
    progress.started(event("invocation_started", "denoise:1", "denoise_latents", 9))
    assert stream.getvalue() == "started [2/2] Denoise (denoise_latents)\n"


def test_terminal_mode_follows_the_stream() -> None:
    assert Progress(io.StringIO(), LABELS).tty is False
