"""``/api/it_devops/docs``: Swagger UI for the OpenAPI document, served from this machine.

FastAPI's own docs page loads Swagger UI from a CDN, which a machine without internet cannot
reach, and swagger-ui-bundle on PyPI (4.x) cannot render OpenAPI 3.1. The assets come from the
``fastapi-offline`` wheel (Swagger UI 5, which reads 3.1); nothing on the page names another host.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

DOCS = "/docs"
ASSETS = "/docs-assets"
ASSET_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
# validatorUrl null: Swagger UI would otherwise send the document to validator.swagger.io for a badge.
UI_PARAMETERS = {"validatorUrl": None, "deepLinking": True, "displayRequestDuration": True}


def add_docs(api: FastAPI) -> None:
    """Serve the docs page and its assets beside ``api``'s OpenAPI document (out of the document itself)."""
    api.mount(ASSETS, StaticFiles(directory=ASSET_DIR), name="docs-assets")

    @api.get(DOCS, include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")  # where the API is mounted (``/api/it_devops``)
        return get_swagger_ui_html(
            openapi_url=f"{root}{api.openapi_url}", title=f"{api.title} — API",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png", swagger_ui_parameters=UI_PARAMETERS)
