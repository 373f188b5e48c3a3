"""Media intake and outbound URLs: data URIs, base64, allowed https URLs only, no SSRF (names are
resolved by a test resolver and requests answered by httpx MockTransport: no traffic leaves
this machine)."""

from __future__ import annotations

import base64
import io
import ipaddress
from collections.abc import Callable, Sequence

import httpx
import pytest
from fastapi import UploadFile
from ivkgen.runtime._errors import ServeSetupError
from ivkgen.service.intake import (
    MediaRejected,
    UrlPolicy,
    check_outbound_url,
    read_media,
    read_upload,
    safe_file_name,
)
from ivkgen.service.outbound import address_refusal, pin_outbound_url

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PUBLIC = "93.184.215.14"
DNS: dict[str, list[str]] = {
    "media.example": [PUBLIC],
    "v6.example": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "localhost": ["127.0.0.1", "::1"],
    "sneaky.example": [PUBLIC, "10.0.0.7"],  # one public address is not enough
    "rebind.example": ["169.254.169.254"],
    "mapped.example": ["::ffff:127.0.0.1"],
    "2130706433": ["127.0.0.1"],
    "dual.example": [
        "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
        PUBLIC,
        PUBLIC,
    ],  # as getaddrinfo reads a decimal IPv4 address
}


async def fake_resolver(host: str, port: int) -> Sequence[str]:
    if host not in DNS:
        raise OSError(f"{host} does not resolve")
    return DNS[host]


def policy(*hosts: str, max_bytes: int = 4096) -> UrlPolicy:
    return UrlPolicy(frozenset(hosts), max_bytes, resolver=fake_resolver)


ALL = policy(*DNS, "127.0.0.1", "::1", "10.1.2.3", "2130706433", "169.254.169.254")


def serving(
    body: bytes = PNG, status: int = 200, headers: dict[str, str] | None = None
) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=body, headers=headers)

    return httpx.AsyncClient(transport=httpx.MockTransport(answer)), seen


async def rejected(value: str, used: UrlPolicy = ALL, **kwargs: object) -> MediaRejected:
    with pytest.raises(MediaRejected) as caught:
        await read_media(value, used, **kwargs)  # type: ignore[arg-type]
    return caught.value


# -- data URIs and base64 -----------------------------------------------------------------------


async def test_data_uri_and_bare_base64_decode() -> None:
    encoded = base64.b64encode(PNG).decode()
    assert await read_media(f"data:image/png;base64,{encoded}", ALL) == PNG
    assert await read_media(encoded, ALL) == PNG
    assert await read_media(f"DATA:image/png;BASE64,{encoded}", ALL) == PNG


async def test_base64_variants_a_client_sends() -> None:
    encoded = base64.b64encode(PNG[:100]).decode()
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    assert await read_media(wrapped, ALL) == PNG[:100]
    assert await read_media(encoded.rstrip("="), ALL) == PNG[:100]
    assert await read_media(base64.urlsafe_b64encode(PNG[:100]).decode(), ALL) == PNG[:100]


async def test_percent_encoded_data_uri() -> None:
    assert await read_media("data:text/plain,a%20b", ALL) == b"a b"


@pytest.mark.parametrize(
    "value", ["not base64!", "YWJj*", "a", "====", "YW=Jj", "data:image/png;base64,@@@@"]
)
async def test_bad_base64_is_422(value: str) -> None:
    error = await rejected(value, input_name="image")
    assert error.status == 422 and "not valid base64" in error.detail
    assert error.body()["errors"] == [{"input": "image", "message": "not valid base64"}]


async def test_empty_value_and_data_uri_without_comma_are_422() -> None:
    assert "empty" in (await rejected("   ")).detail
    assert "','" in (await rejected("data:image/png;base64")).detail


@pytest.mark.parametrize("size", [4097, 10_000, 1_000_000])
async def test_oversized_base64_is_413_and_does_not_echo_the_value(size: int) -> None:
    encoded = base64.b64encode(b"\0" * size).decode()
    for value in (encoded, f"data:image/png;base64,{encoded}"):
        error = await rejected(value)
        assert error.status == 413 and "4096 bytes" in error.detail
        assert encoded[:40] not in str(error.body())


async def test_exactly_max_bytes_is_accepted() -> None:
    assert await read_media(base64.b64encode(b"\1" * 4096).decode(), ALL) == b"\1" * 4096


async def test_oversized_percent_data_uri_is_413() -> None:
    assert (await rejected("data:," + "a" * 5000)).status == 413


