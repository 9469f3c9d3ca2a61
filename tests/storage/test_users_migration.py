"""Migration 0007 (users) upgrades a 0006 database that holds data: its keys keep working and belong to nobody."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from monitor.storage.db import _alembic_config, connect, upgrade_schema
from monitor.storage.models import ApiKey, Brand, User
from monitor.storage.tables import table_of
from tests.conftest import drop_postgres_schema, make_postgres_url, postgres_base_url

CREATED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def unmigrated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        url, schema = make_postgres_url(postgres_base_url())
    engine = connect(url)
    yield engine
    engine.dispose()
    if schema is not None:
        drop_postgres_schema(postgres_base_url(), schema)


def test_0007_keeps_the_keys_of_a_0006_database_and_adds_users(unmigrated: Engine) -> None:
    command.upgrade(_alembic_config(unmigrated), "0006")
    with unmigrated.begin() as conn:
        brand_id = conn.execute(
            sa.text("INSERT INTO brand (name, timezone, active) VALUES ('Acme', 'UTC', true) RETURNING id")
        ).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO apikey (prefix, digest, role, brand_id, label, created_at)"
                " VALUES ('wom_abcdefgh', :digest, 'manager', :brand, 'ci', :created)"
            ),
            {"digest": "a" * 64, "brand": brand_id, "created": CREATED.replace(tzinfo=None)},
        )
    upgrade_schema(unmigrated)
    keys, users = table_of(ApiKey), table_of(User)
    with unmigrated.begin() as conn:
        rows = conn.execute(sa.select(keys.c.prefix, keys.c.role, keys.c.brand_id, keys.c.user_id)).all()
        assert [tuple(r) for r in rows] == [("wom_abcdefgh", "manager", brand_id, None)]
        assert conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one() == 0
        user_id = conn.execute(
            users.insert()
            .values(
                name="ann",
                display_name="Ann",
                email="ann@example.org",
                role="viewer",
                language="nl",
                timezone="Europe/Amsterdam",
                brand_ids=[brand_id],
                alert_kinds=[],
                min_severity="critical",
                delivery="immediate",
                digest_hour=8,
                active=True,
                created_at=CREATED,
            )
            .returning(users.c.id)
        ).scalar_one()
        conn.execute(keys.update().values(user_id=user_id))
        with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
            conn.execute(keys.update().values(user_id=user_id + 1000))
    with unmigrated.connect() as conn:
        assert conn.execute(sa.select(table_of(Brand).c.name)).scalar_one() == "Acme"


def test_0007_downgrades_to_0006_and_up_again(unmigrated: Engine) -> None:
    upgrade_schema(unmigrated)
    command.downgrade(_alembic_config(unmigrated), "0006")
    assert "user" not in sa.inspect(unmigrated).get_table_names()
    assert "user_id" not in {c["name"] for c in sa.inspect(unmigrated).get_columns("apikey")}
    upgrade_schema(unmigrated)
    assert "user" in sa.inspect(unmigrated).get_table_names()
