"""A cap on request bodies: a declared ``Content-Length`` past it is refused before anything is
read, and a body sent without one is cut off where it passes the cap (413 problem)."""

from __future__ import annotations

from fastapi import FastAPI
from ivkgen.service.problems import Problem
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _too_large_detail(max_bytes: int) -> str:
    return f"the request body is larger than {max_bytes} bytes"


class _BodyLimit:
    """ASGI middleware refusing request bodies larger than ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            problem = Problem(413, "Content Too Large", _too_large_detail(self.max_bytes))
            await problem.response(scope["path"])(scope, receive, send)
            return
        received = 0

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # an HTTPException passes FastAPI's body parsing and becomes the problem
                    raise HTTPException(413, _too_large_detail(self.max_bytes))
            return message

        await self.app(scope, capped_receive, send)


def install_body_limit(app: FastAPI, max_bytes: int) -> None:
    """Refuse request bodies of ``app`` larger than ``max_bytes`` with a 413 problem."""
    app.add_middleware(_BodyLimit, max_bytes=max_bytes)
