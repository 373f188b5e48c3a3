"""Credentials and the bearer token of a client (InvokeAI multi-user mode).

``AuthState`` holds the token and, when given, the email/password used to (re)obtain one. Neither
ever appears in a ``repr``, a log line or an error message. A token can stop working before it
expires: InvokeAI 7.0 revokes a user's other tokens when the password changes (the request that
changed it gets a replacement in ``X-Refreshed-Token``) and closes their event sockets. A client
with credentials then logs in again, once per refused token.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from ivkgen.runtime._errors import SetupRequiredError

SETUP_STATUS_PATH = "/api/v1/auth/status"

# httpcore's DEBUG trace logs response headers, which carry the refreshed token and the
# media-token cookie; these loggers get a filter that masks those header values.
_HTTP_TRACE_LOGGERS = ("httpcore.http11", "httpcore.http2", "httpcore.proxy")
_SECRET_HEADER = re.compile(
    r"\(b'(authorization|cookie|set-cookie|x-refreshed-token)', b'[^']*'\)", re.IGNORECASE
)


@dataclass(eq=False)
class AuthState:
    """The client's token and log-in credentials; ``repr`` shows only whether they are set."""

    token: str | None = field(default=None, repr=False)
    email: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if (self.email is None) != (self.password is None):
            raise ValueError("give both email= and password= to log in (or a token=)")

    @property
    def needs_login(self) -> bool:
        """True when there are credentials but no token yet."""
        return self.token is None and self.email is not None

    def refused(self, status_code: int, sent: str | None) -> bool:
        """Whether an answer to a request sent with the token ``sent`` refused that token and
        the client can log in again (it has credentials) and send the request once more."""
        return status_code == 401 and sent is not None and self.email is not None

    def stale(self, sent: str | None) -> bool:
        """Whether the refused token ``sent`` is still the client's (no other request logged
        in again since)."""
        return self.token == sent

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def __repr__(self) -> str:
        if self.token:
            return "auth='token'"
        return "auth='credentials'" if self.email else "auth=None"


def setup_required_error(base_url: str, method: str, path: str, detail: Any) -> SetupRequiredError:
    """The error for a 401 from a server whose auth status says it needs its first-time setup."""
    return SetupRequiredError(
        f"{method} {path} was refused (401): {base_url} runs in multi-user mode and has no "
        "administrator yet; create one in its web UI (or with client.setup_admin(email, "
        "password)), then log in",
        method=method,
        path=path,
        status_code=401,
        detail=detail,
    )


class _MaskSecretHeaders(logging.Filter):
    """Masks secret header values in httpcore's trace messages."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _SECRET_HEADER.sub(r"(b'\1', b'***')", message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def mask_secret_headers_in_http_logs() -> None:
    """Install the masking filter on httpcore's trace loggers (once)."""
    for name in _HTTP_TRACE_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _MaskSecretHeaders) for f in logger.filters):
            logger.addFilter(_MaskSecretHeaders())
