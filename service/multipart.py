"""Runs started with a ``multipart/form-data`` body: the files of media inputs as uploads.

The form's text parts are the inputs (each part named after its attribute, its value JSON
where it parses as JSON, else the text), or one part ``inputs`` holding them all as a JSON
object; each file part is the file of the media input it is named after. The middleware reads
the files (capped by ``read_upload``) and hands the route a JSON body in which each file is a
``data:`` URI, so that a multipart run is validated and recorded exactly as a JSON one.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from ivkgen.service.intake import read_upload
from ivkgen.service.outbound import UrlPolicy
from ivkgen.service.problems import Problem
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

RUNS_PATH = re.compile(r"^/v1/workflows/[^/]+/runs$")


def form_schema(media: dict[str, str]) -> dict[str, Any]:
    """The ``multipart/form-data`` request body of a run's OpenAPI operation."""
    files = {
        name: {"type": "string", "format": "binary", "description": f"the {kind} file"}
        for name, kind in media.items()
    }
    inputs = {"type": "string", "description": "the other inputs, as one JSON object"}
    schema = {"type": "object", "properties": {"inputs": inputs, **files}}
    return {"requestBody": {"content": {"multipart/form-data": {"schema": schema}}}}


def _text_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


class MultipartRuns:
    """ASGI middleware: a multipart POST to a run route becomes the equivalent JSON body."""

    def __init__(self, app: ASGIApp, policy: UrlPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._applies(scope):
            await self.app(scope, receive, send)
            return
        try:
            body = await self._json_body(Request(scope, receive))
        except Problem as problem:
            await problem.response(scope["path"])(scope, receive, send)
            return
        except HTTPException as refused:  # a malformed form
            malformed = Problem(refused.status_code, "Bad Request", str(refused.detail))
            await malformed.response(scope["path"])(scope, receive, send)
            return
        encoded = json.dumps(body).encode()
        headers = [
            (k, v) for k, v in scope["headers"] if k not in (b"content-type", b"content-length")
        ]
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(encoded)),
        ]
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": encoded, "more_body": False}

        await self.app({**scope, "headers": headers}, replay, send)

    async def _json_body(self, request: Request) -> dict[str, Any]:
        body: dict[str, Any] = {}
        async with request.form() as form:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    data = await read_upload(value, self.policy, input_name=name)
                    kind = value.content_type or "application/octet-stream"
                    body[name] = f"data:{kind};base64,{base64.b64encode(data).decode()}"
                elif name == "inputs":
                    given = _text_value(value)
                    body.update(given if isinstance(given, dict) else {"inputs": given})
                else:
                    body[name] = _text_value(value)
        return body

    @staticmethod
    def _applies(scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "POST":
            return False
        if not RUNS_PATH.match(scope["path"]):
            return False
        content_type: bytes = dict(scope["headers"]).get(b"content-type", b"")
        return content_type.lower().startswith(b"multipart/form-data")


__all__ = ["MultipartRuns", "form_schema"]
