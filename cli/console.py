"""rich consoles for the command's terminal output, where server and workflow text is shown as
it is: never read as markup (``[bold]``, ``[link=...]``) or emoji codes, never highlighted, its
control characters escaped (:func:`ivkgen.cli.terminal.safe`)."""

from __future__ import annotations

from typing import TextIO

from ivkgen.cli.terminal import safe
from rich.console import Console
from rich.text import Text


def console(stream: TextIO, *, terminal: bool | None = None, width: int | None = None) -> Console:
    """A console writing to ``stream`` (a terminal when ``terminal``, ``width`` columns wide;
    default: as rich detects)."""
    return Console(
        file=stream,
        force_terminal=terminal,
        width=width,
        markup=False,
        emoji=False,
        highlight=False,
    )


def plain(text: object) -> Text:
    """``text`` as rich text, shown literally."""
    return Text(safe(text))
