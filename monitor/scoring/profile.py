"""Author profile per (author, brand): counts, ambassador and detractor scores, segment and its history.

Pure and deterministic: the profile depends only on the author's mentions (in any order), the settings and
the word-of-mouth discount. Scores are computed as of the author's last mention t, so the stored figure
equals a rebuild from scratch at any time; `decay_to` applies the decay from t to the moment of reading.

    mass(m)     = confidence × 0.5^((t − created_at) / half_life_days) × (1 + ln(1 + engagement) / 4)
    P, N        = Σ mass of positive / negative evidence; copies of one normalised text count once (the
                  latest copy stands for them); a complaint the model did not call negative counts as
                  negative evidence with confidence 0.5, and a positive complaint is not positive evidence
    repetition  = min(1, distinct evidence mentions / min_mentions)       one post is not an ambassador
    reach       = 1 + log10(1 + latest known reach) / 2
    ambassador  = P × repetition(P) × reach × (1 − N / (P + N)) × discount × side
    detractor   = N × repetition(N) × reach × (1 − P / (P + N)) × discount × side
    discount    = 0 for the brand's own or staff accounts, an obvious bot or giveaway spam, else 1
    side        = 0 for the ambassador score of a critic or detractor and the detractor score of an
                  ambassador or fan, else 1: an author ranks on the side of their segment only

Every mass decays at the same rate, so `decay_to(score, …)` equals the score computed as of any later time
(while the segment, and so the side, stays the same).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.config import ScoringSettings

__all__ = [
    "SEGMENTS",
    "AuthorProfile",
    "ScoredMention",
    "SegmentChangeEvent",
    "WordOfMouthDiscount",
    "build_profile",
    "classify_non_word_of_mouth",
    "decay_to",
    "is_own_account",
    "normalise_text",
]

SEGMENTS = ("ambassador", "fan", "occasional", "neutral", "critic", "detractor")
COMPLAINT_WEIGHT = 0.5
# Bots and giveaway spam are not word of mouth: at 0.1 a bot posting 60 praises a day still outranked most
# real ambassadors (benchmarks/ranking_quality.py); the discount stays visible in score_terms.
BOT_FACTOR = 0.0
SPAM_FACTOR = 0.0
# One mention every ~30 minutes, around the clock, about one brand: no person writes like that for long.
BOT_MENTIONS_PER_DAY = 48.0
# Near-identical texts: at least this many texts, of which this share say the same once links, handles and
# numbers are gone. Fewer texts are a person repeating a complaint, which the duplicate rule handles.
BOT_MIN_TEXTS = 5
BOT_IDENTICAL_SHARE = 0.8
SPAM_SHARE = 0.5
EVIDENCE_LIMIT = 5
# Recent negative posts it takes to call someone turning negative, each counted 0.5^(age / recent half-life):
# two within about two weeks, so one bad post of a fan is not yet a turn, however confident or liked (a mass
# threshold let one well-liked negative post turn an ambassador: benchmarks/ranking_quality.py).
TURN_MIN_NEGATIVE_POSTS = 1.5
_SECONDS_PER_DAY = 86_400.0

_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE_RE = re.compile(r"(?<!\w)@[\w.@-]+")
_NON_WORD_RE = re.compile(r"[\W_]+")
_DIGITS_RE = re.compile(r"\d+")
_BOT_HANDLE_RE = re.compile(r"bots?$|^bots?(?:[^a-z]|$)|[^a-z]bots?[^a-z]")
_NOT_BOT_WORDS_RE = re.compile(r"abbot|cabot|robot|sabot|talbot|turbot")
_GIVEAWAY_RE = re.compile(
    r"\bgive\s?-?aways?\b|\bwinactie\b|\bsweepstakes?\b|\bmaak\s+(?:nu\s+)?kans\b"
    r"|\b(?:chance|enter|retweet|rt)\s+(?:&\s+|and\s+)?to\s+win\b|\bkans\s+om\b.{0,40}\bte\s+winnen\b"
    r"|\b(?:retweet|rt|like|follow|share|tag|volg|deel|like\s+en\s+deel)\b.{0,60}\b(?:win|winnen)\b"
    r"|\bwin\s+(?:a|an|een|\d+|free|gratis)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ScoredMention:
    mention_id: int
    created_at: datetime  # aware UTC
    source: str
    text: str
    sentiment: str  # negative | neutral | positive
    confidence: float
    score: float  # -1..1
    intent: str  # complaint | question | praise | other
    reach: int | None
    engagement_total: int
    rating: float | None


@dataclass(frozen=True, slots=True)
class SegmentChangeEvent:
    changed_at: datetime
    from_segment: str
    to_segment: str
    mention_id: int


@dataclass(frozen=True, slots=True)
class WordOfMouthDiscount:
    """Why an author's mentions are not (fully) word of mouth. The default discounts nothing."""

    is_own_account: bool = False
    is_bot: bool = False
    is_spam: bool = False
    # "spam" or "bot" when a person dismissed one of the author's inbox items as such (monitor.inbox)
    suppressed_as: str | None = None

    @property
    def factor(self) -> float:
        if self.is_own_account or self.suppressed_as is not None:
            return 0.0
        return (BOT_FACTOR if self.is_bot else 1.0) * (SPAM_FACTOR if self.is_spam else 1.0)

    @property
    def label(self) -> str:
        if self.is_own_account:
            return "own account"
        if self.suppressed_as is not None:
            return f"dismissed as {self.suppressed_as}"
        reasons = [name for name, flag in (("bot", self.is_bot), ("spam", self.is_spam)) if flag]
        return ", ".join(reasons) or "none"


