"""Spike detection over one brand's mentions: sliding windows against an hour-of-week baseline.

Pure: event times in, incidents out; no SQL. The alert stage (monitor.alerts.evaluate) turns incidents into
alerts. How it decides, for every evaluation time `t` on a grid of `spike_step_minutes` (aligned to the
epoch, so two runs over the same data evaluate the same times and find the same incident starts):

- Windows: for each width W in `spike_windows_minutes`, the mentions in [t - W, t). A short window (60 min)
  catches a burst within minutes of its growing; a long one (360 min) a slow build-up that no single hour
  shows at a small brand. Stepping every 10 minutes bounds the delay it adds and keeps a day at 144 steps.
- Baseline: the expected count in [t - W, t) is the median, over the last `spike_history_weeks` weeks, of the
  count in the same window one, two, … weeks earlier (widened by an hour on each side and scaled back, so a
  post a few minutes off the hour still counts). The median ignores a past incident in one of those weeks.
  With fewer than `spike_min_history_weeks` weeks of history it falls back to the same time of day over the
  last days (at least 3), then to the overall rate (at least one day); with less than a day there is no
  baseline and nothing fires. Expected negatives are expected mentions × the brand's negative share over the
  history (smoothed, so a brand with few mentions does not get a share of 0).
- Test: the count is tested against a negative binomial with that mean and variance mean + dispersion ×
  mean² (`spike_dispersion`; 0 is Poisson), via scipy.stats: a window fires when P(X ≥ count) ≤
  `spike_p_value` and count ≥ `spike_min_count`. A negative spike also needs the window's negative share to
  be above the baseline share (binomial upper tail ≤ `spike_share_p_value`), so a holiday peak or a viral
  post with a normal share is a `volume_spike` (tested on all mentions, minimum `volume_spike_min_count`).
- Hysteresis: an incident opens when a window fires, stays open while some window is still above a lower
  bar (P(X ≥ count) ≤ `spike_keep_p_value`) and closes once no window has been above that bar for
  `spike_quiet_minutes` (Prometheus' keep_firing_for), so a rate flapping around the threshold is one
  incident, not one per crossing.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
from scipy import stats  # type: ignore[import-untyped]  # no stubs shipped with scipy

from monitor.config import AlertSettings

__all__ = ["Incident", "MentionEvent", "SpikeKind", "detect_spikes", "evaluation_times"]

SpikeKind = str  # "negative_spike" | "volume_spike"
_WEEK = 7 * 86400.0
_DAY = 86400.0
_SMOOTH = 3600.0  # the same-window counts of past weeks are widened by an hour on each side
_MIN_DAYS_FOR_DAILY = 3
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class MentionEvent:
    """One word-of-mouth mention of the brand (its own accounts left out by the caller)."""

    at: datetime
    mention_id: int
    negative: bool


@dataclass(frozen=True, slots=True)
class Incident:
    """A run of firing windows. `end` is None while it is still open at `now`.

    `start` is the first mention from which the count runs above the expected rate (the start of the
    largest excess in the window that fired), so it is a mention's time and stable between runs.
    Counts are of the kind's mentions (negatives for a negative spike, all for a volume spike) from
    `start` to `end` (or `now`), against the baseline's expectation over the same span.
    """

    kind: SpikeKind
    start: datetime
    opened_at: datetime
    end: datetime | None
    peak_at: datetime
    peak_window_minutes: int
    peak_count: int
    peak_expected: float
    peak_p_value: float
    count: int
    expected: float
    total: int
    total_expected: float
    negative_share: float
    baseline_share: float
    mention_ids: tuple[int, ...]
    baseline: str  # hour_of_week | time_of_day | overall


def evaluation_times(start: datetime, end: datetime, *, step_minutes: int) -> list[datetime]:
    """The grid points in [start, end], counted from 1970-01-01T00:00Z in steps of `step_minutes`."""
    step = timedelta(minutes=step_minutes)
    first = _EPOCH + -((_EPOCH - start) // step) * step
    times: list[datetime] = []
    at = first
    while at <= end:
        times.append(at)
        at += step
    return times


def _seconds(at: datetime) -> float:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}; pass aware UTC times")
    return (at - _EPOCH).total_seconds()


def _at(seconds: float) -> datetime:
    return _EPOCH + timedelta(seconds=float(seconds))


@dataclass(frozen=True, slots=True)
class _Window:
    minutes: int
    count: npt.NDArray[np.int64]
    total: npt.NDArray[np.int64]
    expected_total: FloatArray
    expected: FloatArray  # of the kind's mentions
    p_value: FloatArray
    fires: npt.NDArray[np.bool_]
    above_bar: npt.NDArray[np.bool_]


class _Series:
    """Sorted event times with counts over any half-open span."""

    def __init__(self, times: FloatArray) -> None:
        self.times = np.sort(times)

    def count(self, lo: FloatArray | float, hi: FloatArray | float) -> npt.NDArray[np.int64]:
        return np.asarray(
            np.searchsorted(self.times, hi, side="left") - np.searchsorted(self.times, lo, side="left"),
            dtype=np.int64,
        )


def _expected_total(
    series: _Series, t: FloatArray, width: float, *, history_start: float, settings: AlertSettings
) -> tuple[FloatArray, npt.NDArray[np.str_]]:
    """Expected mentions in [t - width, t) and which baseline gave it (nan where there is none)."""
    scale = width / (width + 2 * _SMOOTH)

    def same_window(period: float, n: int) -> tuple[FloatArray, npt.NDArray[np.int64]]:
        counts = np.full((n, t.size), np.nan)
        for k in range(1, n + 1):
            lo = t - width - k * period - _SMOOTH
            hi = t - k * period + _SMOOTH
            counts[k - 1] = np.where(lo >= history_start, series.count(lo, hi) * scale, np.nan)
        valid = np.sum(~np.isnan(counts), axis=0)
        with warnings.catch_warnings():  # an all-nan column (no week of history) is expected
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(counts, axis=0)
        return median, valid

    weekly, weeks = same_window(_WEEK, settings.spike_history_weeks)
    daily, days = same_window(_DAY, 7)
    span_lo = np.maximum(history_start, t - settings.spike_history_weeks * _WEEK)
    span = (t - width) - span_lo
    overall = np.where(span >= _DAY, series.count(span_lo, t - width) / np.maximum(span, 1.0) * width, np.nan)
    expected = np.where(
        weeks >= settings.spike_min_history_weeks,
        weekly,
        np.where(days >= _MIN_DAYS_FOR_DAILY, daily, overall),
    )
    source = np.where(
        weeks >= settings.spike_min_history_weeks,
        "hour_of_week",
        np.where(days >= _MIN_DAYS_FOR_DAILY, "time_of_day", np.where(np.isnan(overall), "", "overall")),
    )
    return np.asarray(expected, dtype=np.float64), source


def _upper_tail(count: npt.NDArray[np.int64], mean: FloatArray, dispersion: float) -> FloatArray:
    """P(X ≥ count) for X negative binomial with this mean and variance mean + dispersion × mean²."""
    mean = np.maximum(mean, 1e-6)
    if dispersion <= 0:
        return np.asarray(stats.poisson.sf(count - 1, mean), dtype=np.float64)
    size = 1.0 / dispersion
    return np.asarray(stats.nbinom.sf(count - 1, size, size / (size + mean)), dtype=np.float64)


def _windows(
    kind: SpikeKind,
    *,
    all_series: _Series,
    negative_series: _Series,
    t: FloatArray,
    history_start: float,
    settings: AlertSettings,
) -> tuple[list[_Window], FloatArray, npt.NDArray[np.str_]]:
    history_lo = np.maximum(history_start, t - settings.spike_history_weeks * _WEEK)
    result: list[_Window] = []
    share = np.zeros(t.size)
    source = np.full(t.size, "", dtype=object)
    for minutes in settings.spike_windows_minutes:
        width = minutes * 60.0
        total = all_series.count(t - width, t)
        negatives = negative_series.count(t - width, t)
        expected_total, source = _expected_total(
            all_series, t, width, history_start=history_start, settings=settings
        )
        past_all = all_series.count(history_lo, t - width)
        past_negative = negative_series.count(history_lo, t - width)
        share = (past_negative + 1.0) / (past_all + 2.0)
        has_baseline = ~np.isnan(expected_total)
        expected_total = np.nan_to_num(expected_total)
        if kind == "negative_spike":
            count, expected, min_count = negatives, expected_total * share, settings.spike_min_count
        else:
            count, expected, min_count = total, expected_total, settings.volume_spike_min_count
        p_value = _upper_tail(count, expected, settings.spike_dispersion)
        share_p = np.asarray(stats.binom.sf(negatives - 1, np.maximum(total, 1), share), dtype=np.float64)
        high_share = share_p <= settings.spike_share_p_value
        fires = has_baseline & (count >= min_count) & (p_value <= settings.spike_p_value)
        above_bar = has_baseline & (count > expected) & (p_value <= settings.spike_keep_p_value)
        if kind == "negative_spike":
            fires &= high_share
        else:
            # a volume spike is one whose negative share stays normal; a negative one is reported as such
            fires &= ~high_share
        result.append(_Window(minutes, count, total, expected_total, expected, p_value, fires, above_bar))
    return result, share, source


def _excess_start(times: FloatArray, *, t: float, width: float, expected: float) -> float:
    """The time from which [·, t) holds the most mentions above a rate halfway between the expected and
    the window's own (a mention's time). Measured against the expected rate alone, a usual mention just
    before the burst would count as its start."""
    inside = times[(times >= t - width) & (times < t)]
    if inside.size == 0:
        return t - width
    rate = (inside.size + expected) / 2 / width
    after = inside.size - np.arange(inside.size)  # mentions from inside[j] on
    excess = after - rate * (t - inside)
    return float(inside[int(np.argmax(excess))])


def detect_spikes(
    events: Sequence[MentionEvent],
    *,
    kind: SpikeKind,
    scan_from: datetime,
    now: datetime,
    history_start: datetime,
    settings: AlertSettings,
) -> list[Incident]:
    """Incidents of `kind` found on the evaluation grid in [scan_from, now].

    `events` should cover `spike_history_weeks` weeks before `scan_from` (the baseline) up to `now`;
    `history_start` is when the brand's collection began (no earlier window counts as quiet).
    An incident already open at `scan_from` is seen from its first firing window inside the scan.
    """
    if kind not in ("negative_spike", "volume_spike"):
        raise ValueError(f"unknown spike kind {kind!r}; use negative_spike or volume_spike")
    grid = evaluation_times(scan_from, now, step_minutes=settings.spike_step_minutes)
    if not grid:
        return []
    t = np.array([_seconds(at) for at in grid])
    everything = [e for e in events if e.at <= now]
    all_times = np.array([_seconds(e.at) for e in everything], dtype=np.float64)
    negative_times = np.array([_seconds(e.at) for e in everything if e.negative], dtype=np.float64)
    all_series, negative_series = _Series(all_times), _Series(negative_times)
    windows, share, source = _windows(
        kind,
        all_series=all_series,
        negative_series=negative_series,
        t=t,
        history_start=_seconds(history_start),
        settings=settings,
    )
    # the bar that keeps an incident open is read on windows no longer than the one that opened it: a
    # burst found in an hour would otherwise stay open as long as the 6-hour window still holds it
    above_up_to = [
        np.logical_or.reduce([w.above_bar | w.fires for w in windows[: k + 1]]) for k in range(len(windows))
    ]
    quiet = settings.spike_quiet_minutes * 60.0
    kind_series = negative_series if kind == "negative_spike" else all_series
    spans: list[tuple[int, int, int | None]] = []  # (opening index, last index above the bar, closed?)
    opened: int | None = None
    last_above = 0
    above = above_up_to[-1]
    closed_at = -np.inf
    for i in range(t.size):
        if opened is None:
            # a window still holding the last incident does not open another one
            firing = [k for k, w in enumerate(windows) if w.fires[i] and t[i] - w.minutes * 60.0 >= closed_at]
            if firing:
                opened, last_above = i, i
                above = above_up_to[firing[0]]
            continue
        if above[i]:
            last_above = i
        elif t[i] - t[last_above] >= quiet:
            spans.append((opened, last_above, i))
            opened, closed_at = None, t[last_above]
    if opened is not None:
        spans.append((opened, last_above, None))
    return [
        _incident(
            kind,
            windows=windows,
            opened=o,
            last=last,
            closed=closed is not None,
            t=t,
            share=share,
            source=source,
            kind_series=kind_series,
            all_series=all_series,
            events=everything,
            now=_seconds(now),
        )
        for o, last, closed in spans
    ]


def _incident(
    kind: SpikeKind,
    *,
    windows: list[_Window],
    opened: int,
    last: int,
    closed: bool,
    t: FloatArray,
    share: FloatArray,
    source: npt.NDArray[np.str_],
    kind_series: _Series,
    all_series: _Series,
    events: Sequence[MentionEvent],
    now: float,
) -> Incident:
    firing = min((w for w in windows if w.fires[opened]), key=lambda w: w.p_value[opened])
    width = firing.minutes * 60.0
    start = _excess_start(kind_series.times, t=t[opened], width=width, expected=firing.expected[opened])
    end = t[last] if closed else now
    span = slice(opened, last + 1)
    best = min(windows, key=lambda w: float(np.min(w.p_value[span])))
    peak = opened + int(np.argmin(best.p_value[span]))
    expected_rate = np.mean([w.expected[opened] / (w.minutes * 60.0) for w in windows])
    total_rate = np.mean([w.expected_total[opened] / (w.minutes * 60.0) for w in windows])
    count = int(kind_series.count(start, end + 1e-6))
    total = int(all_series.count(start, end + 1e-6))
    negatives = sum(1 for e in events if e.negative and start <= _seconds(e.at) <= end)
    ids = tuple(
        e.mention_id
        for e in events
        if start <= _seconds(e.at) <= end and (e.negative or kind == "volume_spike")
    )
    return Incident(
        kind=kind,
        start=_at(start),
        opened_at=_at(t[opened]),
        end=_at(t[last]) if closed else None,
        peak_at=_at(t[peak]),
        peak_window_minutes=best.minutes,
        peak_count=int(best.count[peak]),
        peak_expected=round(float(best.expected[peak]), 2),
        peak_p_value=float(best.p_value[peak]),
        count=count,
        expected=round(float(expected_rate * max(end - start, 0.0)), 2),
        total=total,
        total_expected=round(float(total_rate * max(end - start, 0.0)), 2),
        negative_share=round(negatives / total, 3) if total else 0.0,
        baseline_share=round(float(share[opened]), 3),
        mention_ids=ids,
        baseline=str(source[opened]),
    )
