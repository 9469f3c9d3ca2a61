from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.errors import StorageError
from monitor.records import parse_mention
from monitor.storage.db import connect, read_only, schema_is_current, upgrade_schema
from monitor.storage.mentions import store_mentions
from monitor.storage.models import Mention
from monitor.storage.tables import table_of


def test_upgrade_is_idempotent(engine: Engine) -> None:
    upgrade_schema(engine)
    assert schema_is_current(engine)


def test_hostile_text_is_stored_the_same_on_both_backends(engine: Engine) -> None:
    texts = {
        "nul": "bad\x00order",
        "rtl": "evil \u202etxt.exe",
        "zwj": "family 👨\u200d👩\u200d👧 ok",
        "surrogate": "half \ud83d pair",
        "big": "x" * 49_000,
    }
    records = [
        parse_mention(
            {
                "source": "x",
                "external_id": key,
                "text": text,
                "created_at": "2026-11-01T10:00:00Z",
                "author": {"handle": "a\x00b"},
            }
        )
        for key, text in texts.items()
    ]
    assert store_mentions(engine, records).new == 5
    with engine.connect() as conn:
        stored = dict(
            conn.execute(sa.select(table_of(Mention).c.external_id, table_of(Mention).c.text)).all()
        )
        sanitized = dict(
            conn.execute(sa.select(table_of(Mention).c.external_id, table_of(Mention).c.text_sanitized)).all()
        )
    assert stored == {
        "nul": "badorder",
        "rtl": "evil \u202etxt.exe",
        "zwj": "family 👨\u200d👩\u200d👧 ok",
        "surrogate": "half \ufffd pair",
        "big": "x" * 49_000,
    }
    assert sanitized == {"nul": True, "rtl": False, "zwj": False, "surrogate": True, "big": False}


def test_times_come_back_as_aware_utc(engine: Engine) -> None:
    record = parse_mention(
        {
            "source": "x",
            "external_id": "1",
            "text": "t",
            "created_at": "2026-11-01T11:30:00+01:00",
            "author": {"handle": "a"},
        }
    )
    store_mentions(engine, [record])
    with engine.connect() as conn:
        created = conn.execute(sa.select(table_of(Mention).c.created_at)).scalar_one()
    assert created == datetime(2026, 11, 1, 10, 30, tzinfo=UTC)


def test_readers_do_not_wait_for_a_sqlite_writer(sqlite_engine: Engine) -> None:
    writer = sqlite_engine.connect()
    writer.execute(sa.text("SELECT 1"))  # BEGIN IMMEDIATE: holds the write lock
    try:
        with read_only(sqlite_engine).connect() as reader:
            assert reader.execute(sa.select(sa.func.count()).select_from(table_of(Mention))).scalar_one() == 0
    finally:
        writer.rollback()
        writer.close()


def test_unreachable_postgres_names_the_fix() -> None:
    engine = connect("postgresql+psycopg://nobody@127.0.0.1:1/wom")
    with pytest.raises(StorageError, match="WOM_DATABASE_URL"):
        upgrade_schema(engine)


def test_unknown_url_scheme(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot use database url"):
        connect("nosuchdb://x")


def test_the_migrations_build_exactly_the_models(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://wom:hunter2@db:notaport/wom", "postgresql+psycopg://wom:***@db:notaport/wom"),
        ("postgresql+nosuchdriver://wom:hunter2@db/wom", "postgresql+nosuchdriver://wom:***@db/wom"),
        ("postgresql+psycopg//wom:hunter2@db/wom", "postgresql+psycopg//wom:***@db/wom"),
    ],
)
def test_refused_database_url_masks_its_password(url: str, shown: str) -> None:
    with pytest.raises(StorageError) as info:
        connect(url)
    assert "hunter2" not in str(info.value)
    assert repr(shown) in str(info.value)
    assert "WOM_DATABASE_URL" in str(info.value)
