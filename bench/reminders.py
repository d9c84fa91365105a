"""How long one reminder pass takes as members grow: `send_due` at a clock the harness sets,
on a fresh database of N members, with a pusher that counts pushes instead of sending them.

    python -m bench.reminders                                  # 1,000 and 10,000 members,
                                                               # SQLite and PostgreSQL
    python -m bench.reminders --members 1000,10000,50000 --db sqlite --passes 7
    python -m bench.reminders --members 10000 --profile        # and where a pass's time goes

Every process runs a pass every ~30 s. Two kinds are timed, each the median of --passes:
  nothing due  a pass 30 s, 60 s, ... after a half-hour mark, when every reminder of the
               last two hours (the grace) has gone already: the common case;
  slot due     a pass on a half-hour mark, when the reminders chosen for it fall due.
For each: the CPU time of this process (less moved by a busy machine than the wall time; with
aiosqlite's thread, without PostgreSQL's), the SQL statements and transactions of a pass
(SQLAlchemy's events), the pushes it sent, and the peak of what it allocated (tracemalloc, on
one more pass, untimed). Then one more pass of each kind with Cairn's sending steps timed one
by one (the reads, the schedule, claiming, delivering); --profile adds cProfile's busiest
functions.

The members are written straight into the database (bench.common.seed: one argon2id hash for
all, groups of 10), spread over five time zones. Each has one push device and chosen times
spread over the day: a quarter morning and evening, a quarter morning only, a quarter evening
only, a quarter both with quiet hours 22:00-07:00 (what falls in them goes at 07:00); one in
eight keeps another evening time for their group (a third of those: off there); one in fifty
is snoozed. Times are on the half hour: about 1.5 reminders a member a day, 1/48 of them on
each mark, so a slot's pass sends to about N/32 members. The pusher is a stand-in: what a
real push costs (encryption, the push service's round trip) is not in these figures.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import datetime as dt
import io
import os
import pstats
import random
import secrets
import signal
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench import common
from server.config import Settings
from server.db import Database
from server.reminders import push, schedule, service

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney")
# A half-hour mark on a day no zone above changes its clocks (nor the next days: snoozes).
START = dt.datetime(2026, 6, 10, 12, 0, tzinfo=dt.UTC)
SLOT = dt.timedelta(minutes=30)
TICK = dt.timedelta(seconds=30)
QUIET = ("22:00", "07:00")


# -- the members -----------------------------------------------------------------------------

def _at(slot: int) -> str:
    return f"{slot // 2:02d}:{slot % 2 * 30:02d}"


def _device_keys() -> tuple[str, str]:
    """A browser's subscription keys (one pair for everyone: nothing is encrypted here)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return (base64.urlsafe_b64encode(point).rstrip(b"=").decode(),
            base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode())


def habits_rows(members: list[tuple[int, int]], now: dt.datetime) -> tuple[list[dict[str, Any]], ...]:
    """The reminder_habits, group_reminders and push_devices rows of (member id, group id)
    pairs, as the module's docstring describes them (the same for the same members)."""
    rng = random.Random(48)
    p256dh, auth = _device_keys()
    habits, own, devices = [], [], []
    for i, (user_id, group_id) in enumerate(members):
        kind = i % 4
        morning = _at(rng.randrange(0, 24)) if kind != 2 else None
        evening = _at(rng.randrange(24, 48)) if kind != 1 else None
        quiet = QUIET if kind == 3 else (None, None)
        habits.append({"user_id": user_id, "morning": morning, "evening": evening,
                       "quiet_from": quiet[0], "quiet_until": quiet[1],
                       "snoozed_until": now + dt.timedelta(days=3) if i % 50 == 7 else None,
                       "updated_at": now})
        if i % 8 == 5:
            own.append({"user_id": user_id, "group_id": group_id, "nudge": "evening",
                        "at": None if i % 3 == 0 else _at(rng.randrange(24, 48))})
        devices.append({"user_id": user_id, "p256dh": p256dh, "auth": auth, "created_at": now,
                        "endpoint": f"https://updates.push.services.mozilla.com/wpush/v2/bench{user_id}"})
    return habits, own, devices


