"""How much sign-ins slow everyone else's writes: one member's encouragements, timed one at a
time, on a quiet server and while other clients sign in over and over (each sign-in checks
argon2id). On SQLite every write in the process waits for the one write turn, so a sign-in
that verified its password holding that turn stalled everyone.

    python -m bench.signin_stall                        # SQLite, 8 clients signing in
    python -m bench.signin_stall --db postgres --signers 8 --writes 200
    python -m bench.signin_stall --beside ../old-checkout   # the same, side by side with
                                                            # another checkout's code

The server runs pinned to one core (`cairn serve`), the clients on the other.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import (
    LOAD_CORE,
    Server,
    cairn_server,
    create_database,
    median,
    percentile,
    pin_to,
    seed,
)

PASSWORD = "a quiet river bend"  # noqa: S105 - the seeded members' password


async def _write_times(base: str, token: str, gid: int, writes: int) -> list[float]:
    times = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        for _ in range(writes):
            started = time.perf_counter()
            r = await client.post(f"/api/v1/groups/{gid}/encouragements", json={"kind": "proud"})
            times.append(time.perf_counter() - started)
            r.raise_for_status()
    return times


async def _sign_in_forever(base: str, username: str, counter: list[int]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        while True:
            r = await client.post("/api/v1/auth/login",
                                  json={"username": username, "password": PASSWORD})
            r.raise_for_status()
            counter[0] += 1


async def _measure(server: Server, usernames: list[str], token: str, gid: int, signers: int,
                   writes: int) -> tuple[list[float], list[float], float]:
    base = f"http://127.0.0.1:{server.port}"
    await _write_times(base, token, gid, 10)  # warm up
    quiet = await _write_times(base, token, gid, writes)
    counter = [0]
    tasks = [asyncio.create_task(_sign_in_forever(base, usernames[i], counter)) for i in range(signers)]
    started = time.perf_counter()
    try:
        loaded = await _write_times(base, token, gid, writes)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
    rate = counter[0] / (time.perf_counter() - started)
    return quiet, loaded, rate


async def _usernames(database_url: str) -> dict[int, str]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT id, username FROM users"))).all()
    await engine.dispose()
    return {user_id: name for user_id, name in rows}


def run(kind: str, tree: Path | None, signers: int, writes: int, label: str) -> str:
    db = create_database(kind)
    workdir = Path(tempfile.mkdtemp(prefix="cairn-stall-"))
    try:
        group = asyncio.run(seed(db.url, groups=1, per_group=signers + 1))[0]
        names = asyncio.run(_usernames(db.url))
        writer, *others = group.members
        server = cairn_server(db.url, workdir)
        if tree is not None:  # `python -m` imports the package from the working directory
            server.cwd = tree
        server.start()
        try:
            quiet, loaded, rate = asyncio.run(_measure(
                server, [names[m.user_id] for m in others], writer.token, group.group_id,
                signers, writes))
        finally:
            server.stop()
    finally:
        db.drop()
    quiet.sort()
    loaded.sort()
    return (f"{label:>8} {kind:8} write alone: median {median(quiet) * 1e3:6.1f} ms, "
            f"p95 {percentile(quiet, 95) * 1e3:6.1f} ms | with {signers} signing in "
            f"({rate:5.1f} sign-ins/s): median {median(loaded) * 1e3:6.1f} ms, "
            f"p95 {percentile(loaded, 95) * 1e3:6.1f} ms, ratio of medians "
            f"{median(loaded) / median(quiet):5.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite", choices=("sqlite", "postgres"))
    parser.add_argument("--signers", type=int, default=8)
    parser.add_argument("--writes", type=int, default=100)
    parser.add_argument("--beside", type=Path, default=None,
                        help="another checkout whose code is measured right before this one's")
    args = parser.parse_args()
    pin_to(LOAD_CORE)
    lines = []
    if args.beside is not None:
        lines.append(run(args.db, args.beside.resolve(), args.signers, args.writes, "beside"))
    lines.append(run(args.db, None, args.signers, args.writes, "this"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