@dataclass(frozen=True, slots=True)
class AuthorProfile:
    mentions: int
    positive: int
    neutral: int
    negative: int
    complaints: int
    questions: int
    reach: int
    engagement: int
    first_mention_at: datetime
    last_mention_at: datetime
    average_rating: float | None
    ambassador_score: float
    detractor_score: float
    segment: str
    score_terms: dict[str, float | int | str]
    evidence: list[int]
    segment_changes: list[SegmentChangeEvent]


@dataclass(frozen=True, slots=True)
class _Evidence:
    """Weighted masses as of one moment: the inputs of both scores and of the segment."""

    positive_mass: float
    negative_mass: float
    positive_distinct: int
    negative_distinct: int
    neutral_distinct: int
    reach: int
    recent_positive_mass: float = 0.0
    recent_negative_mass: float = 0.0
    recent_negative_posts: float = 0.0


def normalise_text(text: str) -> str:
    """The text that copy-paste duplicates share: NFKC, casefolded, without links, @handles and punctuation."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _HANDLE_RE.sub(" ", _URL_RE.sub(" ", text))
    return _NON_WORD_RE.sub(" ", text).strip()


def is_own_account(
    handle: str, *, source: str, brand_handles: Mapping[str, Sequence[str]], staff_handles: Sequence[str]
) -> bool:
    """True when `handle` on `source` is one of the brand's handles, or a staff handle.

    Staff handles are `handle` (any platform) or `source:handle`; case and a leading `@` do not matter.
    """
    own = _handle_key(handle)
    if not own:
        return False
    if any(_handle_key(h) == own for h in brand_handles.get(source, ())):
        return True
    for entry in staff_handles:
        entry_source, _, entry_handle = entry.rpartition(":")
        if _handle_key(entry_handle) == own and entry_source.strip().casefold() in ("", source.casefold()):
            return True
    return False


def classify_non_word_of_mouth(
    handle: str, texts: Sequence[str], mentions_per_day: float
) -> WordOfMouthDiscount:
    """Flags obvious bots (handle, posting rate, near-identical texts) and giveaway/contest spam (EN and NL)."""
    local = _handle_key(handle).split("@", 1)[0]
    bot_handle = bool(_BOT_HANDLE_RE.search(_NOT_BOT_WORDS_RE.sub("", local)))
    is_bot = bot_handle or mentions_per_day >= BOT_MENTIONS_PER_DAY or _near_identical(texts)
    giveaways = sum(1 for text in texts if _GIVEAWAY_RE.search(text))
    is_spam = giveaways > 0 and giveaways >= SPAM_SHARE * len(texts)
    return WordOfMouthDiscount(is_bot=is_bot, is_spam=is_spam)


def decay_to(
    score: float, *, last_mention_at: datetime | None, now: datetime, half_life_days: float
) -> float:
    """`score`, computed as of `last_mention_at`, decayed to `now`: halved for every `half_life_days` between
    them. A `now` before it, or no `last_mention_at`, leaves it as it is. The one decay function: scoring,
    the rankings and the author profiles all read scores through it."""
    if half_life_days <= 0:
        raise ValueError(f"half_life_days must be > 0, got {half_life_days!r}; see scoring.half_life_days")
    if last_mention_at is None:
        return score
    age_days = max(0.0, (now - last_mention_at).total_seconds() / _SECONDS_PER_DAY)
    return score * math.pow(0.5, age_days / half_life_days)


def build_profile(
    mentions: Sequence[ScoredMention], *, settings: ScoringSettings, discount: WordOfMouthDiscount
) -> AuthorProfile:
    """The profile of one author for one brand, as of the author's last mention.

    Raises ValueError for no mentions or a naive `created_at`.
    """
    if not mentions:
        raise ValueError("build_profile needs at least one mention")
    for mention in mentions:
        if mention.created_at.tzinfo is None:
            raise ValueError(f"mention {mention.mention_id} has a naive created_at; pass aware UTC times")
    ordered = sorted(mentions, key=lambda m: (m.created_at, m.mention_id))
    last = ordered[-1].created_at
    representatives = list(_representatives(ordered).values())
    contributions = {
        m.mention_id: _mass(m, as_of=last, half_life_days=settings.half_life_days) for m in ordered
    }
    recent = {
        m.mention_id: _mass(m, as_of=last, half_life_days=settings.recent_half_life_days) for m in ordered
    }
    recent_posts = {
        m.mention_id: _recency(m.created_at, as_of=last, half_life_days=settings.recent_half_life_days)
        for m in ordered
    }
    evidence_now = _evidence(
        representatives, contributions, recent, recent_posts, reach=_latest_reach(ordered)
    )
    ambassador, detractor, terms = _scores(evidence_now, settings=settings, discount=discount)
    segment = _segment(ambassador, detractor, evidence_now, settings=settings, discount=discount)
    ambassador, detractor = _on_segment_side(ambassador, detractor, segment, terms)
    dominant = "ambassador" if ambassador > detractor else "detractor" if detractor > ambassador else "none"
    terms.update(
        as_of=last.isoformat(),
        half_life_days=settings.half_life_days,
        complaint_weight=COMPLAINT_WEIGHT,
        distinct_mentions=len(representatives),
        duplicates=len(ordered) - len(representatives),
        dominant=dominant,
    )
    ratings = [m.rating for m in ordered if m.rating is not None]
    sentiments = Counter(m.sentiment for m in ordered)
    intents = Counter(m.intent for m in ordered)
    return AuthorProfile(
        mentions=len(ordered),
        positive=sentiments["positive"],
        neutral=sentiments["neutral"],
        negative=sentiments["negative"],
        complaints=intents["complaint"],
        questions=intents["question"],
        reach=evidence_now.reach,
        engagement=sum(max(0, m.engagement_total) for m in ordered),
        first_mention_at=ordered[0].created_at,
        last_mention_at=last,
        average_rating=sum(ratings) / len(ratings) if ratings else None,
        ambassador_score=ambassador,
        detractor_score=detractor,
        segment=segment,
        score_terms=terms,
        evidence=_top_evidence(representatives, contributions, dominant),
        segment_changes=_segment_history(
            ordered, final_segment=segment, settings=settings, discount=discount
        ),
    )


def _handle_key(handle: str) -> str:
    return handle.strip().casefold().lstrip("@")


def _near_identical(texts: Sequence[str]) -> bool:
    if len(texts) < BOT_MIN_TEXTS:
        return False
    shapes = Counter(" ".join(_DIGITS_RE.sub(" ", normalise_text(text)).split()) for text in texts)
    return shapes.most_common(1)[0][1] >= BOT_IDENTICAL_SHARE * len(texts)


def _dedupe_key(mention: ScoredMention) -> str:
    # a text that is only a link or a handle is not a copy of another such text
    return normalise_text(mention.text) or f"\x00{mention.mention_id}"


def _representatives(ordered: Sequence[ScoredMention]) -> dict[str, ScoredMention]:
    """The latest copy of each normalised text; `ordered` is in time order, so later copies replace earlier."""
    return {_dedupe_key(m): m for m in ordered}


def _polarity(mention: ScoredMention) -> tuple[str, float]:
    confidence = min(1.0, max(0.0, mention.confidence))
    if mention.sentiment == "negative":
        return "negative", confidence
    if mention.intent == "complaint":
        return "negative", COMPLAINT_WEIGHT
    if mention.sentiment == "positive":
        return "positive", confidence
    return "neutral", 0.0


def _base_mass(mention: ScoredMention) -> float:
    """Mass before recency: polarity weight × engagement factor."""
    return _polarity(mention)[1] * (1.0 + math.log1p(max(0, mention.engagement_total)) / 4.0)


def _recency(created_at: datetime, *, as_of: datetime, half_life_days: float) -> float:
    return math.pow(0.5, (as_of - created_at).total_seconds() / _SECONDS_PER_DAY / half_life_days)


def _mass(mention: ScoredMention, *, as_of: datetime, half_life_days: float) -> float:
    return _base_mass(mention) * _recency(mention.created_at, as_of=as_of, half_life_days=half_life_days)


def _latest_reach(ordered: Sequence[ScoredMention]) -> int:
    known = [m.reach for m in ordered if m.reach is not None]
    return max(0, known[-1]) if known else 0


def _evidence(
    representatives: Sequence[ScoredMention],
    contributions: Mapping[int, float],
    recent: Mapping[int, float],
    recent_posts: Mapping[int, float],
    *,
    reach: int,
) -> _Evidence:
    polarities = [
        (_polarity(m)[0], contributions[m.mention_id], recent[m.mention_id]) for m in representatives
    ]
    negative_posts = math.fsum(
        recent_posts[m.mention_id] for m in representatives if _polarity(m)[0] == "negative"
    )
    return _Evidence(
        positive_mass=math.fsum(mass for pol, mass, _ in polarities if pol == "positive"),
        negative_mass=math.fsum(mass for pol, mass, _ in polarities if pol == "negative"),
        positive_distinct=sum(1 for pol, _, _ in polarities if pol == "positive"),
        negative_distinct=sum(1 for pol, _, _ in polarities if pol == "negative"),
        neutral_distinct=sum(1 for pol, _, _ in polarities if pol == "neutral"),
        reach=reach,
        recent_positive_mass=math.fsum(mass for pol, _, mass in polarities if pol == "positive"),
        recent_negative_mass=math.fsum(mass for pol, _, mass in polarities if pol == "negative"),
        recent_negative_posts=negative_posts,
    )


def _turning_negative(evidence: _Evidence) -> bool:
    """Lately more negative than positive, with at least TURN_MIN_NEGATIVE_POSTS recent negative posts."""
    return (
        evidence.recent_negative_posts >= TURN_MIN_NEGATIVE_POSTS
        and evidence.recent_negative_mass > evidence.recent_positive_mass
    )


def _scores(
    evidence: _Evidence, *, settings: ScoringSettings, discount: WordOfMouthDiscount
) -> tuple[float, float, dict[str, float | int | str]]:
    total = evidence.positive_mass + evidence.negative_mass
    negative_share = evidence.negative_mass / total if total > 0 else 0.0
    positive_share = evidence.positive_mass / total if total > 0 else 0.0
    positive_repetition = min(1.0, evidence.positive_distinct / settings.min_mentions)
    negative_repetition = min(1.0, evidence.negative_distinct / settings.min_mentions)
    reach_factor = 1.0 + math.log10(1 + evidence.reach) / 2.0
    factor = discount.factor
    ambassador = evidence.positive_mass * positive_repetition * reach_factor * (1.0 - negative_share) * factor
    detractor = evidence.negative_mass * negative_repetition * reach_factor * (1.0 - positive_share) * factor
    terms: dict[str, float | int | str] = {
        "positive_mass": evidence.positive_mass,
        "negative_mass": evidence.negative_mass,
        "positive_distinct": evidence.positive_distinct,
        "negative_distinct": evidence.negative_distinct,
        "neutral_distinct": evidence.neutral_distinct,
        "min_mentions": settings.min_mentions,
        "positive_repetition": positive_repetition,
        "negative_repetition": negative_repetition,
        "reach": evidence.reach,
        "reach_factor": reach_factor,
        "positive_share": positive_share,
        "negative_share": negative_share,
        "discount": discount.label,
        "discount_factor": factor,
        "recent_positive_mass": evidence.recent_positive_mass,
        "recent_negative_mass": evidence.recent_negative_mass,
        "recent_negative_posts": evidence.recent_negative_posts,
        "turning_negative": int(_turning_negative(evidence) and factor > 0),
        "ambassador_score": ambassador,
        "detractor_score": detractor,
    }
    return ambassador, detractor, terms


def _segment(
    ambassador: float,
    detractor: float,
    evidence: _Evidence,
    *,
    settings: ScoringSettings,
    discount: WordOfMouthDiscount,
) -> str:
    if discount.factor == 0.0:
        return "neutral"
    thresholds = settings.segments
    distinct = evidence.positive_distinct + evidence.negative_distinct + evidence.neutral_distinct
    single = distinct <= 1
    if _turning_negative(evidence) and not single:
        # the pyramid says how someone feels now: a fan whose recent posts are mostly negative is a critic,
        # even while a long positive history still outweighs them in the slow (half_life_days) scores
        return "detractor" if detractor >= thresholds.detractor and detractor > ambassador else "critic"
    # one post is not an ambassador, fan or detractor, however far it reaches: those need repeated posts
    repeated_positive = not single and evidence.positive_distinct >= settings.min_mentions
    repeated_negative = not single and evidence.negative_distinct >= settings.min_mentions
    if detractor > ambassador:
        if detractor >= thresholds.detractor and repeated_negative:
            return "detractor"
        return "critic" if detractor >= thresholds.critic else "neutral"
    if ambassador > detractor:
        if ambassador >= thresholds.ambassador and repeated_positive:
            return "ambassador"
        if ambassador >= thresholds.fan and repeated_positive:
            return "fan"
        mostly_neutral = 2 * evidence.neutral_distinct > distinct
        return "neutral" if mostly_neutral else "occasional"
    return "neutral"


def _on_segment_side(
    ambassador: float, detractor: float, segment: str, terms: dict[str, float | int | str]
) -> tuple[float, float]:
    """Zero the score on the other side of the segment: a critic is not listed as an ambassador (their
    positive history can outweigh a recent turn for weeks), nor a fan as a detractor."""
    ambassador_side = 0 if segment in ("critic", "detractor") else 1
    detractor_side = 0 if segment in ("ambassador", "fan") else 1
    ambassador, detractor = ambassador * ambassador_side, detractor * detractor_side
    terms.update(
        ambassador_side=ambassador_side,
        detractor_side=detractor_side,
        ambassador_score=ambassador,
        detractor_score=detractor,
    )
    return ambassador, detractor


def _top_evidence(
    representatives: Sequence[ScoredMention], contributions: Mapping[int, float], dominant: str
) -> list[int]:
    if dominant == "none":
        return []
    polarity = "positive" if dominant == "ambassador" else "negative"
    candidates = [m for m in representatives if _polarity(m)[0] == polarity]
    candidates.sort(key=lambda m: (-contributions[m.mention_id], -m.created_at.timestamp(), m.mention_id))
    return [m.mention_id for m in candidates[:EVIDENCE_LIMIT]]


def _segment_history(
    ordered: Sequence[ScoredMention],
    *,
    final_segment: str,
    settings: ScoringSettings,
    discount: WordOfMouthDiscount,
) -> list[SegmentChangeEvent]:
    """Replays the mentions in time order; each segment change names the mention that caused it.

    Mentions with the same `created_at` (imports often carry dates only) are one step, named after the last
    of them, so there is at most one change per instant (`segmentchange` is unique on changed_at).
    Keeps decayed running sums instead of rescoring every prefix (O(n), not O(n²): bots post thousands),
    and takes the last segment from the exact profile so history and profile always agree.
    """
    half_life = settings.half_life_days
    recent_half_life = settings.recent_half_life_days
    masses = {"positive": 0.0, "negative": 0.0}
    recent = {"positive": 0.0, "negative": 0.0}
    counts = {"positive": 0, "negative": 0, "neutral": 0}
    negative_posts = 0.0  # recent negative posts, each decayed at the recent rate
    groups: dict[str, ScoredMention] = {}
    reach = 0
    previous_time: datetime | None = None
    previous_segment: str | None = None
    changes: list[SegmentChangeEvent] = []
    for index, mention in enumerate(ordered):
        if previous_time is not None:
            decay = _recency(previous_time, as_of=mention.created_at, half_life_days=half_life)
            masses = {pol: mass * decay for pol, mass in masses.items()}
            recent_decay = _recency(previous_time, as_of=mention.created_at, half_life_days=recent_half_life)
            recent = {pol: mass * recent_decay for pol, mass in recent.items()}
            negative_posts *= recent_decay
        previous_time = mention.created_at
        key = _dedupe_key(mention)
        replaced = groups.get(key)
        if replaced is not None:
            old_polarity = _polarity(replaced)[0]
            counts[old_polarity] -= 1
            if old_polarity in masses:
                old_mass = _mass(replaced, as_of=mention.created_at, half_life_days=half_life)
                masses[old_polarity] = max(0.0, masses[old_polarity] - old_mass)
                old_recent = _mass(replaced, as_of=mention.created_at, half_life_days=recent_half_life)
                recent[old_polarity] = max(0.0, recent[old_polarity] - old_recent)
            if old_polarity == "negative":
                old_post = _recency(
                    replaced.created_at, as_of=mention.created_at, half_life_days=recent_half_life
                )
                negative_posts = max(0.0, negative_posts - old_post)
        groups[key] = mention
        polarity = _polarity(mention)[0]
        counts[polarity] += 1
        if polarity in masses:
            masses[polarity] += _base_mass(mention)
            recent[polarity] += _base_mass(mention)
        negative_posts += polarity == "negative"
        if mention.reach is not None:
            reach = max(0, mention.reach)
        if index + 1 < len(ordered) and ordered[index + 1].created_at == mention.created_at:
            continue
        if index == len(ordered) - 1:
            segment = final_segment
        else:
            evidence = _Evidence(
                masses["positive"],
                masses["negative"],
                counts["positive"],
                counts["negative"],
                counts["neutral"],
                reach,
                recent["positive"],
                recent["negative"],
                negative_posts,
            )
            ambassador, detractor, _ = _scores(evidence, settings=settings, discount=discount)
            segment = _segment(ambassador, detractor, evidence, settings=settings, discount=discount)
        if previous_segment is not None and segment != previous_segment:
            changes.append(
                SegmentChangeEvent(mention.created_at, previous_segment, segment, mention.mention_id)
            )
        previous_segment = segment
    return changes
