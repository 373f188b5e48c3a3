"""Media inputs (a data URI, base64, a multipart upload, or an allowed ``https://`` URL) and
outbound URLs, with no SSRF: a URL's host must be one the operator allowed, every address it
resolves to must be public, the connection goes to the address checked (no DNS rebinding),
redirects are not followed, and every size is capped, also while streaming."""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import re
import socket
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
from ivkgen.runtime.errors import ServeSetupError
from ivkgen.service.problems import Problem, input_error
from starlette.datastructures import UploadFile

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

FETCH_SECONDS = 30.0
MAX_URL_LENGTH = 2048
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]*={0,2}$")
# Cloud metadata services (all in ranges refused anyway; named for a clearer refusal).
_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, from the system's resolver."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _host_name(host: str) -> str:
    """``host`` as compared and resolved: IDNA ASCII, lower case, no trailing dot; an IP
    address in its normal form."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return httpx.URL(f"https://{host}/").raw_host.decode("ascii").rstrip(".")


_HOST_NAME = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$")


def _allowed_host(host: str) -> str:
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    try:
        name = "" if re.search(r"[/@?#:\[\]\\\s]", host) else _host_name(host)
    except (httpx.InvalidURL, UnicodeError):
        name = ""
    if not _HOST_NAME.match(name):
        raise ServeSetupError(f"--allow-url-host {host!r}: not a host name")
    return name


@dataclass(frozen=True)
class UrlPolicy:
    """Which URLs the service may fetch media from or send webhooks to, and the size cap."""

    allowed_hosts: frozenset[str]
    max_bytes: int
    resolver: Resolver = field(default=system_resolver, compare=False, repr=False)
    # Only ``for_loopback_receiver`` sets it (no option or request can): lets a test's own
    # receiver on http://127.0.0.1:PORT through.
    loopback_receiver_port: int | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.max_bytes <= 0:
            raise ServeSetupError(f"the media size cap must be positive, not {self.max_bytes}")
        object.__setattr__(
            self, "allowed_hosts", frozenset(_allowed_host(h) for h in self.allowed_hosts)
        )

    @classmethod
    def for_loopback_receiver(cls, port: int, max_bytes: int) -> UrlPolicy:
        """A policy for tests that allows exactly ``http://127.0.0.1:{port}`` and nothing else."""
        policy = cls(frozenset(), max_bytes)
        object.__setattr__(policy, "loopback_receiver_port", port)
        return policy


class MediaRejected(Problem):
    """A media input or URL refused: 422, or 413 when too large; the detail says what was wrong
    without echoing the value; ``input_name`` names the input attribute."""

    def __init__(self, detail: str, *, status: int = 422, input_name: str | None = None) -> None:
        title = "Content Too Large" if status == 413 else "Unprocessable Content"
        errors = [input_error(input_name, detail)] if input_name else []
        super().__init__(status, title, detail, errors=errors)


@dataclass(frozen=True)
class PinnedUrl:
    """A checked URL: ``url`` goes to the checked address, ``host`` is the name it stands for
    (sent as ``Host`` and as the TLS server name, so the certificate is checked for it)."""

    url: httpx.URL
    host: str
    host_header: str

    def request(
        self,
        client: httpx.AsyncClient,
        method: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        """A request to the pinned address with the name's ``Host`` and TLS server name."""
        request = client.build_request(method, self.url, content=content, headers=headers)
        request.headers["Host"] = self.host_header
        request.extensions["sni_hostname"] = self.host
        return request


def address_refusal(address: IPAddress) -> str | None:
    """Why ``address`` is no public address (None when it is one)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and any(address in net for net in _NAT64):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return address_refusal(embedded)
    checks = (
        (address in _METADATA, "a cloud metadata address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "a non-public address"),
    )
    return next((reason for refused, reason in checks if refused), None)


def _shown(host: str) -> str:
    """``host`` for a message: quoted, cut at 80 characters."""
    return repr(host if len(host) <= 80 else host[:77] + "...")


def _parse(url: str, input_name: str | None) -> httpx.URL:
    if len(url) > MAX_URL_LENGTH:
        raise MediaRejected(
            f"the URL is longer than {MAX_URL_LENGTH} characters", input_name=input_name
        )
    try:
        return httpx.URL(url)
    except (httpx.InvalidURL, ValueError, UnicodeError):
        raise MediaRejected("not a valid URL", input_name=input_name) from None


def _loopback_receiver(parsed: httpx.URL, policy: UrlPolicy) -> PinnedUrl | None:
    port = policy.loopback_receiver_port
    if port is None or parsed.scheme != "http" or parsed.userinfo:
        return None
    if parsed.raw_host != b"127.0.0.1" or parsed.port != port:
        return None
    return PinnedUrl(parsed, "127.0.0.1", f"127.0.0.1:{port}")


async def _addresses(host: str, port: int, policy: UrlPolicy, input_name: str | None) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        addresses = list(await policy.resolver(host, port))
    except (OSError, UnicodeError):
        addresses = []
    if not addresses:
        raise MediaRejected(f"host {_shown(host)} does not resolve", input_name=input_name)
    return addresses


async def pin_outbound_url(
    url: str, policy: UrlPolicy, *, input_name: str | None = None
) -> PinnedUrl:
    """Check ``url`` against ``policy`` (https, an allowed host, only public addresses after
    resolution) and pin it to the first address checked; ``MediaRejected`` when refused."""
    parsed = _parse(url, input_name)
    pinned = _loopback_receiver(parsed, policy)
    if pinned is not None:
        return pinned
    if parsed.scheme != "https":
        scheme = parsed.scheme or "no scheme"
        raise MediaRejected(f"only https:// URLs are accepted, not {scheme}", input_name=input_name)
    if parsed.userinfo:
        raise MediaRejected("a URL with credentials (user@host) is refused", input_name=input_name)
    host = _host_name(parsed.raw_host.decode("ascii")) if parsed.raw_host else ""
    if not host:
        raise MediaRejected("the URL has no host", input_name=input_name)
    if host not in policy.allowed_hosts:
        raise MediaRejected(
            f"host {_shown(host)} is not one the service may fetch from (the operator allows hosts "
            "with --allow-url-host)",
            input_name=input_name,
        )
    port = parsed.port or 443
    addresses = await _addresses(host, port, policy, input_name)
    for address in addresses:
        try:
            refusal = address_refusal(ipaddress.ip_address(address.split("%")[0]))
        except ValueError:
            refusal = "an unparsable address"
        if refusal is not None:
            raise MediaRejected(
                f"host {_shown(host)} resolves to {refusal}; refused", input_name=input_name
            )
    named = f"[{host}]" if ":" in host else host
    host_header = named if parsed.port is None else f"{named}:{parsed.port}"
    return PinnedUrl(parsed.copy_with(host=addresses[0]), host, host_header)


async def check_outbound_url(url: str, policy: UrlPolicy) -> None:
    """Refuse (``MediaRejected``) a webhook URL that ``pin_outbound_url`` would refuse."""
    await pin_outbound_url(url, policy, input_name="webhook")


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
    async with _client_or_own(client) as http:
        request = pinned.request(http, "GET")
        async with asyncio.timeout(FETCH_SECONDS):
            response = await http.send(request, stream=True, follow_redirects=False)
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
                f"could not fetch from host {_shown(pinned.host)}: {reason}", input_name=input_name
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
