"""Bytes on the wire: the group's day and the style sheets and scripts it loads, each fetched
as sent to a client that accepts gzip and to one that does not, with how long the server
says each may be kept.

    python -m bench.transfer                           # this checkout
    python -m bench.transfer --beside ../old-checkout  # the same, side by side with another
                                                       # checkout's code (before/after)
    python -m bench.transfer --json transfer.json      # also write the figures

The group is bench/page_sizes.py's (12 members, 3 commitments each, about half checked in,
cheers with notes, a practice room open), written through the public API on a fresh SQLite
database, and the day is read by its three readers there: the moderator, a member and a
member who receives only. Bytes are the body as sent (headers not counted), straight from
Cairn (`cairn serve`, no proxy). Brotli (quality 5) is shown for information when the
`brotli` module happens to be importable; Cairn does not send it. Last, what gzip makes of
the member's day at a few levels, and the CPU time that takes here (zlib, as the server's
middleware runs it; the best of 30 tries): Cairn and deploy/nginx.conf use level 4.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import re
import timeit
import zlib
from pathlib import Path
from typing import Any

import httpx

from bench.common import LOAD_CORE, ROOT, Server, pin_to
from bench.page_sizes import SESSION_COOKIE, Seeded, on_seeded_tree

LEVELS = (1, 4, 6, 9)
ASSET = re.compile(r'<(?:link rel="stylesheet" href|script src)="(/static/[^"]+)"')


def _brotli_size(body: bytes) -> int | None:
    with contextlib.suppress(ImportError):
        brotli: Any = importlib.import_module("brotli")
        return len(brotli.compress(body, quality=5))
    return None


async def _fetch(client: httpx.AsyncClient, path: str, encoding: str,
                 cookies: dict[str, str] | None = None) -> tuple[httpx.Response, bytes]:
    client.cookies.clear()
    async with client.stream("GET", path, headers={"Accept-Encoding": encoding},
                             cookies=cookies) as r:
        raw = b"".join([chunk async for chunk in r.aiter_raw()])
    if r.status_code != 200:
        raise RuntimeError(f"GET {path}: {r.status_code}")
    return r, raw


async def _row(client: httpx.AsyncClient, what: str, path: str,
               cookies: dict[str, str] | None = None) -> dict[str, Any]:
    plain, body = await _fetch(client, path, "identity", cookies)
    packed, wire = await _fetch(client, path, "gzip", cookies)
    return {"what": what, "path": path, "bytes": len(body), "gzip_wire_bytes": len(wire),
            "encoding": packed.headers.get("content-encoding", "-"),
            "brotli5_bytes": _brotli_size(body),
            "cache_control": plain.headers.get("cache-control", "-")}


def _gzip_levels(body: bytes) -> list[dict[str, Any]]:
    rows = []
    for level in LEVELS:
        def pack(level: int = level) -> bytes:
            packer = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            return packer.compress(body) + packer.flush()
        best = min(timeit.repeat(pack, number=10, repeat=30)) / 10
        rows.append({"level": level, "bytes": len(pack()), "ms": best * 1000})
    return rows


async def measure(server: Server, seeded: Seeded) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as client:
        day = f"/groups/{seeded.gid}"
        assets: list[str] = []
        for reader, person in seeded.readers.items():
            cookies = {SESSION_COOKIE: person.token}
            rows.append(await _row(client, f"day ({reader})", day, cookies))
            _, html = await _fetch(client, day, "identity", cookies)
            assets += [a for a in ASSET.findall(html.decode()) if a not in assets]
        for path in assets:
            rows.append(await _row(client, path.rsplit("/", 1)[1], path))
        _, html = await _fetch(client, day, "identity",
                               {SESSION_COOKIE: seeded.readers["member"].token})
        rows.append({"what": "gzip levels, day (member)", "levels": _gzip_levels(html)})
    return rows


def run(tree: Path) -> list[dict[str, Any]]:
    return on_seeded_tree(tree, measure)


def _name(row: dict[str, Any]) -> str:
    """What a row is, the same across releases: a static file without its content's hash."""
    return re.sub(r"\.[0-9a-f]{12}(\.\w+)$", r"\1", row["what"])


def table(runs: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    head = f"{'':14} {'what':26} {'bytes':>9} {'gzip on the wire':>17} {'brotli-5':>9}  cache-control"
    lines += [head, "-" * len(head)]
    for label, all_rows in runs.items():
        rows = [r for r in all_rows if "bytes" in r]
        for row in rows:
            wire = (f"{row['gzip_wire_bytes']:,}" if row["encoding"] == "gzip"
                    else f"{row['gzip_wire_bytes']:,} (plain)")
            brotli = f"{row['brotli5_bytes']:,}" if row["brotli5_bytes"] is not None else "-"
            lines.append(f"{label:14} {_name(row):26} {row['bytes']:>9,} {wire:>17} {brotli:>9}"
                         f"  {row['cache_control']}")
        first = sum(r["gzip_wire_bytes"] for r in rows if not r["what"].startswith("day")) + next(
            r["gzip_wire_bytes"] for r in rows if r["what"] == "day (member)")
        lines.append(f"{label:14} {'a member first opens day':26} {first:>27,} bytes (the page and"
                     " what it loads)")
        for row in all_rows:
            if "levels" in row:
                lines.append(f"{label:14} {row['what']}: " + ", ".join(
                    f"{r['level']}: {r['bytes']:,} B in {r['ms']:.2f} ms" for r in row["levels"]))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beside", type=Path, default=None,
                        help="another checkout, measured right before this one")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    pin_to(LOAD_CORE)
    runs: dict[str, list[dict[str, Any]]] = {}
    if args.beside is not None:
        runs["beside"] = run(args.beside.resolve())
    runs["this"] = run(ROOT)
    print(table(runs))
    if args.json is not None:
        args.json.write_text(json.dumps(runs, indent=2) + "\n")


if __name__ == "__main__":
    main()
