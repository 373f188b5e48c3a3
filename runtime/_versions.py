"""The InvokeAI version a generated module was made for, checked against the server's at run time.

``Workflow.run()``, ``arun()``, ``submit()`` and ``sweep()`` check it: the server's version is
read once per client (``GET /api/v1/app/version``), and when it differs from the module's
``INVOKEAI_VERSION`` an :class:`InvokeAIVersionWarning` is issued, once per client and version.
"""

from __future__ import annotations

import warnings
import weakref
from typing import TYPE_CHECKING, NamedTuple

from ivkgen.runtime._errors import InvokeAIVersionWarning

if TYPE_CHECKING:
    from ivkgen.runtime._client import AsyncInvokeAIClient, InvokeAIClient


class _Server(NamedTuple):
    version: str
    warned: set[str]


_SERVERS: weakref.WeakKeyDictionary[InvokeAIClient | AsyncInvokeAIClient, _Server] = (
    weakref.WeakKeyDictionary()
)


def check_version(client: InvokeAIClient, workflow: str, expected: str) -> None:
    """Warn when ``client``'s server does not run InvokeAI ``expected`` (``workflow`` names the
    module's workflow class)."""
    server = _SERVERS.get(client)
    if server is None:
        server = _SERVERS[client] = _Server(client.get_version(), set())
    _compare(client, server, workflow, expected)


async def acheck_version(client: AsyncInvokeAIClient, workflow: str, expected: str) -> None:
    """``check_version()`` with an async client."""
    server = _SERVERS.get(client)
    if server is None:
        server = _SERVERS[client] = _Server(await client.get_version(), set())
    _compare(client, server, workflow, expected)


def _compare(
    client: InvokeAIClient | AsyncInvokeAIClient, server: _Server, workflow: str, expected: str
) -> None:
    if server.version == expected or expected in server.warned:
        return
    server.warned.add(expected)
    warnings.warn(
        f"{workflow} was generated against InvokeAI {expected}, but {client.base_url} runs "
        f"{server.version}: if a node or field changed, the server may reject the job; "
        "regenerate the module against this server (ivkgen gen WORKFLOW --server URL)",
        InvokeAIVersionWarning,
        stacklevel=4,
    )
