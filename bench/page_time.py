"""What serving a page costs the server: the group's day, progress, and a room, as each reader,
and the group's day through the API.

    python -m bench.page_time                        # this checkout
    python -m bench.page_time --beside ../old-checkout --repeat 3
    python -m bench.page_time --profile prof/        # py-spy stacks of each page's requests (times taken under py-spy)
    python -m bench.page_time --db postgres          # on PostgreSQL (its backends' CPU counted)

The same seeded group as bench.page_sizes (12 members x 3 commitments, check-ins and cheers, an
open room) served by `cairn serve` on SQLite (or PostgreSQL), pinned to the server core. Each page is asked for
`--requests` times, one after another, with the reader's session cookie and gzip accepted, as
a browser asks. Printed per page: the median and p95 time to the last byte (loopback, so close
to the server's own time) and the server process's CPU per request (its CPU time over the
requests, divided by their number). With --beside, the other checkout is measured in the same
run, alternately, and the ratio printed.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

import httpx

from bench import common
from bench.page_sizes import Seeded, on_seeded_tree
from server.csrf import SESSION_COOKIE


def _pages(seeded: Seeded) -> dict[str, tuple[str, str]]:
    """name -> (path, reader)"""
    return {
        "group day, member": (f"/groups/{seeded.gid}", "member"),
        "group day, moderator": (f"/groups/{seeded.gid}", "moderator"),
        "progress, member": ("/me/progress", "member"),
        "room, member": (f"/groups/{seeded.gid}/rooms/{seeded.rid}", "member"),
        # The same day through the API (JSON): routes are matched pages first (server/main.py).
        "API day, member": (f"/api/v1/groups/{seeded.gid}/commitments", "member"),
    }


async def measure(server: common.Server, seeded: Seeded, requests: int,
                  profile: Path | None) -> dict[str, dict[str, float]]:
    base = f"http://127.0.0.1:{server.port}"
    results: dict[str, dict[str, float]] = {}
    async with httpx.AsyncClient(base_url=base, timeout=60,
                                 headers={"Accept-Encoding": "gzip"}) as client:
        for name, (path, reader) in _pages(seeded).items():
            cookies = {SESSION_COOKIE: seeded.readers[reader].token}
            for _ in range(10):  # warm: templates compiled, caches filled
                (await client.get(path, cookies=cookies)).raise_for_status()
            stacks = f"{server.name}-{name.replace(', ', '-').replace(' ', '-')}.txt"
            spy = common.record_stacks(server, profile / stacks) if profile else None
            times = []
            cpu_before = server.cpu_seconds()
            for _ in range(requests):
                started = time.perf_counter()
                r = await client.get(path, cookies=cookies)
                await r.aread()
                times.append(time.perf_counter() - started)
                r.raise_for_status()
            cpu = server.cpu_seconds() - cpu_before
            if spy is not None:
                spy.send_signal(signal.SIGINT)  # py-spy writes what it recorded on an interrupt
                spy.wait(30)
            times.sort()
            results[name] = {"median_ms": 1000 * common.median(times),
                             "p95_ms": 1000 * common.percentile(times, 95),
                             "cpu_ms": 1000 * cpu / requests,
                             "wire_bytes": r.num_bytes_downloaded}
    return results


def run(tree: Path, requests: int, profile: Path | None,
        db: str) -> dict[str, dict[str, float]]:
    return on_seeded_tree(tree, lambda server, seeded: measure(server, seeded, requests, profile),
                          db)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per page")
    parser.add_argument("--repeat", type=int, default=1, help="runs; medians are printed")
    parser.add_argument("--beside", type=Path, help="another checkout, measured in the same run")
    parser.add_argument("--profile", type=Path, help="py-spy stacks of each page's requests here")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args(argv)
    common.pin_to(common.LOAD_CORE)
    print(f"machine: {common.machine()}")
    trees = common.checkouts(args.beside)
    runs: dict[str, list[dict[str, dict[str, float]]]] = {label: [] for label in trees}
    for run_no in range(1, args.repeat + 1):
        for label, tree in trees.items():
            print(f"-- run {run_no}: {label} ({tree})", flush=True)
            runs[label].append(run(tree, args.requests, args.profile, args.db))
    print(f"\nmedians of {args.repeat} run(s), {args.requests} requests per page each, "
          f"on {args.db}:")
    print(f"  {'page':<24} {'checkout':<8} {'median ms':>10} {'p95 ms':>8} {'CPU ms/request':>15}"
          f" {'bytes':>8}")
    for name in runs["this"][0]:
        for label in trees:
            rows = [r[name] for r in runs[label]]
            med = {k: common.median([row[k] for row in rows]) for k in rows[0]}
            print(f"  {name:<24} {label:<8} {med['median_ms']:>10.1f} {med['p95_ms']:>8.1f}"
                  f" {med['cpu_ms']:>15.1f} {med['wire_bytes']:>8,.0f}")
        if "beside" in runs:
            ratio = (common.median([r[name]["cpu_ms"] for r in runs["this"]])
                     / common.median([r[name]["cpu_ms"] for r in runs["beside"]]))
            print(f"  {'':<24} {'ratio':<8} {'':>10} {'':>8} {ratio:>15.2f}  (this / beside)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
