"""Each service's migrations live in its own schema, version table included."""

from __future__ import annotations

from pathlib import Path

import psycopg

from swe_common.migrations import ensure_database, upgrade_head
from swe_common.testing import ADMIN_DSN, drop_test_database

FIXTURE = Path(__file__).parent / "fixture_service"


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def test_upgrade_creates_schema_tables_and_version_table_inside_it(database_url):
    upgrade_head(FIXTURE, database_url)
    with psycopg.connect(_plain(database_url)) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'migtest'"
            )
        }
        public = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'alembic_version'"
            " AND table_schema <> 'migtest'"
        ).fetchone()
    assert {"things", "event_outbox", "event_inbox", "alembic_version"} <= tables
    assert public == (0,)


def _schema_state(conn: psycopg.Connection) -> tuple[list[tuple[str, ...]], list[tuple[str]]]:
    """The schema's columns (table, column, type, default) and its version table's rows."""
    columns = conn.execute(
        "SELECT table_name, column_name, data_type, coalesce(column_default, '')"
        " FROM information_schema.columns WHERE table_schema = 'migtest'"
        " ORDER BY table_name, column_name"
    ).fetchall()
    versions = conn.execute("SELECT version_num FROM migtest.alembic_version").fetchall()
    return columns, versions


def test_upgrade_twice_is_a_no_op(database_url):
    upgrade_head(FIXTURE, database_url)
    with psycopg.connect(_plain(database_url), autocommit=True) as conn:
        before = _schema_state(conn)
        conn.execute("INSERT INTO migtest.things (id) VALUES (7)")
    upgrade_head(FIXTURE, database_url)
    with psycopg.connect(_plain(database_url)) as conn:
        after = _schema_state(conn)
        rows = conn.execute("SELECT id FROM migtest.things").fetchall()
    assert before[1] == [("0001",)], "the first upgrade reached head"
    assert after == before, "the second upgrade changed the schema or its version"
    assert rows == [(7,)], "the second upgrade lost data"


def test_ensure_database_creates_a_missing_database_once():
    url = ADMIN_DSN.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0]
    url = f"{url}/swe_test_ensure_{Path(__file__).stat().st_ino}"
    try:
        assert ensure_database(url) is True
        assert ensure_database(url) is False
    finally:
        drop_test_database(url)


def test_migrated_schema_matches_the_models(database_url):
    """`alembic check`: the event tables a migration creates are exactly the declared ones."""
    from alembic import command

    from swe_common.migrations import alembic_config

    upgrade_head(FIXTURE, database_url)
    command.check(alembic_config(FIXTURE, database_url))
