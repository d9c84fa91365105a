"""One process: the doorbell is already rung locally, and presence is what this process sees."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.realtime.hub import Hub


class MemoryBackend:
    async def start(self, hub: Hub) -> None:
        pass

    async def stop(self) -> None:
        pass

    def publish(self, group_id: int, stream: str, seq: int) -> None:
        pass

    def publish_sessions_ended(self, user_id: int, token_hashes: list[str]) -> None:
        pass

    async def set_present(self, group_id: int, user_id: int, present: bool) -> None:
        pass

    async def online(self, group_id: int, local: set[int]) -> set[int]:
        return local

    async def health(self) -> str | None:
        return None
