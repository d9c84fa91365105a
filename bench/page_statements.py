"""How many SQL statements each page runs: the group's day, progress, and a room, as each reader,
and the group's day through the API (bench.page_time's pages, on its seeded group).

    python -m bench.page_statements                              # this checkout
    python -m bench.page_statements --beside ../old-checkout     # both, in one run

Each checkout is measured in a process of its own, which imports that checkout's code: the
group is seeded through a `cairn serve` of that checkout, then each page is asked for once
(after a first ask that warms nothing the count depends on) by that checkout's app in the
process, with a listener on its engine counting the statements sent (a BEGIN included where
the database gets one: PostgreSQL's reading sessions send none).
Counts, not times: the same on any machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from bench import common


async def _count(server: Any, seeded: Any) -> dict[str, int]:
    import httpx
    from sqlalchemy import event

    from bench.page_time import _pages
    from server.csrf import SESSION_COOKIE

    os.environ["CAIRN_DATABASE_URL"] = server.env["CAIRN_DATABASE_URL"]
    os.environ["CAIRN_SECRET_KEY"] = server.env["CAIRN_SECRET_KEY"]
    from server.main import create_app

    app = create_app()
    counts: dict[str, int] = {}
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        sent: list[str] = []
        engine = app.state.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
        for name, (path, reader) in _pages(seeded).items():
            cookies = {SESSION_COOKIE: seeded.readers[reader].token}
            client.cookies.clear()
            client.cookies.update(cookies)
            (await client.get(path)).raise_for_status()
            sent.clear()
            (await client.get(path)).raise_for_status()
            counts[name] = len(sent)
    return counts


def _one(db: str) -> dict[str, int]:
    from bench.page_sizes import on_seeded_tree

    return on_seeded_tree(common.ROOT, _count, db)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beside", type=Path, help="another checkout, measured in the same run")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(_one(args.db)))
        return 0
    trees = common.checkouts(args.beside)
    counts = {label: common.json_from(tree, [__file__, "--one", "--db", args.db])
              for label, tree in trees.items()}
    print(f"statements per request (a BEGIN included where one is sent), on {args.db}:")
    print(f"  {'page':<24} " + " ".join(f"{label:>7}" for label in trees))
    for name in counts["this"]:
        print(f"  {name:<24} " + " ".join(f"{counts[label].get(name, '-'):>7}" for label in trees))
    return 0


if __name__ == "__main__":
    sys.exit(main())
