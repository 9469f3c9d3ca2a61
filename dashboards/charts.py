"""The overview's trend chart as SVG geometry, computed here so the page needs no script.

The SVG holds shapes only: dates, totals and the scale are HTML text beside it, so they keep their size
on a phone (a 720-unit-wide drawing shown 358 px wide would shrink text in it to half).
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.read.series import SentimentBucket

__all__ = ["ChartDay", "ChartRect", "TrendChart", "trend_chart"]

_CHART_WIDTH, _CHART_HEIGHT, _PLOT_TOP, _PLOT_BOTTOM = 720, 200, 8, 172


@dataclass(frozen=True, slots=True)
class ChartRect:
    css: str
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class ChartDay:
    label: str  # the day, YYYY-MM-DD
    volume: int
    positive: int
    neutral: int
    negative: int
    net: str  # net sentiment as +0.00, or "n/a"
    rects: list[ChartRect]


@dataclass(frozen=True, slots=True)
class TrendChart:
    """Stacked daily volume (negative at the bottom) and a net-sentiment line on a -1..1 scale."""

    width: int
    height: int
    plot_top: int
    plot_bottom: int
    zero_y: float
    max_volume: int
    days: list[ChartDay]
    net_line: str


def _stack(bucket: SentimentBucket, *, x: float, width: float, scale: float) -> list[ChartRect]:
    unclassified = bucket.volume - bucket.positive - bucket.neutral - bucket.negative
    y = float(_PLOT_BOTTOM)
    rects = []
    stack = (
        ("neg", bucket.negative),
        ("neu", bucket.neutral),
        ("pos", bucket.positive),
        ("unc", unclassified),
    )
    for css, count in stack:
        if count > 0:
            height = count * scale
            y -= height
            rects.append(
                ChartRect(css=css, x=round(x, 1), y=round(y, 1), width=width, height=round(height, 1))
            )
    return rects


def trend_chart(buckets: list[SentimentBucket]) -> TrendChart:
    """SVG geometry for `buckets`."""
    plot_height = _PLOT_BOTTOM - _PLOT_TOP
    slot = _CHART_WIDTH / max(len(buckets), 1)
    max_volume = max((b.volume for b in buckets), default=0)
    scale = plot_height / max_volume if max_volume else 0.0
    days: list[ChartDay] = []
    points: list[str] = []
    for index, bucket in enumerate(buckets):
        rects = _stack(bucket, x=index * slot + slot * 0.15, width=round(slot * 0.7, 1), scale=scale)
        days.append(
            ChartDay(
                label=bucket.start.strftime("%Y-%m-%d"),
                volume=bucket.volume,
                positive=bucket.positive,
                neutral=bucket.neutral,
                negative=bucket.negative,
                net="n/a" if bucket.net_sentiment is None else f"{bucket.net_sentiment:+.2f}",
                rects=rects,
            )
        )
        if bucket.net_sentiment is not None:
            net_y = _PLOT_TOP + (1 - bucket.net_sentiment) / 2 * plot_height
            points.append(f"{index * slot + slot / 2:.1f},{net_y:.1f}")
    return TrendChart(
        width=_CHART_WIDTH,
        height=_CHART_HEIGHT,
        plot_top=_PLOT_TOP,
        plot_bottom=_PLOT_BOTTOM,
        zero_y=_PLOT_TOP + plot_height / 2,
        max_volume=max_volume,
        days=days,
        net_line=" ".join(points),
    )
