"""`cairn backup` and `cairn restore` on SQLite and PostgreSQL: a backup taken while members
write holds everything committed before it began, restores into a fresh database whole and
consistent, and starts a new database epoch; the operator's mistakes get clear errors."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from server import backup
from server.cli import main
from server.config import Settings
from server.db import Database
from server.main import create_app
from server.models import AuthSession, Commitment, Event, Group, Membership, User
from tests.fixtures.clients import Clients, make_settings
from tests.fixtures.databases import (
    create_postgres_database,
    drop_postgres_database,
    sqlite_url,
)
from tests.test_cli import cairn


@dataclass(frozen=True)
class Snapshot:
    """What a database holds that a restore must bring back."""

    events: frozenset[tuple[int, str, int, str]]  # (group, stream, seq, kind)
    members: frozenset[int]
    memberships: frozenset[int]
    commitments: frozenset[int]
    last_seqs: dict[int, int]

    def within(self, other: Snapshot) -> bool:
        return (self.events <= other.events and self.members <= other.members
                and self.memberships <= other.memberships
                and self.commitments <= other.commitments)


async def snapshot(url: str) -> Snapshot:
    db = Database(Settings(database_url=url))
    try:
        async with db.session() as s:
            events = (await s.execute(select(Event.group_id, Event.stream, Event.seq,
                                             Event.kind))).all()
            return Snapshot(
                frozenset(tuple(e) for e in events),
                frozenset((await s.scalars(select(User.id))).all()),
                frozenset((await s.scalars(select(Membership.id))).all()),
                frozenset((await s.scalars(select(Commitment.id))).all()),
                dict((await s.execute(select(Group.id, Group.last_seq))).all()))
    finally:
        await db.dispose()


async def sign_ins(url: str) -> int:
    db = Database(Settings(database_url=url))
    try:
        async with db.session() as s:
            return int(await s.scalar(select(func.count()).select_from(AuthSession)) or 0)
    finally:
        await db.dispose()


@pytest.fixture
def fresh_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind, to restore into."""
    if database_url.startswith("sqlite"):
        yield sqlite_url(tmp_path / "restored" / "cairn.db")
        return
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture
async def busy_app(database_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(database_url, encouragements_per_minute=100_000))
    async with application.router.lifespan_context(application):
        yield application


async def test_a_backup_under_writes_restores_everything_committed_before_it(
        busy_app: FastAPI, database_url: str, fresh_url: str, tmp_path: Path) -> None:
    clients = Clients(busy_app)
    people = [await clients.member() for _ in range(3)]
    group = await clients.group(*people)
    gid = group["id"]
    for person in people:
        r = await person.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest",
                                                                    "text": "a slow walk"})
        assert r.status_code == 201, r.text

    stop = asyncio.Event()
    wrote = asyncio.Event()
    written = [0]

    async def keep_writing(who: int) -> None:
        while not stop.is_set():
            r = await people[who].post(f"/api/v1/groups/{gid}/encouragements",
                                       {"kind": "with_you", "text": f"cheer {written[0]}"})
            assert r.status_code == 201, r.text
            written[0] += 1
            wrote.set()

    async def until_written(count: int) -> None:
        while written[0] < count:
            wrote.clear()
            await wrote.wait()

    writers = [asyncio.create_task(keep_writing(i)) for i in range(2)]
    try:
        await until_written(5)  # the writers are under way
        before = await snapshot(database_url)
        at_start = written[0]
        await backup.backup(busy_app.state.settings, tmp_path / "cairn.backup")
        await until_written(at_start + 5)  # writes went on through the backup and after it
    finally:
        stop.set()
        await asyncio.gather(*writers)
    after = await snapshot(database_url)
    await clients.close()
    assert (tmp_path / "cairn.backup").stat().st_mode & 0o077 == 0  # only its owner reads it

    found = await backup.restore(Settings(database_url=fresh_url), tmp_path / "cairn.backup")
    restored = await snapshot(fresh_url)
    assert before.within(restored), "something committed before the backup is missing"
    assert restored.within(after), "the restored database holds what was never written"
    # One moment of the database: every group's log is whole up to its counter.
    for group_id, last in restored.last_seqs.items():
        seqs = sorted(seq for g, stream, seq, _ in restored.events
                      if g == group_id and stream == "group")
        assert seqs == list(range(1, last + 1))
    assert (found.members, found.commitments) == (len(restored.members),
                                                 len(restored.commitments))
    assert found.events == len(restored.events) >= len(before.events)

    live = await backup.contents(busy_app.state.settings)
    assert found.epoch != live.epoch  # a new database epoch
    assert await sign_ins(fresh_url) == 0 < await sign_ins(database_url)
    # The same backup restored again is yet another epoch.
    again = await backup.restore(Settings(database_url=fresh_url), tmp_path / "cairn.backup",
                                 replace=True)
    assert again.epoch not in (found.epoch, live.epoch)
    assert await snapshot(fresh_url) == restored


