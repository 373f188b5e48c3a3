"""The account operations of a client: log in and out, the server's sign-in status, its first
administrator, the user logged in, the server's version."""

from __future__ import annotations

import httpx
from ivkgen.runtime._server.auth import SETUP_STATUS_PATH
from ivkgen.runtime._server.core import Call, ClientCore, operation, parse_key, parse_model
from ivkgen.runtime._server.dto import AuthStatus, UserDTO


class AccountOps:
    """Mixed into both clients (their ``_core`` holds the token and credentials)."""

    _core: ClientCore

    @operation
    def login(
        self, email: str | None = None, password: str | None = None, *, remember_me: bool = False
    ) -> Call[UserDTO]:
        """Log in (multi-user mode) with these or the client's credentials; keeps the token."""
        auth = self._core.auth
        if email is not None or password is not None:
            auth.email, auth.password = email, password
            auth.__post_init__()
        if auth.email is None or auth.password is None:
            raise ValueError("login needs email= and password= (here or in from_url)")

        def parse(response: httpx.Response) -> UserDTO:
            body = response.json()
            auth.token = str(body["token"])
            return UserDTO.model_validate(body["user"])

        body = {"email": auth.email, "password": auth.password, "remember_me": remember_me}
        return Call(
            "POST", "/api/v1/auth/login", parse, json=body, authenticated=False, sensitive=True
        )

    @operation
    def logout(self) -> Call[None]:
        """Log out and forget the token."""
        auth = self._core.auth

        def parse(response: httpx.Response) -> None:
            auth.token = None

        return Call("POST", "/api/v1/auth/logout", parse)

    @operation
    def get_auth_status(self) -> Call[AuthStatus]:
        """Whether the server runs in multi-user mode and still needs its first admin."""
        return Call("GET", SETUP_STATUS_PATH, parse_model(AuthStatus), authenticated=False)

    @operation
    def setup_admin(
        self, email: str, password: str, *, display_name: str | None = None
    ) -> Call[UserDTO]:
        """Create the first administrator of a multi-user server (once per server)."""

        def parse(response: httpx.Response) -> UserDTO:
            return UserDTO.model_validate(response.json()["user"])

        body = {"email": email, "password": password, "display_name": display_name}
        return Call(
            "POST", "/api/v1/auth/setup", parse, json=body, authenticated=False, sensitive=True
        )

    @operation
    def get_me(self) -> Call[UserDTO]:
        """The logged-in user."""
        return Call("GET", "/api/v1/auth/me", parse_model(UserDTO))

    @operation
    def get_version(self) -> Call[str]:
        """The server's InvokeAI version, e.g. ``"6.14.2"``."""
        return Call("GET", "/api/v1/app/version", parse_key("version", str))
