"""A small, coherent world seeded through SQLModel into the `engine` fixture, and the real app over it.

Times are fixed relative to NOW, and the app's clock is pinned to NOW, so decayed scores and buckets
are exact. Brand Acme (Europe/Amsterdam) has competitor Rival; Other stands alone.

`build_app` makes a real admin key with the real key store; `TestClient` sends it unless the test sets
its own Authorization header (`KeylessClient` sends none).
"""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.deps import get_now
from dashboards.site import web_app
from monitor.config import Settings
from monitor.storage.api_keys import create_api_key
from monitor.storage.models import (
    Alert,
    Author,
    AuthorBrandStats,
    AuthorIdentity,
    Brand,
    Classification,
    JobRun,
    Mention,
    MentionBrand,
    SegmentChange,
)
from monitor.storage.sentiment_hours import rebuild_sentiment_hours

__all__ = [
    "ADMIN_KEY_LABEL",
    "HOSTILE_IMG",
    "HOSTILE_SCRIPT",
    "HOSTILE_TITLE",
    "NOW",
    "KeylessClient",
    "Seeded",
    "TestClient",
    "build_app",
    "client",
    "count_queries",
    "error_of",
    "seed",
    "seeded",
]

with warnings.catch_warnings():
    # starlette 1.x warns when its TestClient runs on httpx rather than httpx2; the client works the same
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient as KeylessClient

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOSTILE_SCRIPT = "<script>alert(1)</script> Acme hacked?"
HOSTILE_IMG = '"><img src=x onerror=alert(2)> acme'
HOSTILE_TITLE = '<b>@bob</b> "><script>alert(3)</script>'

# fmt: off
# key: (source, author, text, age or exact time, brands, classifications [(sentiment, intent, lang)], url, rating)
_MENTIONS: dict[str, tuple[Any, ...]] = {
    "m01": ("mastodon", "carol", "Acme support fixed my router in minutes", timedelta(hours=1), ["Acme"],
            [("positive", "praise", "en")], "https://social.example/@carol/1", None),
    "m02": ("x", "bob", "acme billing is a mess again", timedelta(hours=2), ["Acme"],
            [("negative", "complaint", "en")], "https://x.com/bob/status/2", None),
    "m03": ("x", "bob", "Does Acme ship to Belgium?", timedelta(hours=3), ["Acme"],
            [("neutral", "question", "en")], None, None),
    "m04": ("mastodon", "carol", "Acme of Rival? Rival is goedkoper", timedelta(days=1), ["Acme", "Rival"],
            [("neutral", "question", "nl")], None, None),
    "m05": ("reddit", "erin", HOSTILE_SCRIPT, timedelta(days=1, hours=1), ["Acme"],
            [("negative", "complaint", "en")], "javascript:alert(1)", None),
    "m06": ("x", "bob", HOSTILE_IMG, timedelta(days=2), ["Acme"],
            [("negative", "other", "en")], "https://x.com/bob/status/6", None),
    "m07": ("trustpilot", None, "ACME delivered late, 2 stars", timedelta(days=3), ["Acme"],
            [("negative", "complaint", "en")], "https://www.trustpilot.com/reviews/7", 2.0),
    "m08": ("mastodon", "carol", "Acme is great, 100% recommend", timedelta(days=3), ["Acme"],
            [("positive", "praise", "en")], None, None),
    "m09": ("x", None, "acme_fan_club rocks", timedelta(days=2, hours=3), ["Acme"], [], None, None),
    "m10": ("reddit", "erin", "Acme: eerst positief, later negatief", timedelta(days=6), ["Acme"],
            [("positive", "praise", "nl"), ("negative", "complaint", "nl")], None, None),
    "m11": ("x", "bob", "Acme in the news: 1000 jobs, safe future", timedelta(days=40), ["Acme"],
            [("neutral", "other", "en")], None, None),
    "m12": ("reddit", "alice", "Acme saved my weekend", timedelta(days=90), ["Acme"],
            [("positive", "praise", "en")], None, None),
    "m13": ("x", "alice", "Acme customer for 10 years", timedelta(days=95), ["Acme"],
            [("positive", "praise", "en")], None, None),
    "m14": ("x", "dan", "Acme rules", timedelta(days=10), ["Acme"], [("positive", "praise", "en")], None, None),
    # 23:30 UTC on the 18th is 00:30 on the 19th in Amsterdam: a local-day bucket, not a UTC one
    "m15": ("reddit", "erin", "Acme at midnight", datetime(2026, 11, 18, 23, 30, tzinfo=UTC), ["Acme"],
            [("neutral", "other", "en")], None, None),
    "r1": ("x", "bob", "Rival is cheap", timedelta(hours=20), ["Rival"], [("positive", "praise", "en")], None, None),
    "r2": ("reddit", "erin", "Rival broke down", timedelta(days=2), ["Rival"],
           [("negative", "complaint", "en")], None, None),
    "o1": ("x", "bob", "Other brand thing", timedelta(hours=1), ["Other"], [("positive", "praise", "en")], None, None),
}
# fmt: on

