"""The dashboard page: content per brand, hostile text escaped, safe links only, security headers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from dashboards.app import safe_url, template_environment, trend_chart
from monitor.read.series import SentimentBucket
from tests.api.conftest import HOSTILE_IMG, HOSTILE_SCRIPT, HOSTILE_TITLE, TestClient, build_app, seed

CSP = (
    "default-src 'self'; style-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    seed(engine)
    with TestClient(build_app(engine)) as test_client:
        yield test_client


def page(client: TestClient, **params: str) -> str:
    response = client.get("/", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    return str(response.text)


def test_page_shows_the_first_own_brand(client: TestClient) -> None:
    html = page(client)
    assert "<title>wom · Acme</title>" in html
    assert '<option value="Acme" selected>Acme</option>' in html
    assert '<option value="Rival">Rival (competitor of Acme)</option>' in html
    assert '<option value="Other">Other</option>' in html
    assert "Share of voice: Acme 80% · Rival 20%" in html


def test_hostile_text_is_escaped_everywhere(client: TestClient) -> None:
    html = page(client)
    for raw in (HOSTILE_SCRIPT, HOSTILE_IMG, HOSTILE_TITLE, "javascript:"):
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Acme hacked?" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt; acme" in html
    assert "&lt;b&gt;@bob&lt;/b&gt; &#34;&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in html
    assert not re.search(r"<script|<img|<b>", html, re.IGNORECASE)
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", html, re.IGNORECASE)  # no event handler attributes
    assert not re.search(r"\sstyle\s*=|<style", html, re.IGNORECASE)  # the CSP forbids inline style


def test_only_http_links_are_drawn(client: TestClient) -> None:
    hrefs = re.findall(r'href="([^"]*)"', page(client))
    assert hrefs == [
        "/static/style.css",
        "#main",  # skip to the content
        "/",  # the logo
        "/",  # the navigation: overview, inbox, mentions, ambassadors, detractors, alerts, sources
        "/inbox",
        "/mentions",
        "/ambassadors",
        "/detractors",
        "/alerts",
        "/sources",
        "https://www.trustpilot.com/reviews/7",  # top complaints; erin's have no link
        "https://x.com/bob/status/2",
        "https://x.com/bob/status/2",  # evidence of the ambassador bob
        "https://x.com/bob/status/6",
        "https://social.example/@carol/1",  # of carol
        "https://x.com/bob/status/2",  # of the detractor bob; erin's javascript: link is dropped
        "https://x.com/bob/status/6",
        "https://x.com/bob/status/2",  # recent negative mentions
        "https://x.com/bob/status/6",
        "https://www.trustpilot.com/reviews/7",
        "https://social.example/@carol/1",  # recent mentions
        "https://x.com/bob/status/2",
        "https://x.com/bob/status/6",
        "https://www.trustpilot.com/reviews/7",
        "/docs",
    ]


def test_sections_hold_the_brand_data(client: TestClient) -> None:
    html = page(client)
    alerts = html.split("<h2>Open alerts</h2>")[1].split("</section>")[0]
    assert re.findall(r"<h3>(.*?)</h3>", alerts) == [
        "Bob became a critic",
        "Negative spike: 5 in 6h",
        "&lt;b&gt;@bob&lt;/b&gt; &#34;&gt;&lt;script&gt;alert(3)&lt;/script&gt;",
    ]
    ambassadors = html.split("<h2>Top ambassadors</h2>")[1].split("</section>")[0]
    assert re.findall(r"<h3>(.*?)</h3>", ambassadors) == [
        'Bob B. <span class="handle">@bob</span>',
        'Carol <span class="handle">@carol@social.example</span>',
        'Alice A. <span class="handle">@alice_x</span>',
    ]
    assert "Acme saved my weekend" in ambassadors
    detractors = html.split("<h2>Top detractors</h2>")[1].split("</section>")[0]
    assert "score 5.00 · critic" in detractors
    negative = html.split("<h2>Recent negative mentions</h2>")[1].split("</section>")[0]
    assert negative.count("<article") == 5
    assert "@dan" not in ambassadors  # forgotten authors are not ranked


def test_trend_is_an_inline_svg_of_thirty_days(client: TestClient) -> None:
    html = page(client)
    assert html.count("<g><title>") == 30
    assert "<title>2026-11-19: 3 mentions, 0 positive, 2 neutral, 1 negative, net -0.33</title>" in html
    assert "<title>2026-10-22: 0 mentions, 0 positive, 0 neutral, 0 negative, net n/a</title>" in html
    assert '<polyline class="net" points="' in html


def test_brand_selector_switches_brand(client: TestClient) -> None:
    html = page(client, brand="rival")
    assert "<title>wom · Rival</title>" in html
    assert '<option value="Rival" selected>' in html
    assert "Rival broke down" in html
    assert "acme billing" not in html


def test_unknown_brand_is_a_404_page(client: TestClient) -> None:
    response = client.get("/", params={"brand": "<Nope>"})
    assert response.status_code == 404
    assert response.headers["content-security-policy"] == CSP
    assert (
        "unknown brand &#39;&lt;Nope&gt;&#39;; valid brands: &#39;Acme&#39;, &#39;Other&#39;, &#39;Rival&#39;"
        in (response.text)
    )


def test_stylesheet_is_served(client: TestClient) -> None:
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert ".chart .neg" in response.text


def test_page_without_brands(engine: Engine) -> None:
    with TestClient(build_app(engine)) as empty:
        html = page(empty)
    assert "No brands yet." in html
    assert "<svg" not in html


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a?b=1", "https://example.com/a?b=1"),
        ("HTTP://example.com", "HTTP://example.com"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        (" javascript:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("vbscript:msgbox", None),
        ("//evil.example/x", None),
        ("/relative", None),
        ("https://", None),
        ("https://exa mple.com", None),
        ("https://[::1", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_url(url: str | None, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_every_template_autoescapes() -> None:
    env = template_environment()
    assert env.autoescape is True  # a bool, not select_autoescape: no file name escapes it
    assert env.list_templates() == [
        "_mention.html",
        "alerts.html",
        "author.html",
        "base.html",
        "inbox.html",
        "index.html",
        "mentions.html",
        "ranking.html",
        "refused.html",
        "settings.html",
        "signin.html",
        "sources.html",
    ]
    assert env.from_string("{{ x }}").render(x='<b a="1">') == "&lt;b a=&#34;1&#34;&gt;"


def test_trend_chart_geometry() -> None:
    start = datetime(2026, 11, 19, tzinfo=UTC)
    chart = trend_chart(
        [
            SentimentBucket(start=start, volume=4, positive=1, neutral=1, negative=1, net_sentiment=0.0),
            SentimentBucket(start=start, volume=2, positive=2, neutral=0, negative=0, net_sentiment=1.0),
        ]
    )
    assert chart.max_volume == 4
    first = chart.days[0].rects
    assert [(r.css, r.y, r.height) for r in first] == [
        ("neg", 131.0, 41.0),
        ("neu", 90.0, 41.0),
        ("pos", 49.0, 41.0),
        ("unc", 8.0, 41.0),
    ]
    assert chart.net_line == "180.0,90.0 540.0,8.0"
    assert trend_chart([]).days == []
