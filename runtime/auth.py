"""Credentials and the bearer token of a client (InvokeAI multi-user mode).

``AuthState`` holds the token and, when given, the email/password used to (re)obtain one. Neither
ever appears in a ``repr``, a log line or an error message.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
