import csv
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.errors import ImportFileError
from monitor.importer import import_file
from monitor.records import MAX_DEPTH
from monitor.storage.models import AuthorIdentity, Mention
from monitor.storage.tables import table_of


def _line(i: int, **overrides: object) -> dict[str, object]:
    item: dict[str, object] = {
        "source": "trustpilot",
        "external_id": f"r-{i}",
        "text": f"Bestelling {i} kwam snel binnen bij Acme",
        "created_at": f"2026-11-01T10:{i % 60:02d}:00Z",
        "author": {"id": f"u{i % 7}", "handle": f"user{i % 7}", "followers": 100 + i},
    }
    item.update(overrides)
    return item


def _write_jsonl(path: Path, items: list[object]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for item in items:
            handle.write((item if isinstance(item, str) else json.dumps(item)) + "\n")
    return path


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_import_then_reimport_adds_nothing(engine: Engine, tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "m.jsonl", [_line(i) for i in range(50)])
    first = import_file(engine, path, batch_size=16)
    assert (first.read, first.new, first.duplicate, first.rejected) == (50, 50, 0, [])
    second = import_file(engine, path, batch_size=16)
    assert (second.read, second.new, second.duplicate, second.rejected) == (50, 0, 50, [])
    assert _count(engine, table_of(Mention)) == 50
    assert _count(engine, table_of(AuthorIdentity)) == 7


def test_repeats_inside_one_file_are_duplicates(engine: Engine, tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "m.jsonl", [_line(1), _line(2), _line(1)])
    summary = import_file(engine, path)
    assert (summary.new, summary.duplicate) == (2, 1)


def test_bad_lines_are_reported_with_line_number_and_do_not_stop_the_rest(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "bad.jsonl"
    lines = [
        json.dumps(_line(1)),
        "{not json",
        json.dumps(_line(2, created_at="last tuesday")),
        json.dumps(_line(3, text=None)),
        json.dumps(_line(4, author={"id": "x"})),
        json.dumps(_line(5, rating="five")),
        json.dumps(_line(6, engagement={"likes": "many"})),
        "[1, 2, 3]",
        json.dumps(_line(7, text="x" * 1_100_000)),
        "",
        json.dumps(_line(8, text="NUL\u0000 in text")),
        json.dumps(_line(9)),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with path.open("ab") as handle:
        handle.write(b'{"source": "x", "external_id": "bad-utf8", "text": "caf\xe9"}\n')
    summary = import_file(engine, path)
    reasons = {r.line: r.reason for r in summary.rejected}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7, 8, 9, 13]
    assert "not valid JSON" in reasons[2]
    assert "ISO 8601" in reasons[3]
    assert "'text' is missing" in reasons[4]
    assert "'handle' is missing" in reasons[5]
    assert "'rating'" in reasons[6]
    assert "'engagement.likes'" in reasons[7]
    assert "must be a JSON object" in reasons[8]
    assert "bytes; the limit is" in reasons[9]
    assert "invalid UTF-8" in reasons[13]
    assert summary.new == 3
    with engine.connect() as conn:
        texts = set(conn.execute(sa.select(table_of(Mention).c.text)).scalars())
    assert "NUL in text" in texts


def test_csv_with_the_same_column_names(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "source",
                "external_id",
                "text",
                "created_at",
                "author.handle",
                "author.followers",
                "rating",
                "engagement.likes",
            ]
        )
        writer.writerow(
            ["trustpilot", "c-1", 'Top, "echt" snel', "2026-11-01T10:00:00Z", "anna", "1200", "5", "3"]
        )
        writer.writerow(["trustpilot", "c-2", "", "2026-11-01T10:00:00Z", "bob", "", "", ""])
        writer.writerow(["trustpilot", "c-3", "Slecht", "2026-11-01T10:00:00Z", "carla", "", "1", ""])
    summary = import_file(engine, path)
    assert (summary.new, [r.line for r in summary.rejected]) == (2, [3])
    with engine.connect() as conn:
        row = (
            conn.execute(sa.select(table_of(Mention)).where(table_of(Mention).c.external_id == "c-1"))
            .mappings()
            .one()
        )
    assert row["text"] == 'Top, "echt" snel'
    assert row["reach"] == 1200
    assert row["rating"] == 5.0
    assert row["engagement"] == {"likes": 3}


def test_unknown_brand_is_rejected_with_the_fix(engine: Engine, tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "m.jsonl", [_line(1, brand="Acme"), _line(2, brand="Nope")])
    summary = import_file(engine, path, known_brands=lambda name: name.lower() == "acme")
    assert summary.new == 1
    assert "'brand' 'Nope' is not configured; add it to [[brands]]" in summary.rejected[0].reason


def test_unreadable_or_unknown_files(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="unknown file type"):
        import_file(engine, tmp_path / "m.xml")
    with pytest.raises(ImportFileError, match="cannot read"):
        import_file(engine, tmp_path / "missing.jsonl")


def test_author_reach_follows_the_newest_mention(engine: Engine, tmp_path: Path) -> None:
    items = [
        _line(1, author={"id": "u1", "handle": "anna", "followers": 10}, created_at="2026-11-01T10:00:00Z"),
        _line(2, author={"id": "u1", "handle": "anna", "followers": 30}, created_at="2026-11-03T10:00:00Z"),
    ]
    import_file(engine, _write_jsonl(tmp_path / "a.jsonl", items))
    import_file(
        engine,
        _write_jsonl(
            tmp_path / "b.jsonl", [_line(3, author={"id": "u1", "handle": "anna", "followers": 50})]
        ),
    )
    with engine.connect() as conn:
        reach = conn.execute(sa.select(table_of(AuthorIdentity).c.reach)).scalars().all()
    assert reach == [50]


def _nested(depth: int) -> str:
    """JSON text of objects `depth` levels deep (built by hand: json.dumps recurses in C and stops at ~1000)."""
    return '{"a": ' * depth + '"bottom"' + "}" * depth


@pytest.mark.parametrize("depth", [256, 1000])
def test_a_deeply_nested_line_is_rejected_and_the_good_lines_are_stored(
    engine: Engine, tmp_path: Path, depth: int
) -> None:
    poison = json.dumps(_line(2, extra="EXTRA")).replace('"EXTRA"', _nested(depth))
    path = _write_jsonl(tmp_path / "deep.jsonl", [_line(1), poison, _line(3)])
    summary = import_file(engine, path)
    assert (summary.read, summary.new) == (3, 2)
    assert [(r.line, r.reason) for r in summary.rejected] == [
        (2, f"'extra' is nested deeper than {MAX_DEPTH} levels; flatten it or leave it out")
    ]
    with engine.connect() as conn:
        stored = conn.execute(sa.select(table_of(Mention).c.external_id).order_by("external_id")).scalars()
        assert list(stored) == ["r-1", "r-3"]


def test_a_text_of_only_controls_or_spaces_is_rejected_on_every_path(engine: Engine, tmp_path: Path) -> None:
    reason = "'text' is empty after removing control characters and whitespace"
    jsonl = _write_jsonl(
        tmp_path / "t.jsonl", [_line(1, text="\u0001\u0002\u001b"), _line(2, text="    "), _line(3)]
    )
    summary = import_file(engine, jsonl)
    assert [(r.line, r.reason) for r in summary.rejected] == [(1, reason), (2, reason)]
    csv_path = tmp_path / "t.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "external_id", "text", "created_at", "author.handle"])
        writer.writerow(["x", "c-1", "\x01\x07", "2026-11-01T10:00:00Z", "anna"])
        writer.writerow(["x", "c-2", "  \t ", "2026-11-01T10:00:00Z", "anna"])
        writer.writerow(["x", "c-3", "fine", "2026-11-01T10:00:00Z", "anna"])
    summary = import_file(engine, csv_path)
    assert [(r.line, r.reason) for r in summary.rejected] == [(2, reason), (3, reason)]
    with engine.connect() as conn:
        texts = conn.execute(sa.select(table_of(Mention).c.text).order_by("external_id")).scalars()
        assert list(texts) == ["fine", "Bestelling 3 kwam snel binnen bij Acme"]


_CSV_HEADER = "source,external_id,text,created_at,author.handle\r\n"


def _csv_row(n: int, text: str | None = None) -> str:
    return f"x,c-{n},{text if text is not None else f'row {n}'},2026-11-01T10:00:00Z,anna\r\n"


def _import_csv(engine: Engine, tmp_path: Path, content: str) -> tuple[list[tuple[int, str]], list[str]]:
    path = tmp_path / "m.csv"
    path.write_text(content, encoding="utf-8", newline="")
    summary = import_file(engine, path)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(table_of(Mention).c.external_id).order_by("external_id")).scalars()
        return [(r.line, r.reason) for r in summary.rejected], list(stored)


