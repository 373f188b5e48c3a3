"""ivkgen's generator: reads InvokeAI's OpenAPI and workflow exports, writes typed Python."""

from __future__ import annotations

from ivkgen.runtime._errors import IvkgenError

__version__ = "0.1.0"
"""The package's version (``pyproject.toml`` reads it from here)."""


class GeneratorError(IvkgenError):
    """Input the generator cannot turn into code; the message says what and where."""


class WorkflowFileError(GeneratorError):
    """A workflow file that cannot be read or is malformed; the message names the file."""


def generator_version() -> str:
    """The ivkgen version written into every generated header."""
    return __version__


__all__ = ["GeneratorError", "WorkflowFileError", "__version__", "generator_version"]
