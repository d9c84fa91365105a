"""What only reads runs without a transaction of its own on PostgreSQL (no BEGIN and COMMIT),
and such a session refuses to write rather than commit statement by statement."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text, update

from server.db import WriteWithoutTransaction, lock, transaction
from server.models import User


async def _two_clock_readings(app, *, write: bool) -> tuple[object, object]:
    # now() is the transaction's start: inside one transaction both readings are the same.
    async with transaction(app.state.db, write=write) as session:
        first = await session.scalar(select(func.now()))
        await session.execute(text("SELECT pg_sleep(0.01)"))
        return first, await session.scalar(select(func.now()))


async def test_reading_needs_no_transaction_and_writing_has_one(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite reads in a deferred transaction of its own (server/db.py)")
    first, second = await _two_clock_readings(app, write=False)
    assert first != second
    first, second = await _two_clock_readings(app, write=True)
    assert first == second


async def test_a_reading_session_refuses_to_write_or_lock_and_nothing_is_written(
        app, clients, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("only PostgreSQL's reading sessions run without a transaction")
    uid = (await clients.member("ana")).user["id"]
    tries = [lambda s: s.execute(update(User).where(User.id == uid).values(display_name="Changed")),
             lambda s: s.execute(select(User).where(User.id == uid).with_for_update()),
             lambda s: lock(s, "a key")]
    for attempt in tries:
        with pytest.raises(WriteWithoutTransaction):
            async with transaction(app.state.db, write=False) as session:
                await attempt(session)
    async with transaction(app.state.db, write=False) as session:
        assert await session.scalar(select(User.display_name).where(User.id == uid)) == "Ana"
