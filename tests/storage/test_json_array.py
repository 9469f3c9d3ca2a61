"""json_array_agg collects a group into a Python list on SQLite and PostgreSQL, hostile text included."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.storage.json_array import json_array_agg

_NAMES = sa.table("names", sa.column("owner", sa.Integer), sa.column("name", sa.Text))


def test_groups_become_lists_and_an_empty_group_reads_as_none_or_empty(engine: Engine) -> None:
    hostile = 'quote " backslash \\ newline \n emoji 🙂 <script>'
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE names (owner INTEGER NOT NULL, name TEXT NOT NULL)")
        conn.execute(
            sa.insert(_NAMES),
            [{"owner": 1, "name": "Acme"}, {"owner": 1, "name": hostile}, {"owner": 2, "name": "Globex"}],
        )
        grouped = conn.execute(
            sa.select(_NAMES.c.owner, json_array_agg(_NAMES.c.name))
            .group_by(_NAMES.c.owner)
            .order_by(_NAMES.c.owner)
        ).all()
        per_owner = {owner: sorted(names) for owner, names in grouped}
        assert per_owner == {1: sorted(["Acme", hostile]), 2: ["Globex"]}

        missing = conn.execute(
            sa.select(json_array_agg(_NAMES.c.name)).where(_NAMES.c.owner == 3)
        ).scalar_one()
        # PostgreSQL's json_agg of no rows is NULL, SQLite's json_group_array '[]': callers read both as empty
        assert missing in (None, [])
        conn.exec_driver_sql("DROP TABLE names")
