"""The read model: every query a person or client sees, each a function `(session, ...)` returning the
public pydantic models the API sends. The API routes, the dashboard, the CLI and the benchmarks call these;
nothing here imports `api`, `dashboards` or `monitor.cli`.

- `paging`: the newest-first keyset cursor.
- `mentions`: mentions with their current classification, filtered and paged.
- `alerts`: alerts, newest event first.
- `inbox`: inbox items by priority or age, and one item with its thread and events.
- `response_times`: time to first response per brand and week, backlog, missed targets.
- `brands`: brands, competitors and mention counts.
- `series`: sentiment and share-of-voice series.
- `rankings`: author rankings, with the one decay function.
- `authors`: one author's overview and profile.
- `metrics`: the gauges GET /metrics reads from the database.
"""
