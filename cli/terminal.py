"""Text from workflows and servers, made safe to print on a terminal.

A label or a server message may hold control characters: escape sequences that retitle the
terminal or move the cursor, carriage returns and newlines that forge listing lines, bidi
overrides that reorder what is shown, lone surrogates that no encoding can print. ``safe``
writes each of them as its Python escape (``\\x1b``, ``\\n``, ``\\u202e``, ``\\ud800``) and
leaves every other character, non-ASCII included, as it is.
"""

from __future__ import annotations

import re
import unicodedata

_UNSAFE_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_CANDIDATE = re.compile(r"[^\x20-\x7e]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _BIDI_CONTROLS or unicodedata.category(char) in _UNSAFE_CATEGORIES:
        return char.encode("unicode_escape", "backslashreplace").decode("ascii")
    return char


def safe(text: object) -> str:
    """``text`` (or ``str(text)``) with its control characters escaped."""
    return _CANDIDATE.sub(_escape, str(text))


__all__ = ["safe"]
