"""The server's address: the URL a client is given, and the answers that show it leads somewhere
other than InvokeAI's API (its web page, another service). Pure."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ivkgen.runtime._errors import ServerURLError

if TYPE_CHECKING:
    import httpx


def check_server_url(url: str) -> None:
    """Raise ``ServerURLError`` unless ``url`` is an http(s) URL with a host."""
    parts = urlsplit(url)
    if "://" not in url:
        raise ServerURLError(
            f"{url!r} is not a server URL: it lacks its scheme; use http://{url.lstrip('/')}"
        )
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ServerURLError(
            f"{url!r} is not a server URL; use http://HOST:PORT (e.g. http://127.0.0.1:9090)"
        )


def json_answer(response: httpx.Response) -> bool:
    """Whether an answer is JSON, as every answer of InvokeAI's API is (an empty one aside)."""
    kind = response.headers.get("content-type", "")
    return not response.content or kind.split(";")[0].strip().endswith("json")


def not_the_api(base_url: str, method: str, path: str, response: httpx.Response) -> ServerURLError:
    """The error for an answer InvokeAI's API never gives to this client (a value or a 404 that
    is not JSON, a 405): the URL points at something else (its web page, another service)."""
    parts = urlsplit(base_url)
    kind = response.headers.get("content-type", "no content type").split(";")[0]
    if response.status_code >= 400:
        kind = f"HTTP {response.status_code} ({kind})"
    root = f"{parts.scheme}://{parts.netloc}"
    advice = f"use the server's root URL, {root}" if root != base_url else "check the address"
    return ServerURLError(
        f"{method} {path} at {base_url} answered {kind}, not InvokeAI's API; {advice}"
    )