def test_the_commands_and_their_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite, run as an operator would: the command line, its words and exit codes (the
    mistakes in this process, which says the same more quickly)."""
    live = {"CAIRN_DATABASE_URL": sqlite_url(tmp_path / "live.db")}
    assert cairn("migrate", env=live).returncode == 0
    made = cairn("backup", str(tmp_path / "nightly.db"), env=live)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"backed up the database to {tmp_path / 'nightly.db'} (")

    into = {"CAIRN_DATABASE_URL": sqlite_url(tmp_path / "new" / "cairn.db")}
    restored = cairn("restore", str(tmp_path / "nightly.db"), env=into)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.startswith(f"restored {tmp_path / 'nightly.db'}: 0 members, 0 groups")
    assert "Every member signs in again" in restored.stdout

    def error(*args: str, env: dict[str, str] = into) -> str:
        capsys.readouterr()
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        assert main(list(args)) == 1
        said = capsys.readouterr()
        assert not said.out, said
        return said.err.strip()

    assert error("restore", str(tmp_path / "nightly.db")).startswith(
        f"error: the SQLite database at {tmp_path / 'new' / 'cairn.db'} already holds data. "
        "Restore into an empty database, or add --replace")
    monkeypatch.setenv("CAIRN_DATABASE_URL", into["CAIRN_DATABASE_URL"])
    assert main(["restore", "--replace", str(tmp_path / "nightly.db")]) == 0
    assert error("restore", str(tmp_path / "missing.db")) == \
        f"error: there is no backup at {tmp_path / 'missing.db'}"
    (tmp_path / "notes.txt").write_text("not a backup")
    assert "is not a Cairn backup" in error("restore", str(tmp_path / "notes.txt"))
    (tmp_path / "fake.dump").write_bytes(b"PGDMP\x01\x0f")
    assert error("restore", str(tmp_path / "fake.dump")).endswith(
        "is a PostgreSQL backup, but CAIRN_DATABASE_URL names a SQLite database: restore it "
        "into a PostgreSQL one")
    assert error("backup", str(tmp_path / "no" / "such" / "b.db"), env=live) == \
        f"error: {tmp_path / 'no' / 'such'} is not a folder: make it first"
    assert error("backup", str(tmp_path / "b.db"),
                 env={"CAIRN_DATABASE_URL": sqlite_url(tmp_path / "none.db")}) == \
        f"error: there is no database at {tmp_path / 'none.db'} (CAIRN_DATABASE_URL)"


def test_postgres_tools_that_do_not_match_the_server_are_named(tmp_path: Path,
                                                               postgres_template: str) -> None:
    """A pg_dump older than the server (here: one that says it is 9.6) is refused with what
    to install instead; a missing one too."""
    tools = tmp_path / "bin"
    tools.mkdir()
    old = tools / "pg_dump"
    old.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    old.chmod(0o755)
    python = Path(shutil.which("python3") or "/usr/bin/python3").parent
    env = {"CAIRN_DATABASE_URL": postgres_template, "PATH": f"{tools}:{python}"}
    result = cairn("backup", str(tmp_path / "b.dump"), env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: pg_dump 9 cannot work with PostgreSQL ")
    assert "(Debian: postgresql-client-" in result.stderr
    result = cairn("restore", str(tmp_path / "b.dump"), env=env)
    assert result.stderr.startswith(f"error: there is no backup at {tmp_path / 'b.dump'}")
    (tmp_path / "b.dump").write_bytes(b"PGDMP\x01\x0f")
    result = cairn("restore", str(tmp_path / "b.dump"), env=env)
    assert result.stderr.startswith("error: pg_restore is not installed here: install "
                                    "PostgreSQL's client tools of the server's version")
    assert not list(tmp_path.glob(".b.dump.*")), "no half-written backup is left behind"


async def test_deletions_since_the_backup_are_done_again_from_the_log(
        sqlite_database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An account deleted after the backup comes back with the restore; its log line names it,
    and `cairn delete-account` deletes it again."""
    application = create_app(make_settings(sqlite_database_url))
    async with application.router.lifespan_context(application):
        clients = Clients(application)
        stays, leaves = await clients.member(), await clients.member()
        group = await clients.group(stays, leaves)
        await leaves.post(f"/api/v1/groups/{group['id']}/commitments",
                          {"category": "rest", "text": "my own words"})
        await backup.backup(application.state.settings, tmp_path / "before.db")
        with caplog.at_level("INFO", logger="cairn.access"):
            r = await leaves.client.request("DELETE", "/api/v1/me",
                                            json={"password": "a quiet river bend"})
            assert r.status_code == 204
        await clients.close()
    logged = [r.fields for r in caplog.records if getattr(r, "fields", {}).get("event")
              == "account.deleted"]  # type: ignore[attr-defined]
    assert logged == [{"event": "account.deleted", "user_id": leaves.id}]

    restored = Settings(database_url=sqlite_url(tmp_path / "restored.db"))
    await backup.restore(restored, tmp_path / "before.db")
    assert leaves.id in (await snapshot(restored.database_url)).members  # back with the backup
    from server.cli import delete_accounts

    assert await delete_accounts(restored, [leaves.id, 999]) == [
        f"account {leaves.id}: deleted, with its personal data",
        "account 999: not in this database, nothing to delete"]
    after = await snapshot(restored.database_url)
    assert leaves.id not in after.members and stays.id in after.members
    assert len(after.commitments) == 0  # their words went with them
