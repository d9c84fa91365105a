"""Summarise a py-spy raw (collapsed-stack) profile: where the server's time goes.

    py-spy record --pid PID --duration 30 --format raw --output cairn.txt
    python -m bench.profile_summary cairn.txt [--top 25] [--focus server/]

Prints the share of samples spent in each function itself (self) and below it
(inclusive), and the share under each of Cairn's own functions.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::(?P<line>\d+))?\)$")


def short(frame: str) -> str:
    """`func (path/to/site-packages/pkg/mod.py:12)` -> `pkg/mod.py:func`."""
    m = FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m["file"]
    for marker in ("site-packages/", "lib/python3.", "/work/", "/bench/", "/server/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker.startswith("lib/python3."):
                path = "stdlib/" + path.split("/", 1)[-1]
            if marker in ("/server/", "/bench/"):
                path = marker.strip("/") + "/" + path
            break
    return f"{path}:{m['func']}"


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for raw in path.read_text(errors="replace").splitlines():
        stack, _, count = raw.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [short(f) for f in stack.split(";") if f and not f.startswith("process ")
                  and not f.startswith("thread ")]
        stacks.append((frames, int(count)))
    return stacks


LAYERS = (
    # (name, test on the leaf frame, test on the whole stack), first match wins
    ("database driver: SQL run in C (aiosqlite worker threads, asyncpg protocol)",
     lambda leaf: leaf.startswith("asyncpg/") or leaf.endswith("_connection_worker_thread"), None),
    ("aiosqlite: handing each call to its thread and back", None, "aiosqlite/"),
    ("SQLAlchemy: ORM, SQL compilation, results", None, "sqlalchemy/"),
    ("event loop and socket syscalls (uvloop, in C)", lambda leaf: leaf.endswith("Runner.run"), None),
    ("websocket and ASGI layers (uvicorn, websockets, starlette)", None, ("uvicorn/", "websockets/", "starlette/")),
    ("Cairn's own code", lambda leaf: leaf.startswith("server/"), None),
)


def layer_of(frames: list[str]) -> str:
    leaf = frames[-1] if frames else ""
    joined = ";".join(frames)
    for name, on_leaf, on_stack in LAYERS:
        if on_leaf is not None and on_leaf(leaf):
            return name
        if on_stack is not None and any(m in joined for m in ((on_stack,) if isinstance(on_stack, str) else on_stack)):
            return name
    return "other (stdlib: asyncio, json, logging ...)"


def summarise(stacks: list[tuple[list[str], int]], top: int, focus: str) -> str:
    total = sum(c for _, c in stacks) or 1
    idle = sum(c for frames, c in stacks if frames and any(
        f.endswith((":select", ":poll", ":_run_once", ":run_forever", ":wait")) for f in frames[-1:]))
    own: Counter[str] = Counter()
    below: Counter[str] = Counter()
    for frames, count in stacks:
        if frames:
            own[frames[-1]] += count
        for f in set(frames):
            below[f] += count
    layers: Counter[str] = Counter()
    for frames, count in stacks:
        layers[layer_of(frames)] += count
    out = [f"{total} samples; about {idle / total:.0%} of them waiting (select/poll/wait)", "",
           "by layer (leaf frame):"]
    out += [f"  {c / total:6.1%}  {name}" for name, c in layers.most_common()]
    out += ["", "self time (the function itself):"]
    out += [f"  {c / total:6.1%}  {f}" for f, c in own.most_common(top)]
    out += ["", f"inclusive time of functions under {focus!r}:"]
    mine = [(f, c) for f, c in below.most_common() if f.startswith(focus)]
    out += [f"  {c / total:6.1%}  {f}" for f, c in mine[:top]]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--focus", default="server/", help="prefix of the functions to list inclusively")
    args = parser.parse_args(argv)
    print(summarise(load(args.profile), args.top, args.focus))
    return 0


if __name__ == "__main__":
    sys.exit(main())
