"""store_mentions tells which rows it inserted (`new_keys`), also when another writer stores some of the
same rows while it runs. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.records import AuthorRecord, MentionRecord
from monitor.storage.mentions import StoreResult, store_mentions
from monitor.storage.models import Mention
from monitor.storage.tables import table_of

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
_MENTION = table_of(Mention)


def _record(external_id: str) -> MentionRecord:
    return MentionRecord(
        source="ownsite",
        external_id=external_id,
        text=f"Acme {external_id}",
        created_at=NOW,
        author=AuthorRecord("a"),
    )


def test_new_keys_name_the_inserted_rows(engine: Engine) -> None:
    first = store_mentions(engine, [_record("1"), _record("2"), _record("1")])
    assert (first.new, first.duplicate, first.new_keys) == (2, 1, {("ownsite", "1"), ("ownsite", "2")})
    second = store_mentions(engine, [_record("2"), _record("3")])
    assert (second.new, second.new_keys) == (1, {("ownsite", "3")})


def _waiting_for_a_lock(engine: Engine) -> bool:
    if engine.dialect.name != "postgresql":
        return True  # SQLite: BEGIN IMMEDIATE waits on busy_timeout; nothing to observe
    with engine.connect() as conn:
        waiting = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO mention%'"
            )
        ).scalar_one()
    return bool(waiting)


def test_rows_stored_meanwhile_by_another_writer_are_not_reported_as_new(engine: Engine) -> None:
    blocker = engine.connect()
    blocker.begin()
    blocker.execute(sa.insert(_MENTION).values(source="ownsite", external_id="k", text="x", created_at=NOW))
    results: list[StoreResult] = []
    writer = threading.Thread(
        target=lambda: results.append(store_mentions(engine, [_record("k"), _record("l")]))
    )
    writer.start()
    deadline = time.monotonic() + 30
    while not _waiting_for_a_lock(engine):  # PostgreSQL: the insert waits for the blocker's row
        assert time.monotonic() < deadline, "the second writer never reached its insert"
        time.sleep(0.05)
    time.sleep(0.2)  # SQLite: let the second writer queue for the write lock (the outcome is the same if not)
    blocker.commit()
    blocker.close()
    writer.join(timeout=60)
    assert len(results) == 1
    assert (results[0].new, results[0].duplicate, results[0].new_keys) == (1, 1, {("ownsite", "l")})


def test_checked_new_on_sqlite_keeps_the_count_exact(sqlite_engine: Engine) -> None:
    store_mentions(sqlite_engine, [_record("1")])
    result = store_mentions(sqlite_engine, [_record("1"), _record("2")], checked_new=True)
    assert (result.new, result.duplicate, result.new_keys) == (1, 1, None)


@pytest.mark.postgres
def test_checked_new_on_postgres_still_names_the_rows(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    store_mentions(engine, [_record("1")])
    result = store_mentions(engine, [_record("1"), _record("2")], checked_new=True)
    assert (result.new, result.new_keys) == (1, {("ownsite", "2")})
