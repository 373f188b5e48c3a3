"""Media inputs: a data URI, base64, a multipart upload, or an ``https://`` URL that the
operator allowed (fetched from a checked address, see ``outbound``, with no redirects); every size
is capped, also while streaming. File names are checked for paths."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from ivkgen.service.outbound import (
    PinnedUrl,
    UrlPolicy,
    check_outbound_url,
    pin_outbound_url,
    quoted_host,
)
from ivkgen.service.problems import MediaRejected
from starlette.datastructures import UploadFile

FETCH_SECONDS = 30.0
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]*={0,2}$")


def _too_large(policy: UrlPolicy, input_name: str | None) -> MediaRejected:
    return MediaRejected(
        f"the media is larger than {policy.max_bytes} bytes", status=413, input_name=input_name
    )


def _decode_base64(text: str, policy: UrlPolicy, input_name: str | None) -> bytes:
    if len(text) > (policy.max_bytes + 2) // 3 * 4 * 2:  # room for whitespace, before copying
        raise _too_large(policy, input_name)
    compact = "".join(text.split())
    if len(compact) > (policy.max_bytes + 2) // 3 * 4:
        raise _too_large(policy, input_name)
    if not compact or not _BASE64.match(compact) or len(compact) % 4 == 1:
        raise MediaRejected("not valid base64", input_name=input_name)
    padded = compact.translate(str.maketrans("-_", "+/")) + "=" * (-len(compact) % 4)
    try:
        data = base64.b64decode(padded, validate=True)
    except binascii.Error:
        raise MediaRejected("not valid base64", input_name=input_name) from None
    if len(data) > policy.max_bytes:
        raise _too_large(policy, input_name)
    return data


def _decode_data_uri(value: str, policy: UrlPolicy, input_name: str | None) -> bytes:
    header, comma, payload = value[len("data:") :].partition(",")
    if not comma:
        raise MediaRejected("a data: URI needs a ',' before its data", input_name=input_name)
    if header.lower().endswith(";base64"):
        return _decode_base64(payload, policy, input_name)
    if len(payload) > policy.max_bytes * 3:
        raise _too_large(policy, input_name)
    data = urllib.parse.unquote_to_bytes(payload)
    if len(data) > policy.max_bytes:
        raise _too_large(policy, input_name)
    return data


@asynccontextmanager
async def _client_or_own(client: httpx.AsyncClient | None) -> AsyncIterator[httpx.AsyncClient]:
    if client is not None:
        yield client
        return
    # trust_env=False: no proxy from the environment stands between the check and the address.
    async with httpx.AsyncClient(trust_env=False, timeout=10.0) as own:
        yield own


async def _fetch(
    pinned: PinnedUrl,
    policy: UrlPolicy,
    input_name: str | None,
    client: httpx.AsyncClient | None,
) -> bytes:
    async with _client_or_own(client) as http, asyncio.timeout(FETCH_SECONDS):
        response = await pinned.send(http, "GET")
        try:
            return await _read_capped(response, policy, input_name)
        finally:
            await response.aclose()


async def _read_capped(
    response: httpx.Response, policy: UrlPolicy, input_name: str | None
) -> bytes:
    if response.is_redirect:
        raise MediaRejected("the URL redirects; redirects are not followed", input_name=input_name)
    if response.status_code != 200:
        raise MediaRejected(f"the URL answered HTTP {response.status_code}", input_name=input_name)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise _too_large(policy, input_name)
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > policy.max_bytes:
            raise _too_large(policy, input_name)
    return bytes(body)


async def read_media(
    value: str,
    policy: UrlPolicy,
    *,
    input_name: str | None = None,
    client: httpx.AsyncClient | None = None,
) -> bytes:
    """The bytes of a media input: a ``data:`` URI, a bare base64 string, or an ``https://`` URL
    that ``policy`` allows (fetched from the checked address, no redirects, capped);
    ``MediaRejected`` (422, or 413 when too large) otherwise."""
    text = value.strip()
    if not text:
        raise MediaRejected("empty media value", input_name=input_name)
    if text[:5].lower() == "data:":
        return _decode_data_uri(text, policy, input_name)
    if _SCHEME.match(text):
        pinned = await pin_outbound_url(text, policy, input_name=input_name)
        try:
            return await _fetch(pinned, policy, input_name, client)
        except (httpx.HTTPError, TimeoutError) as error:
            reason = (
                "timed out"
                if isinstance(error, TimeoutError | httpx.TimeoutException)
                else ("connection failed")
            )
            raise MediaRejected(
                f"could not fetch from host {quoted_host(pinned.host)}: {reason}",
                input_name=input_name,
            ) from None
    return _decode_base64(text, policy, input_name)


UPLOAD_CHUNK = 64 * 1024


async def read_upload(
    upload: UploadFile, policy: UrlPolicy, *, input_name: str | None = None
) -> bytes:
    """The bytes of a multipart upload, read in chunks and refused (413) past the size cap."""
    if upload.size is not None and upload.size > policy.max_bytes:
        raise _too_large(policy, input_name)
    body = bytearray()
    while chunk := await upload.read(UPLOAD_CHUNK):
        body += chunk
        if len(body) > policy.max_bytes:
            raise _too_large(policy, input_name)
    if not body:
        raise MediaRejected("the uploaded file is empty", input_name=input_name)
    return bytes(body)


_UNSAFE_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")


def safe_file_name(name: str) -> str:
    """``name`` when it is a plain file name (no path, no ``..``, no control characters, not
    hidden, at most 255 bytes); ``MediaRejected`` otherwise."""
    if not name or len(name.encode()) > 255:
        raise MediaRejected("a file name has 1 to 255 bytes", input_name="file")
    if ".." in name or name.startswith(".") or _UNSAFE_NAME.search(name):
        raise MediaRejected(
            "a file name cannot hold '..', '/', '\\' or control characters, nor start with '.'",
            input_name="file",
        )
    return name


__all__ = [
    "MediaRejected",
    "UrlPolicy",
    "check_outbound_url",
    "read_media",
    "read_upload",
    "safe_file_name",
]
