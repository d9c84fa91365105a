"""Room fan-out: what one change to a practice room costs, for 6 and for 20 people in it.

For each room size, a Cairn server (one process, PostgreSQL) is started from each checkout
named (by default this one, "after"; add `--before PATH` for another checkout, served with
that checkout's own virtualenv), the room is filled with people on real sockets, and people
raise and lower their hands in turn, one command at a time. For each command it records
the time from sending it to the moment the last socket in the room has the new version,
and, from a statement counter in the server process (bench/room_probe.py), how many SQL
statements the server ran per change: in all, and divided by the people in the room.

    python -m bench.room_fanout --before ../before --fragments   # both, side by side
    python -m bench.room_fanout --sizes 6 --commands 10          # short, this checkout only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

from bench import common

perf = time.perf_counter
PROBE = common.ROOT / "bench" / "room_probe.py"


@dataclass
class Person:
    user_id: int
    token: str
    ws: Any = None
    version: int = 0
    seen: dict[int, float] = field(default_factory=dict)  # version -> when it arrived
    errors: list[dict[str, Any]] = field(default_factory=list)


class Room:
    def __init__(self, people: list[Person]) -> None:
        self.people = people
        self.changed = asyncio.Condition()
        self.tasks: list[asyncio.Task[None]] = []

    async def read(self, person: Person) -> None:
        try:
            async for raw in person.ws:
                frame = json.loads(raw)
                if frame.get("type") == "room" and frame["version"] > person.version:
                    person.version = frame["version"]
                    person.seen[frame["version"]] = perf()
                elif frame.get("type") == "error":
                    person.errors.append(frame)
                async with self.changed:
                    self.changed.notify_all()
        except websockets.ConnectionClosed:
            pass

    async def until(self, done: Any, what: str) -> None:
        async def wait() -> None:
            async with self.changed:
                await self.changed.wait_for(done)
        try:
            await asyncio.wait_for(wait(), 60)  # a last guard; the frames end the wait
        except TimeoutError:
            raise RuntimeError(what) from None

    def lowest(self) -> int:
        return min(p.version for p in self.people)


def probe_count(server: common.Server, path: Path, room: Room) -> int:
    """The server's statement count now (it writes it on SIGUSR1)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    os.kill(server.pid, signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_mtime_ns != before:
            text = path.read_text()
            if text:
                return int(text)
        time.sleep(0.01)
    raise RuntimeError("the server did not report its statement count")


def run_one(label: str, checkout: Path, size: int, commands: int, workdir: Path,
            query: str = "") -> dict[str, Any]:
    """One server from one checkout, on a fresh database, with one room of `size` people."""
    db = common.create_database("postgres")
    probe_file = workdir / f"probe-{label}-{size}"
    python = checkout / ".venv" / "bin" / "python"
    server = common.Server(
        f"cairn-{label}", [str(python), str(PROBE), "--no-migrate"],
        env={"CAIRN_DATABASE_URL": db.url, "CAIRN_ENV": "production",
             "CAIRN_SECRET_KEY": secrets.token_urlsafe(48), "CAIRN_PROBE_FILE": str(probe_file)},
        log_path=workdir / f"cairn-{label}-{size}.log", cwd=checkout,
        database_name=db.url.rsplit("/", 1)[1])
    try:
        group = asyncio.run(common.seed(db.url, groups=1, per_group=size))[0]
        server.start()
        return asyncio.run(measure(server, group, size, commands, probe_file, label, query))
    finally:
        server.stop()
        db.drop()


