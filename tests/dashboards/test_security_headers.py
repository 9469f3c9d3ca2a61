"""Every page of the dashboard, /docs and every API answer refuse to be framed (issue 13, item 8).

The CSP had no base-uri, form-action, frame-ancestors or object-src and there was no X-Frame-Options, so
another site could frame the dashboard (clickjacking). The dashboard's routes are walked from its router,
so a page added later is checked too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine
from starlette.routing import Mount

from dashboards.app import STATIC, dashboard_router
from monitor.config import Settings
from tests.api.conftest import KeylessClient, Seeded, TestClient, build_app, seed

PAGE_CSP = (
    "default-src 'self'; style-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)
API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def _dashboard_urls(engine: Engine, seeded: Seeded | None = None) -> list[str]:
    """A URL for every page of the dashboard's router (a real file under /static; a seeded author's id in
    an author's pages)."""
    author = str(min(seeded.authors.values())) if seeded is not None and seeded.authors else "1"
    urls = []
    for route in dashboard_router(Settings(), engine).routes:
        if isinstance(route, Mount):
            urls += [f"{route.path}/{path.name}" for path in sorted(STATIC.iterdir())]
        else:
            assert isinstance(route, APIRoute)
            if "GET" in (route.methods or ()):  # the forms' POST routes are checked in test_signin.py
                urls.append(route.path.replace("{author_id}", author))
    return urls


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    return seed(engine)


@pytest.fixture
def keyed(engine: Engine, seeded: Seeded) -> Iterator[TestClient]:
    with TestClient(build_app(engine)) as client:
        yield client


def test_every_dashboard_page_refuses_framing(engine: Engine, seeded: Seeded, keyed: TestClient) -> None:
    urls = _dashboard_urls(engine, seeded)
    assert {"/", "/sources", "/static/style.css"} <= set(urls)
    urls += ["/?brand=Rival", "/?brand=Nope"]  # another brand, and the page that says it is unknown
    seen = {}
    for url in urls:
        response = keyed.get(url)
        seen[url] = (
            response.status_code < 500,
            response.headers.get("content-security-policy"),
            response.headers.get("x-frame-options"),
            response.headers.get("x-content-type-options"),
        )
    # JSON is not a page: a download, and the settings' 403 for a key without a signed-in person, get the
    # API's policy, which allows nothing
    json_urls = {url for url in urls if url.endswith(".json") or url.startswith("/settings")}
    expected = {url: (True, API_CSP if url in json_urls else PAGE_CSP, "DENY", "nosniff") for url in urls}
    assert seen == expected
    assert all(keyed.get(url).headers["content-type"] == "application/json" for url in json_urls)


def test_docs_refuse_framing_and_still_load_swagger(engine: Engine) -> None:
    with KeylessClient(build_app(engine)) as client:
        for url in ("/docs", "/docs/oauth2-redirect"):
            response = client.get(url)
            assert response.status_code == 200
            # Swagger UI is served by wom without inline script: scripts and styles only from wom
            assert response.headers["content-security-policy"] == DOCS_CSP
            assert response.headers["x-frame-options"] == "DENY"
        page = client.get("/docs").text
        assert "<script>" not in page and "cdn" not in page.lower() and "//" not in page.replace("http", "")
        for asset in (
            "/docs/assets/swagger-ui-bundle.js",
            "/docs/assets/swagger-ui.css",
            "/docs/assets/init.js",
        ):
            assert f'"{asset}"' in page
            served = client.get(asset)
            assert served.status_code == 200 and len(served.content) > 200, asset
            assert served.headers["content-security-policy"] == DOCS_CSP


def test_api_answers_and_refusals_refuse_framing(engine: Engine, seeded: Seeded) -> None:
    with KeylessClient(build_app(engine)) as client:
        answers = [
            client.get("/"),  # the dashboard's 401
            client.get("/sources"),
            client.get("/api/v1/brands"),
            client.get("/openapi.json"),
            client.get("/healthz"),
            client.get("/nothing/here"),
            client.post("/api/v1/authors/merge", content=b"x"),
        ]
        key = build_app(engine).state.test_key
        answers.append(client.get("/api/v1/brands", headers={"Authorization": f"Bearer {key}"}))
    assert [
        (r.status_code, r.headers.get("content-security-policy"), r.headers.get("x-frame-options"))
        for r in answers
    ] == [
        (401, API_CSP, "DENY"),
        (401, API_CSP, "DENY"),
        (401, API_CSP, "DENY"),
        (200, API_CSP, "DENY"),
        (200, API_CSP, "DENY"),
        (404, API_CSP, "DENY"),
        (401, API_CSP, "DENY"),
        (200, API_CSP, "DENY"),
    ]
