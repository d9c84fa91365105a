"""Start-up: wait, bounded and with backoff, for the database to answer before migrating and
serving, so a process started beside its database (compose, a reboot) does not depend on
the orchestrator's ordering."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from server.config import Settings

log = logging.getLogger("cairn.startup")

# Errors that say "not yet": nothing listens, the name does not resolve yet, the server is
# starting up or full. Anything else (a wrong password, no such database) will not mend by
# waiting and stops start-up at once.
_NOT_YET_NAMES = {"CannotConnectNowError", "TooManyConnectionsError"}


class DatabaseUnreachable(Exception):
    """The database did not answer in time, or refused in a way waiting cannot mend."""


# The oldest SQLite Cairn's statements run on: UPDATE ... FROM, RETURNING and json_each.
SQLITE_AT_LEAST = (3, 35, 0)


def check_sqlite() -> None:
    """Refuse, saying why, an SQLite too old for Cairn's statements (or built without JSON)."""
    found = sqlite3.sqlite_version_info
    if found < SQLITE_AT_LEAST:
        raise DatabaseUnreachable(
            f"this Python's SQLite is {'.'.join(map(str, found))}; Cairn needs "
            f"{'.'.join(map(str, SQLITE_AT_LEAST))} or newer (or PostgreSQL)")
    with contextlib.closing(sqlite3.connect(":memory:")) as probe:
        try:
            probe.execute("SELECT count(*) FROM json_each('[1]')")
        except sqlite3.OperationalError:
            raise DatabaseUnreachable("this Python's SQLite was built without JSON functions; "
                                      "Cairn needs them (or PostgreSQL)") from None


def where(url: URL) -> str:
    """host:port/database, never the password."""
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def _not_yet(exc: BaseException) -> bool:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        one = todo.pop()
        if one is None or id(one) in seen:
            continue
        seen.add(id(one))
        if isinstance(one, OSError) or type(one).__name__ in _NOT_YET_NAMES:
            return True
        todo += [one.__cause__, one.__context__, getattr(one, "orig", None)]
    return False


def _reason(exc: BaseException) -> str:
    # SQLAlchemy wraps the driver's error: name the driver's own, which says what happened.
    inner: BaseException = exc
    while getattr(inner, "orig", None) is not None or inner.__cause__ is not None:
        inner = getattr(inner, "orig", None) or inner.__cause__  # type: ignore[assignment]
    text = str(inner).strip().splitlines()[0] if str(inner).strip() else ""
    return f"{type(inner).__name__}: {text[:200]}" if text else type(inner).__name__


async def _try_once(url: URL, connect_within: float) -> None:
    from sqlalchemy import text

    engine = create_async_engine(url, poolclass=NullPool, connect_args={"timeout": connect_within})
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


async def wait_for_database(settings: Settings, *, first_delay: float = 0.5,
                            max_delay: float = 5.0,
                            clock: Callable[[], float] = time.monotonic) -> int:
    """Try the database until it answers, for at most `database_wait_seconds`, waiting
    first_delay, then twice as long each time up to max_delay. One log line per failed
    attempt. Returns the number of attempts; raises DatabaseUnreachable when it gives up.
    SQLite needs no waiting (the file is opened when used), only to be new enough."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        check_sqlite()
        return 0
    budget = float(settings.database_wait_seconds)
    started = clock()
    delay = first_delay
    attempt = 0
    while True:
        attempt += 1
        left = budget - (clock() - started)
        try:
            await _try_once(url, connect_within=max(1.0, min(10.0, left)))
        except Exception as exc:  # noqa: BLE001 - judged below
            reason = _reason(exc)
            if not _not_yet(exc):
                raise DatabaseUnreachable(
                    f"the database at {where(url)} refused Cairn: {reason}. Waiting will not "
                    "mend this: check CAIRN_DATABASE_URL (user, password, database name)"
                ) from None
            left = budget - (clock() - started)
            if left <= 0:
                raise DatabaseUnreachable(
                    f"gave up on the database at {where(url)} after {attempt} attempt"
                    f"{'s' if attempt != 1 else ''} in {clock() - started:.0f} s: {reason}. "
                    "Check that it is running and that CAIRN_DATABASE_URL names it; "
                    "CAIRN_DATABASE_WAIT_SECONDS sets how long to wait"
                ) from None
            log.warning("database at %s not answering yet (attempt %d): %s; next try in "
                        "%.1f s, giving up in %.1f s", where(url), attempt, reason,
                        min(delay, left), left)
            await asyncio.sleep(min(delay, left))
            delay = min(max_delay, delay * 2)
            continue
        if attempt > 1:
            log.info("database at %s answered (attempt %d)", where(url), attempt)
        return attempt
