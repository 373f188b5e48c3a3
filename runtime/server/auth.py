"""Credentials and the bearer token of a client (InvokeAI multi-user mode).

``AuthState`` holds the token and, when given, the email/password used to (re)obtain one. Neither
ever appears in a ``repr``, a log line or an error message.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

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

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def __repr__(self) -> str:
        if self.token:
            return "auth='token'"
        return "auth='credentials'" if self.email else "auth=None"


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
