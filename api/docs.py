"""/docs without the internet: Swagger UI 5's files come from the fastapi-offline package (PyPI, pinned;
MIT, Swagger UI itself Apache-2.0; 4.x of swagger-ui-bundle cannot read OpenAPI 3.1) and are served by
wom under /docs/assets, so reading the docs needs no CDN and tells no third party. Only the files are
used: the page is wom's own, without inline script: it loads the bundle and /docs/assets/init.js, which
reads the schema's address from the page."""

from __future__ import annotations

from html import escape
from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

__all__ = ["DOCS_PATH", "add_docs"]

DOCS_PATH = "/docs"
_ASSETS = DOCS_PATH + "/assets"
_INIT_JS = """\
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapi,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    oauth2RedirectUrl: window.location.origin + "/docs/oauth2-redirect",
  });
});
"""


def _page(title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{escape(title)} - API documentation</title>
<link rel="stylesheet" href="{_ASSETS}/swagger-ui.css">
<link rel="icon" type="image/png" href="{_ASSETS}/favicon.png">
</head>
<body>
<div id="swagger-ui" data-openapi="{escape(openapi_url)}"></div>
<script src="{_ASSETS}/swagger-ui-bundle.js"></script>
<script src="{_ASSETS}/init.js"></script>
</body>
</html>
"""


def add_docs(app: FastAPI) -> None:
    """GET /docs, /docs/oauth2-redirect and /docs/assets/* on `app` (built with docs_url=None)."""
    assert app.openapi_url is not None
    page = _page(app.title, app.openapi_url)
    assets = str(files("fastapi_offline") / "static")  # an installed package: a real folder

    def docs() -> HTMLResponse:
        return HTMLResponse(page)

    def init_js() -> Response:
        return Response(_INIT_JS, media_type="text/javascript")

    def oauth2_redirect() -> HTMLResponse:
        # wom's API takes keys, not OAuth; Swagger UI asks for this page only in an OAuth flow
        return HTMLResponse(get_swagger_ui_oauth2_redirect_html().body)

    app.add_api_route(DOCS_PATH, docs, methods=["GET"], include_in_schema=False)
    app.add_api_route(_ASSETS + "/init.js", init_js, methods=["GET"], include_in_schema=False)
    app.add_api_route(
        DOCS_PATH + "/oauth2-redirect", oauth2_redirect, methods=["GET"], include_in_schema=False
    )
    app.mount(_ASSETS, StaticFiles(directory=assets), name="docs-assets")
