"""What writing a batch of cheers costs the server process: the writer's transaction alone
(the senders' standing checked and counted, the cheers and their events written, the commit),
with no socket and no delivery, for batches of several sizes.

    python -m bench.cheer_writes --db postgres                         # this checkout
    python -m bench.cheer_writes --db postgres --beside ../old-checkout  # both, alternately

Each checkout is measured in a process of its own, which imports that checkout's code, on a
fresh database that checkout migrated and seeded (100 groups of 10; each cheer in a batch is a
different group's member's): plain cheers, and cheers about another member's commitment (whose
row and receiver the writer reads first). Printed: the process's CPU milliseconds per transaction and per
cheer, the median of --repeat runs of --transactions transactions per batch size. On
PostgreSQL the database's own CPU is not counted here (`bench.fanout` reports it beside the
process's); SQLite works inside the process, so its figures include it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import time
from pathlib import Path

from bench import common

SIZES = (1, 10, 50)
KINDS = ("plain", "about")  # a plain cheer; a cheer about another member's commitment


async def _measure(url: str, transactions: int) -> dict[str, float]:
    """In this checkout: CPU ms per transaction of each batch size."""
    from sqlalchemy import insert, select

    from server.accounts.service import token_hash
    from server.config import Settings
    from server.db import Database, transaction
    from server.encouragements import service
    from server.models import Commitment, Membership

    groups = await common.seed(url, 100, 10)
    db = Database(Settings(database_url=url))
    try:
        async with transaction(db, write=True) as session:
            memberships = {m.user_id: m.id for m in await session.scalars(select(Membership))}
            # Each group's second member shares a commitment for today, for the first to cheer.
            about = {g.group_id: (await session.execute(insert(Commitment).returning(Commitment.id), {
                "group_id": g.group_id, "user_id": g.members[1].user_id, "day": dt.date.today(),
                "category": "rest", "text": "A walk after lunch", "visibility": "group",
                "created_at": dt.datetime.now(dt.UTC)})).scalar_one() for g in groups}
        senders = {kind: [service.Cheering(
            g.members[0].user_id, token_hash(g.members[0].token), memberships[g.members[0].user_id],
            g.group_id, "proud", commitment_id=about[g.group_id] if kind == "about" else None)
            for g in groups] for kind in KINDS}

        async def write(kind: str, size: int, n: int) -> float:
            started = time.process_time()
            for i in range(n):
                batch = [senders[kind][(i * size + k) % len(groups)] for k in range(size)]
                async with transaction(db, write=True) as session:
                    await service.send_many(session, batch, per_minute=10**9)
            return (time.process_time() - started) * 1e3 / n

        out = {}
        for kind in KINDS:
            for size in SIZES:
                await write(kind, size, 20)  # statements prepared, caches filled
                out[f"{size} {kind}"] = await write(kind, size, transactions)
        return out
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--transactions", type=int, default=300, help="per batch size and run")
    parser.add_argument("--repeat", type=int, default=3, help="runs; medians are printed")
    parser.add_argument("--beside", type=Path, help="another checkout, measured in the same run")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a database URL: measure it, here
    args = parser.parse_args(argv)
    if args.one:
        common.pin_to(common.SERVER_CORE)
        print(json.dumps(asyncio.run(_measure(args.one, args.transactions))))
        return 0
    print(f"machine: {common.machine()}")
    trees = common.checkouts(args.beside)
    runs: dict[str, list[dict[str, float]]] = {label: [] for label in trees}
    for _ in range(args.repeat):
        for label, tree in trees.items():
            database = common.create_database(args.db, tree)
            try:
                runs[label].append(common.json_from(tree, [
                    __file__, "--one", database.url, "--transactions", str(args.transactions)]))
            finally:
                database.drop()
    print(f"\nthe writer's transaction on {args.db}, CPU ms of the process, medians of "
          f"{args.repeat} runs of {args.transactions}:")
    print(f"  {'cheers':>12} " + " ".join(f"{label + ' /txn':>12} {'/cheer':>7}" for label in trees)
          + ("   ratio" if "beside" in trees else ""))
    for kind in KINDS:
        for size in SIZES:
            key = f"{size} {kind}"
            medians = {label: common.median([r[key] for r in runs[label]]) for label in trees}
            ratio = f"  {medians['this'] / medians['beside']:>6.2f}" if "beside" in trees else ""
            print(f"  {key:>12} " + " ".join(f"{medians[label]:>12.2f} {medians[label] / size:>7.3f}"
                                              for label in trees) + ratio)
    return 0


if __name__ == "__main__":
    sys.exit(main())