async def seed_members(database_url: str, members: int) -> None:
    """N members in groups of 10, each with a device and reminder habits."""
    from sqlalchemy import insert
    from sqlalchemy.ext.asyncio import create_async_engine

    from server.models.reminders import GroupReminder, PushDevice, ReminderHabits

    groups = await common.seed(database_url, groups=max(1, members // 10), per_group=10, timezones=ZONES)
    pairs = [(m.user_id, g.group_id) for g in groups for m in g.members]
    habits, own, devices = habits_rows(pairs, START)
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(ReminderHabits), habits)
            if own:
                await conn.execute(insert(GroupReminder), own)
            await conn.execute(insert(PushDevice), devices)
    finally:
        await engine.dispose()


# -- a pass ----------------------------------------------------------------------------------

class CountingPusher(push.Pusher):
    """Takes every push and keeps only their number: no encryption, no network."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.sent = 0

    async def send(self, device: push.Device, payload: dict[str, Any]) -> int:
        self.sent += 1
        return 201


@dataclass
class Counts:
    """What the database was asked during a pass."""

    statements: int = 0
    transactions: int = 0


def count_sql(db: Database) -> Counts:
    from sqlalchemy import event

    counts = Counts()

    @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
    def _statement(*_: Any) -> None:
        counts.statements += 1

    @event.listens_for(db.engine.sync_engine, "begin")
    def _transaction(*_: Any) -> None:
        counts.transactions += 1

    return counts


@dataclass
class Pass:
    seconds: float
    cpu: float  # this process's (with aiosqlite's thread), not PostgreSQL's
    statements: int
    transactions: int
    sent: int


async def one_pass(db: Database, pusher: CountingPusher, counts: Counts, now: dt.datetime) -> Pass:
    statements, transactions, pushes = counts.statements, counts.transactions, pusher.sent
    started, cpu = time.perf_counter(), time.process_time()
    sent = await service.send_due(db, pusher, now)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert sent == pusher.sent - pushes, "one device a member: a reminder is one push"
    return Pass(seconds, cpu, counts.statements - statements, counts.transactions - transactions, sent)


async def peak_bytes(db: Database, pusher: CountingPusher, now: dt.datetime) -> int:
    """The most a pass held at once of what it allocated (Python's allocations)."""
    tracemalloc.start()
    try:
        await service.send_due(db, pusher, now)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@dataclass
class Steps:
    """Wall time of a pass by Cairn's sending steps (the rest: its reads, the habits and the schedule)."""

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)


@contextmanager
def timed_steps(steps: tuple[tuple[Any, str], ...]) -> Iterator[Steps]:
    """Wrap these (module, function name): send_due looks them up each time it calls them."""
    found = Steps()
    originals = [(module, name, getattr(module, name)) for module, name in steps]

    def add(name: str, started: float) -> None:
        found.seconds[name] = found.seconds.get(name, 0.0) + time.perf_counter() - started
        found.calls[name] = found.calls.get(name, 0) + 1

    def wrap(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        if asyncio.iscoroutinefunction(function):
            async def timed_async(*args: Any, **kw: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await function(*args, **kw)
                finally:
                    add(name, started)
            return timed_async

        def timed(*args: Any, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kw)
            finally:
                add(name, started)
        return timed

    try:
        for module, name, function in originals:
            setattr(module, name, wrap(name, function))
        yield found
    finally:
        for module, name, function in originals:
            setattr(module, name, function)


STEPS = ((service, "_habits"), (schedule, "due_now"), (service, "_claim"), (service, "_deliver"))
LABELS = {"_habits": "building habits", "due_now": "the schedule", "_claim": "claiming",
          "_deliver": "delivering"}


async def step_line(db: Database, pusher: CountingPusher, now: dt.datetime) -> str:
    """One pass's wall time by step; what is left is its reads and the schedule (and the loop around)."""
    with timed_steps(STEPS) as steps:
        started = time.perf_counter()
        await service.send_due(db, pusher, now)
        total = time.perf_counter() - started
    rest = total - sum(steps.seconds.values())
    parts = [f"{total * 1e3:,.0f} ms: the reads and the schedule {rest * 1e3:,.0f}"]
    parts += [f"{LABELS[name]} {steps.seconds.get(name, 0) * 1e3:,.0f} ({steps.calls.get(name, 0):,}x)"
              for _, name in STEPS]
    return ", ".join(parts)


async def profile_pass(db: Database, pusher: CountingPusher, now: dt.datetime, top: int) -> str:
    profile = cProfile.Profile()
    profile.enable()
    await service.send_due(db, pusher, now)
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    return "\n".join(line for line in out.getvalue().splitlines() if line.strip())


# -- a run -----------------------------------------------------------------------------------

@dataclass
class Result:
    kind: str
    members: int
    what: str
    passes: list[Pass]
    peak: int
    steps: str = ""
    profile: str = ""


async def measure(database_url: str, kind: str, members: int, passes: int,
                  profile_top: int = 0) -> list[Result]:
    """Seed, then time `passes` quiet passes and `passes` slot passes (and the extra ones)."""
    started = time.perf_counter()
    await seed_members(database_url, members)
    print(f"\n-- {kind}, {members:,} members (seeded in {time.perf_counter() - started:.0f} s)", flush=True)
    settings = Settings(database_url=database_url, env="test", secret_key=secrets.token_urlsafe(48),
                        vapid_private_key=push.new_keys()[0], reminder_interval_seconds=0)
    db = Database(settings)
    pusher = CountingPusher(settings)
    counts = count_sql(db)
    try:
        # The last two hours' reminders go first (a fresh database owes all of them), then
        # one quiet pass more to warm the statement caches.
        await service.send_due(db, pusher, START)
        await service.send_due(db, pusher, START + TICK)
        ticks = (START + TICK * (2 + j) for j in range(2 * passes + 10))
        slots = (START + SLOT * (1 + j) for j in range(2 * passes + 10))
        results = []
        for what, times in (("nothing due", ticks), ("slot due", slots)):
            timed = [await one_pass(db, pusher, counts, next(times)) for _ in range(passes)]
            peak = await peak_bytes(db, pusher, next(times))
            result = Result(kind, members, what, timed, peak, await step_line(db, pusher, next(times)))
            if profile_top:
                result.profile = await profile_pass(db, pusher, next(times), profile_top)
            results.append(result)
        assert next(ticks) < START + SLOT, "too many passes for one half hour"
        return results
    finally:
        await db.dispose()


def run(kind: str, members: int, passes: int, profile_top: int = 0) -> list[Result]:
    database = common.create_database(kind)
    try:
        return asyncio.run(measure(database.url, kind, members, passes, profile_top))
    finally:
        database.drop()


def table(results: list[Result]) -> str:
    lines = [f"{'db':8} {'members':>8}  {'pass':12} {'median ms':>10} {'min-max ms':>15} {'CPU ms':>8} "
             f"{'statements':>10} {'transactions':>12} {'pushes':>7} {'peak MiB':>9}"]
    for r in results:
        seconds = sorted(p.seconds for p in r.passes)
        sent = sorted(p.sent for p in r.passes)
        statements = sorted(p.statements for p in r.passes)
        transactions = sorted(p.transactions for p in r.passes)

        def spread(values: list[int]) -> str:
            return f"{values[0]:,}" if values[0] == values[-1] else f"{values[0]:,}-{values[-1]:,}"

        lines.append(f"{r.kind:8} {r.members:>8,}  {r.what:12} {common.median(seconds) * 1e3:>10,.1f} "
                     f"{f'{seconds[0] * 1e3:,.1f}-{seconds[-1] * 1e3:,.1f}':>15} "
                     f"{common.median([p.cpu for p in r.passes]) * 1e3:>8,.1f} "
                     f"{spread(statements):>10} {spread(transactions):>12} {spread(sent):>7} "
                     f"{r.peak / 2**20:>9.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres", type=lambda s: s.split(","),
                        help="sqlite, postgres or both (default)")
    parser.add_argument("--members", default="1000,10000", type=lambda s: [int(n) for n in s.split(",")],
                        help="numbers of members, comma-separated (default 1000,10000)")
    parser.add_argument("--passes", type=int, default=5, help="timed passes of each kind (medians)")
    parser.add_argument("--profile", action="store_true",
                        help="also print cProfile's busiest functions of one pass of each kind")
    parser.add_argument("--top", type=int, default=15, help="functions listed by --profile")
    args = parser.parse_args(argv)
    if not 1 <= args.passes <= 20:
        parser.error("--passes: from 1 to 20 (the quiet passes stay within one half hour)")

    # A terminated run still drops its databases (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"machine: {common.machine()}; load average {os.getloadavg()[0]:.2f}")
    if "postgres" in args.db and not common.postgres_available():
        print(f"PostgreSQL is not reachable at {common.POSTGRES_ADMIN_URL} (set CAIRN_BENCH_POSTGRES_URL): "
              "skipping it")
        args.db = [d for d in args.db if d != "postgres"]
    results: list[Result] = []
    for kind in args.db:
        for members in args.members:
            found = run(kind, members, args.passes, args.top if args.profile else 0)
            results += found
            for r in found:
                print(f"  {r.what}: {r.steps}")
                if r.profile:
                    print("\n".join("    " + line for line in r.profile.splitlines()))
            sys.stdout.flush()
    print(f"\nmedians of {args.passes} passes; peak: tracemalloc, one more pass of each kind; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
