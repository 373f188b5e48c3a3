"""The docs page: every asset it references is served by the service itself, so it renders with
no internet."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from ivkgen.service.docs import install_docs
from ivkgen.service.problems import install_problem_handlers

from tests.unit.service._asgi import asgi_client


class References(HTMLParser):
    """The URLs a page loads: script src, link href, img src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)


def make_app() -> FastAPI:
    app = FastAPI(title="ivkgen serve", docs_url=None, redoc_url=None)
    install_problem_handlers(app)
    install_docs(app)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(make_app()) as client:
        yield client


async def page_references(client: httpx.AsyncClient) -> list[str]:
    page = await client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    parser = References()
    parser.feed(page.text)
    # the OpenAPI document the page's script loads
    parser.urls += re.findall(r"url: '([^']+)'", page.text)
    return parser.urls


async def test_every_asset_the_docs_page_references_is_served_locally(
    client: httpx.AsyncClient,
) -> None:
    urls = await page_references(client)
    assert len(urls) == 4  # script, style, icon, OpenAPI document
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{url} is not served by the service"
        answer = await client.get(url)
        assert answer.status_code == 200, url
        assert len(answer.content) > 0
    types = {
        urlsplit(u).path.rsplit(".", 1)[-1]: (await client.get(u)).headers["content-type"]
        for u in urls
    }
    assert types["js"].startswith("text/javascript")
    assert types["css"].startswith("text/css")
    assert types["json"].startswith("application/json")


async def test_the_swagger_ui_served_reads_the_openapi_version_fastapi_writes(
    client: httpx.AsyncClient,
) -> None:
    """Swagger UI 4 shows "Unable to render this definition" for OpenAPI 3.1; 5 reads it."""
    assert (await client.get("/openapi.json")).json()["openapi"].startswith("3.1.")
    bundle = (await client.get("/docs/assets/swagger-ui-bundle.js")).text
    version = re.search(r'PACKAGE_VERSION:"(\d+)\.(\d+)\.', bundle)
    assert version is not None and int(version.group(1)) >= 5


async def test_the_page_names_no_other_host(client: httpx.AsyncClient) -> None:
    page = (await client.get("/docs")).text
    assert "http://" not in page and "https://" not in page
    assert '"validatorUrl": null' in page


async def test_the_stylesheet_loads_nothing_from_elsewhere(client: httpx.AsyncClient) -> None:
    css = (await client.get("/docs/assets/swagger-ui.css")).text
    for target in re.findall(r"url\(\s*['\"]?([^'\")]{0,40})", css):
        assert target.startswith("data:"), target
    assert "@import" not in css


async def test_other_files_of_the_bundle_are_not_served(client: httpx.AsyncClient) -> None:
    for name in (
        "index.html",
        "swagger-initializer.js",
        "..%2F__init__.py",
        "oauth2-redirect.html",
    ):
        answer = await client.get(f"/docs/assets/{name}")
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"


async def test_the_docs_are_not_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert set(paths) == {"/healthz"}


async def test_root_path_prefixes_every_reference() -> None:
    async with asgi_client(make_app(), root_path="/ivk") as client:
        page = (await client.get("/docs")).text
    assert "/ivk/docs/assets/swagger-ui-bundle.js" in page and "url: '/ivk/openapi.json'" in page


def test_an_app_without_openapi_cannot_have_docs() -> None:
    with pytest.raises(ValueError, match="openapi_url"):
        install_docs(FastAPI(openapi_url=None))