def test_a_csv_field_over_the_limit_is_reported_at_its_own_line(engine: Engine, tmp_path: Path) -> None:
    content = _CSV_HEADER + _csv_row(1) + _csv_row(2, "y" * 1_000_001) + _csv_row(3)
    rejected, stored = _import_csv(engine, tmp_path, content)
    assert rejected == [(3, "line is 1,000,035 characters; the limit is 1,000,000")]
    assert stored == ["c-1", "c-3"]


_REREAD = (
    "; this line was skipped and the lines after it were read again as rows of their own. Close the quote, "
    'or write a quote inside a quoted field as two ("")'
)


def test_an_unterminated_quote_is_reported_where_it_opened_and_the_rows_after_it_are_kept(
    engine: Engine, tmp_path: Path
) -> None:
    content = (
        _CSV_HEADER + _csv_row(1) + _csv_row(2) + _csv_row(3, '"broken text') + _csv_row(4) + _csv_row(5)
    )
    rejected, stored = _import_csv(engine, tmp_path, content)
    assert rejected == [
        (4, "a quote opened on this line is never closed (the file ends inside it)" + _REREAD)
    ]
    assert stored == ["c-1", "c-2", "c-4", "c-5"]


def test_an_unterminated_quote_closed_by_a_later_one_is_reported_where_it_opened(
    engine: Engine, tmp_path: Path
) -> None:
    rows = [_csv_row(1), _csv_row(2, '"broken'), _csv_row(3), _csv_row(4, '"quoted, fine"'), _csv_row(5)]
    rejected, stored = _import_csv(engine, tmp_path, _CSV_HEADER + "".join(rows))
    assert rejected == [
        (
            3,
            "a quote opened on this line closes only on line 5, and the 3 lines read as one row do not fit "
            "the header (6 values for 5 columns)" + _REREAD,
        )
    ]
    assert stored == ["c-1", "c-3", "c-4", "c-5"]


