"""API keys: read from a file, held only as SHA-256 digests, checked in constant time; each key
is an owner (a short id derived from its digest) who sees only its own runs."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from ivkgen.runtime._errors import ServeSetupError
from ivkgen.service.problems import Unauthorized

_USAGE = "send 'Authorization: Bearer KEY' with one of the service's API keys"


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class ApiKeys:
    """The service's API keys, as digests; ``owner`` turns an ``Authorization`` header into the
    caller's owner id."""

    def __init__(self, digests: list[bytes]) -> None:
        self._digests = list(digests)

    @classmethod
    def from_file(cls, path: Path) -> ApiKeys:
        """One key per line; blank lines and ``#`` comments are skipped."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise ServeSetupError(f"{path}: cannot read the API keys file ({reason})") from None
        digests = []
        for number, line in enumerate(text.splitlines(), 1):
            key = line.strip()
            if not key or key.startswith("#"):
                continue
            if any(c.isspace() for c in key):
                raise ServeSetupError(f"{path}:{number}: an API key cannot contain spaces")
            digests.append(_digest(key))
        if not digests:
            raise ServeSetupError(f"{path}: no API key in the file (one key per line)")
        return cls(digests)

    def owner(self, authorization: str | None) -> str:
        """The owner id of the key in ``Authorization: Bearer KEY``; ``Unauthorized`` when the
        header is absent, malformed or holds no key of the service."""
        if not authorization:
            raise Unauthorized(f"no API key: {_USAGE}")
        scheme, _, key = authorization.strip().partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key or any(c.isspace() for c in key):
            raise Unauthorized(f"malformed Authorization header: {_USAGE}", invalid_token=True)
        presented = _digest(key)
        match = None
        for digest in self._digests:  # every digest is compared: the time does not tell which
            if hmac.compare_digest(presented, digest):
                match = digest
        if match is None:
            raise Unauthorized("unknown API key", invalid_token=True)
        return _owner_id(match)


def _owner_id(digest: bytes) -> str:
    """A short stable id for the key whose SHA-256 digest is ``digest`` (never the key)."""
    return hashlib.sha256(b"ivkgen-owner\0" + digest).hexdigest()[:16]
