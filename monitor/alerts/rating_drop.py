"""Review-rating drop: a brand's mean star rating over a recent window falls significantly below its
baseline (app stores, Google Play, Trustpilot: the sources whose mentions carry `rating`, 1 to 5 stars).

Pure. The rule, at time `now`:

- recent = the ratings of the last `alerts.rating_window_days`; baseline = those of the
  `alerts.rating_baseline_days` before the window (the brand's own posts left out, every rated source
  pooled);
- both hold at least `alerts.rating_min_count` ratings;
- the recent mean is at least `alerts.rating_min_drop` stars below the baseline mean;
- Welch's two-sample t-test (scipy.stats.ttest_ind, unequal variances), one-sided "recent mean is lower",
  gives p ≤ `alerts.rating_p_value`. With no spread in either sample the test is undefined and the drop in
  the means decides alone.

One live alert per brand while it holds (monitor.alerts.ongoing): severity warning, critical for a drop of
a whole star or more; resolved once the rule no longer holds. Its dedupe key names the day the window began
when it was first found.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from scipy import stats  # type: ignore[import-untyped]  # no stubs shipped with scipy

from monitor.alerts.reasons import REVIEW_RATING_DROP, reason
from monitor.alerts.rules import AlertDraft
from monitor.config import AlertSettings

__all__ = ["Rating", "rating_drop", "rating_test"]

MENTION_IDS_KEPT = 50


@dataclass(frozen=True, slots=True)
class Rating:
    mention_id: int
    source: str
    created_at: datetime
    stars: float


def rating_test(recent: Sequence[float], baseline: Sequence[float]) -> float:
    """One-sided p-value that the recent ratings' mean is below the baseline's (Welch's t-test)."""
    if statistics.pvariance(recent) == 0 and statistics.pvariance(baseline) == 0:
        return 0.0 if statistics.fmean(recent) < statistics.fmean(baseline) else 1.0
    result = stats.ttest_ind(recent, baseline, equal_var=False, alternative="less")
    p = float(result.pvalue)
    return 1.0 if math.isnan(p) else p


def rating_drop(
    ratings: Sequence[Rating], *, brand_id: int, settings: AlertSettings, now: datetime
) -> AlertDraft | None:
    """The brand's rating-drop alert when the rule above holds at `now`, else None."""
    window_start = now - timedelta(days=settings.rating_window_days)
    baseline_start = window_start - timedelta(days=settings.rating_baseline_days)
    recent = [r for r in ratings if window_start <= r.created_at <= now]
    baseline = [r for r in ratings if baseline_start <= r.created_at < window_start]
    if min(len(recent), len(baseline)) < settings.rating_min_count:
        return None
    recent_stars = [r.stars for r in recent]
    baseline_stars = [r.stars for r in baseline]
    recent_mean, baseline_mean = statistics.fmean(recent_stars), statistics.fmean(baseline_stars)
    drop = baseline_mean - recent_mean
    if drop < settings.rating_min_drop:
        return None
    p = rating_test(recent_stars, baseline_stars)
    if p > settings.rating_p_value:
        return None
    lowest = sorted(recent, key=lambda r: (r.stars, -r.created_at.timestamp(), r.mention_id))
    sources = sorted({r.source for r in recent})
    return AlertDraft(
        kind="review_rating_drop",
        dedupe_key=f"review_rating_drop:{brand_id}:{window_start.date().isoformat()}",
        severity="critical" if drop >= 1.0 else "warning",
        title=f"Star rating dropped to {recent_mean:.2f} from {baseline_mean:.2f}",
        detail={
            "subject": f"brand:{brand_id}",
            "recent_mean": round(recent_mean, 2),
            "baseline_mean": round(baseline_mean, 2),
            "recent_count": len(recent),
            "baseline_count": len(baseline),
            "window_days": settings.rating_window_days,
            "baseline_days": settings.rating_baseline_days,
            "p_value": p,
            "sources": sources,
            "test": (
                f"Welch t-test, one-sided, p <= {settings.rating_p_value}; at least {settings.rating_min_count} "
                f"ratings in each period and a drop of at least {settings.rating_min_drop} stars"
            ),
            "mention_ids": [r.mention_id for r in lowest[:MENTION_IDS_KEPT]],
            "reason": reason(
                REVIEW_RATING_DROP,
                recent=round(recent_mean, 2),
                baseline=round(baseline_mean, 2),
                recent_count=len(recent),
                baseline_count=len(baseline),
                days=settings.rating_window_days,
                p=f"{p:.2g}",
            ),
        },
        event_at=window_start,
        brand_id=brand_id,
    )
