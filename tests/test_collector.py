"""server.collector: Python's full collections held off while a schedule runs, run by the
schedule instead, and Python's own pace back once the last schedule ends."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

from server import collector


class Knot:
    """Something that only a full collection frees once it has grown old: it points at itself."""

    def __init__(self) -> None:
        self.me = self


async def test_the_schedule_collects_what_python_was_told_to_leave() -> None:
    before = gc.get_threshold()
    collected = asyncio.Event()

    def on_collection(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2:
            collected.set()

    gc.callbacks.append(on_collection)
    schedule = collector.schedule(0.01)
    try:
        assert gc.get_threshold() == (before[0], before[1], collector.NEVER)
        knot = Knot()
        gone = weakref.ref(knot)
        del knot
        collected.clear()
        await asyncio.wait_for(collected.wait(), 10)
        assert gone() is None
    finally:
        gc.callbacks.remove(on_collection)
        schedule.cancel()
        await asyncio.gather(schedule, return_exceptions=True)
    assert gc.get_threshold() == before


async def test_python_s_pace_comes_back_when_the_last_schedule_ends() -> None:
    before = gc.get_threshold()
    first = collector.schedule(3600)
    second = collector.schedule(3600)
    first.cancel()  # before it ever ran: it lets go all the same
    await asyncio.gather(first, return_exceptions=True)
    assert gc.get_threshold()[2] == collector.NEVER  # the other app's schedule still runs
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
    assert gc.get_threshold() == before
