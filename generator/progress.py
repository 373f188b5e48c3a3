"""Per-node progress of a running job, fed by the job's invocation events.

On a terminal one line per node is redrawn in place (carriage return and ANSI "erase line"): the
node's title, then a bar with the denoise percentage while the node reports one, then how long
the node took. Anywhere else (a pipe, a log file) it prints plain lines: node started, every
tenth of its progress, node done or failed.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from ivkgen.generator.terminal import safe
from ivkgen.runtime.events.messages import (
    InvocationCompleteEvent,
    InvocationErrorEvent,
    InvocationEvent,
    InvocationProgressEvent,
    InvocationStartedEvent,
)

BAR_WIDTH = 24
ERASE_LINE = "\r\x1b[K"


class Progress:
    """Draws the progress of one submission's nodes on ``stream``."""

    def __init__(
        self,
        stream: TextIO,
        labels: Mapping[str, str],
        *,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._labels = labels
        self._tty = stream.isatty() if tty is None else tty
        self._clock = clock
        self._items: list[int] = []
        self._started: dict[str, float] = {}
        self._tenths: dict[str, int] = {}
        self._open_line = False

    @property
    def tty(self) -> bool:
        return self._tty

    def set_items(self, item_ids: Sequence[int]) -> None:
        """The submission's queue items: with several, lines start with ``[n/total]``."""
        self._items = sorted(item_ids)

    def callbacks(self) -> dict[str, Callable[[Any], None]]:
        """Keyword arguments for ``WorkflowHandle.submit``."""
        return {
            "on_invocation_started": self.started,
            "on_invocation_progress": self.progress,
            "on_invocation_complete": self.complete,
            "on_invocation_error": self.error,
        }

    # Events ----------------------------------------------------------------------------------

    def started(self, event: InvocationStartedEvent) -> None:
        self._started[event.prepared_node_id] = self._clock()
        if self._tty:
            self._draw(f"{self._title(event)} ...")
        else:
            self._line(f"started {self._title(event)}")

    def progress(self, event: InvocationProgressEvent) -> None:
        fraction = event.percentage
        message = event.message or ""
        if self._tty:
            if fraction is None:
                self._draw(f"{self._title(event)} {message}".rstrip())
            else:
                self._draw(f"{self._title(event)} {_bar(fraction)} {message}".rstrip())
            return
        if fraction is None:
            return
        tenth = int(min(max(fraction, 0.0), 1.0) * 10)
        if tenth > self._tenths.get(event.prepared_node_id, 0):
            self._tenths[event.prepared_node_id] = tenth
            self._line(f"{self._title(event)} {_percent(fraction)}")

    def complete(self, event: InvocationCompleteEvent) -> None:
        self._end(event, f"done {self._title(event)} in {self._elapsed(event):.1f} s")

    def error(self, event: InvocationErrorEvent) -> None:
        self._end(event, f"failed {self._title(event)}: {event.error}")

    def close(self) -> None:
        """End a line left open on the terminal."""
        if self._open_line:
            self._stream.write("\n")
            self._stream.flush()
            self._open_line = False

    # Drawing ---------------------------------------------------------------------------------

    def _title(self, event: InvocationEvent) -> str:
        label = self._labels.get(event.node_id) or event.node_type
        title = label if label == event.node_type else f"{label} ({event.node_type})"
        if len(self._items) > 1 and event.root_id in self._items:
            return f"[{self._items.index(event.root_id) + 1}/{len(self._items)}] {title}"
        return title

    def _elapsed(self, event: InvocationEvent) -> float:
        started = self._started.pop(event.prepared_node_id, None)
        self._tenths.pop(event.prepared_node_id, None)
        return 0.0 if started is None else self._clock() - started

    def _end(self, event: InvocationEvent, text: str) -> None:
        if self._tty:
            self._draw(text)
            self.close()
        else:
            self._line(text)

    def _draw(self, text: str) -> None:
        width = shutil.get_terminal_size().columns - 1
        self._stream.write(ERASE_LINE + safe(text)[:width])
        self._stream.flush()
        self._open_line = True

    def _line(self, text: str) -> None:
        self._stream.write(safe(text) + "\n")
        self._stream.flush()


def _percent(fraction: float) -> str:
    return f"{min(max(fraction, 0.0), 1.0) * 100:3.0f}%"


def _bar(fraction: float) -> str:
    filled = round(min(max(fraction, 0.0), 1.0) * BAR_WIDTH)
    return f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {_percent(fraction)}"
