"""Redis dropping for a moment under the doorbells: each process notices, whatever its client
library would rather hide, and every doorbell rung while Redis was away rings after."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from server.realtime.backends.redis import RedisBackend
from tests.hardening.services import wait_for

pytestmark = [pytest.mark.slow]


class Bells:
    """What a process's hub hears from its backend: each group woken, and each catch-up."""

    def __init__(self) -> None:
        self.feeds: dict[int, object] = {}
        self.woken: asyncio.Queue[int] = asyncio.Queue()
        self.caught_up: asyncio.Queue[None] = asyncio.Queue()

    def wake(self, group_id: int) -> None:
        self.woken.put_nowait(group_id)

    def wake_all(self) -> None:
        self.caught_up.put_nowait(None)

    async def recheck_sessions(self) -> None:
        return None

    async def send_presence(self, group_id: int) -> None:
        return None

    def close_sessions(self, user_id: int, tokens: set[str]) -> None:
        return None

    def local_online(self, group_id: int) -> set[int]:
        return set()


async def two_processes(url: str) -> tuple[RedisBackend, Bells, RedisBackend, Bells]:
    prefix = f"cairn-{uuid.uuid4().hex[:6]}"
    a, b = RedisBackend(url, prefix), RedisBackend(url, prefix)
    a_bells, b_bells = Bells(), Bells()
    await a.start(a_bells)  # type: ignore[arg-type]
    await b.start(b_bells)  # type: ignore[arg-type]
    for bells in (a_bells, b_bells):
        await asyncio.wait_for(bells.caught_up.get(), 10)
    return a, a_bells, b, b_bells


async def rung_across(a: RedisBackend, b_bells: Bells, group_id: int) -> None:
    """A doorbell from one process reaches the other (subscriptions are in place)."""
    a.publish(group_id, "group", 1)
    assert await asyncio.wait_for(b_bells.woken.get(), 10) == group_id


async def test_a_moment_without_redis_is_noticed_and_caught_up(private_redis):
    a, a_bells, b, b_bells = await two_processes(private_redis.url)
    try:
        await rung_across(a, b_bells, 7)
        await asyncio.to_thread(private_redis.stop)
        await asyncio.to_thread(private_redis.start)
        # Whatever rang while Redis was away was lost with it: both processes catch up from
        # the log, even when the drop was shorter than the client's own quiet reconnects.
        for bells in (a_bells, b_bells):
            await asyncio.wait_for(bells.caught_up.get(), 15)
        await rung_across(a, b_bells, 8)
        await rung_across(b, a_bells, 9)
    finally:
        await a.stop()
        await b.stop()


class Cable:
    """A TCP path to Redis that can be cut for one process while the others keep theirs."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def connect(self) -> None:
        self.server = await asyncio.start_server(self._carry, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.close()
        await self.server.wait_closed()

    async def _carry(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_a_doorbell_that_could_not_be_sent_rings_once_redis_answers(private_redis):
    # Only the writing process loses Redis: the other never drops, so it catches up on
    # nothing by itself and hears these doorbells only if they are sent after all.
    cable = Cable(private_redis.port)
    await cable.connect()
    prefix = f"cairn-{uuid.uuid4().hex[:6]}"
    a, b = RedisBackend(cable.url, prefix), RedisBackend(private_redis.url, prefix)
    a_bells, b_bells = Bells(), Bells()
    try:
        for backend, bells in ((a, a_bells), (b, b_bells)):
            await backend.start(bells)  # type: ignore[arg-type]
            await asyncio.wait_for(bells.caught_up.get(), 10)
        await rung_across(a, b_bells, 10)
        await cable.cut()
        a.publish(11, "group", 5)
        a.publish(12, "group", 6)
        a.publish(11, "group", 7)
        await wait_for(lambda: a.owed == 2, 20)  # 11 owed once: its later bell stands
        await cable.connect()
        heard = [await asyncio.wait_for(b_bells.woken.get(), 20) for _ in range(2)]
        assert sorted(heard) == [11, 12]
        assert b_bells.caught_up.empty()
        await asyncio.wait_for(a_bells.caught_up.get(), 20)  # the writer itself caught up
        await rung_across(a, b_bells, 13)
    finally:
        await a.stop()
        await b.stop()
        await cable.cut()