# author: (display name, forgotten, [(source, handle, identity name, reach)])
_AUTHORS: dict[str, tuple[str, bool, list[tuple[str, str, str, int | None]]]] = {
    "alice": ("Alice", False, [("reddit", "u/alice", "", 120), ("x", "@alice_x", "Alice A.", 5000)]),
    "bob": ("Bob", False, [("x", "@bob", "Bob B.", 800)]),
    "carol": ("Carol", False, [("mastodon", "@carol@social.example", "", 300)]),
    "dan": ("", True, [("x", "@dan", "", 50)]),
    "erin": ("Erin", False, [("reddit", "u/erin", "", None)]),
}

# (author, brand): ambassador, detractor, segment, evidence, last mention (a mention key)
_STATS: list[tuple[str, str, float, float, str, list[str], str]] = [
    ("alice", "Acme", 4.0, 0.5, "ambassador", ["m12", "m13"], "m12"),
    ("bob", "Acme", 3.0, 5.0, "critic", ["m02", "m06"], "m02"),
    ("carol", "Acme", 2.5, 0.0, "ambassador", ["m01", "m08"], "m01"),
    ("dan", "Acme", 10.0, 0.0, "ambassador", ["m14"], "m14"),
    ("erin", "Acme", 0.0, 1.0, "detractor", ["m05", "m10"], "m05"),
    ("bob", "Rival", 0.0, 1.0, "critic", ["r1"], "r1"),
]


@dataclass
class Seeded:
    """Ids of what was seeded, by the keys above."""

    brands: dict[str, int] = field(default_factory=dict)
    authors: dict[str, int] = field(default_factory=dict)
    mentions: dict[str, int] = field(default_factory=dict)
    created: dict[str, datetime] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    classifications: dict[str, list[int]] = field(default_factory=dict)
    # mention key -> its inbox item, once tests.api.inbox_seed placed the mentions
    inbox: dict[str, int] = field(default_factory=dict)

    def newest_first(self, keys: list[str]) -> list[int]:
        """Mention ids of `keys` in the API's order: created_at, then id, both descending."""
        return [
            self.mentions[k]
            for k in sorted(keys, key=lambda k: (self.created[k], self.mentions[k]), reverse=True)
        ]


def _seed_people(session: Session, seeded: Seeded) -> dict[tuple[str, str], int]:
    identities: dict[tuple[str, str], int] = {}
    for key, (display, forgotten, accounts) in _AUTHORS.items():
        author = Author(display_name=display, forgotten=forgotten, created_at=NOW - timedelta(days=365))
        session.add(author)
        session.flush()
        assert author.id is not None
        seeded.authors[key] = author.id
        for source, handle, name, reach in accounts:
            identity = AuthorIdentity(
                author_id=author.id,
                source=source,
                identity_key=handle,
                handle=handle,
                name=name,
                reach=reach,
                reach_kind="followers" if reach else "none",
                updated_at=NOW,
            )
            session.add(identity)
            session.flush()
            assert identity.id is not None
            identities[(key, source)] = identity.id
    return identities


