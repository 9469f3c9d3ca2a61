"""I-10 parser fuzz smoke: atheris on the import line parsers and each source's payload -> Mention mappers.

Each target runs in its own process (libFuzzer owns the process it runs in), seeded with the recorded
payloads in ../shared/fixtures. A crash is any exception other than the documented ones: `ImportFileError`
for the import file (bad lines come back as `RecordError` values, not raised), `CollectorError` (and its
`TransientError`) for the mappers, which the collectors catch and record as skipped items.

    pytest -rP tests/test_fuzz_parsers.py                     # a short smoke run per target
    WOM_FUZZ_SECONDS=3600 pytest -rP tests/test_fuzz_parsers.py  # hours when slow: a real fuzz
    python tests/test_fuzz_parsers.py <target> <corpus dir> -runs=1000   # one target by hand

Needs atheris 3.0.0 (the cp311 wheel): in the `dev` extra where that wheel exists, or `pip install -e '.[fuzz]'`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import resource
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"
_SECONDS = int(os.environ.get("WOM_FUZZ_SECONDS", "3"))  # per target: a smoke; docs/release.md runs an hour
_MEMORY_LIMIT = 2 * 1024**3  # bytes of heap one fuzz target may hold
_RUNS = int(os.environ.get("WOM_FUZZ_RUNS", "-1"))  # a cap on executions as well; -1: none
_MAX_NODES = 500  # sub-objects of one input handed to the mappers, so one input stays cheap
_MAX_SEED_BYTES = 256 * 1024
_TMP_ENV = "WOM_FUZZ_TMP"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- the targets: bytes -> the code under test; raise only what is documented ------------------------


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):  # not JSON: the HTTP layer's business, not the mapper's
        return None


def _nodes(value: Any) -> Iterator[Any]:
    """Every dict and list inside `value`, breadth first, at most _MAX_NODES of them."""
    queue, seen = [value], 0
    while queue and seen < _MAX_NODES:
        node = queue.pop(0)
        if isinstance(node, dict):
            seen += 1
            yield node
            queue.extend(node.values())
        elif isinstance(node, list):
            seen += 1
            yield node
            queue.extend(node)


def _collector_errors() -> tuple[type[BaseException], ...]:
    from monitor.collectors.base import CollectorError

    return (CollectorError,)


def _import_lines(suffix: str) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        from monitor.errors import ImportFileError
        from monitor.importer import read_records

        path = Path(os.environ[_TMP_ENV]) / f"input{suffix}"
        path.write_bytes(data)
        try:
            for _ in read_records(path):
                pass
        except ImportFileError:
            pass

    return run


def _x(data: bytes) -> None:
    from monitor.collectors.x_map import map_response

    for node in _nodes(_json(data)):
        if isinstance(node, dict):
            try:
                map_response(node, brand="Acme", skip_retweets=True)
            except _collector_errors():
                pass


def _reddit(data: bytes) -> None:
    from monitor.collectors.reddit import map_item

    for node in _nodes(_json(data)):
        if isinstance(node, dict) and isinstance(node.get("data"), dict):
            try:
                map_item(str(node.get("kind")), node["data"])
            except _collector_errors():
                pass


def _mastodon(data: bytes) -> None:
    from monitor.collectors.mastodon import _map_page, map_status

    for node in _nodes(_json(data)):
        try:
            if isinstance(node, list):
                _map_page(node, "mastodon.social")
            else:
                map_status(node, instance_domain="mastodon.social")
        except _collector_errors():
            pass


def _bluesky(data: bytes) -> None:
    from monitor.collectors.bluesky import _sort_at, map_post

    for node in _nodes(_json(data)):
        if isinstance(node, dict):
            _sort_at(node)
            try:
                map_post(node, followers={})
            except _collector_errors():
                pass


def _youtube(data: bytes) -> None:
    from monitor.collectors.youtube_map import map_thread

    for node in _nodes(_json(data)):
        if isinstance(node, dict):
            try:
                map_thread(node, _EPOCH, "Acme", video_id="dQw4w9WgXcQ")
            except _collector_errors():
                pass


def _appstore(data: bytes) -> None:
    from monitor.collectors.appstore import _read_entries

    for node in _nodes(_json(data)):
        if isinstance(node, list):
            try:
                _read_entries(node, app_id="1", country="us", brand="Acme", watermark=0)
            except _collector_errors():
                pass


def _googleplay(data: bytes) -> None:
    from monitor.collectors.googleplay import map_review, parse_batch

    try:
        reviews, _ = parse_batch(data.decode("utf-8", errors="replace"))
    except _collector_errors():
        return
    for review in reviews:
        try:
            map_review(review, app_id="com.acme.app", lang="en", country="us", brand="Acme")
        except _collector_errors():
            pass


def _hackernews(data: bytes) -> None:
    from monitor.collectors.hackernews import _map_hits

    for node in _nodes(_json(data)):
        if isinstance(node, list):
            try:
                _map_hits(node)
            except _collector_errors():
                pass


def _trustpilot(data: bytes) -> None:
    from monitor.collectors.trustpilot import map_review

    for node in _nodes(_json(data)):
        if isinstance(node, dict):
            try:
                map_review(node, brand="Acme")
            except _collector_errors():
                pass


def _rss(data: bytes) -> None:
    from monitor.collectors.rss import _entry_time, _feed_lang, entry_key, map_entry, parse_feed

    try:
        parsed = parse_feed(data, feed_url="https://feeds.example.com/acme")
    except _collector_errors():
        return
    lang = _feed_lang(parsed.get("feed") or {})
    for entry in parsed.entries:
        entry_key(entry)
        _entry_time(entry)
        try:
            map_entry(entry, feed_url="https://feeds.example.com/acme", lang=lang, fetched_at=_EPOCH)
        except _collector_errors():
            pass


# target -> (function, fixture folders under ../shared/fixtures that seed it)
TARGETS: dict[str, tuple[Callable[[bytes], None], tuple[str, ...]]] = {
    "import_jsonl": (_import_lines(".jsonl"), ("twitter",)),
    "import_csv": (_import_lines(".csv"), ("twitter",)),
    "x": (_x, ("twitter",)),
    "reddit": (_reddit, ("reddit",)),
    "mastodon": (_mastodon, ("mastodon",)),
    "bluesky": (_bluesky, ("bluesky",)),
    "youtube": (_youtube, ("youtube",)),
    "appstore": (_appstore, ("appstore",)),
    "googleplay": (_googleplay, ("googleplay",)),
    "hackernews": (_hackernews, ()),
    "trustpilot": (_trustpilot, ()),
    "rss": (_rss, ("rss",)),
}
# sources without a recording in ../shared: the test's own recorded payloads
_LOCAL_FIXTURES = {"hackernews": "hackernews", "trustpilot": "trustpilot"}


# --- seeds: the recorded payloads, cassette bodies unwrapped ------------------------------------------


def _cassette_bodies(document: Any) -> Iterator[bytes]:
    for interaction in document.get("interactions") or []:
        body = (interaction.get("response") or {}).get("body") or {}
        value = body.get("string", body.get("base64_string"))
        if isinstance(value, str):
            yield value.encode()
        elif isinstance(value, bytes):
            try:
                yield gzip.decompress(value)
            except (OSError, EOFError):
                yield value


def _seeds_of(path: Path) -> Iterator[bytes]:
    raw = path.read_bytes()
    if path.suffix in (".yaml", ".yml"):
        import yaml

        document = yaml.safe_load(raw)
        yield from _cassette_bodies(document) if isinstance(document, dict) else ()
        return
    if path.suffix == ".json":
        document = _json(raw)
        if isinstance(document, dict) and "interactions" in document:
            yield from _cassette_bodies(document)
            return
    if path.suffix == ".jsonl":
        yield from raw.splitlines()[:20]
        return
    yield raw


def _wom_lines() -> list[bytes]:
    lines = (REPO / "monitor" / "demo" / "sample_mentions.jsonl").read_bytes().splitlines()[:20]
    return [line for line in lines if line.strip()]


def _csv_seed(lines: list[bytes]) -> bytes:
    columns = [
        "source",
        "external_id",
        "url",
        "created_at",
        "author.handle",
        "author.followers",
        "text",
        "lang",
    ]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for line in lines:
        item = json.loads(line)
        author = item.get("author") or {}
        nested = {"author.handle": author.get("handle"), "author.followers": author.get("followers")}
        writer.writerow([nested.get(c, item.get(c)) if "." in c else item.get(c) for c in columns])
    return out.getvalue().encode()


def write_seeds(target: str, corpus: Path) -> int:
    """Writes the target's seed corpus into `corpus`; returns how many seeds."""
    corpus.mkdir(parents=True, exist_ok=True)
    seeds: list[bytes] = []
    for folder in TARGETS[target][1]:
        for path in sorted((SHARED_FIXTURES / folder).iterdir()):
            if path.suffix != ".md":
                seeds.extend(_seeds_of(path))
    if target in _LOCAL_FIXTURES:
        for path in sorted((REPO / "tests" / "collectors" / "fixtures" / _LOCAL_FIXTURES[target]).iterdir()):
            seeds.extend(_seeds_of(path))
    if target == "import_jsonl":
        seeds.extend(_wom_lines())
        seeds.append(b"\n".join(_wom_lines()))
    if target == "import_csv":
        seeds.append(_csv_seed(_wom_lines()))
    kept = [seed for seed in seeds if 0 < len(seed) <= _MAX_SEED_BYTES]
    for index, seed in enumerate(kept):
        (corpus / f"seed-{index:04d}").write_bytes(seed)
    return len(kept)


