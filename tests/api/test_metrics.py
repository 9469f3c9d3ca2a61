"""GET /metrics: the Prometheus text format, request counts and latencies by route template, wom gauges."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy.engine import Engine

from api.metrics import HttpMetrics, render_metrics
from monitor.storage.api_keys import create_api_key
from monitor.storage.db import session_scope
from monitor.storage.models import SourceState
from tests.api.conftest import NOW, KeylessClient, Seeded, TestClient, build_app, error_of

SAMPLE = re.compile(r'^[a-z_]+(\{([a-z_]+="([^"\\\n]|\\.)*",?)*\})? [0-9.e+-]+$')


def metrics(client: TestClient) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return str(response.text)


def test_counts_and_latency_by_route_template(engine: Engine, seeded: Seeded) -> None:
    with TestClient(build_app(engine)) as client:
        for mention in ("m01", "m02"):
            assert client.get("/api/v1/mentions", params={"q": mention}).status_code == 200
        assert client.get("/api/v1/ambassadors", params={"brand": "Nope"}).status_code == 404
        assert client.get(f"/api/v1/nothing/{seeded.mentions['m01']}").status_code == 404
        assert client.get("/api/v1/brands", headers={"Authorization": "Bearer wom_x"}).status_code == 401
        text = metrics(client)
    lines = text.splitlines()
    for line in lines:
        assert line.startswith("# HELP ") or line.startswith("# TYPE ") or SAMPLE.match(line), line
    assert 'wom_http_requests_total{method="GET",route="/api/v1/mentions",status="200"} 2' in lines
    assert 'wom_http_requests_total{method="GET",route="/api/v1/ambassadors",status="404"} 1' in lines
    assert 'wom_http_requests_total{method="GET",route="/api/v1/brands",status="401"} 1' in lines
    assert 'wom_http_requests_total{method="GET",route="<unmatched>",status="404"} 1' in lines
    assert not any("/api/v1/nothing" in line for line in lines)  # raw paths never become labels
    labels = 'method="GET",route="/api/v1/mentions",status="200"'
    buckets = [
        int(line.rsplit(" ", 1)[1])
        for line in lines
        if line.startswith(f"wom_http_request_duration_seconds_bucket{{{labels}")
    ]
    assert len(buckets) == 12 and buckets == sorted(buckets) and buckets[-1] == 2
    assert f'wom_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} 2' in lines
    assert f"wom_http_request_duration_seconds_count{{{labels}}} 2" in lines
    assert "# TYPE wom_http_request_duration_seconds histogram" in lines


def test_gauges_from_the_database(engine: Engine, seeded: Seeded) -> None:
    with session_scope(engine) as session:
        session.add(
            SourceState(source="reddit", backoff_until=NOW + timedelta(seconds=90), consecutive_failures=2)
        )
        session.add(SourceState(source="x", backoff_until=NOW - timedelta(hours=1)))
    with TestClient(build_app(engine)) as client:
        lines = metrics(client).splitlines()
    for expected in (
        "wom_mentions 18",
        'wom_brand_mentions{brand="Acme"} 15',
        'wom_brand_mentions{brand="Other"} 1',
        'wom_brand_mentions{brand="Rival"} 3',
        'wom_alerts_open{brand="Acme"} 3',
        'wom_alerts_open{brand="Other"} 0',
        'wom_alerts_open{brand="Rival"} 1',
        'wom_source_backoff_seconds{source="reddit"} 90.0',
        'wom_source_backoff_seconds{source="x"} 0.0',
        'wom_source_consecutive_failures{source="reddit"} 2',
        "# TYPE wom_alerts_open gauge",
    ):
        assert expected in lines, expected


def test_needs_a_key_for_every_brand(engine: Engine, seeded: Seeded) -> None:
    viewer = create_api_key(engine, role="viewer").key
    scoped = create_api_key(engine, role="admin", brand="Acme").key
    with KeylessClient(build_app(engine)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": f"Bearer {viewer}"}).status_code == 200
        refused = client.get("/metrics", headers={"Authorization": f"Bearer {scoped}"})
        assert refused.status_code == 403 and error_of(refused)["code"] == "forbidden_brand"


def test_label_values_are_escaped() -> None:
    http = HttpMetrics()
    http.observe("BREW", 'a"b\\c\nd', 418, 0.003)
    text = render_metrics(http, [])
    assert (
        'wom_http_requests_total{method="other",route="a\\"b\\\\c\\nd",status="418"} 1' in text.splitlines()
    )
    assert 'le="0.005"} 1' in text and 'le="+Inf"} 1' in text
