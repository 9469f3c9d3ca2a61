"""`wom authors ...` and retention in `wom process` and `wom run`, through the real command line."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from monitor.cli import app
from monitor.records import AuthorRecord, MentionRecord
from monitor.service.schedule import scheduled_jobs
from monitor.storage.db import connect, upgrade_schema
from monitor.storage.mentions import store_mentions
from monitor.storage.models import Author, AuthorIdentity, Mention, utcnow
from monitor.storage.tables import table_of
from tests.authors.world import LINES, NOW, Line, World, build_world, import_lines, process, world_settings

runner = CliRunner()
HOSTILE = "[bold red]boss[/] \x1b[31m"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Engine, World]:
    database = tmp_path / "wom.db"
    config = tmp_path / "wom.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{database}"\n\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
        '\n[brands.handles]\nx = ["acme"]\n\n[[brands.competitors]]\nname = "Rival"\nkeywords = ["rival"]\n',
        encoding="utf-8",
    )
    engine = connect(f"sqlite:///{database}")
    upgrade_schema(engine)
    return config, engine, build_world(engine, tmp_path)


def _wom(config: Path, *args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", str(config), *args], input=input)
    return result.exit_code, result.output


def _identity(engine: Engine, key: str) -> int:
    identity = table_of(AuthorIdentity)
    with engine.connect() as conn:
        return int(conn.execute(sa.select(identity.c.id).where(identity.c.identity_key == key)).scalar_one())


def test_show_prints_platform_text_as_it_is(setup: tuple[Path, Engine, World]) -> None:
    config, engine, _ = setup
    record = MentionRecord("x", "x-h1", "Acme " + HOSTILE, NOW, AuthorRecord(HOSTILE, platform_id="x-666"))
    assert store_mentions(engine, [record]).new == 1
    identity = table_of(AuthorIdentity)
    with engine.connect() as conn:
        author = conn.execute(
            sa.select(identity.c.author_id).where(identity.c.identity_key == "x-666")
        ).scalar_one()
    code, output = _wom(config, "authors", "show", str(author))
    assert code == 0, output
    assert "[bold red]boss[/]" in output  # not taken as markup


def test_show_lists_identities_brands_history_and_mentions(setup: tuple[Path, Engine, World]) -> None:
    config, engine, world = setup
    code, output = _wom(config, "authors", "show", str(world.authors["erin"]), "--mentions", "2")
    assert code == 0, output
    for part in ("identities", "erin", "brands", "segment history", "recent mentions", "refund", "stale"):
        assert part in output
    mention = table_of(Mention)
    with engine.connect() as conn:
        ids = dict(conn.execute(sa.select(mention.c.external_id, mention.c.id)).all())
    rows = [line.split("│")[1].strip() for line in output.splitlines() if line.count("│") > 5]
    assert [str(ids["x-e6"]), str(ids["x-e5"])] == [row for row in rows if row.isdigit()][-2:]
    assert "daily coffee" not in output  # only the 2 newest


def test_suggest_merge_split(setup: tuple[Path, Engine, World]) -> None:
    config, engine, world = setup
    anna_x, anna_reddit = world.authors["anna_x"], world.authors["anna_reddit"]
    code, output = _wom(config, "authors", "suggest")
    assert code == 0, output
    assert f"wom authors merge {anna_x} {anna_reddit}" in output and "nothing was merged" in output
    code, output = _wom(config, "authors", "merge", str(anna_x), str(anna_reddit))
    assert code == 0, output
    assert f"merged author {anna_reddit} into {anna_x}: 1 identities moved" in output
    code, output = _wom(config, "authors", "merge", str(anna_x), str(anna_reddit))
    assert code == 2 and f"there is no author {anna_reddit}" in output
    code, output = _wom(
        config, "authors", "split", str(anna_x), "--identity", str(_identity(engine, "t2_anna"))
    )
    assert code == 0, output
    assert f"split 1 identities off author {anna_x} into new author" in output
    code, output = _wom(
        config, "authors", "split", str(anna_x), "--identity", str(_identity(engine, "x-100"))
    )
    assert code == 2 and "would leave it with none" in output


def test_forget_asks_and_export_writes_json(setup: tuple[Path, Engine, World], tmp_path: Path) -> None:
    config, engine, world = setup
    bob = world.authors["bob_x"]
    out = tmp_path / "bob.json"
    code, output = _wom(config, "authors", "export", str(bob), "--out", str(out))
    assert code == 0, output
    data = orjson.loads(out.read_bytes())
    assert [m["external_id"] for m in data["mentions"]] == ["x-b1", "x-b2", "x-b3"]
    code, output = _wom(config, "authors", "export", str(bob))
    assert code == 0 and orjson.loads(output)["author"]["id"] == bob
    code, output = _wom(config, "authors", "forget", str(bob))  # the test runner's stdin is no terminal
    assert code == 2 and "cannot be undone; add --yes" in output
    code, output = _wom(config, "authors", "forget", str(bob), "--yes")
    assert code == 0, output
    assert f"forgot author {bob}: 1 identities (tombstoned), 3 mentions" in output
    with engine.connect() as conn:
        assert conn.execute(sa.select(table_of(Author)).where(table_of(Author).c.id == bob)).all() == []
    code, output = _wom(config, "authors", "show", str(bob))
    assert code == 2 and f"there is no author {bob}" in output
    again = tmp_path / "again.jsonl"
    again.write_bytes(b"".join(orjson.dumps(line.as_json()) + b"\n" for line in LINES))
    code, output = _wom(config, "import", str(again), "--quiet")
    assert code == 0, output
    assert "3 lines of forgotten authors refused (`wom authors forget`)" in output


def _recent_and_old(engine: Engine, tmp_path: Path) -> list[Line]:
    # relative to the real clock, which `wom process` and the scheduler use: one line a day old, one 3 years
    days = (NOW - utcnow()).total_seconds() / 86_400
    lines = [
        Line("x-n1", "x", "nina", "x-800", 10, days + 1, "Acme today", "positive", "praise"),
        Line("x-n0", "x", "nina", "x-800", 10, days + 1100, "Acme long ago", "positive", "praise"),
        Line("x-q0", "x", "quinn", "x-801", 10, days + 1200, "Acme in the past", "negative", "complaint"),
    ]
    import_lines(engine, tmp_path / "recent.jsonl", lines)
    process(engine, world_settings(), lines=[*LINES, *lines])
    return lines


def test_process_applies_retention(setup: tuple[Path, Engine, World], tmp_path: Path) -> None:
    config, engine, _ = setup
    _recent_and_old(engine, tmp_path)
    with config.open("a", encoding="utf-8") as handle:
        handle.write("\n[privacy]\nretention_days = 1000\n")
    code, output = _wom(config, "process", "--quiet")
    assert code == 0, output
    assert "retention: 2 mentions older than 1000 days deleted" in output
    mention = table_of(Mention)
    with engine.connect() as conn:
        kept = set(conn.execute(sa.select(mention.c.external_id)).scalars())
    assert "x-n1" in kept and not {"x-n0", "x-q0"} & kept


def test_run_schedules_retention_only_when_configured(
    setup: tuple[Path, Engine, World], tmp_path: Path
) -> None:
    _, engine, _ = setup
    _recent_and_old(engine, tmp_path)
    assert "retention" not in {job.id for job in scheduled_jobs(world_settings(), engine)}
    jobs = {job.id: job for job in scheduled_jobs(world_settings(retention_days=1000), engine)}
    assert (jobs["retention"].kind, jobs["retention"].interval_seconds) == ("maintenance", 3600)
    result = jobs["retention"].func()
    assert result is not None and result.read == 2
    assert result.detail["authors_removed"] == 1  # quinn wrote only long ago
