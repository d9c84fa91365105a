"""The `cairn` command: serve, migrate, demo."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

from server.config import ROOT

# Socket settings every server process uses: frames over 16 KiB close with 1009, and
# protocol pings find a dead peer within ping interval + timeout (25 s).
WS_OPTIONS = {"ws_max_size": 16 * 1024, "ws_ping_interval": 10.0, "ws_ping_timeout": 15.0,
              "ws_per_message_deflate": False}


def migrate(database_url: str | None = None) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    cfg.attributes["configure_logger"] = False  # keep Cairn's JSON logging
    if database_url:
        cfg.attributes["database_url"] = database_url
    command.upgrade(cfg, "head")


def serve(host: str, port: int, *, migrate_first: bool = True, workers: int = 1) -> None:
    import uvicorn

    from server.observability import configure_logging

    level = os.environ.get("CAIRN_LOG_LEVEL", "info")
    configure_logging(level)
    if migrate_first:
        migrate()
    uvicorn.run("server.main:app", host=host, port=port, proxy_headers=True, workers=workers,
                log_level=level, log_config=None, access_log=False, **WS_OPTIONS)


def demo(host: str, port: int) -> None:
    """Serve a throwaway database seeded with a sample group."""
    folder = Path(tempfile.mkdtemp(prefix="cairn-demo-"))
    os.environ["CAIRN_DATABASE_URL"] = f"sqlite+aiosqlite:///{folder / 'demo.db'}"
    migrate(os.environ["CAIRN_DATABASE_URL"])
    from server.demo import seed

    people = asyncio.run(seed(os.environ["CAIRN_DATABASE_URL"]))
    print("Demo accounts (password for each: 'a quiet river bend'):", ", ".join(people))
    serve(host, port, migrate_first=False)


async def prune() -> dict[str, int]:
    from server.config import get_settings
    from server.db import Database
    from server.retention import prune_once

    db = Database(get_settings())
    try:
        return await prune_once(db)
    finally:
        await db.dispose()


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
    sub.add_parser("migrate", help="apply the Alembic migrations to the configured database")
    sub.add_parser("prune", help="apply the retention settings to the event log and sessions now")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.host, args.port, migrate_first=not args.no_migrate)
    elif args.command == "migrate":
        migrate()
    elif args.command == "demo":
        demo(args.host, args.port)
    elif args.command == "prune":
        print(asyncio.run(prune()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
