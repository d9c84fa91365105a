"""Many processes: doorbells, ended sessions and presence over Redis pub/sub.

Channels (under the prefix): `ring:{group}` carries a group's doorbells ("origin:stream:seq"),
`sessions` carries account-level changes (the token hashes of sessions that ended, for every
process to close their sockets), `presence:{group}` who is online.

The listener reconnects by itself (with backoff and jitter) when Redis restarts or
drops it, and after every (re)connect it wakes every local feed so each socket
catches up from the log: nothing published while it was away is lost. It has a
client of its own that never reconnects quietly, so no drop, however short, goes
unnoticed. Commands go through a client that tries once more on a fresh connection
(a pooled one Redis closed while it was away), and a message that still cannot be
sent is owed: kept (a group's latest doorbell stands for its earlier ones) and sent
once Redis answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import time
import uuid
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

if TYPE_CHECKING:
    from server.realtime.hub import Hub

logger = logging.getLogger("cairn.realtime.redis")

PRESENCE_TTL = 45  # seconds a process's claim that someone is online lasts unrefreshed
REFRESH_EVERY = 15


class RedisBackend:
    def __init__(self, url: str, prefix: str = "cairn") -> None:
        self.url = url
        self.doorbell = f"{prefix}:ring:"
        self.presence = f"{prefix}:presence:"
        self.sessions = f"{prefix}:sessions"
        self.origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        options: dict[str, Any] = {"socket_timeout": 3, "socket_connect_timeout": 3,
                                   "decode_responses": True}
        self.redis = aioredis.Redis.from_url(
            url, retry=Retry(NoBackoff(), 1),
            retry_on_error=[RedisConnectionError, RedisTimeoutError], **options)
        self._subscriber = aioredis.Redis.from_url(url, **options)
        self._owed: dict[str, tuple[str, str]] = {}
        self._paying: asyncio.Task[None] | None = None
        self.connected = False
        self.reconnects = 0
        self._hub: Hub | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self, hub: Hub) -> None:
        self._hub = hub
        self._listener = asyncio.create_task(self._listen())
        self._refresher = asyncio.create_task(self._refresh_presence())

    async def stop(self) -> None:
        self._stopping = True
        for task in (self._listener, self._refresher, *self._tasks):
            if task:
                task.cancel()
        for task in (self._listener, self._refresher, *self._tasks):
            if task:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self.redis.aclose()
        await self._subscriber.aclose()

    async def health(self) -> str:
        try:
            await asyncio.wait_for(self.redis.ping(), 2)
        except (RedisError, OSError, TimeoutError):
            return "down"
        return "ok" if self.connected else "reconnecting"

    # -- doorbells -------------------------------------------------------------------------

    def publish(self, group_id: int, stream: str, seq: int) -> None:
        # Never make the writer wait on Redis: its own process was rung already.
        self._send(self.doorbell + str(group_id), f"{self.origin}:{stream}:{seq}")

    def publish_sessions_ended(self, user_id: int, token_hashes: list[str]) -> None:
        self._send(self.sessions, json.dumps(
            {"origin": self.origin, "user_id": user_id, "tokens": token_hashes}))

    @property
    def owed(self) -> int:
        """Messages that could not be sent yet."""
        return len(self._owed)

    def _send(self, channel: str, payload: str) -> None:
        if self._owed:  # Redis is failing: wait behind what is owed rather than try again now
            self._owe(channel, payload)
        else:
            self._spawn(self._publish(channel, payload))

    async def _publish(self, channel: str, payload: str) -> None:
        try:
            await self.redis.publish(channel, payload)
        except (RedisError, OSError) as exc:
            logger.warning("redis publish failed (%s); it is sent once Redis answers again",
                           type(exc).__name__)
            self._owe(channel, payload)

    def _owe(self, channel: str, payload: str) -> None:
        # A group's later doorbell stands for its earlier ones (a feed reads all after its
        # cursor); each ended-sessions message is its own.
        self._owed[payload if channel == self.sessions else channel] = (channel, payload)
        if self._paying is None or self._paying.done():
            self._paying = asyncio.create_task(self._pay_owed())
            self._tasks.add(self._paying)
            self._paying.add_done_callback(self._tasks.discard)

    async def _pay_owed(self) -> None:
        backoff = 0.1
        while self._owed and not self._stopping:
            await asyncio.sleep(backoff + random.uniform(0, backoff))
            try:
                for key, message in list(self._owed.items()):
                    await self.redis.publish(*message)
                    if self._owed.get(key) == message:
                        del self._owed[key]
            except (RedisError, OSError):
                backoff = min(backoff * 2, 5.0)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _listen(self) -> None:
        backoff = 0.1
        while not self._stopping:
            pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(self.doorbell + "*", self.presence + "*")
                await pubsub.subscribe(self.sessions)
                self.connected = True
                backoff = 0.1
                assert self._hub is not None
                self._hub.wake_all()  # catch up on whatever rang while we were away
                await self._hub.recheck_sessions()  # and on sessions that ended meanwhile
                for group_id in list(self._hub.feeds):
                    await self._hub.send_presence(group_id)
                while not self._stopping:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        await self._on_message(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self.connected:
                    logger.warning("redis listener lost its connection (%s); reconnecting",
                                   type(exc).__name__)
                self.connected = False
                self.reconnects += 1
                await asyncio.sleep(backoff + random.uniform(0, backoff))
                backoff = min(backoff * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _on_message(self, channel: str, data: str) -> None:
        assert self._hub is not None
        if channel.startswith(self.doorbell):
            origin = data.split(":", 1)[0]
            if origin != self.origin:
                self._hub.wake(int(channel[len(self.doorbell):]))
        elif channel == self.sessions:
            ended = json.loads(data)
            if ended["origin"] != self.origin:
                self._hub.close_sessions(int(ended["user_id"]), set(ended["tokens"]))
        elif channel.startswith(self.presence) and data != self.origin:
            await self._hub.send_presence(int(channel[len(self.presence):]))

    # -- presence --------------------------------------------------------------------------

    def _member(self, user_id: int) -> str:
        return f"{user_id}:{self.origin}"

    async def set_present(self, group_id: int, user_id: int, present: bool) -> None:
        key = self.presence + str(group_id)
        if present:
            await self.redis.zadd(key, {self._member(user_id): time.time() + PRESENCE_TTL})
            await self.redis.expire(key, PRESENCE_TTL * 2)
        else:
            await self.redis.zrem(key, self._member(user_id))
        self._send(key, self.origin)

    async def online(self, group_id: int, local: set[int]) -> set[int]:
        members = await self.redis.zrangebyscore(self.presence + str(group_id), time.time(), "+inf")
        return local | {int(str(m).split(":", 1)[0]) for m in members}

    async def _refresh_presence(self) -> None:
        while not self._stopping:
            await asyncio.sleep(REFRESH_EVERY)
            if self._hub is None:
                continue
            try:
                expiry = time.time() + PRESENCE_TTL
                for group_id in list(self._hub.feeds):
                    users = self._hub.local_online(group_id)
                    if users:
                        key = self.presence + str(group_id)
                        await self.redis.zadd(key, {self._member(u): expiry for u in users})
                        await self.redis.expire(key, PRESENCE_TTL * 2)
                        await self.redis.zremrangebyscore(key, "-inf", time.time())
            except (RedisError, OSError):
                pass