# --- the smoke test ----------------------------------------------------------------------------------


def _figure(output: str, pattern: str) -> str:
    found = re.findall(pattern, output)
    return found[-1] if found else "?"


@pytest.mark.timeout(_SECONDS * 6 + 120)
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_parser_fuzz_smoke(target: str, tmp_path: Path) -> None:
    pytest.importorskip("atheris", reason="atheris is not installed: pip install -e '.[fuzz]'")
    if not SHARED_FIXTURES.exists():
        pytest.skip(f"{SHARED_FIXTURES} is absent: the seeds are the recordings in ../shared (CI has it)")
    corpus = tmp_path / "corpus"
    seeds = write_seeds(target, corpus)
    assert seeds > 0, f"no seeds for {target}"
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, _TMP_ENV: str(work), "PYTHONPATH": str(REPO)}
    # libFuzzer's own memory check reads ru_maxrss, which Linux carries over fork and exec: under a full
    # pytest run the child starts at the parent's peak (2.5 GB in CI) and every target "ran out of memory"
    # before its first input. The child caps its own heap instead (_MEMORY_LIMIT, see _main).
    args = [f"-runs={_RUNS}", f"-max_total_time={_SECONDS}", "-seed=1", "-timeout=20", "-rss_limit_mb=0"]
    result = subprocess.run(
        [sys.executable, __file__, target, str(corpus), *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=_SECONDS * 5 + 120,
        check=False,
    )
    output = result.stdout
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-")))
    traceback = output[output.find("=== Uncaught") :][:4000] if "=== Uncaught" in output else output[-4000:]
    assert result.returncode == 0 and not crashes, f"{target}: {crashes}\n{traceback}"
    execs = _figure(output, r"Done (\d+) runs")
    rate = _figure(output, r"exec/s: (\d+)")
    size = len(list(corpus.iterdir()))
    print(f"[figure] I-10 {target}: execs {execs}, exec/s {rate}, seeds {seeds}, corpus {size}, crashes 0")


# --- what the fuzz found: each input kept as a plain test (atheris not needed) -------------------------
# (Google Play, Hacker News and Trustpilot cases are in tests/collectors/test_<source>.py)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("author,author.handle", "columns 'author' and 'author.handle' both given; keep one of them"),
        ("author.handle,author", "column 'author' and nested 'author.' columns both given; keep one"),
    ],
)
def test_csv_column_beside_its_nested_columns_is_a_bad_line(
    header: str, message: str, tmp_path: Path
) -> None:
    """Found by the fuzz: `_nest` raised TypeError ('str' object does not support item assignment)."""
    from monitor.importer import read_records
    from monitor.records import RecordError

    path = tmp_path / "m.csv"
    rows = f"source,external_id,created_at,text,{header}\nx,1,2026-11-01T10:00:00Z,Acme,jan,jan\n"
    path.write_text(rows, encoding="utf-8")
    [(number, _, item)] = list(read_records(path))
    assert (number, type(item), str(item)) == (2, RecordError, message)


