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


def test_upgrade_twice_is_a_no_op(database_url):
    upgrade_head(FIXTURE, database_url)
    upgrade_head(FIXTURE, database_url)


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
