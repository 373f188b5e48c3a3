"""The token a client holds, read as its event socket sends it (``socketio_options``)."""

from __future__ import annotations

from ivkgen.runtime import AsyncInvokeAIClient, InvokeAIClient


def token_of(client: InvokeAIClient | AsyncInvokeAIClient) -> str | None:
    auth = client.socketio_options()["auth"]
    return None if auth is None else str(auth["token"])
