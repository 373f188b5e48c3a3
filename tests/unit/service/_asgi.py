"""An HTTP client for a FastAPI app in the same process (no socket)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI


@asynccontextmanager
async def asgi_client(app: FastAPI, root_path: str = "") -> AsyncIterator[httpx.AsyncClient]:
    """``async with asgi_client(app) as client:`` sends ``client``'s requests to ``app``; an
    unexpected error reaches the client as the app answers it (no exception raised)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, root_path=root_path)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
