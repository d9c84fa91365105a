"""The `cairn` command: serve, migrate, backup, restore, demo and the operator's checks."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.config import ROOT

if TYPE_CHECKING:
    from server.config import Settings

# The languages `cairn demo --lang` writes its sample group in (server/demo.py's SAMPLES).
DEMO_LANGUAGES = ("en", "es")

# Socket settings every server process uses: frames over 16 KiB close with 1009, and
# protocol pings find a dead peer within ping interval + timeout (25 s).
WS_OPTIONS: dict[str, Any] = {"ws_max_size": 16 * 1024, "ws_ping_interval": 10.0,
                              "ws_ping_timeout": 15.0, "ws_per_message_deflate": False}


def _alembic_config(database_url: str | None = None) -> Any:
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    cfg.attributes["configure_logger"] = False  # keep Cairn's JSON logging
    if database_url:
        cfg.attributes["database_url"] = database_url
    return cfg


def migrate(database_url: str | None = None) -> None:
    from alembic import command

    command.upgrade(_alembic_config(database_url), "head")


def wait_for_database(doing: str = "start", settings: Settings | None = None) -> None:
    """Wait for the configured database to answer (CAIRN_DATABASE_WAIT_SECONDS); exit with 1
    and one clear error line when it does not."""
    import logging

    from server.startup import DatabaseUnreachable
    from server.startup import wait_for_database as wait

    try:
        asyncio.run(wait(settings or _settings_or_exit()))
    except DatabaseUnreachable as exc:
        logging.getLogger("cairn.startup").error("cannot %s: %s", doing, exc)
        raise SystemExit(1) from None


def serve(host: str, port: int, *, migrate_first: bool = True, workers: int = 1) -> None:
    import uvicorn

    from server.observability import configure_logging

    level = os.environ.get("CAIRN_LOG_LEVEL", "info")
    configure_logging(level)
    wait_for_database()
    if migrate_first:
        migrate()
    # Forwarded headers are the app's to judge (CAIRN_TRUSTED_PROXIES), not uvicorn's.
    uvicorn.run("server.main:app", host=host, port=port, proxy_headers=False, workers=workers,
                log_level=level, log_config=None, access_log=False, **WS_OPTIONS)


def demo(host: str, port: int, language: str = "en") -> None:
    """Serve a throwaway database seeded with a sample group, written in `language`."""
    folder = Path(tempfile.mkdtemp(prefix="cairn-demo-"))
    os.environ["CAIRN_DATABASE_URL"] = f"sqlite+aiosqlite:///{folder / 'demo.db'}"
    migrate(os.environ["CAIRN_DATABASE_URL"])
    from server.demo import seed

    people = asyncio.run(seed(os.environ["CAIRN_DATABASE_URL"], language))
    print("Demo accounts (password for each: 'a quiet river bend'):", ", ".join(people))
    serve(host, port, migrate_first=False)


async def prune(settings: Settings) -> dict[str, int]:
    from server.db import Database
    from server.retention import prune_once

    db = Database(settings)
    try:
        return await prune_once(db)
    finally:
        await db.dispose()


def _settings_or_exit() -> Settings:
    from pydantic import ValidationError

    from server.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "settings"
            print(f"error: {where}: {error['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        raise SystemExit(2) from None


async def check(settings: Settings) -> list[tuple[str, bool, str]]:
    """Each check: (what, ok, how it went)."""
    from server.config import DEFAULT_SECRET

    secret_ok = settings.secret_key != DEFAULT_SECRET and len(settings.secret_key) >= 32
    secret = ("secret key", secret_ok or settings.env != "production",
              "set" if secret_ok else "CAIRN_SECRET_KEY is the development default: set a "
              "random value of 32+ characters before production")
    return [secret, await _check_database(settings), await _check_redis(settings),
            _check_push(settings)]


def _check_push(settings: Settings) -> tuple[str, bool, str]:
    """Reminders need a VAPID key; without one Cairn runs, with reminders off."""
    from server.reminders import push

    if not settings.vapid_private_key:
        return ("reminders", True, "off: CAIRN_VAPID_PRIVATE_KEY is not set (`cairn vapid-keys` "
                "makes a key pair; set the private key and CAIRN_VAPID_SUBJECT)")
    try:
        key = push.public_key(settings)
    except ValueError as exc:
        return ("reminders", False, f"CAIRN_VAPID_PRIVATE_KEY is not a base64url P-256 key: {exc}")
    return ("reminders", True, f"on, sent as {settings.vapid_subject}; public key {key}")


async def _check_database(settings: Settings) -> tuple[str, bool, str]:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from server.db import create_engine

    try:
        url = make_url(settings.database_url)
        backend = url.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            return ("database", False, f"CAIRN_DATABASE_URL: unsupported database {backend!r}: "
                    "use sqlite+aiosqlite:// or postgresql+asyncpg://")
        if backend == "sqlite" and url.database not in (None, "", ":memory:"):
            missing = _sqlite_missing(Path(url.database))
            if missing:
                return missing
        engine = create_engine(settings)
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                state = await _migration_state(conn)
        finally:
            await engine.dispose()
        return ("database", True, f"{backend} reachable; {state}")
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return ("database", False, f"CAIRN_DATABASE_URL: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200]}")


def _sqlite_missing(path: Path) -> tuple[str, bool, str] | None:
    """A SQLite file that is not there yet: fine if `cairn migrate` could create it."""
    if path.exists():
        return None
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if folder.is_dir() and os.access(folder, os.W_OK | os.X_OK):
        return ("database", True, f"sqlite file {path} does not exist yet: `cairn migrate` creates it")
    return ("database", False, f"CAIRN_DATABASE_URL: cannot create {path}: {folder} is not a "
            "writable folder")


async def _check_redis(settings: Settings) -> tuple[str, bool, str]:
    if not settings.redis_url:
        return ("redis", True, "not configured: one process, in-memory hub")
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(settings.redis_url, socket_connect_timeout=3)
    try:
        await client.ping()
        return ("redis", True, "reachable")
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return ("redis", False, f"CAIRN_REDIS_URL unreachable: {type(exc).__name__}: {exc}")
    finally:
        await client.aclose()


async def _migration_state(conn: Any) -> str:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    def current(sync_conn: Any) -> str | None:
        return MigrationContext.configure(sync_conn).get_current_revision()

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    now = await conn.run_sync(current)
    if now == head:
        return f"migrations at head ({head})"
    return f"migrations at {now or 'none'}, head is {head}: run `cairn migrate`"


async def make_moderator(settings: Settings, group_id: int, username: str) -> str:
    from sqlalchemy import select

    from server.db import Database, transaction
    from server.models import Membership, User

    db = Database(settings)
    try:
        async with transaction(db) as session:
            user = await session.scalar(select(User).where(User.username == username.lower()))
            if user is None:
                raise SystemExit(f"error: no account named {username!r}")
            membership = await session.scalar(select(Membership).where(
                Membership.group_id == group_id, Membership.user_id == user.id,
                Membership.state == "active"))
            if membership is None:
                raise SystemExit(f"error: {username!r} is not a member of group {group_id}")
            from server.moderation import service as moderation

            await moderation.set_role(session, None, group_id, user.id, "moderator")
            return f"{username} is now a moderator of group {group_id}"
    finally:
        await db.dispose()


async def delete_accounts(settings: Settings, user_ids: list[int]) -> list[str]:
    """Delete accounts as their members did (after a restore, those the log says were deleted
    since the backup); one line each."""
    from server.accounts import privacy
    from server.db import Database, transaction
    from server.models import User

    said = []
    db = Database(settings)
    try:
        for uid in user_ids:
            async with transaction(db) as session:
                user = await session.get(User, uid)
                if user is None:
                    said.append(f"account {uid}: not in this database, nothing to delete")
                    continue
                await privacy.erase(session, user)
            said.append(f"account {uid}: deleted, with its personal data")
    finally:
        await db.dispose()
    return said


def backup_or_restore(args: argparse.Namespace) -> int:
    from server import backup

    settings = _settings_or_exit()
    wait_for_database("back up" if args.command == "backup" else "restore", settings)
    try:
        if args.command == "backup":
            asyncio.run(backup.backup(settings, args.path))
            size = args.path.stat().st_size
            print(f"backed up the database to {args.path} ({size / 1024:,.0f} KiB); keep it "
                  "encrypted and off this server")
            return 0
        found = asyncio.run(backup.restore(settings, args.path, replace=args.replace))
    except backup.BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"restored {args.path}: {found.line()}.\n"
          "Every member signs in again, and open pages reload once as they reconnect. "
          "Whatever was written or deleted after the backup was taken is not in it: "
          "docs/deploy.md says how to delete again what members deleted since.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cairn", description="Run and look after Cairn.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("serve", "demo"):
        p = sub.add_parser(name)
        p.add_argument("--host", default=os.environ.get("CAIRN_HOST", "127.0.0.1"))
        p.add_argument("--port", type=int, default=int(os.environ.get("CAIRN_PORT", "8000")))
        if name == "serve":
            p.add_argument("--no-migrate", action="store_true",
                           help="do not apply migrations before serving")
        else:
            p.add_argument("--lang", default="en", choices=DEMO_LANGUAGES,
                           help="the language the sample group is written in, and its "
                                "members read Cairn in (default: en)")
    sub.add_parser("migrate", help="apply the Alembic migrations to the configured database")
    sub.add_parser("prune", help="apply the retention settings now (event log, role-play "
                   "history, sessions)")
    bp = sub.add_parser("backup", help="write a consistent backup of the database to a file, "
                        "while Cairn serves")
    bp.add_argument("path", type=Path, help="the backup file to write (replaced if it exists)")
    rp = sub.add_parser("restore", help="restore a backup into the configured database (stop "
                        "every app process first)")
    rp.add_argument("path", type=Path, help="a file written by `cairn backup` (or pg_dump "
                    "--format=custom)")
    rp.add_argument("--replace", action="store_true",
                    help="drop everything in the database first (otherwise it must be empty)")
    da = sub.add_parser("delete-account", help="delete accounts and their personal data, as "
                        "their members did (after a restore: those deleted since the backup)")
    da.add_argument("--user-id", type=int, action="append", required=True, dest="user_ids",
                    help="an account's id, from an `account.deleted` log line; repeat for more")
    sub.add_parser("check", help="check the configuration and that the database and Redis answer")
    sub.add_parser("vapid-keys", help="make a key pair for reminders by Web Push")
    mm = sub.add_parser("make-moderator", help="make a member a moderator of their group")
    mm.add_argument("--group", type=int, required=True, help="the group's id")
    mm.add_argument("--username", required=True)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.host, args.port, migrate_first=not args.no_migrate)
    elif args.command == "migrate":
        wait_for_database("migrate")
        migrate()
    elif args.command == "demo":
        demo(args.host, args.port, args.lang)
    elif args.command == "prune":
        print(asyncio.run(prune(_settings_or_exit())))
    elif args.command in ("backup", "restore"):
        return backup_or_restore(args)
    elif args.command == "delete-account":
        for line in asyncio.run(delete_accounts(_settings_or_exit(), args.user_ids)):
            print(line)
    elif args.command == "check":
        results = asyncio.run(check(_settings_or_exit()))
        for what, ok, detail in results:
            print(f"{'ok  ' if ok else 'FAIL'} {what}: {detail}")
        return 0 if all(ok for _, ok, _ in results) else 1
    elif args.command == "vapid-keys":
        from server.reminders import push

        private, public = push.new_keys()
        print(f"CAIRN_VAPID_PRIVATE_KEY={private}\n# public key (browsers get it from Cairn): {public}")
    elif args.command == "make-moderator":
        print(asyncio.run(make_moderator(_settings_or_exit(), args.group, args.username)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