def _seed_mentions(session: Session, seeded: Seeded, identities: dict[tuple[str, str], int]) -> None:
    for number, (key, spec) in enumerate(_MENTIONS.items()):
        source, author, text, when, brands, classifications, url, rating = spec
        created = when if isinstance(when, datetime) else NOW - when
        handle = next((a[1] for a in _AUTHORS[author][2] if a[0] == source), "") if author else "@anon"
        mention = Mention(
            source=source,
            external_id=f"{source}-{key}",
            url=url,
            text=text,
            lang="en" if source == "x" else None,
            created_at=created,
            collected_at=created + timedelta(minutes=5),
            author_handle=handle,
            author_identity_id=identities.get((author, source)) if author else None,
            reach=10 * (number + 1),
            engagement={"likes": number},
            rating=rating,
            raw={"id": key},
            matched_at=NOW,
            classified_at=NOW if classifications else None,
        )
        session.add(mention)
        session.flush()
        assert mention.id is not None
        seeded.mentions[key], seeded.created[key] = mention.id, created
        for brand in brands:
            session.add(MentionBrand(mention_id=mention.id, brand_id=seeded.brands[brand]))
        for version, (sentiment, intent, lang) in enumerate(classifications, start=1):
            row = Classification(
                mention_id=mention.id,
                model_name="e5-heads",
                model_version=str(version),
                sentiment=sentiment,
                confidence=0.9,
                score={"positive": 0.8, "neutral": 0.0, "negative": -0.8}[sentiment],
                lang=lang,
                intent=intent,
                intent_confidence=0.7,
                worker="w1",
                created_at=created + timedelta(minutes=version),
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            seeded.classifications.setdefault(key, []).append(row.id)


def _seed_scores(session: Session, seeded: Seeded) -> None:
    for author, brand, ambassador, detractor, segment, evidence, last in _STATS:
        session.add(
            AuthorBrandStats(
                author_id=seeded.authors[author],
                brand_id=seeded.brands[brand],
                mentions=len(evidence),
                positive=2 if ambassador else 0,
                neutral=1,
                negative=3 if detractor else 0,
                reach=100,
                first_mention_at=seeded.created[last] - timedelta(days=30),
                last_mention_at=seeded.created[last],
                ambassador_score=ambassador,
                detractor_score=detractor,
                segment=segment,
                score_terms={"sentiment": ambassador - detractor, "reach": 0.5},
                evidence=[seeded.mentions[m] for m in evidence] + ([999_999] if author == "alice" else []),
            )
        )
    session.add(
        SegmentChange(
            author_id=seeded.authors["bob"],
            brand_id=seeded.brands["Acme"],
            from_segment="occasional",
            to_segment="critic",
            changed_at=NOW - timedelta(hours=2),
            mention_id=seeded.mentions["m02"],
        )
    )


def _seed_alerts(session: Session, seeded: Seeded) -> None:
    specs = [
        ("a1", "Acme", "negative_spike", "warning", "open", "Negative spike: 5 in 6h", timedelta(hours=1)),
        ("a2", "Acme", "influential_detractor", "critical", "open", HOSTILE_TITLE, timedelta(hours=2)),
        ("a3", "Acme", "negative_spike", "warning", "resolved", "Negative spike: 7 in 6h", timedelta(days=3)),
        ("a4", "Rival", "negative_spike", "warning", "open", "Negative spike on Rival", timedelta(days=1)),
        ("a5", "Acme", "new_detractor", "warning", "open", "Bob became a critic", timedelta(hours=1)),
    ]
    for key, brand, kind, severity, status, title, age in specs:
        alert = Alert(
            brand_id=seeded.brands[brand],
            kind=kind,
            dedupe_key=f"{kind}:{key}",
            severity=severity,
            title=title,
            detail={"count": 5},
            status=status,
            event_at=NOW - age,
            created_at=NOW - age + timedelta(minutes=1),
            mention_id=seeded.mentions["m02"] if key == "a2" else None,
        )
        session.add(alert)
        session.flush()
        assert alert.id is not None
        seeded.alerts[key] = alert.id


def _seed_runs(session: Session) -> None:
    runs = [
        ("collector", "reddit", "ok", "", timedelta(hours=3)),
        ("collector", "reddit", "failed", "reddit answered 429; retrying after 60 s", timedelta(hours=1)),
        ("pipeline", "classify", "ok", "", timedelta(minutes=30)),
    ]
    for kind, name, status, error, age in runs:
        session.add(
            JobRun(
                kind=kind,
                name=name,
                brand="Acme",
                status=status,
                started_at=NOW - age,
                finished_at=NOW - age + timedelta(minutes=1),
                items_read=10,
                items_new=4,
                error=error,
            )
        )


def seed(engine: Engine) -> Seeded:
    """Write the world above through SQLModel; returns its ids."""
    seeded = Seeded()
    with Session(engine) as session:
        acme = Brand(name="Acme", timezone="Europe/Amsterdam", keywords=["acme"])
        session.add(acme)
        session.flush()
        for brand in (
            acme,
            Brand(name="Rival", competitor_of_id=acme.id, timezone="Europe/Amsterdam", keywords=["rival"]),
            Brand(name="Other", keywords=["other"]),
        ):
            session.add(brand)
            session.flush()
            assert brand.id is not None
            seeded.brands[brand.name] = brand.id
        identities = _seed_people(session, seeded)
        _seed_mentions(session, seeded, identities)
        _seed_scores(session, seeded)
        _seed_alerts(session, seeded)
        _seed_runs(session)
        session.commit()
    with engine.begin() as conn:  # derived, as the pipeline leaves it
        rebuild_sentiment_hours(conn)
    return seeded


ADMIN_KEY_LABEL = "tests: admin"


def build_app(engine: Engine, settings: Settings | None = None, *, include_dashboard: bool = True) -> FastAPI:
    """The real app over `engine`, its clock pinned to NOW, with a real admin key in `app.state.test_key`."""
    app = web_app(settings or Settings(), engine, include_dashboard=include_dashboard)
    app.dependency_overrides[get_now] = lambda: NOW
    try:
        app.state.test_key = create_api_key(engine, role="admin", label=ADMIN_KEY_LABEL).key
    except sa.exc.OperationalError:  # the database is down: send a key all the same, the check must say so
        app.state.test_key = "wom_" + secrets.token_urlsafe(32)
    return app


class TestClient(KeylessClient):
    """The TestClient, sending the admin key `build_app` made unless `headers` bring an Authorization."""

    def __init__(self, app: FastAPI, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        key = getattr(app.state, "test_key", None)
        if key is not None and "authorization" not in self.headers:
            self.headers["Authorization"] = f"Bearer {key}"


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    return seed(engine)


@pytest.fixture
def client(engine: Engine, seeded: Seeded) -> Iterator[TestClient]:
    with TestClient(build_app(engine)) as test_client:
        yield test_client


def error_of(response: Any) -> dict[str, str]:
    """The error object, after checking the body is exactly the one error shape."""
    body = response.json()
    assert list(body) == ["error"]
    assert sorted(body["error"]) == ["code", "message"]
    return dict(body["error"])


def count_queries(engine: Engine, client: TestClient, url: str, params: dict[str, Any]) -> int:
    """How many SQL statements one GET of `url` runs (the key's last use, written once a minute by a
    thread of its own, is written before counting)."""
    assert client.get(url, params=params).status_code == 200
    client.app.state.access.usage.wait()  # type: ignore[attr-defined]
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(url, params=params).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return len(statements)
