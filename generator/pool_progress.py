"""One progress line for a run spread over several servers: items done overall, then per
server done / running / queued (or why it was dropped), then the estimated time left.

On a terminal the line is redrawn in place; anywhere else a line is printed when the count of
finished items changed, at most every ``every`` seconds, and once at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO
from urllib.parse import urlsplit

from ivkgen.runtime.pool import PoolProgress

ERASE_LINE = "\r\x1b[K"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def describe(progress: PoolProgress) -> str:
    """``"7/20 done, 1 failed | 127.0.0.1:9090 4 done 1 running 2 queued | ... | ETA 0m12s"``."""
    head = f"{progress.done}/{progress.total} done"
    if progress.failed:
        head += f", {progress.failed} failed"
    parts = [head]
    for server in progress.servers:
        name = urlsplit(server.name).netloc or server.name
        if server.dropped:
            parts.append(f"{name} dropped after {server.done} done")
        else:
            parts.append(
                f"{name} {server.done} done {server.running} running {server.queued} queued"
            )
    if progress.eta_seconds is not None and progress.done < progress.total:
        parts.append(f"ETA {_duration(progress.eta_seconds)}")
    return " | ".join(parts)


class PoolDisplay:
    """Draws ``PoolProgress`` snapshots on ``stream``."""

    def __init__(
        self,
        stream: TextIO,
        *,
        tty: bool | None = None,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._tty = stream.isatty() if tty is None else tty
        self._every = every
        self._clock = clock
        self._printed_at: float | None = None
        self._done = -1
        self._last: PoolProgress | None = None
        self._open = False

    def __call__(self, progress: PoolProgress) -> None:
        self._last = progress
        if self._tty:
            self._stream.write(ERASE_LINE + describe(progress))
            self._stream.flush()
            self._open = True
            return
        now = self._clock()
        due = self._printed_at is None or now - self._printed_at >= self._every
        if progress.done != self._done and due:
            self._print(progress, now)

    def _print(self, progress: PoolProgress, now: float) -> None:
        print(describe(progress), file=self._stream)
        self._printed_at, self._done = now, progress.done

    def close(self) -> None:
        """End the display with the last state on a line of its own."""
        if self._tty and self._open:
            self._stream.write("\n")
            self._open = False
        elif not self._tty and self._last is not None and self._last.done != self._done:
            self._print(self._last, self._clock())
