"""Signed links to a run's output files: a URL that works without the API key until the service
deletes the run (``--keep`` hours after it ended). The OpenAI answers' ``url`` is one, since the
tools that show those images fetch them without the caller's key."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote, urlencode

LABEL = b"ivkgen file links"
"""Kept apart from the secret's other use: a webhook signature is never a valid link."""


def _signature(secret: bytes, run_id: str, name: str, expires: int) -> str:
    key = hmac.new(secret, LABEL, hashlib.sha256).digest()
    digest = hmac.new(key, f"{run_id}/{name}/{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def signed_path(secret: bytes, run_id: str, name: str, expires: int) -> str:
    """The path of the run's file ``name`` that the service serves to anyone until ``expires``
    (seconds since the epoch)."""
    query = urlencode({"expires": expires, "signature": _signature(secret, run_id, name, expires)})
    return f"/v1/runs/{quote(run_id)}/files/{quote(name)}?{query}"


def link_holds(
    secret: bytes | None, run_id: str, name: str, expires: int, signature: str, now: float
) -> bool:
    """Whether ``signature`` signs this file until ``expires``, and that time has not come."""
    if secret is None or expires <= now:
        return False
    return hmac.compare_digest(signature, _signature(secret, run_id, name, expires))


__all__ = ["link_holds", "signed_path"]
