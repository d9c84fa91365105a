"""The Alembic migrations on SQLite and PostgreSQL: up, all the way down, up again, and no drift from the models."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

import server.models  # noqa: F401 - registers every table on Base.metadata
from server.db import Base
from tests.fixtures.databases import (
    alembic_config,
    create_postgres_database,
    drop_postgres_database,
    migrate,
    need_postgres,
    sqlite_url,
)


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new database of its own, not the shared migrated template."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "fresh.db")
        return
    need_postgres()
    url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


async def _inspect(url: str, look):
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(look)
    finally:
        await engine.dispose()


def inspect_db(url: str, look):
    return asyncio.run(_inspect(url, look))


def tables(url: str) -> set[str]:
    return inspect_db(url, lambda conn: set(inspect(conn).get_table_names()))


def revision_in_db(url: str) -> list[str]:
    return inspect_db(url, lambda conn: [r[0] for r in conn.execute(
        text("SELECT version_num FROM alembic_version"))])


def head() -> str:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"the migrations have more than one head: {heads}"
    return heads[0]


def model_tables() -> set[str]:
    return set(Base.metadata.tables)


def test_upgrade_downgrade_upgrade(empty_database_url: str) -> None:
    url = empty_database_url
    migrate(url)
    assert tables(url) == model_tables() | {"alembic_version"}
    assert revision_in_db(url) == [head()]
    migrate(url)  # at head already: nothing to do, nothing breaks
    assert revision_in_db(url) == [head()]

    command.downgrade(alembic_config(url), "base")
    assert tables(url) == {"alembic_version"}
    assert revision_in_db(url) == []
    if url.startswith("postgresql"):
        leftovers = inspect_db(url, lambda conn: [r[0] for r in conn.execute(text(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('S', 'i', 'v', 'm') "
            "AND relname NOT LIKE 'alembic_version%'"))])
        assert leftovers == [], leftovers

    migrate(url)
    assert tables(url) == model_tables() | {"alembic_version"}
    assert revision_in_db(url) == [head()]


def _diff(conn) -> list:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


def test_models_and_migrations_do_not_drift(empty_database_url: str) -> None:
    migrate(empty_database_url)
    diff = inspect_db(empty_database_url, _diff)
    assert diff == [], "the models and the migrations disagree; write a migration:\n" + "\n".join(
        map(str, diff))
