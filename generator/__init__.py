"""ivkgen's generator: reads InvokeAI's OpenAPI and workflow exports, writes typed Python."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


class GeneratorError(Exception):
    """Input the generator cannot turn into code; the message says what and where."""


class WorkflowFileError(GeneratorError):
    """A workflow file that cannot be read or is malformed; the message names the file."""


def generator_version() -> str:
    """The installed ivkgen version, written into every generated header."""
    try:
        return version("ivkgen")
    except PackageNotFoundError:
        return "0+unknown"


__all__ = ["GeneratorError", "WorkflowFileError", "generator_version"]
