"""The `cairn` command line, run as an operator would: a real process against a real database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from server.config import Settings
from server.db import Database
from server.models import AuditEntry, Event, Group, Membership, User
from tests.fixtures.databases import ROOT, sqlite_url

SECRET = "c" * 40


def cairn(*args: str, env: dict[str, str] | None = None,
          timeout: float = 60) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    base.update({"CAIRN_SECRET_KEY": SECRET, "CAIRN_LOG_LEVEL": "warning", **(env or {})})
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT, env=base,
                          capture_output=True, text=True, timeout=timeout)


def lines(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """`check`'s report as {what: the whole line}."""
    out = {}
    for line in result.stdout.splitlines():
        what = line[5:].split(":", 1)[0]
        out[what] = line
    return out


async def _query(url: str, statement):  # noqa: ANN001, ANN202 - a test helper
    db = Database(Settings(database_url=url))
    try:
        async with db.session() as session:
            return (await session.execute(statement)).all()
    finally:
        await db.dispose()


def query(url: str, statement) -> list:  # noqa: ANN001
    return asyncio.run(_query(url, statement))


def test_migrate_then_check_on_a_new_sqlite_file(tmp_path: Path) -> None:
    env = {"CAIRN_DATABASE_URL": sqlite_url(tmp_path / "var" / "new.db")}
    before = cairn("check", env=env)
    assert before.returncode == 0, before.stderr
    assert "does not exist yet: `cairn migrate` creates it" in lines(before)["database"]
    assert not (tmp_path / "var").exists()  # checking touches nothing

    migrated = cairn("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    after = cairn("check", env=env)
    assert after.returncode == 0
    report = lines(after)
    assert report["database"].startswith("ok   database: sqlite reachable; migrations at head")
    assert report["redis"].startswith("ok   redis: not configured")
    assert report["secret key"].startswith("ok   secret key: set")
    # Running it again is harmless.
    assert cairn("migrate", env=env).returncode == 0


def test_check_reports_pending_migrations(tmp_path: Path) -> None:
    from tests.fixtures.databases import migrate

    url = sqlite_url(tmp_path / "old.db")
    migrate(url, "0001")
    result = cairn("check", env={"CAIRN_DATABASE_URL": url})
    assert "migrations at 0001, head is" in lines(result)["database"]
    assert "run `cairn migrate`" in lines(result)["database"]


@pytest.mark.parametrize(("url", "expected"), [
    ("mysql://someone@db/cairn", "unsupported database 'mysql'"),
    ("not a url", "Could not parse"),
    ("postgresql+asyncpg://postgres@127.0.0.1:1/test", "Connect"),
    ("sqlite+aiosqlite:////etc/hostname/deeper/cairn.db", "is not a writable folder"),
])
def test_check_names_a_bad_database_url(url: str, expected: str) -> None:
    result = cairn("check", env={"CAIRN_DATABASE_URL": url})
    assert result.returncode == 1
    line = lines(result)["database"]
    assert line.startswith("FAIL database: CAIRN_DATABASE_URL:")
    assert expected in line
    assert "Traceback" not in result.stderr


def test_check_names_an_unreachable_redis(sqlite_database_url: str) -> None:
    result = cairn("check", env={"CAIRN_DATABASE_URL": sqlite_database_url,
                                 "CAIRN_REDIS_URL": "redis://127.0.0.1:1/0"})
    assert result.returncode == 1
    assert lines(result)["redis"].startswith("FAIL redis: CAIRN_REDIS_URL unreachable")
    assert lines(result)["database"].startswith("ok   database")


def test_check_refuses_the_default_secret_in_production(sqlite_database_url: str) -> None:
    env = {"CAIRN_DATABASE_URL": sqlite_database_url, "CAIRN_ENV": "production",
           "CAIRN_SECRET_KEY": ""}
    result = cairn("check", env=env)
    assert result.returncode == 2
    assert "CAIRN_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    short = cairn("check", env={**env, "CAIRN_SECRET_KEY": "too-short"})
    assert short.returncode == 2 and "CAIRN_SECRET_KEY" in short.stderr
    good = cairn("check", env={**env, "CAIRN_SECRET_KEY": SECRET})
    assert good.returncode == 0, good.stdout + good.stderr


def test_check_in_development_warns_about_the_default_secret(sqlite_database_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    env["CAIRN_DATABASE_URL"] = sqlite_database_url
    result = subprocess.run([sys.executable, "-m", "server.cli", "check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "development default" in lines(result)["secret key"]


def test_check_against_postgresql_and_redis(database_url: str) -> None:
    from tests.fixtures.databases import REDIS_URL, need_redis

    need_redis()
    result = cairn("check", env={"CAIRN_DATABASE_URL": database_url, "CAIRN_REDIS_URL": REDIS_URL})
    assert result.returncode == 0, result.stdout + result.stderr
    report = lines(result)
    assert "migrations at head" in report["database"]
    assert report["redis"] == "ok   redis: reachable"


def _seed(url: str) -> None:
    from server.demo import seed

    asyncio.run(seed(url))


def test_make_moderator_promotes_and_writes_the_audit_log(database_url: str) -> None:
    _seed(database_url)
    (group_id,), = query(database_url, select(Group.id))
    env = {"CAIRN_DATABASE_URL": database_url}

    result = cairn("make-moderator", "--group", str(group_id), "--username", "Sam", env=env)
    assert result.returncode == 0, result.stderr
    assert f"Sam is now a moderator of group {group_id}" in result.stdout
    (role,), = query(database_url, select(Membership.role).join(User).where(User.username == "sam"))
    assert role == "moderator"
    audit = query(database_url, select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.target))
    assert ("promote", None, "Sam") in audit

    again = cairn("make-moderator", "--group", str(group_id), "--username", "sam", env=env)
    assert again.returncode == 0
    assert len(query(database_url, select(AuditEntry.id))) == len(audit)  # nothing new to record


@pytest.mark.parametrize(("group", "username", "message"), [
    (None, "nobody", "no account named 'nobody'"),
    (999, "sam", "'sam' is not a member of group 999"),
])
def test_make_moderator_refuses_clearly(sqlite_database_url: str, group: int | None,
                                        username: str, message: str) -> None:
    _seed(sqlite_database_url)
    (group_id,), = query(sqlite_database_url, select(Group.id))
    result = cairn("make-moderator", "--group", str(group or group_id), "--username", username,
                   env={"CAIRN_DATABASE_URL": sqlite_database_url})
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


async def _more_events(url: str, group_id: int, count: int) -> None:
    from server import events
    from server.db import transaction
    from server.realtime import log

    db = Database(Settings(database_url=url))
    try:
        async with transaction(db) as session:
            for i in range(count):
                await log.append(session, group_id, events.MemberLeft(user_id=i + 1000), None)
    finally:
        await db.dispose()


def test_prune_applies_retention(database_url: str) -> None:
    _seed(database_url)
    env = {"CAIRN_DATABASE_URL": database_url}
    kept = cairn("prune", env=env)
    assert kept.returncode == 0, kept.stderr
    assert "'events': 0" in kept.stdout

    (group_id,), = query(database_url, select(Group.id))
    asyncio.run(_more_events(database_url, group_id, 15))
    (last_seq,), = query(database_url, select(Group.last_seq))
    pruned = cairn("prune", env={**env, "CAIRN_EVENT_RETENTION_COUNT": "10"})
    assert pruned.returncode == 0, pruned.stderr
    assert f"'events': {last_seq - 10}" in pruned.stdout
    seqs = [s for s, in query(database_url, select(Event.seq).order_by(Event.seq))]
    assert seqs == list(range(last_seq - 9, last_seq + 1))


def test_demo_serves_the_sample_group(tmp_path: Path) -> None:
    import time

    import httpx

    from tests.fixtures.servers import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    env.update({"CAIRN_SECRET_KEY": SECRET, "CAIRN_LOG_LEVEL": "warning", "TMPDIR": str(tmp_path)})
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "demo", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        login = httpx.post(base + "/api/v1/auth/login",
                           json={"username": "robin", "password": "a quiet river bend"})
        assert login.status_code == 200, login.text
        token = login.json()["token"]
        groups = httpx.get(base + "/api/v1/groups", headers={"Authorization": f"Bearer {token}"})
        assert [g["name"] for g in groups.json()] == ["Tuesday evening circle"]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    assert "Demo accounts" in out
    assert list(tmp_path.glob("cairn-demo-*/demo.db"))


def test_vapid_keys_made_and_checked(sqlite_database_url: str) -> None:
    made = cairn("vapid-keys", env={})
    assert made.returncode == 0, made.stderr
    private = made.stdout.split("CAIRN_VAPID_PRIVATE_KEY=", 1)[1].split()[0]
    public = made.stdout.split("public key (browsers get it from Cairn): ", 1)[1].split()[0]
    off = cairn("check", env={"CAIRN_DATABASE_URL": sqlite_database_url})
    assert off.returncode == 0 and lines(off)["reminders"].startswith("ok   reminders: off: CAIRN_VAPID_PRIVATE_KEY")
    on = cairn("check", env={"CAIRN_DATABASE_URL": sqlite_database_url, "CAIRN_VAPID_PRIVATE_KEY": private})
    assert on.returncode == 0 and public in lines(on)["reminders"]
    bad = cairn("check", env={"CAIRN_DATABASE_URL": sqlite_database_url, "CAIRN_VAPID_PRIVATE_KEY": "bm9wZQ"})
    assert bad.returncode == 1 and lines(bad)["reminders"].startswith("FAIL reminders")