def test_rss_link_that_urlsplit_refuses_is_left_out() -> None:
    """Found by the fuzz: urlsplit raised ValueError('Invalid IPv6 URL') out of map_entry."""
    import feedparser

    from monitor.collectors.rss import map_entry

    feed = b"<rss><channel><item><title>Acme beans</title><link>http://[acme</link></item></channel></rss>"
    [entry] = feedparser.parse(feed).entries
    record = map_entry(entry, feed_url="https://feeds.example.com/acme", lang=None, fetched_at=_EPOCH)
    assert (record.url, record.external_id, record.author.handle, record.text) == (
        None,
        "http://[acme",
        "feeds.example.com",
        "Acme beans",
    )


def _main(argv: list[str]) -> None:
    import atheris  # type: ignore[import-not-found]

    target = TARGETS[argv[1]][0]
    # a parser that blows up on an input raises MemoryError here, which the harness reports as a crash
    resource.setrlimit(resource.RLIMIT_DATA, (_MEMORY_LIMIT, _MEMORY_LIMIT))
    os.environ.setdefault(_TMP_ENV, str(Path.cwd()))
    # the first call imports what the target needs; only wom's own modules get coverage hooks
    # (instrument_all() also hooked SQLAlchemy, pydantic and the rest: 100 s of start-up per target)
    with atheris.instrument_imports(include=["monitor"]):
        target(b"")
    atheris.Setup([argv[0], *argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    _main(sys.argv)
