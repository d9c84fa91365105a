"""Python's full garbage collections on a schedule of Cairn's, not the allocator's.

A full collection walks every object the process holds, and stops everything else while it
does. An open socket holds about seventy objects, so with a few thousand sockets open each
full collection stops the process for 0.3-0.7 s; and Python starts one whenever the objects
that outlived two young collections reach a quarter of those that survived the last full one,
which under a busy hour is every 15-20 s (docs/performance.md). Each of those pauses is felt
by every page and cheer in flight.

So a process that serves Cairn leaves the young collections (where almost all garbage is
found) to Python and runs the full one itself every `CAIRN_FULL_COLLECTION_MINUTES`: the same
pause, tens of times less often. Between two of them the garbage that only a full collection
finds (cycles that lived long) waits; its size is the price, a few tens of MB at most under a
peak hour. 0 leaves Python's own pace."""

from __future__ import annotations

import asyncio
import gc
import logging
import time

from server.observability import FULL_COLLECTION_SECONDS

logger = logging.getLogger("cairn.collector")

NEVER = 2**31 - 1  # young-generation collections before Python would weigh a full one itself

_holders = 0  # schedules running in this process (tests start several apps in one)
_pace: tuple[int, int, int] | None = None  # Python's pace before the first of them


def collect_fully() -> int:
    """One full collection now, timed; returns the objects it found unreachable."""
    started = time.perf_counter()
    found = gc.collect()
    took = time.perf_counter() - started
    FULL_COLLECTION_SECONDS.observe(took)
    logger.debug("full collection: %d unreachable, %.3f s", found, took)
    return found


def schedule(every_seconds: float) -> asyncio.Task[None]:
    """Hold Python's own full collections off from now on, and collect fully every
    `every_seconds` until the task returned is cancelled; Python's pace comes back when the
    last schedule in the process ends (even one cancelled before it ever ran)."""
    global _holders, _pace
    if _holders == 0:
        _pace = gc.get_threshold()
        gc.set_threshold(_pace[0], _pace[1], NEVER)
    _holders += 1
    task = asyncio.create_task(_collect_every(every_seconds))
    task.add_done_callback(_release)
    return task


async def _collect_every(every_seconds: float) -> None:
    while True:
        await asyncio.sleep(every_seconds)
        collect_fully()


def _release(_: asyncio.Task[None]) -> None:
    global _holders, _pace
    _holders -= 1
    if _holders == 0 and _pace is not None:
        gc.set_threshold(*_pace)
        _pace = None
