"""Start-up waits for its database: a port where nothing listens yet, then a real PostgreSQL
appearing there; a bounded failure with one log line per try; no waiting for what waiting
cannot mend."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import subprocess
import sys
import time

import pytest
from sqlalchemy.engine import make_url

from server import startup
from server.config import Settings
from server.startup import DatabaseUnreachable, wait_for_database
from tests.fixtures.databases import POSTGRES_ADMIN_URL, ROOT, need_postgres, sqlite_url
from tests.fixtures.servers import free_port


def postgres_at(port: int, database: str | None = None) -> str:
    url = make_url(POSTGRES_ADMIN_URL).set(host="127.0.0.1", port=port)
    if database:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


class Attempts(logging.Handler):
    """Collects the start-up log lines and lets a test wait for the n-th."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.changed.set()

    async def wait_for(self, count: int) -> None:
        while len([r for r in self.records if r.levelno == logging.WARNING]) < count:
            self.changed.clear()
            await self.changed.wait()

    def lines(self) -> list[str]:
        return [r.getMessage() for r in self.records]


@pytest.fixture
def attempts():
    handler = Attempts()
    logger = logging.getLogger("cairn.startup")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old)


@pytest.fixture
def postgres() -> None:
    need_postgres()


async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def test_a_database_that_appears_is_found(attempts: Attempts, postgres: None) -> None:
    """Nothing listens on the port at first; once two tries have failed, PostgreSQL appears
    there (a forwarder to the real server) and the next try finds it."""
    real = make_url(POSTGRES_ADMIN_URL)
    port = free_port()
    settings = Settings(database_url=postgres_at(port), database_wait_seconds=60)
    waiting = asyncio.create_task(wait_for_database(settings, first_delay=0.05, max_delay=0.2))

    async def relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(real.host, real.port or 5432)
        await asyncio.gather(forward(client_r, server_w), forward(server_r, client_w))

    await asyncio.wait_for(attempts.wait_for(2), 30)
    assert not waiting.done()
    server = await asyncio.start_server(relay, "127.0.0.1", port)
    try:
        tries = await asyncio.wait_for(waiting, 30)
    finally:
        server.close()
    assert tries >= 3
    lines = attempts.lines()
    assert lines[0].startswith(f"database at 127.0.0.1:{port}/{real.database} not answering yet "
                               "(attempt 1): ConnectionRefusedError")
    assert "next try in 0.1 s" in lines[1]  # the wait doubles
    assert lines[-1] == f"database at 127.0.0.1:{port}/{real.database} answered (attempt {tries})"


async def test_waiting_is_bounded(attempts: Attempts) -> None:
    class Clock:
        """Half a second passes at each look, so the budget runs out in a few quick tries."""

        now = 0.0

        def __call__(self) -> float:
            self.now += 0.5
            return self.now

    settings = Settings(database_url=postgres_at(free_port(), "cairn"), database_wait_seconds=3)
    # A clock that moves one second a try, so the test takes no real waiting.
    with pytest.raises(DatabaseUnreachable) as failed:
        await wait_for_database(settings, first_delay=0.01, max_delay=0.01, clock=Clock())
    message = str(failed.value)
    assert message.startswith("gave up on the database at 127.0.0.1:")
    assert "ConnectionRefusedError" in message and "CAIRN_DATABASE_WAIT_SECONDS" in message
    warnings = [r for r in attempts.records if r.levelno == logging.WARNING]
    tries = int(message.split(" after ")[1].split(" attempt")[0])
    assert len(warnings) == tries - 1 >= 1  # one line a failed try, the last one is the error
    assert [f"(attempt {n})" in r.getMessage() for n, r in enumerate(warnings, 1)] == \
        [True] * len(warnings)


async def test_what_waiting_cannot_mend_stops_at_once(attempts: Attempts, postgres: None) -> None:
    real = make_url(POSTGRES_ADMIN_URL)
    settings = Settings(database_url=postgres_at(real.port or 5432, "no_such_cairn_database"))
    started = time.monotonic()
    with pytest.raises(DatabaseUnreachable) as failed:
        await wait_for_database(settings)
    assert time.monotonic() - started < 10
    assert "refused Cairn: InvalidCatalogNameError" in str(failed.value)
    assert "check CAIRN_DATABASE_URL" in str(failed.value)
    assert not [r for r in attempts.records if r.levelno == logging.WARNING]


async def test_sqlite_needs_no_waiting(tmp_path) -> None:
    assert await wait_for_database(Settings(database_url=sqlite_url(tmp_path / "x.db"))) == 0


async def test_an_sqlite_too_old_for_cairns_statements_is_refused_saying_so(tmp_path,
                                                                           monkeypatch) -> None:
    settings = Settings(database_url=sqlite_url(tmp_path / "cairn.db"))
    monkeypatch.setattr(startup.sqlite3, "sqlite_version_info", (3, 34, 1))
    with pytest.raises(DatabaseUnreachable, match=r"SQLite is 3\.34\.1; Cairn needs 3\.35\.0"):
        await wait_for_database(settings)


async def test_an_sqlite_without_json_functions_is_refused_saying_so(tmp_path,
                                                                   monkeypatch) -> None:
    settings = Settings(database_url=sqlite_url(tmp_path / "cairn.db"))
    real = startup.sqlite3.connect

    class WithoutJson(sqlite3.Connection):
        """As a build without JSON1 answers: no such table-valued function."""

        def execute(self, sql, *args):  # type: ignore[override]
            if "json_each" in sql:
                raise sqlite3.OperationalError("no such table: json_each")
            return super().execute(sql, *args)

    monkeypatch.setattr(startup.sqlite3, "connect",
                        lambda *args, **kw: real(*args, factory=WithoutJson, **kw))
    with pytest.raises(DatabaseUnreachable, match="built without JSON functions"):
        await wait_for_database(settings)


def test_serve_stops_with_one_clear_error_when_the_database_never_answers() -> None:
    env = {"PATH": "/usr/bin:/bin", "CAIRN_SECRET_KEY": "s" * 40, "CAIRN_PORT": str(free_port()),
           "CAIRN_DATABASE_URL": f"postgresql+asyncpg://cairn@127.0.0.1:{free_port()}/cairn",
           "CAIRN_DATABASE_WAIT_SECONDS": "1"}
    result = subprocess.run([sys.executable, "-m", "server.cli", "serve"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["level"] for line in lines][-1] == "error"
    assert lines[-1]["message"].startswith("cannot start: gave up on the database at 127.0.0.1:")
    assert all("not answering yet (attempt" in line["message"] for line in lines[:-1])
    assert len(lines) >= 2
