"""A stored world where every field people can write holds an XSS payload, and the real app served over it.

For each payload of the corpus there is one brand named after it, with one mention whose text, URL and
author handle are the payload, an author whose display name and account name are the payload, a label
by the payload, an open alert whose title, kind, severity and detail (excerpt, url, a fact) are the
payload, and a failed job run named after it. So the brand page `/?brand=<payload>` shows that payload
in every place the page draws data, and /status shows them all.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor.config import Settings, settings_from_mapping
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
    MentionLabel,
)
from monitor.storage.sentiment_hours import rebuild_sentiment_hours
from monitor.storage.source_state import record_outcome
from tests.api.conftest import NOW
from tests.security.xss_corpus import PAYLOADS

__all__ = ["PAGE_FIELDS", "HostileWorld", "hostile_settings", "seed_hostile_world", "serve_in_thread"]

# where each payload is stored; all of them reach the brand page, the job run ones reach /status
PAGE_FIELDS = (
    "brand.name",
    "mention.text",
    "mention.url",
    "mention.author_handle",
    "author.display_name",
    "authoridentity.handle",
    "authoridentity.name",
    "mentionlabel.labeled_by",
    "authorbrandstats.segment",
    "alert.title",
    "alert.kind",
    "alert.severity",
    "jobrun.name",
    "jobrun.brand",
    "jobrun.error",
)


@dataclass
class HostileWorld:
    """Ids of the stored rows, one of each per payload, in corpus order."""

    brands: list[int] = field(default_factory=list)
    alerts: list[int] = field(default_factory=list)


def hostile_settings(texts: Sequence[str] | None = None) -> Settings:
    """Every payload (or each of `texts`) is also a configured brand collecting Hacker News (the status page
    lists them). The request limit is raised: one key opens every page of the battery within a minute."""
    names = [p.text for p in PAYLOADS] if texts is None else texts
    brands = [{"name": name, "keywords": ["acme"], "collect": {"hackernews": {}}} for name in names]
    return settings_from_mapping({"brands": brands, "api": {"requests_per_minute": 100_000}}, environ={})


def _seed_one(session: Session, number: int, text: str, world: HostileWorld) -> None:
    created = NOW - timedelta(hours=1)
    brand = Brand(name=text, keywords=["acme"])
    author = Author(display_name=text, created_at=NOW - timedelta(days=30))
    session.add_all([brand, author])
    session.flush()
    assert brand.id is not None and author.id is not None
    identity = AuthorIdentity(
        author_id=author.id,
        source="x",
        identity_key=f"xss-{number}",
        handle=text,
        name=text,
        reach=100,
        reach_kind="followers",
        updated_at=NOW,
    )
    session.add(identity)
    session.flush()
    mention = Mention(
        source="x",
        external_id=f"xss-{number}",
        url=text,
        text=text,
        created_at=created,
        collected_at=created,
        author_handle=text,
        author_identity_id=identity.id,
        raw={"id": number},
        matched_at=NOW,
        classified_at=NOW,
    )
    session.add(mention)
    session.flush()
    assert mention.id is not None
    session.add_all(
        [
            MentionBrand(mention_id=mention.id, brand_id=brand.id),
            Classification(
                mention_id=mention.id,
                model_name="e5-heads",
                model_version="1",
                sentiment="negative",
                confidence=0.9,
                score=-0.8,
                lang="en",
                intent="complaint",
                intent_confidence=0.7,
                created_at=created,
            ),
            MentionLabel(mention_id=mention.id, sentiment="negative", labeled_by=text, labeled_at=NOW),
            AuthorBrandStats(
                author_id=author.id,
                brand_id=brand.id,
                mentions=1,
                positive=1,
                negative=1,
                reach=100,
                first_mention_at=created,
                last_mention_at=created,
                ambassador_score=1.0,
                detractor_score=1.0,
                segment=text,
                evidence=[mention.id],
            ),
            JobRun(
                kind="collector",
                name=text,
                brand=text,
                status="failed",
                started_at=created,
                finished_at=created,
                error=text,
            ),
        ]
    )
    alert = Alert(
        brand_id=brand.id,
        kind=text,
        dedupe_key=f"xss:{number}",
        severity=text,
        title=text,
        detail={"excerpt": text, "url": text, "count": 3, text: text},
        status="open",
        event_at=created,
        created_at=created,
        mention_id=mention.id,
        author_id=author.id,
    )
    session.add(alert)
    session.flush()
    assert alert.id is not None
    world.brands.append(brand.id)
    world.alerts.append(alert.id)


def seed_hostile_world(engine: Engine, texts: Sequence[str] | None = None) -> HostileWorld:
    """Store one brand, mention, author, label, alert and job run per payload (see the module docstring).

    `texts` replaces the payloads (a benign twin of the world, to compare renders with)."""
    texts = [p.text for p in PAYLOADS] if texts is None else texts
    world = HostileWorld()
    with Session(engine) as session:
        for number, text in enumerate(texts):
            _seed_one(session, number, text, world)
        session.commit()
    with engine.begin() as conn:
        rebuild_sentiment_hours(conn)
    # the Hacker News collector backs off for a reason a hostile server chose
    reason = " ".join(texts)
    record_outcome(
        engine,
        "hackernews",
        now=NOW,
        succeeded=False,
        new=0,
        retry_at=NOW + timedelta(hours=1),
        reason=reason,
    )
    return world


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """The app on a real uvicorn server on 127.0.0.1, a free port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
