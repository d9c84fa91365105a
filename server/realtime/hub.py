"""The hub: after a commit it rings the group's doorbell; sockets then read the log."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable

from server.config import Settings
from server.db import Database

Listener = Callable[[int, int], None]


class MemoryHub:
    """One process: rings the listeners of a group directly."""

    def __init__(self) -> None:
        self._listeners: dict[int, set[Listener]] = defaultdict(set)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        self._listeners.clear()

    async def health(self) -> str | None:
        return None

    def subscribe(self, group_id: int, listener: Listener) -> None:
        self._listeners[group_id].add(listener)

    def unsubscribe(self, group_id: int, listener: Listener) -> None:
        listeners = self._listeners.get(group_id)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[group_id]

    async def ring(self, group_id: int, seq: int) -> None:
        self.deliver(group_id, seq)

    def deliver(self, group_id: int, seq: int) -> None:
        for listener in list(self._listeners.get(group_id, ())):
            listener(group_id, seq)


def create_hub(settings: Settings, db: Database) -> MemoryHub:
    del db
    return MemoryHub()


__all__ = ["MemoryHub", "create_hub", "asyncio"]
