"""Webhooks as Standard Webhooks (https://www.standardwebhooks.com): each event is signed with
HMAC-SHA256 over ``id.timestamp.body``, sent to a checked, pinned address, and retried with
exponential backoff on connection errors, 5xx and 429; its id is stable across tries so that a
receiver can drop duplicates."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
from ivkgen.runtime._errors import IvkgenError, ServeSetupError
from ivkgen.service.outbound import UrlPolicy, pin_outbound_url
from ivkgen.service.problems import MediaRejected
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.wait import wait_base

SECRET_PREFIX = "whsec_"
SECRET_BYTES = (24, 64)  # the specification's bounds
MAX_RETRY_AFTER = 300.0

log = logging.getLogger("ivkgen.service.webhooks")


def sign(secret: bytes, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret, signed, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


def _decode_secret(text: str, where: str) -> bytes:
    encoded = text.strip().removeprefix(SECRET_PREFIX)
    try:
        secret = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        secret = b""
    low, high = SECRET_BYTES
    if not low <= len(secret) <= high:
        raise ServeSetupError(
            f"{where}: a webhook secret is {SECRET_PREFIX}<base64 of {low} to {high} bytes>"
        )
    return secret


def secret_from(value: str | None, path: Path) -> bytes:
    """The webhook secret: ``value`` when given (``whsec_<base64>`` or bare base64), else the one
    kept in ``path``, created there (readable by its owner only) on first use."""
    if value is not None:
        return _decode_secret(value, "the webhook secret")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as error:
        raise ServeSetupError(f"{path}: cannot create the webhook secret ({error})") from None
    else:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    try:
        return _decode_secret(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError) as error:
        raise ServeSetupError(f"{path}: cannot read the webhook secret ({error})") from None


class _Retryable(IvkgenError):
    """A try that may succeed later: no connection, 5xx, 429 (``retry_after`` in seconds)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class _Refused(IvkgenError):
    """A try that will not succeed by trying again (a redirect, a 4xx other than 429)."""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return min(float(value), MAX_RETRY_AFTER) if value.isdigit() else None


class WebhookSender:
    """Delivers signed events to webhook URLs that ``policy`` allows."""

    def __init__(
        self,
        secret: bytes,
        policy: UrlPolicy,
        client: httpx.AsyncClient | None = None,
        *,
        attempts: int = 8,
        backoff: wait_base | None = None,
    ) -> None:
        self._secret = secret
        self._policy = policy
        self._owns_client = client is None
        # trust_env=False: no proxy from the environment stands between the check and the address.
        self._client = client or httpx.AsyncClient(trust_env=False, timeout=10.0)
        self._attempts = attempts
        self._backoff = backoff or wait_exponential_jitter(initial=1, max=60)

    def _wait(self, state: RetryCallState) -> float:
        """The backoff, or longer when a 429 or 503 said ``Retry-After``."""
        wait = self._backoff(state)
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retryable) and error.retry_after is not None:
            return max(wait, error.retry_after)
        return wait

    async def send(self, url: str, msg_id: str, event: Mapping[str, object]) -> None:
        """Deliver ``event`` to ``url`` as ``msg_id``, retried with backoff; a delivery that
        cannot succeed, or still fails after the last try, is logged and dropped."""
        body = json.dumps(event, separators=(",", ":")).encode()
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self._deliver(url, msg_id, body)
        except _Retryable as error:
            log.warning("webhook %s: gave up after %d tries: %s", msg_id, self._attempts, error)
        except (_Refused, MediaRejected) as error:
            log.warning("webhook %s: not delivered: %s", msg_id, error)

    async def _deliver(self, url: str, msg_id: str, body: bytes) -> None:
        pinned = await pin_outbound_url(url, self._policy, input_name="webhook")
        headers = {"content-type": "application/json", "user-agent": "ivkgen-serve"}
        headers.update(sign(self._secret, msg_id, int(time.time()), body))
        try:
            # streamed and closed unread: a receiver's answer body is never loaded
            response = await pinned.send(self._client, "POST", content=body, headers=headers)
            await response.aclose()
        except httpx.TransportError as error:
            raise _Retryable(f"{pinned.host}: {type(error).__name__}") from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Retryable(f"{pinned.host} answered HTTP {status}", _retry_after(response))
        if not 200 <= status < 300:
            raise _Refused(f"{pinned.host} answered HTTP {status}")

    async def aclose(self) -> None:
        """Close the HTTP client when the sender made it."""
        if self._owns_client:
            await self._client.aclose()
