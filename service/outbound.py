"""Outbound URLs with no SSRF: the host must be one the operator allowed, the scheme https,
every address the host resolves to public (not loopback, private, link-local, multicast,
reserved, unspecified, a cloud metadata address, nor one of these inside an IPv4-mapped, 6to4 or
NAT64 IPv6 address), and the connection goes to an address checked (no DNS rebinding)."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import httpx
from ivkgen.runtime._errors import ServeSetupError
from ivkgen.service.problems import MediaRejected

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
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


@dataclass(frozen=True)
class PinnedUrl:
    """A checked URL: ``urls`` go to the checked addresses (in the resolver's order), ``host``
    is the name they stand for (sent as ``Host`` and as the TLS server name, so that the
    certificate is checked for it)."""

    urls: tuple[httpx.URL, ...]
    host: str
    host_header: str

    @property
    def url(self) -> httpx.URL:
        """The URL of the first checked address."""
        return self.urls[0]

    async def send(
        self,
        client: httpx.AsyncClient,
        method: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send to the first checked address that takes the connection (an IPv6 address
        without a route, say, is skipped); streamed, redirects not followed."""
        for index, url in enumerate(self.urls):
            request = client.build_request(method, url, content=content, headers=headers)
            request.headers["Host"] = self.host_header
            request.extensions["sni_hostname"] = self.host
            try:
                return await client.send(request, stream=True, follow_redirects=False)
            except httpx.ConnectError:
                if index == len(self.urls) - 1:
                    raise
        raise AssertionError("a PinnedUrl has at least one address")


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
        (getattr(address, "is_site_local", False), "a site-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "a non-public address"),
    )
    return next((reason for refused, reason in checks if refused), None)


def quoted_host(host: str) -> str:
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
    return PinnedUrl((parsed,), "127.0.0.1", f"127.0.0.1:{port}")


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
        raise MediaRejected(f"host {quoted_host(host)} does not resolve", input_name=input_name)
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
            f"host {quoted_host(host)} is not one the service may fetch from (the operator "
            "allows hosts with --allow-url-host)",
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
                f"host {quoted_host(host)} resolves to {refusal}; refused", input_name=input_name
            )
    named = f"[{host}]" if ":" in host else host
    host_header = named if parsed.port is None else f"{named}:{parsed.port}"
    urls = tuple(parsed.copy_with(host=address) for address in dict.fromkeys(addresses))
    return PinnedUrl(urls, host, host_header)


async def check_outbound_url(url: str, policy: UrlPolicy) -> None:
    """Refuse (``MediaRejected``) a webhook URL that ``pin_outbound_url`` would refuse."""
    await pin_outbound_url(url, policy, input_name="webhook")