def test_an_unterminated_quote_running_past_the_limit_is_reported_where_it_opened(
    engine: Engine, tmp_path: Path
) -> None:
    rows = [_csv_row(1, '"broken'), *(_csv_row(n, "z" * 1000) for n in range(2, 1200))]
    rejected, stored = _import_csv(engine, tmp_path, _CSV_HEADER + "".join(rows))
    assert rejected == [
        (
            2,
            "a quote opened on this line runs on for over 1,000,000 characters without being closed"
            + _REREAD,
        )
    ]
    assert len(stored) == 1198 and "c-1" not in stored


def test_quoted_fields_over_several_lines_are_kept_and_rows_are_numbered_by_their_first_line(
    engine: Engine, tmp_path: Path
) -> None:
    rows = [
        _csv_row(1, '"first line\r\nsecond line, with ""quotes"""'),
        _csv_row(2),
        '"x","c-3","three\nlines\nlong",yesterday,anna\r\n',
        _csv_row(4),
    ]
    rejected, stored = _import_csv(engine, tmp_path, _CSV_HEADER + "".join(rows))
    assert rejected == [(5, "'created_at' 'yesterday' is not an ISO 8601 time such as 2026-11-01T10:00:00Z")]
    assert stored == ["c-1", "c-2", "c-4"]
    with engine.connect() as conn:
        text = conn.execute(
            sa.select(table_of(Mention).c.text).where(table_of(Mention).c.external_id == "c-1")
        ).scalar_one()
    assert text == 'first line\r\nsecond line, with "quotes"'


def test_a_csv_saved_with_a_byte_order_mark_reads_its_first_column(engine: Engine, tmp_path: Path) -> None:
    rejected, stored = _import_csv(engine, tmp_path, "\ufeff" + _CSV_HEADER + _csv_row(1))
    assert (rejected, stored) == ([], ["c-1"])
