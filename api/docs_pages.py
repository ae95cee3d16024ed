"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), drawn from
the copies of Swagger UI and ReDoc that the ``fastapi-offline`` package ships.

FastAPI's own pages load both from a public CDN: on a bureau's intranet they stay blank, and
a page running a CDN's script cannot carry a policy that names no other origin. Here every
script, stylesheet and image comes from this server, and the pages say so in their
Content-Security-Policy. FastAPI's ``get_swagger_ui_html`` starts Swagger UI with an inline
``<script>``, which such a policy refuses; the start-up lives in a small script of its own
(``swagger-init.js``) that reads the specification's address from the page, so scripts need
neither ``'unsafe-inline'`` nor a per-response nonce. ReDoc needs no start-up script: its
bundle renders the ``<redoc spec-url>`` element by itself.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Final

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

# The package's static directory: swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js.
VENDOR: Final = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS: Final = "/apidocs"

# Only this server, for everything. Images: Swagger UI draws its icons as data: URIs.
# Swagger UI needs nothing more. ReDoc (styled-components) writes its rules into <style>
# elements it creates at run time, which a policy without 'unsafe-inline' for styles refuses
# (ReDoc then shows nothing at all): its page alone allows inline styles — never
# inline scripts.
_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src {styles}; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
SWAGGER_CSP: Final = _POLICY.format(styles="'self'")
REDOC_CSP: Final = _POLICY.format(styles="'self' 'unsafe-inline'")


def _headers(policy: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }


SWAGGER_INIT: Final = """\
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    // no badge from the public validator: nothing leaves this server
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]
  });
})();
"""

docs_pages = APIRouter(include_in_schema=False)
docs_pages.mount(f"{ASSETS}/vendor", StaticFiles(directory=VENDOR), name="apidocs")


def _urls(request: Request) -> tuple[str, str]:
    """Where the assets and the specification are, under the proxy's root path if any."""
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return f"{root}{ASSETS}", f"{root}{request.app.openapi_url}"


def _page(title: str, head: str, body: str, policy: str) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html>\n"
        '<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>{head}</head>"
        f"<body>{body}<noscript>接口文档需要启用浏览器的 JavaScript。</noscript></body></html>\n",
        headers=_headers(policy),
    )


@docs_pages.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    assets, spec = _urls(request)
    return _page(
        f"{request.app.title} · 接口文档",
        f'<link rel="icon" type="image/png" href="{assets}/vendor/favicon.png">'
        f'<link rel="stylesheet" href="{assets}/vendor/swagger-ui.css">',
        f'<div id="swagger-ui" data-openapi="{escape(spec)}"></div>'
        f'<script src="{assets}/vendor/swagger-ui-bundle.js"></script>'
        f'<script src="{assets}/swagger-init.js"></script>',
        SWAGGER_CSP,
    )


@docs_pages.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    assets, spec = _urls(request)
    return _page(
        f"{request.app.title} · 接口文档（ReDoc）",
        f'<link rel="icon" type="image/png" href="{assets}/vendor/favicon.png">',
        f'<redoc spec-url="{escape(spec)}"></redoc>'
        f'<script src="{assets}/vendor/redoc.standalone.js"></script>',
        REDOC_CSP,
    )


@docs_pages.get(f"{ASSETS}/swagger-init.js")
def swagger_init() -> Response:
    """Swagger UI's start-up, a file of its own so that the page runs no inline script."""
    return Response(
        SWAGGER_INIT,
        media_type="text/javascript",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )
