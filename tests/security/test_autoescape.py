"""S-5: the autoescape guard. Every Jinja environment of wom escapes whatever a template is called, and
every template, rendered over hostile data, has exactly the markup it has over benign data.

No browser here: a twin world with benign text in the same fields gives the template's own count of
`<`, `>`, `"` and `'`; any extra one in the hostile render came from data.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import jinja2
import pytest
from sqlalchemy.engine import Engine

from dashboards.app import template_environment
from monitor.alerts.email import TEMPLATE_ENV, render_alert_email
from monitor.storage.db import connect, upgrade_schema
from monitor.storage.models import Alert
from tests.api.conftest import NOW, TestClient, build_app
from tests.security.xss_corpus import PAYLOADS
from tests.security.xss_world import hostile_settings, seed_hostile_world

HOSTILE = [p.text for p in PAYLOADS]
BENIGN = [f"benign {number}" for number in range(len(PAYLOADS))]
MARKUP = "<>\"'"
# names a template could be given; select_autoescape(["html", "xml"]) would leave the last five unescaped
NAMES = ["page.html", "page.HTML", "page.xml", "page.htm", "page.jinja", "page.j2", "page.txt", "page"]
ENVIRONMENTS = {"dashboard": template_environment(), "e-mail": TEMPLATE_ENV}
# what renders each template below; a template missing here fails test_every_template_is_rendered_here
RENDERED = {
    "dashboard": {
        "_mention.html": "a mention's card on /mentions and /authors/{id}",
        "alerts.html": "/alerts",
        "author.html": "/authors/{id}",
        "base.html": "extended by every page",
        "inbox.html": "/inbox",
        "index.html": "/ and its 404",
        "mentions.html": "/mentions?brand=",
        "ranking.html": "/ambassadors?brand= and /detractors?brand=",
        "refused.html": "an inbox or alert action that no longer fits (409)",
        "settings.html": "/settings, /settings/keys and /settings/users (users and keys named by payloads)",
        "signin.html": "/signin (a form over no stored data)",
        "sources.html": "/sources",
    },
    "e-mail": {"alert.html": "render_alert_email"},
}


def _markup(html: str) -> dict[str, int]:
    return {char: html.count(char) for char in MARKUP}


@pytest.mark.parametrize("which", sorted(ENVIRONMENTS))
def test_autoescape_is_effective_for_every_template_name(which: str) -> None:
    env = ENVIRONMENTS[which]
    for name in [*env.list_templates(), *NAMES]:
        # the environment's own setting, compiled for this name (a callable autoescape decides per name)
        probe = env.overlay(loader=jinja2.DictLoader({name: "{{ x }}"}))
        assert (
            probe.get_template(name).render(x="<b a=\"1\" c='2'>") == "&lt;b a=&#34;1&#34; c=&#39;2&#39;&gt;"
        ), (
            which,
            name,
        )


@pytest.mark.parametrize("which", sorted(ENVIRONMENTS))
def test_every_template_is_rendered_here(which: str) -> None:
    assert ENVIRONMENTS[which].list_templates() == sorted(RENDERED[which])


@pytest.fixture
def twin_clients(sqlite_engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, TestClient]]:
    """The real app over the hostile world and over its benign twin (same rows, plain text)."""
    benign_engine = connect(f"sqlite:///{tmp_path / 'benign.db'}")
    upgrade_schema(benign_engine)
    seed_hostile_world(sqlite_engine, HOSTILE)
    seed_hostile_world(benign_engine, BENIGN)
    try:
        with (
            TestClient(build_app(sqlite_engine, hostile_settings())) as hostile,
            TestClient(build_app(benign_engine, hostile_settings(BENIGN))) as benign,
        ):
            yield hostile, benign
    finally:
        benign_engine.dispose()


def test_dashboard_templates_add_no_markup_from_data(twin_clients: tuple[TestClient, TestClient]) -> None:
    hostile, benign = twin_clients
    extra: dict[str, tuple[dict[str, int], dict[str, int]]] = {}

    def compare(where: str, hostile_url: str, benign_url: str, status: int = 200) -> None:
        got, want = hostile.get(hostile_url), benign.get(benign_url)
        assert (got.status_code, want.status_code) == (status, status), where
        if _markup(got.text) != _markup(want.text):
            extra[where] = (_markup(got.text), _markup(want.text))

    for payload, text, twin in zip(PAYLOADS, HOSTILE, BENIGN, strict=True):
        compare(payload.name, f"/?{urlencode({'brand': text})}", f"/?{urlencode({'brand': twin})}")
        compare(
            f"{payload.name} (404)",
            f"/?{urlencode({'brand': text + ' (gone)'})}",
            f"/?{urlencode({'brand': twin + ' (gone)'})}",
            status=404,
        )
        for page in ("/mentions", "/ambassadors", "/detractors"):
            compare(
                f"{page} {payload.name}",
                f"{page}?{urlencode({'brand': text})}",
                f"{page}?{urlencode({'brand': twin})}",
            )
    for author_id in range(1, len(PAYLOADS) + 1):  # both worlds store their authors in the same order
        compare(f"author {author_id}", f"/authors/{author_id}", f"/authors/{author_id}")
    compare("status", "/sources", "/sources")  # every job run, configured brand and the back-off reason
    compare("signin", "/signin", "/signin")
    assert extra == {}


def test_email_template_adds_no_markup_from_data() -> None:
    extra: dict[str, tuple[dict[str, int], dict[str, int]]] = {}
    for number, (payload, text, twin) in enumerate(zip(PAYLOADS, HOSTILE, BENIGN, strict=True), start=1):
        renders = []
        for value in (text, twin):
            alert = Alert(
                id=number,
                brand_id=1,
                kind=value,
                dedupe_key=f"x:{number}",
                severity=value,
                title=value,
                detail={"excerpt": value, "url": value, "count": 3, value: value},
                event_at=NOW - timedelta(hours=1),
            )
            message = render_alert_email(
                alert,
                recipient="ops@acme.example",
                sender="wom@acme.example",
                brand_name=value,
                dashboard_url="https://wom.acme.example",
                now=NOW,
            )
            part = message.get_body(preferencelist=("html",))
            assert part is not None
            renders.append(_markup(str(part.get_content())))
        if renders[0] != renders[1]:
            extra[payload.name] = (renders[0], renders[1])
    assert extra == {}
