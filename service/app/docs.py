"""/docs (Swagger UI) and /redoc served from files shipped in a Python package.

FastAPI's own pages load their scripts from a CDN, which the product's
no-outbound-network rule forbids and which leaves /docs blank offline. The
assets here are fastapi-offline's `static/` folder (Swagger UI and ReDoc
bundles, pinned through that package's version in pyproject.toml); only the
files are used, served under /docs/assets.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
# The bundles hold a few outside links of their own (ReDoc's footer logo is an
# <img> on its CDN): the pages' policy lets nothing leave this server, so the
# browser never asks (the logo hides itself when it fails). The inline parts
# are the pages' own start-up script and the viewers' generated styles;
# ReDoc runs its search in a blob: worker.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
# Swagger UI asks an outside validator about the document unless told not to
SWAGGER_PARAMETERS = {"validatorUrl": None, "persistAuthorization": False, "tryItOutEnabled": False}


def assets_dir() -> str:
    return str(resources.files("fastapi_offline").joinpath("static"))


def install(app: FastAPI) -> None:
    """Mount the assets and the two pages; call with docs_url=None, redoc_url=None."""
    app.mount(ASSETS, StaticFiles(directory=assets_dir()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _locked(
            get_swagger_ui_html(
                openapi_url=f"{root}{app.openapi_url}",
                title=f"{app.title} - Swagger UI",
                oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT}",
                swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
                swagger_ui_parameters=SWAGGER_PARAMETERS,
            )
        )

    @app.get(OAUTH2_REDIRECT, include_in_schema=False)
    async def swagger_redirect() -> HTMLResponse:
        return _locked(get_swagger_ui_oauth2_redirect_html())

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _locked(
            get_redoc_html(
                openapi_url=f"{root}{app.openapi_url}",
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
                with_google_fonts=False,
            )
        )


def _locked(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CSP
    return page