# -- URLs: scheme, userinfo, hosts --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("http://media.example/a.png", "only https://"),
        ("ftp://media.example/a.png", "only https://"),
        ("file:///etc/passwd", "only https://"),
        ("gopher://media.example:70/", "only https://"),
        ("https://user:pw@media.example/a.png", "credentials"),
        ("https://media.example@127.0.0.1/", "credentials"),
        ("https://other.example/a.png", "not one the service may fetch from"),
        ("https://media.example.evil.test/", "not one the service may fetch from"),
        ("https://2130706433/", "not one the service may fetch from"),
        ("https://0x7f.0.0.1/", "not one the service may fetch from"),
        ("https://127.1/", "not one the service may fetch from"),
        ("https://unknown.example/", "not one the service may fetch from"),
        ("https:///nohost", "the URL has no host"),
        ("https://" + "a" * 3000 + ".example/", "longer than 2048"),
        ("https://[::1/", "not a valid URL"),
    ],
)
async def test_refused_urls_before_any_resolution(value: str, words: str) -> None:
    client, seen = serving()
    error = await rejected(value, policy("media.example"), client=client)
    assert error.status == 422 and words in error.detail
    assert seen == []


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("localhost", "loopback"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("169.254.169.254", "metadata"),
        ("rebind.example", "metadata"),
        ("sneaky.example", "private"),
        ("mapped.example", "loopback"),
        ("2130706433", "loopback"),
    ],
)
async def test_hosts_resolving_to_non_public_addresses_are_refused_even_when_allowed(
    host: str, why: str
) -> None:
    client, seen = serving()
    literal = f"[{host}]" if ":" in host else host
    error = await rejected(f"https://{literal}/x.png", ALL, client=client)
    assert error.status == 422 and why in error.detail and "refused" in error.detail
    assert seen == []


async def test_2130706433_resolves_through_the_system_resolver_to_loopback() -> None:
    system = UrlPolicy(frozenset({"2130706433"}), 100)
    error = await rejected("https://2130706433/", system)
    assert "loopback" in error.detail


async def test_localhost_through_the_system_resolver_is_refused() -> None:
    system = UrlPolicy(frozenset({"localhost"}), 100)
    assert "loopback" in (await rejected("https://localhost:8443/x", system)).detail


async def test_a_name_that_does_not_resolve_is_422() -> None:
    assert (
        "does not resolve"
        in (await rejected("https://nowhere.example/", policy("nowhere.example"))).detail
    )


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fec0::1", "site-local"),
        ("::127.0.0.1", "reserved"),  # IPv4-compatible
        ("2001:db8::1", "private"),  # documentation
        ("fd00:ec2::254", "metadata"),
        ("fc00::5", "private"),
        ("100.64.0.1", "non-public"),
        ("100.100.100.200", "metadata"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "metadata"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 of 169.254.169.254
        ("64:ff9b::a00:1", "private"),
    ],
)
def test_address_refusals(address: str, why: str) -> None:
    refusal = address_refusal(ipaddress.ip_address(address))
    assert refusal is not None and why in refusal


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


# -- fetching: pinned, no redirects, capped ----------------------------------------------------


async def test_allowed_host_is_fetched_from_the_checked_address() -> None:
    client, seen = serving()
    assert await read_media("https://Media.Example./a.png?x=1", ALL, client=client) == PNG
    [request] = seen
    assert request.url == httpx.URL(f"https://{PUBLIC}/a.png?x=1")
    assert request.headers["host"] == "media.example"
    assert request.extensions["sni_hostname"] == "media.example"


async def test_ipv6_address_and_port_are_pinned() -> None:
    client, seen = serving()
    await read_media("https://v6.example:8443/a.png", ALL, client=client)
    assert seen[0].url.host == "2606:2800:21f:cb07:6820:80da:af6b:8b2c"
    assert seen[0].url.port == 8443
    assert seen[0].headers["host"] == "v6.example:8443"


async def test_an_address_that_takes_no_connection_is_skipped_for_the_next_checked_one() -> None:
    tried: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        tried.append(request.url.host)
        if ":" in request.url.host:
            raise httpx.ConnectError("network unreachable", request=request)
        return httpx.Response(200, content=PNG)

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    assert await read_media("https://dual.example/a.png", ALL, client=client) == PNG
    assert tried == ["2606:2800:21f:cb07:6820:80da:af6b:8b2c", PUBLIC]  # each address once


async def test_when_no_address_takes_the_connection_the_fetch_fails() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    error = await rejected("https://dual.example/a.png", ALL, client=client)
    assert "connection failed" in error.detail


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_are_not_followed(status: int) -> None:
    client, seen = serving(status=status, headers={"location": "https://127.0.0.1/"})
    error = await rejected("https://media.example/a.png", ALL, client=client)
    assert "redirects are not followed" in error.detail
    assert len(seen) == 1


@pytest.mark.parametrize("status", [404, 500])
async def test_an_error_answer_is_422(status: int) -> None:
    client, _ = serving(status=status)
    error = await rejected("https://media.example/a.png", ALL, client=client)
    assert f"HTTP {status}" in error.detail


async def test_declared_oversize_is_413() -> None:
    client, _ = serving(body=b"\0" * 5000)
    assert (await rejected("https://media.example/a", ALL, client=client)).status == 413


