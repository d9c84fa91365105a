"""Backups and restores (`cairn backup PATH`, `cairn restore PATH`): SQLite through its online
backup API, PostgreSQL with pg_dump and pg_restore in their custom format. Both take a
consistent snapshot while members go on writing; a restore starts a new database epoch."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings

SQLITE_MAGIC = b"SQLite format 3\x00"
POSTGRES_MAGIC = b"PGDMP"


class BackupError(Exception):
    """What went wrong and what to do, said to the operator as it is."""


@dataclass(frozen=True)
class Contents:
    """What a database holds, in the product's words, and its epoch."""

    members: int
    groups: int
    commitments: int
    events: int
    epoch: str

    def line(self) -> str:
        return (f"{self.members} members, {self.groups} groups, {self.commitments} commitments, "
                f"{self.events} events; database epoch {self.epoch}")


def kind_of(path: Path) -> str | None:
    """"sqlite" or "postgresql" by the file's first bytes; None for anything else."""
    with path.open("rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(POSTGRES_MAGIC):
        return "postgresql"
    return None


def _new_epoch_number() -> int:
    """A SQLite file's user_version (a signed 32-bit number), never 0, the value of a file
    that was never backed up or restored."""
    return secrets.randbelow(2**31 - 2) + 1


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("CAIRN_DATABASE_URL names an in-memory SQLite database: nothing to "
                          "back up or restore")
    return Path(url.database)


def _writable_folder(path: Path) -> None:
    folder = path.parent
    if not folder.is_dir():
        raise BackupError(f"{folder} is not a folder: make it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BackupError(f"cannot write in {folder}")


def _temporary_beside(path: Path) -> Path:
    """An empty file only its owner reads, in the folder of path (so the last step is an
    atomic rename, and a backup of people's words is never readable by others)."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    return Path(name)


# -- SQLite ---------------------------------------------------------------------------------

def _sqlite_backup(source: Path, path: Path) -> None:
    if not source.is_file():
        raise BackupError(f"there is no database at {source} (CAIRN_DATABASE_URL)")
    part = _temporary_beside(path)
    try:
        src = sqlite3.connect(source, timeout=30)
        dst = sqlite3.connect(part)
        try:
            # One step: a consistent snapshot under one read transaction, while writers go on
            # (WAL lets them).
            src.backup(dst)
            # A file of its own (no -wal beside it), and an epoch no live database has had.
            dst.execute("PRAGMA journal_mode=DELETE")
            dst.execute(f"PRAGMA user_version={_new_epoch_number()}")
            _sqlite_sound(dst, path)
        finally:
            src.close()
            dst.close()
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def _sqlite_sound(conn: sqlite3.Connection, what: Path) -> None:
    verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
    if verdict != "ok":
        raise BackupError(f"{what} is damaged: {verdict}")
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'").fetchone():
        raise BackupError(f"{what} is a SQLite database, but not Cairn's")


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]


def _sqlite_restore(backup: Path, target: Path, replace: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    part = _temporary_beside(target)
    try:
        # The operator's backup is only read: the copy beside the target gets the new epoch.
        src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        copy = sqlite3.connect(part)
        try:
            src.backup(copy)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{backup} cannot be read: {exc}") from None
        finally:
            src.close()
        try:
            _sqlite_sound(copy, backup)
            copy.execute(f"PRAGMA user_version={_new_epoch_number()}")
            copy.commit()
            live = sqlite3.connect(target, timeout=30)
            try:
                if _sqlite_tables(live) and not replace:
                    raise BackupError(_not_empty(f"the SQLite database at {target}"))
                # Through SQLite, not a file copy: it takes the database's locks and leaves
                # no stale write-ahead log behind to be replayed over the restored pages.
                copy.backup(live)
            finally:
                live.close()
        finally:
            copy.close()
    finally:
        part.unlink(missing_ok=True)


def _not_empty(what: str) -> str:
    return (f"{what} already holds data. Restore into an empty database, or add --replace to "
            "drop everything in it first (back it up before, if it holds anything you may need)")


# -- PostgreSQL -----------------------------------------------------------------------------

def _pg_env(url: URL) -> dict[str, str]:
    """The connection as libpq's environment: the password never shows in a process list."""
    env = dict(os.environ)
    query = {k: v if isinstance(v, str) else v[-1] for k, v in url.query.items()}
    for name, value in (("PGHOST", url.host or query.get("host")), ("PGPORT", url.port),
                        ("PGUSER", url.username), ("PGPASSWORD", url.password),
                        ("PGDATABASE", url.database)):
        if value:
            env[name] = str(value)
    ssl = query.get("sslmode") or query.get("ssl")
    if ssl:
        env["PGSSLMODE"] = {"true": "require", "false": "disable"}.get(ssl.lower(), ssl)
    return env


async def _run(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *args, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode("utf-8", "replace").strip()


async def _tool_major(tool: str, env: dict[str, str]) -> int:
    if shutil.which(tool, path=env.get("PATH")) is None:
        raise BackupError(f"{tool} is not installed here: install PostgreSQL's client tools of "
                          "the server's version (Debian: postgresql-client-<version>), or run "
                          f"{tool} where the server runs (docs/deploy.md)")
    _, out = await _run([tool, "--version"], env)
    found = re.search(r"\)\s+(\d+)", out)
    if not found:
        raise BackupError(f"cannot tell {tool}'s version from {out!r}")
    return int(found.group(1))


@contextlib.asynccontextmanager
async def _session(settings: Settings, *, write: bool = False) -> AsyncIterator[AsyncSession]:
    """A session on a database opened for one step and closed after it. A restore replaces
    the schema between its steps, and a pool kept across would hold connections that know
    the old one (asyncpg keeps the types it has seen)."""
    from server.db import Database

    db = Database(settings)
    try:
        async with db.session(write=write) as session:
            yield session
    finally:
        await db.dispose()


async def _server_major(settings: Settings) -> int:
    async with _session(settings) as session:
        number = int(await session.scalar(text("SHOW server_version_num")) or 0)
    return number // 10000


async def _matching_tool(settings: Settings, tool: str, env: dict[str, str]) -> None:
    """pg_dump refuses a newer server, and pg_restore cannot read a newer dump: the tool must
    be at least the server's version."""
    mine, server = await _tool_major(tool, env), await _server_major(settings)
    if mine < server:
        raise BackupError(f"{tool} {mine} cannot work with PostgreSQL {server}: install the "
                          f"client tools of version {server} (Debian: postgresql-client-{server}), "
                          f"or run {tool} where the server runs (docs/deploy.md)")


async def _postgres_backup(settings: Settings, url: URL, path: Path) -> None:
    env = _pg_env(url)
    await _matching_tool(settings, "pg_dump", env)
    part = _temporary_beside(path)
    try:
        # One repeatable-read snapshot of the whole database; writers are not held up.
        code, out = await _run(["pg_dump", "--format=custom", f"--file={part}"], env)
        if code != 0:
            raise BackupError(f"pg_dump failed ({code}): {out}")
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


_DROP_ALL = """
SELECT format('DROP %s IF EXISTS %I.%I CASCADE',
              CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                             WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                             ELSE 'TABLE' END, n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
ORDER BY c.relkind = 'S'
"""
_DROP_TYPES = """
SELECT format('DROP TYPE IF EXISTS %I.%I CASCADE', n.nspname, t.typname)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd', 'r')
"""


async def _postgres_relations(settings: Settings) -> int:
    async with _session(settings) as session:
        return int(await session.scalar(text(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm')")) or 0)


async def _postgres_empty(settings: Settings) -> None:
    """Drop every table, view, sequence and type in Cairn's schema, in one transaction."""
    async with _session(settings, write=True) as session, session.begin():
        for query in (_DROP_ALL, _DROP_TYPES):
            for statement in (await session.scalars(text(query))).all():
                await session.execute(text(statement))


async def _postgres_restore(settings: Settings, url: URL, backup: Path, replace: bool) -> None:
    env = _pg_env(url)
    await _matching_tool(settings, "pg_restore", env)
    code, out = await _run(["pg_restore", "--list", str(backup)], env)
    if code != 0:
        raise BackupError(f"{backup} cannot be read by pg_restore: {out}")
    if await _postgres_relations(settings):
        if not replace:
            raise BackupError(_not_empty(f"the PostgreSQL database {url.database}"))
        await _postgres_empty(settings)
    # All or nothing: one transaction, stopped by the first error. Objects belong to whoever
    # restores (the dump may name another owner), and no grants are carried over.
    code, out = await _run(["pg_restore", "--no-owner", "--no-acl", "--exit-on-error",
                            "--single-transaction", f"--dbname={url.database}", str(backup)], env)
    if code != 0:
        raise BackupError(f"pg_restore failed ({code}); nothing of the backup was restored"
                          f"{' and the database is now empty' if replace else ''}: {out}")


# -- what the commands do -------------------------------------------------------------------

def _backup_target(path: Path) -> Path:
    path = path.absolute()
    _writable_folder(path)
    if path.is_dir():
        raise BackupError(f"{path} is a folder: give the backup file's name")
    return path


def _backup_source(path: Path, backend: str) -> Path:
    if not path.is_file():
        raise BackupError(f"there is no backup at {path}")
    kind = kind_of(path)
    if kind is None:
        raise BackupError(f"{path} is not a Cairn backup (neither a SQLite database nor a "
                          "PostgreSQL custom-format dump)")
    if kind != backend:
        raise BackupError(f"{path} is a {_name(kind)} backup, but CAIRN_DATABASE_URL names a "
                          f"{_name(backend)} database: restore it into a {_name(kind)} one")
    return path.absolute()


async def backup(settings: Settings, path: Path) -> None:
    """Write a backup of the configured database to path (replacing a file there, atomically)."""
    url = make_url(settings.database_url)
    path = _backup_target(path)
    if url.get_backend_name() == "sqlite":
        await asyncio.to_thread(_sqlite_backup, _sqlite_file(url), path)
    else:
        await _postgres_backup(settings, url, path)


async def restore(settings: Settings, path: Path, *, replace: bool = False) -> Contents:
    """Restore the backup at path into the configured database, migrate it to this release's
    schema, and end every sign-in it holds. Returns what the database now holds."""
    url = make_url(settings.database_url)
    backend = url.get_backend_name()
    path = _backup_source(path, backend)
    if backend == "sqlite":
        await asyncio.to_thread(_sqlite_restore, path, _sqlite_file(url), replace)
    else:
        await _postgres_restore(settings, url, path, replace)
    from server.cli import migrate

    # A backup of an older release is brought to this one's schema.
    await asyncio.to_thread(migrate, settings.database_url)
    await _end_sign_ins(settings)
    return await contents(settings)


async def _end_sign_ins(settings: Settings) -> None:
    """Sign-ins that ended after the backup (signed out, a changed password) must not come
    back to life with it: every member signs in again."""
    from server.models import AuthSession

    async with _session(settings, write=True) as session, session.begin():
        await session.execute(delete(AuthSession))


async def contents(settings: Settings) -> Contents:
    from server.db import epoch
    from server.models import Commitment, Event, Group, User

    async with _session(settings) as session:
        counts = [int(await session.scalar(select(func.count()).select_from(table)) or 0)
                  for table in (User, Group, Commitment, Event)]
        members, groups, commitments, events = counts
        return Contents(members, groups, commitments, events, await epoch(session))


def _name(backend: str) -> str:
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(backend, backend)

