"""Storage: tables, engine, migrations and the queries the stages share."""
