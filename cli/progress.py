"""Per-node progress of a running job, fed by the job's invocation events.

On a terminal (rich): one row per running node with its title, a bar with the denoise
percentage while the node reports one, its message and the time it has taken; a finished node
leaves a ``done``/``failed`` line above the rows. Anywhere else (a pipe, a log file) plain
lines: node started, every tenth of its progress, node done or failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from ivkgen.cli.console import console, plain
from ivkgen.cli.terminal import safe
from ivkgen.runtime._events.messages import (
    InvocationCompleteEvent,
    InvocationErrorEvent,
    InvocationEvent,
    InvocationProgressEvent,
    InvocationStartedEvent,
)
from rich.progress import (
    BarColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as Rows

BAR_WIDTH = 24


class Progress:
    """Shows the progress of one submission's nodes on ``stream``."""

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
        self._rows: Rows | None = None
        self._tasks: dict[str, TaskID] = {}

    @property
    def tty(self) -> bool:
        return self._tty

    def set_items(self, item_ids: Sequence[int]) -> None:
        """The submission's queue items: with several, titles start with ``[n/total]``."""
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
            self._row(event, total=None, completed=0, message="")
        else:
            self._line(f"started {self._title(event)}")

    def progress(self, event: InvocationProgressEvent) -> None:
        fraction = event.percentage
        message = event.message or ""
        if self._tty:
            done = None if fraction is None else min(max(fraction, 0.0), 1.0)
            self._row(
                event, total=None if done is None else 1.0, completed=done or 0, message=message
            )
            return
        if fraction is None:
            return
        tenth = int(_clamped(fraction) * 10)
        if tenth > self._tenths.get(event.prepared_node_id, 0):
            self._tenths[event.prepared_node_id] = tenth
            self._line(f"{self._title(event)} {_percent(fraction)}")

    def complete(self, event: InvocationCompleteEvent) -> None:
        self._end(event, f"done {self._title(event)} in {self._elapsed(event):.1f} s")

    def error(self, event: InvocationErrorEvent) -> None:
        self._end(event, f"failed {self._title(event)}: {event.error}")

    def close(self) -> None:
        """Stop the terminal display (its last state stays on the screen)."""
        if self._rows is not None:
            self._rows.stop()
            self._rows = None
            self._tasks.clear()

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

    def _display(self) -> Rows:
        if self._rows is None:
            self._rows = Rows(
                TextColumn("{task.description}", markup=False),
                BarColumn(bar_width=BAR_WIDTH),
                TaskProgressColumn(),
                TextColumn("{task.fields[message]}", markup=False),
                TimeElapsedColumn(),
                console=console(self._stream, terminal=True),
                auto_refresh=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._rows.start()
        return self._rows

    def _row(
        self, event: InvocationEvent, *, total: float | None, completed: float, message: str
    ) -> None:
        """Add or update the node's row."""
        rows = self._display()
        key = event.prepared_node_id
        if key not in self._tasks:
            self._tasks[key] = rows.add_task(safe(self._title(event)), total=total, message="")
        rows.update(self._tasks[key], total=total, completed=completed, message=safe(message))
        rows.refresh()

    def _end(self, event: InvocationEvent, text: str) -> None:
        if not self._tty:
            self._line(text)
            return
        rows = self._display()
        task = self._tasks.pop(event.prepared_node_id, None)
        if task is not None:
            rows.remove_task(task)
        rows.console.print(plain(text))
        rows.refresh()

    def _line(self, text: str) -> None:
        self._stream.write(safe(text) + "\n")
        self._stream.flush()


def _clamped(fraction: float) -> float:
    return min(max(fraction, 0.0), 1.0)


def _percent(fraction: float) -> str:
    return f"{_clamped(fraction) * 100:3.0f}%"
