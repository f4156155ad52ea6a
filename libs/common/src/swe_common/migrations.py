"""Alembic support shared by every service: one schema per service, its version table inside it.

A service's ``migrations/env.py`` is two lines::

    from swe_common.migrations import run_env
    run_env(Base.metadata, Settings.load())

``upgrade_head(service_dir, url)`` runs a service's migrations from code (``make up``, tests).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from psycopg import sql
from sqlalchemy.engine import make_url

from swe_common.settings import ServiceSettings


def sync_url(url: str) -> str:
    """psycopg 3 speaks both sync and async; Alembic runs on the sync side."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def ensure_database(url: str) -> bool:
    """Create the database named in ``url`` when it is missing; True when it was created."""
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)
        ).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(parsed.database or "")))
        return True


def _skip_empty(context_: Any, _revision: Any, directives: list[Any]) -> None:
    if getattr(context_.config, "cmd_opts", None) and getattr(
        context_.config.cmd_opts, "autogenerate", False
    ):
        script = directives[0]
        if script.upgrade_ops.is_empty():
            directives[:] = []


def run_env(target_metadata: sa.MetaData, settings: ServiceSettings) -> None:
    """The body of every service's ``env.py``."""
    schema = settings.db_schema
    url = context.config.attributes.get("database_url") or settings.database_url

    def include_name(name: str | None, type_: str, _parent: Any) -> bool:
        return name == schema if type_ == "schema" else True

    options: dict[str, Any] = {
        "target_metadata": target_metadata,
        "version_table_schema": schema,
        "include_schemas": True,
        "include_name": include_name,
        "compare_type": True,
        "process_revision_directives": _skip_empty,
    }
    if context.is_offline_mode():
        context.configure(url=sync_url(url), literal_binds=True, **options)
        with context.begin_transaction():
            context.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            context.run_migrations()
        return

    engine = sa.create_engine(sync_url(url), poolclass=sa.NullPool)
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.commit()
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def alembic_config(service_dir: Path, database_url: str | None = None) -> Config:
    config = Config(str(service_dir / "alembic.ini"))
    config.set_main_option("script_location", str(service_dir / "migrations"))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def upgrade_head(service_dir: Path, database_url: str | None = None) -> None:
    command.upgrade(alembic_config(service_dir, database_url), "head")
