"""The interactive API docs at ``/docs``, with Swagger UI's script, style and icon served by the
service itself (Swagger UI 5, which reads OpenAPI 3.1, as the ``fastapi-offline`` package ships
it), so the page works with no internet."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from ivkgen.service.problems import NotFound
from starlette.responses import FileResponse, HTMLResponse

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
}


def install_docs(app: FastAPI) -> None:
    """Serve the docs page at ``/docs`` and its assets under ``/docs/assets/`` (create ``app``
    with ``docs_url=None, redoc_url=None`` so FastAPI's page, which loads from a CDN, is off)."""
    if app.openapi_url is None:
        raise ValueError("the docs page needs the app's OpenAPI document (openapi_url is None)")
    openapi_url = app.openapi_url
    folder = Path(str(files("fastapi_offline") / "static"))

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - docs",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            # no validator badge: it would load an image from validator.swagger.io
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(ASSETS_PATH + "/{name}", include_in_schema=False)
    async def asset(name: str) -> FileResponse:
        if name not in _ASSETS:
            raise NotFound(f"no docs asset {name!r}")
        return FileResponse(folder / name, media_type=_ASSETS[name])
