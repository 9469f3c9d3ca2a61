"""Unknown query parameters are a 422 naming the valid ones, after the key is checked."""

from __future__ import annotations

import re

from tests.api.conftest import KeylessClient, TestClient, error_of


def test_a_misspelt_filter_is_refused_with_the_valid_names(client: TestClient) -> None:
    response = client.get("/api/v1/mentions", params={"brand": "Acme", "sentimnet": "negative"})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "unknown_parameter"
    assert error["message"] == (
        "unknown query parameter 'sentimnet'; GET /api/v1/mentions takes: author_id, brand, cursor, intent, "
        "lang, limit, q, sentiment, since, source, until"
    )
    assert (
        client.get("/api/v1/mentions", params={"brand": "Acme", "sentiment": "negative"}).status_code == 200
    )


def test_a_route_without_query_parameters_says_so(client: TestClient) -> None:
    response = client.get("/api/v1/brands", params={"page": "2"})
    assert response.status_code == 422
    assert error_of(response)["message"] == "unknown query parameter 'page'; GET /api/v1/brands takes: none"


def test_the_key_is_checked_first(client: TestClient) -> None:
    with KeylessClient(client.app) as keyless:
        response = keyless.get("/api/v1/mentions", params={"sentimnet": "negative"})
    assert response.status_code == 401


def test_every_operation_names_exactly_its_documented_query_parameters(client: TestClient) -> None:
    """Each /api/v1 operation, called with one unknown parameter, lists the query parameters of its OpenAPI
    entry (so the walk over a route's dependencies finds all of them); nothing runs before the refusal."""
    paths = client.get("/openapi.json").json()["paths"]
    checked = 0
    for template, operations in paths.items():
        if not template.startswith("/api/v1"):
            continue
        path = re.sub(r"\{[^}]+\}", "1", template)
        for method, operation in operations.items():
            documented = sorted(p["name"] for p in operation.get("parameters", []) if p["in"] == "query")
            response = client.request(method.upper(), path, params={"zz_unknown": "1"})
            assert response.status_code == 422, (method, template, response.text)
            takes = ", ".join(documented) or "none"
            assert error_of(response)["message"] == (
                f"unknown query parameter 'zz_unknown'; {method.upper()} {path} takes: {takes}"
            )
            checked += 1
    assert checked >= 15
    assert client.get("/api/v1/status").json()["tables"]["mention"] == 18  # nothing was written or forgotten
