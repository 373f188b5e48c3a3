"""The progress of a run spread over several servers: items done overall, then per server
done / running / queued (or why it was dropped), then the estimated time left.

On a terminal (rich) a table is redrawn in place: one row per server, and the items done overall
with a bar and the ETA under it. Anywhere else one line (:func:`describe`) is printed when the
count of finished items changed, at most every ``every`` seconds, and once at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO
from urllib.parse import urlsplit

from ivkgen.cli.console import console, plain
from ivkgen.runtime._pool.progress import PoolProgress
from rich.console import Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _server_name(name: str) -> str:
    """``127.0.0.1:9090`` for ``http://127.0.0.1:9090``."""
    try:
        return urlsplit(name).netloc or name
    except ValueError:  # not a URL
        return name


def _head(progress: PoolProgress) -> str:
    head = f"{progress.done}/{progress.total} done"
    return head + f", {progress.failed} failed" if progress.failed else head


def _eta(progress: PoolProgress) -> str | None:
    if progress.eta_seconds is not None and progress.done < progress.total:
        return f"ETA {_duration(progress.eta_seconds)}"
    return None


def describe(progress: PoolProgress) -> str:
    """``"7/20 done, 1 failed | 127.0.0.1:9090 4 done 1 running 2 queued | ... | ETA 0m12s"``."""
    parts = [_head(progress)]
    for server in progress.servers:
        name = _server_name(server.name)
        if server.dropped:
            parts.append(f"{name} dropped after {server.done} done")
        else:
            parts.append(
                f"{name} {server.done} done {server.running} running {server.queued} queued"
            )
    eta = _eta(progress)
    return " | ".join([*parts, eta] if eta else parts)


def table(progress: PoolProgress) -> Group:
    """The terminal's view of ``progress``: a row per server, then the whole run's bar."""
    rows = Table(box=None, pad_edge=False)
    for column in ("server", "done", "running", "queued", ""):
        rows.add_column(column, justify="left" if column == "server" else "right")
    for server in progress.servers:
        state = f"dropped: {server.dropped}" if server.dropped else ""
        counts = (server.done, server.running, server.queued)
        rows.add_row(plain(_server_name(server.name)), *map(plain, counts), plain(state))
    bar = ProgressBar(total=max(progress.total, 1), completed=progress.done, width=30)
    overall = Table.grid(padding=(0, 1))
    overall.add_row(bar, plain(" | ".join(filter(None, (_head(progress), _eta(progress))))))
    return Group(rows, overall)


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
        self._live: Live | None = None

    def __call__(self, progress: PoolProgress) -> None:
        self._last = progress
        if self._tty:
            if self._live is None:
                terminal = console(self._stream, terminal=True)
                self._live = Live(
                    console=terminal,
                    auto_refresh=False,
                    redirect_stdout=False,
                    redirect_stderr=False,
                )
                self._live.start()
            self._live.update(table(progress), refresh=True)
            return
        now = self._clock()
        due = self._printed_at is None or now - self._printed_at >= self._every
        if progress.done != self._done and due:
            self._print(progress, now)

    def _print(self, progress: PoolProgress, now: float) -> None:
        print(describe(progress), file=self._stream)
        self._printed_at, self._done = now, progress.done

    def close(self) -> None:
        """End the display with the last state (on a terminal, the table stays)."""
        if self._live is not None:
            self._live.stop()
            self._live = None
        elif not self._tty and self._last is not None and self._last.done != self._done:
            self._print(self._last, self._clock())