async def measure(server: common.Server, group: common.SeededGroup, size: int, commands: int,
                  probe_file: Path, label: str, query: str) -> dict[str, Any]:
    server.pin_helpers()
    base = f"http://127.0.0.1:{server.port}"
    moderator = group.members[0]
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        r = await client.post(f"/api/v1/groups/{group.group_id}/roleplays",
                              json={"title": "Bench practice"},
                              headers={"Authorization": f"Bearer {moderator.token}"})
        r.raise_for_status()
        rid = r.json()["room_id"]
    people = [Person(m.user_id, m.token) for m in group.members]
    room = Room(people)
    for person in people:
        person.ws = await websockets.connect(
            f"{server.ws_url}/ws/roleplays/{rid}{query}", open_timeout=30, max_size=2**22,
            additional_headers={"Authorization": f"Bearer {person.token}"})
        room.tasks.append(asyncio.create_task(room.read(person)))
    for person in people:
        await person.ws.send(json.dumps({"type": "join"}))
    await room.until(lambda: room.lowest() >= 1 + size, "not everyone joined")
    # The room in its fullest phase: a card chosen, a round under way, feedback given (what
    # the practitioner alone reads), so every part of the view is there to be read.
    practitioner, counterpart = people[1], people[2]
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        cards = (await client.get("/api/v1/scenarios", headers={
            "Authorization": f"Bearer {moderator.token}"})).json()
    mod = people[0]
    setup = [
        (mod, {"type": "assign_role", "user_id": practitioner.user_id, "role": "practitioner"}),
        (mod, {"type": "assign_role", "user_id": counterpart.user_id, "role": "counterpart"}),
        (mod, {"type": "advance"}),
        (practitioner, {"type": "choose_scenario", "scenario_id": cards[0]["id"], "intensity": 2}),
        (practitioner, {"type": "state_boundary", "text": "I am resting this weekend."}),
        (mod, {"type": "advance"}), (mod, {"type": "advance"}), (mod, {"type": "advance"}),
        (counterpart, {"type": "feedback", "style": "assertive", "worked": "Calm and clear."}),
    ]
    for person, command in setup:
        target = max(p.version for p in people) + 1
        await person.ws.send(json.dumps(command))
        await room.until(lambda target=target: room.lowest() >= target,
                         f"{command['type']} did not go through: {person.errors[-1:]}")
    server.pin_helpers()
    hands = [p for p in people if p is not practitioner]  # who may raise a hand now

    raised: set[int] = set()
    latencies: list[float] = []

    async def change(i: int) -> None:
        person = hands[i % len(hands)]
        kind = "lower_hand" if person.user_id in raised else "raise_hand"
        raised.symmetric_difference_update({person.user_id})
        target = max(p.version for p in people) + 1
        sent = perf()
        await person.ws.send(json.dumps({"type": kind}))
        await room.until(lambda: room.lowest() >= target,
                         f"version {target} did not reach everyone: "
                         f"{[p.errors[-1:] for p in people if p.errors]}")
        latencies.append(max(p.seen[target] for p in people) - sent)

    for i in range(4):  # warm up: the first frames, the pools, the caches
        await change(i)
    latencies.clear()
    start_count = probe_count(server, probe_file, room)
    for i in range(4, 4 + commands):
        await change(i)
    statements = probe_count(server, probe_file, room) - start_count
    for person in people:
        await person.ws.close()
    for task in room.tasks:
        task.cancel()
    per_change = statements / commands
    return {"label": label, "size": size, "commands": commands,
            "statements_per_change": per_change,
            "statements_per_viewer_per_change": per_change / size,
            "phase": "feedback", "median_ms": common.median(latencies) * 1000,
            "p90_ms": common.percentile(sorted(latencies), 90) * 1000}


def run_all(args: argparse.Namespace, checkouts: list[tuple[str, Path, str]]) -> list[dict[str, Any]]:
    common.pin_to(common.LOAD_CORE)
    results = []
    with tempfile.TemporaryDirectory(prefix="cairn-room-bench-") as tmp:
        for size in args.sizes:
            for label, checkout, query in checkouts:
                results.append(run_one(label, checkout, size, args.commands, Path(tmp), query))
                r = results[-1]
                print(f"{r['label']:>10} {r['size']:>3} people: "
                      f"{r['statements_per_change']:6.1f} statements per change, "
                      f"{r['statements_per_viewer_per_change']:5.2f} per viewer; "
                      f"command to last socket median {r['median_ms']:6.1f} ms "
                      f"(p90 {r['p90_ms']:.1f} ms, {r['commands']} commands)", flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", help="another checkout to measure beside this one")
    parser.add_argument("--sizes", type=int, nargs="+", default=[6, 20])
    parser.add_argument("--commands", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    parser.add_argument("--fragments", action="store_true",
                        help="also measure this checkout with ?fragments=1, as its page connects")
    args = parser.parse_args()
    print(common.machine())
    checkouts: list[tuple[str, Path, str]] = []
    if args.before:
        checkouts.append(("before", Path(args.before).resolve(), ""))
    checkouts.append(("after", common.ROOT, ""))
    if args.fragments:  # as Cairn's own page connects: each frame with its rendered parts
        checkouts.append(("after+html", common.ROOT, "?fragments=1"))
    results = run_all(args, checkouts)
    # Statements grow with the room by what each socket reads for itself; the rest is the
    # command's own work (checks, the write, the event), the same for any size.
    for label, _, _ in checkouts:
        mine = {r["size"]: r["statements_per_change"] for r in results if r["label"] == label}
        if len(mine) >= 2:
            small, large = min(mine), max(mine)
            each = (mine[large] - mine[small]) / (large - small)
            print(f"{label:>10}: each socket in the room adds {each:.2f} statements per change; "
                  f"the command itself and the room's one read take "
                  f"{mine[small] - each * small:.1f}")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
