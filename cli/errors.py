"""How an expected failure reads on the command line: the error's message and what to do next.

The library's messages say what failed and where; the hints here add the command-line step
(an option to pass, a command to run), so that no expected failure ends in a traceback.
"""

from __future__ import annotations

from ivkgen.cli.terminal import safe
from ivkgen.generator import WorkflowFileError
from ivkgen.runtime._errors import (
    AuthError,
    InputLookupError,
    IvkgenError,
    JobCanceledError,
    JobFailedError,
    JobTimeoutError,
    ServerValidationError,
    TransportError,
    WorkflowError,
)


class CommandError(IvkgenError):
    """A command-line value that cannot be used; the message says which and what to pass."""


class UsageError(CommandError):
    """Options that do not go together; ``main`` shows the command's usage with the message
    (exit code 2)."""


_HINTS: tuple[tuple[type[Exception], str], ...] = (
    (
        TransportError,
        "start InvokeAI or pass the address of a running one with --server URL (or set "
        "IVKGEN_SERVER)",
    ),
    (AuthError, "pass --email and --password (or set INVOKEAI_EMAIL and INVOKEAI_PASSWORD)"),
    (
        ServerValidationError,
        "fix the node or field named above (with --set, or in the InvokeAI workflow editor, "
        "then export the workflow again)",
    ),
    (
        JobFailedError,
        "`ivkgen inputs WORKFLOW.json` lists the inputs; the InvokeAI log has the server's "
        "traceback",
    ),
    (JobTimeoutError, "pass a larger --timeout to wait longer"),
    (
        JobCanceledError,
        "the job was canceled on the server (another client or a restart); run it again",
    ),
    (InputLookupError, "use a label or name from `ivkgen inputs WORKFLOW.json`"),
)


def hint(exc: Exception) -> str | None:
    """What to do about ``exc``, on the command line."""
    return next((text for kind, text in _HINTS if isinstance(exc, kind)), None)


def exit_code(exc: Exception) -> int:
    """2 for a workflow file that cannot be read or is malformed, else 1."""
    if isinstance(exc, WorkflowFileError):
        return 2
    if isinstance(exc, WorkflowError) and not isinstance(exc, InputLookupError):
        return 2 if exc.source is not None else 1
    return 1


def report(exc: Exception) -> list[str]:
    """The lines to print on stderr for ``exc``."""
    lines = [f"ivkgen: error: {safe(exc)}"]
    advice = hint(exc)
    if advice:
        lines.append(f"ivkgen: hint: {advice}")
    return lines
