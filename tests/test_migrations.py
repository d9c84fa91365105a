"""The Alembic migrations on SQLite and PostgreSQL: up, all the way down, up again, and no drift from the models."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect, text
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


# --- 0005: ids never reused, and the audit log's former members ---------------------------------

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
USERS = [{"id": i, "username": name.lower(), "display_name": name, "password_hash": "x", "timezone": "UTC",
          "receive_only": False, "created_at": NOW} for i, name in ((1, "Mara"), (2, "Sam"), (3, "Noor"))]
SEED = {
    "users": USERS,
    "groups": [{"id": 1, "name": "Circle", "description": "", "capacity": 12, "created_by": 1,
                "created_at": NOW, "last_seq": 0}],
    "memberships": [{"id": i, "group_id": 1, "user_id": i, "role": "moderator" if i == 1 else "member",
                     "state": "active", "joined_at": NOW, "agreed_at": NOW} for i in (1, 2, 3)],
    "commitments": [{"id": 1, "group_id": 1, "user_id": 2, "day": NOW.date(), "category": "rest",
                     "text": "a walk", "visibility": "group", "created_at": NOW}],
    "hidden_content": [{"id": 1, "group_id": 1, "target_type": "commitment", "target_id": 1,
                        "reason": "Kept to our agreement.", "hidden_by": 1, "at": NOW}],
    "audit_log": [
        {"id": 1, "group_id": 1, "actor_id": 1, "action": "mute", "target": "Sam", "reason": "Cool down.",
         "at": NOW},
        {"id": 2, "group_id": 1, "actor_id": None, "action": "promote", "target": "Mara",
         "reason": "The last moderator left; the longest-standing member steps up.", "at": NOW},
        # No actor on anything but a promotion: a moderator who has since deleted their account.
        {"id": 3, "group_id": 1, "actor_id": None, "action": "hide", "target": "commitment #1",
         "reason": "Words of someone now gone.", "at": NOW},
        {"id": 4, "group_id": 1, "actor_id": 1, "action": "remove", "target": "Somebody Long Gone",
         "reason": None, "at": NOW},
    ],
}


def _rows(conn, table: str) -> list[dict]:
    return [dict(r) for r in conn.execute(text(f'SELECT * FROM "{table}" ORDER BY id')).mappings()]


async def _write(url: str, write) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(write)
    finally:
        await engine.dispose()


def _seed(conn) -> None:
    meta = MetaData()
    meta.reflect(conn)
    for table, rows in SEED.items():
        conn.execute(meta.tables[table].insert(), rows)


def _seeded_rows(conn) -> dict[str, list]:
    return {table: [(r["id"], r.get("user_id"), r.get("display_name"), r.get("text"), r.get("target"))
                    for r in _rows(conn, table)] for table in SEED}


def test_0005_keeps_every_row_and_tells_cairn_from_a_former_moderator(empty_database_url: str) -> None:
    url = empty_database_url
    migrate(url, "0004")
    asyncio.run(_write(url, _seed))
    before = inspect_db(url, _seeded_rows)
    assert [len(rows) for rows in before.values()] == [len(rows) for rows in SEED.values()]

    migrate(url, "0005")
    assert inspect_db(url, _seeded_rows) == before  # with foreign keys on, nothing cascaded away
    audit = inspect_db(url, lambda conn: [(r["id"], r["by_cairn"], r["target_user_id"], r["reason"])
                                          for r in _rows(conn, "audit_log")])
    assert audit == [(1, False, 2, "Cool down."),
                     (2, True, 1, "The last moderator left; the longest-standing member steps up."),
                     (3, False, None, None),
                     (4, False, None, None)]

    command.downgrade(alembic_config(url), "0004")
    assert inspect_db(url, _seeded_rows) == before
    migrate(url)
    assert inspect_db(url, _seeded_rows) == before


def _next_user_id_after_deleting_the_newest(conn) -> tuple[int, int]:
    users = MetaData()
    users.reflect(conn, only=["users"])
    insert = users.tables["users"].insert()
    row = {k: v for k, v in USERS[0].items() if k != "id"}
    newest = conn.execute(insert, {**row, "username": "newest"}).inserted_primary_key[0]
    conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": newest})
    return newest, conn.execute(insert, {**row, "username": "next"}).inserted_primary_key[0]


def test_sqlite_never_hands_out_an_id_twice(tmp_path: Path) -> None:
    assert all(t.dialect_options["sqlite"]["autoincrement"] for t in Base.metadata.tables.values())
    url = sqlite_url(tmp_path / "ids.db")
    migrate(url, "0004")
    asyncio.run(_write(url, _seed))
    migrate(url)
    # Tables keyed by what they are about (a member's reminder choices, say) hand out no ids.
    keyed = {t.name for t in Base.metadata.tables.values()
             if [c.name for c in t.primary_key.columns] != ["id"]}
    plain = inspect_db(url, lambda conn: [name for name, sql in conn.execute(text(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name <> 'alembic_version'")) if "AUTOINCREMENT" not in sql and name not in keyed])
    assert keyed == {"reminder_habits", "group_reminders", "reminders_sent"}
    assert plain == [], f"these tables would hand a deleted row's id to the next row: {plain}"

    ids: list[tuple[int, int]] = []
    asyncio.run(_write(url, lambda conn: ids.append(_next_user_id_after_deleting_the_newest(conn))))
    [(deleted, given)] = ids
    assert deleted == 4 and given == 5


# --- 0014: reports keep the words they are about -------------------------------------------------

REPORTED = {
    **{k: SEED[k] for k in ("users", "groups", "memberships")},
    "commitments": [
        {"id": 1, "group_id": 1, "user_id": 2, "day": NOW.date(), "category": "rest", "text": "a walk",
         "visibility": "group", "created_at": NOW},
        {"id": 2, "group_id": 1, "user_id": 2, "day": NOW.date(), "category": "rest", "text": "only mine",
         "visibility": "private", "created_at": NOW}],
    "checkins": [{"id": 1, "commitment_id": 1, "status": "done", "note": "felt good", "at": NOW}],
    "encouragements": [{"id": 1, "group_id": 1, "from_user_id": 3, "to_user_id": 2, "commitment_id": 1,
                        "kind": "proud", "text": "well done", "created_at": NOW}],
    "reports": [{"id": i, "group_id": 1, "reporter_id": 3, "target_type": kind, "target_id": target,
                 "reason": "Please look.", "status": "open", "created_at": NOW}
                for i, (kind, target) in enumerate((("commitment", 1), ("commitment", 2), ("checkin", 1),
                                                    ("encouragement", 1), ("commitment", 9)), start=1)],
}


def _seed_reports(conn) -> None:
    meta = MetaData()
    meta.reflect(conn)
    for table, rows in REPORTED.items():
        conn.execute(meta.tables[table].insert(), rows)


def test_0014_gives_older_reports_the_words_they_were_about(empty_database_url: str) -> None:
    url = empty_database_url
    migrate(url, "0013")
    asyncio.run(_write(url, _seed_reports))
    migrate(url, "0014")
    kept = inspect_db(url, lambda conn: [(r["id"], r["reported_words"], r["author_id"])
                                         for r in _rows(conn, "reports")])
    # Shared words and their author; private words never; nothing for what is gone.
    assert kept == [(1, "a walk", 2), (2, None, None), (3, "felt good", 2), (4, "well done", 3), (5, None, None)]
    command.downgrade(alembic_config(url), "0013")
    assert inspect_db(url, lambda conn: [r["reason"] for r in _rows(conn, "reports")]) == ["Please look."] * 5
    migrate(url)
    assert revision_in_db(url) == [head()]
