"""What the database holds now, as GET /metrics exposes it: mentions, word-of-mouth mentions per brand (the
brand's own and staff accounts' posts left out), open alerts per brand, and per collector source its
back-off and consecutive failures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from monitor.storage.models import Alert, Brand, Mention, MentionBrand, SourceState

__all__ = ["Gauge", "wom_gauges"]


@dataclass(frozen=True, slots=True)
class Gauge:
    name: str
    help: str
    samples: list[tuple[dict[str, str], float]]


def wom_gauges(session: Session, *, now: datetime) -> list[Gauge]:
    """What the database holds now: four small aggregate queries."""
    per_brand = dict(
        session.exec(
            select(Brand.name, func.count(col(MentionBrand.mention_id)))
            .select_from(Brand)
            .outerjoin(
                MentionBrand, (col(MentionBrand.brand_id) == col(Brand.id)) & col(MentionBrand.own).is_(False)
            )
            .group_by(col(Brand.name))
        ).all()
    )
    open_alerts = dict(
        session.exec(
            select(Brand.name, func.count(col(Alert.id)))
            .select_from(Brand)
            .outerjoin(Alert, (col(Alert.brand_id) == col(Brand.id)) & (col(Alert.status) == "open"))
            .group_by(col(Brand.name))
        ).all()
    )
    mentions = session.exec(select(func.count()).select_from(Mention)).one()
    sources = session.exec(select(SourceState).order_by(col(SourceState.source))).all()
    return [
        Gauge("wom_mentions", "Mentions stored.", [({}, mentions)]),
        Gauge(
            "wom_brand_mentions",
            "Word-of-mouth mentions matched to each brand (its own and staff accounts' posts left out).",
            [({"brand": name}, n) for name, n in sorted(per_brand.items())],
        ),
        Gauge(
            "wom_alerts_open",
            "Open alerts per brand.",
            [({"brand": name}, n) for name, n in sorted(open_alerts.items())],
        ),
        Gauge(
            "wom_source_backoff_seconds",
            "Seconds until a collector source may run again (0: not backing off).",
            [
                (
                    {"source": s.source},
                    max((s.backoff_until - now).total_seconds(), 0.0) if s.backoff_until else 0.0,
                )
                for s in sources
            ],
        ),
        Gauge(
            "wom_source_consecutive_failures",
            "Failed runs of a collector source since its last success.",
            [({"source": s.source}, s.consecutive_failures) for s in sources],
        ),
    ]