async def test_oversize_while_streaming_is_413() -> None:
    chunks_sent: list[int] = []

    async def endless() -> object:
        for _ in range(100):
            chunks_sent.append(1)
            yield b"\0" * 1000

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())  # no Content-Length: chunked

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    error = await rejected("https://media.example/a", ALL, client=client)
    assert error.status == 413
    assert len(chunks_sent) < 10  # the reading stopped at the cap


async def test_connection_failure_is_422_naming_the_host_only() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused to 93.184.215.14")

    client = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    error = await rejected("https://media.example/secret-path", ALL, client=client)
    assert error.detail == "could not fetch from host 'media.example': connection failed"


# -- outbound (webhook) URLs and the test receiver allowance -----------------------------------


async def test_check_outbound_url_names_the_webhook_input() -> None:
    await check_outbound_url("https://media.example/hook", ALL)
    with pytest.raises(MediaRejected) as caught:
        await check_outbound_url("https://localhost/hook", ALL)
    assert caught.value.body()["errors"][0]["input"] == "webhook"


async def test_loopback_receiver_allows_exactly_its_port_over_http() -> None:
    receiver = UrlPolicy.for_loopback_receiver(8123, 100)
    pinned = await pin_outbound_url("http://127.0.0.1:8123/hook", receiver)
    assert pinned.url == httpx.URL("http://127.0.0.1:8123/hook")
    for other in (
        "http://127.0.0.1:8124/hook",
        "http://localhost:8123/hook",
        "http://[::1]:8123/hook",
        "http://u@127.0.0.1:8123/hook",
        "https://media.example/hook",
    ):
        with pytest.raises(MediaRejected):
            await pin_outbound_url(other, receiver)


def test_the_loopback_allowance_is_not_a_constructor_option() -> None:
    make: Callable[..., UrlPolicy] = UrlPolicy
    with pytest.raises(TypeError):
        make(frozenset(), 100, loopback_receiver_port=8123)
    assert UrlPolicy(frozenset({"a.example"}), 1).loopback_receiver_port is None


def test_allowed_hosts_are_normalised_and_size_must_be_positive() -> None:
    assert UrlPolicy(frozenset({"Media.Example.", "bücher.de"}), 1).allowed_hosts == {
        "media.example",
        "xn--bcher-kva.de",
    }
    with pytest.raises(ServeSetupError, match="must be positive"):
        UrlPolicy(frozenset(), 0)


@pytest.mark.parametrize("host", ["bad host", "", "a.example/path", "u@a.example", "[::1", "a:b:c"])
def test_an_allowed_host_that_is_no_host_name_is_an_error_naming_it(host: str) -> None:
    with pytest.raises(ServeSetupError) as caught:
        UrlPolicy(frozenset({host}), 1)
    assert f"--allow-url-host {host!r}: not a host name" == str(caught.value)


# -- file names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.png", "1f2e-3d.webp", "my photo (1).png", "é.png"])
def test_plain_file_names_pass(name: str) -> None:
    assert safe_file_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "..",
        ".",
        "../etc/passwd",
        "a/../b",
        "a/b.png",
        "a\\b.png",
        "..\\x",
        ".hidden",
        "x\x00.png",
        "x\n.png",
        "a" * 256,
        "a..b",
    ],
)
def test_unsafe_file_names_are_422(name: str) -> None:
    with pytest.raises(MediaRejected) as caught:
        safe_file_name(name)
    assert caught.value.status == 422 and caught.value.body()["errors"][0]["input"] == "file"


async def test_a_long_host_is_cut_in_the_message() -> None:
    host = "a" * 60 + "." + "b" * 60 + ".example"
    error = await rejected(f"https://{host}/", policy("media.example"))
    assert host not in error.detail and "..." in error.detail and len(error.detail) < 200


# -- multipart uploads ------------------------------------------------------------------------


def upload(data: bytes, *, declared: bool = True) -> UploadFile:
    return UploadFile(io.BytesIO(data), size=len(data) if declared else None, filename="a.png")


async def test_an_upload_within_the_cap_is_read_whole_over_several_chunks() -> None:
    data = PNG * 150  # about 150 KiB: three chunks
    large = UrlPolicy(frozenset(), 200_000)
    for declared in (True, False):
        assert await read_upload(upload(data, declared=declared), large) == data


async def test_an_upload_past_the_cap_is_413_declared_or_not() -> None:
    for declared in (True, False):
        with pytest.raises(MediaRejected) as caught:
            await read_upload(upload(b"\0" * 5000, declared=declared), ALL, input_name="image")
        assert caught.value.status == 413
        assert caught.value.body()["errors"][0]["input"] == "image"


async def test_an_empty_upload_is_422() -> None:
    with pytest.raises(MediaRejected, match="empty"):
        await read_upload(upload(b""), ALL)
