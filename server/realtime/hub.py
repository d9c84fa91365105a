"""The hub: after a commit it rings a group's doorbell; each process then reads the new rows
from the log once and fans the frames out to its own sockets.

The event log is the truth. A backend only carries doorbells (and presence) between
processes: in memory for one process, Redis pub/sub for many. A missed doorbell
costs latency, never an event: the next ring, a reconnect, or a socket's own gap
check reads the rows again from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import Protocol

from server import clock
from server.config import Settings
from server.db import Database
from server.models import Event, User
from server.observability import DELIVERIES, DELIVERY_LAG, EVENTS_APPENDED
from server.realtime import frames, log

logger = logging.getLogger("cairn.realtime")

# Events after which a member's sockets in the group must close.
CLOSING_KINDS = {"member.removed": 4403, "member.left": 4403}
PAGE = 500


class Subscriber(Protocol):
    """A live socket as the hub sees it."""

    user_id: int

    def offer(self, seq: int, frame: str, placeholder: str | None = None) -> None: ...
    def set_moderator(self, is_moderator: bool) -> None: ...
    def offer_presence(self, frame: str) -> None: ...
    def close_soon(self, code: int, reason: str) -> None: ...


class Backend(Protocol):
    async def start(self, hub: Hub) -> None: ...
    async def stop(self) -> None: ...
    def publish(self, group_id: int, seq: int) -> None: ...
    async def set_present(self, group_id: int, user_id: int, present: bool) -> None: ...
    async def online(self, group_id: int, local: set[int]) -> set[int]: ...
    async def health(self) -> str | None: ...


class GroupFeed:
    """One group's sockets in this process, and how far this process has read its log."""

    def __init__(self, cursor: int) -> None:
        self.cursor = cursor
        self.subscribers: set[Subscriber] = set()
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None


class Hub:
    def __init__(self, db: Database, backend: Backend) -> None:
        self.db = db
        self.backend = backend
        self.feeds: dict[int, GroupFeed] = {}
        self._present: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.deliveries = 0

    async def start(self) -> None:
        await self.backend.start(self)

    async def stop(self) -> None:
        await self.backend.stop()
        for feed in self.feeds.values():
            if feed.task:
                feed.task.cancel()
        for feed in list(self.feeds.values()):
            if feed.task:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await feed.task
        self.feeds.clear()

    async def health(self) -> str | None:
        return await self.backend.health()

    # -- doorbells -------------------------------------------------------------------------

    async def ring(self, group_id: int, seq: int,
                   committed: tuple[Event, User | None] | None = None) -> None:
        """After a commit: deliver to this process's sockets, and tell the other processes.

        When the committed event is the very next one this process's feed expects, it is
        delivered as it is; otherwise (another process wrote in between) the feed reads
        the log."""
        EVENTS_APPENDED.inc()
        feed = self.feeds.get(group_id)
        if feed is not None and committed is not None and feed.cursor == seq - 1:
            event, actor = committed
            # The row as committed: the transaction may have let go of the actor since
            # (an account deleted after leaving), as a read of the log would show.
            self._deliver(feed, event, actor if actor and event.actor_id == actor.id else None)
        else:
            self.wake(group_id)
        self.backend.publish(group_id, seq)

    def wake(self, group_id: int) -> None:
        feed = self.feeds.get(group_id)
        if feed is None:
            return
        feed.wake.set()
        if feed.task is None or feed.task.done():
            feed.task = asyncio.create_task(self._run_feed(group_id, feed))

    def wake_all(self) -> None:
        for group_id in list(self.feeds):
            self.wake(group_id)

    async def _run_feed(self, group_id: int, feed: GroupFeed) -> None:
        while feed.subscribers and feed.wake.is_set():
            feed.wake.clear()
            try:
                await self._read_new(group_id, feed)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is down: try again shortly
                logger.warning("feed for group %s could not read the log; retrying", group_id,
                               exc_info=True)
                await asyncio.sleep(1)
                feed.wake.set()

    async def _read_new(self, group_id: int, feed: GroupFeed) -> None:
        while True:
            rows = await log.read_since(self.db, group_id, feed.cursor, PAGE)
            for event, actor in rows:
                if event.seq > feed.cursor:  # a ring may have delivered it during the read
                    self._deliver(feed, event, actor)
            if len(rows) < PAGE:
                return
            await asyncio.sleep(0)  # let the sockets drain a page before the next

    def _deliver(self, feed: GroupFeed, event: Event, actor: User | None) -> None:
        frame, placeholder = frames.event_frames(event, actor)
        feed.cursor = event.seq
        DELIVERY_LAG.observe(max(0.0, (clock.now() - event.at).total_seconds()))
        DELIVERIES.inc(len(feed.subscribers))
        if event.kind == "member.role_changed":
            for sub in list(feed.subscribers):
                if sub.user_id == event.data.get("user_id"):
                    sub.set_moderator(event.data.get("role") == "moderator")
        for sub in list(feed.subscribers):
            sub.offer(event.seq, frame, placeholder)
            self.deliveries += 1
        code = CLOSING_KINDS.get(event.kind)
        if code is not None:
            self._close_member(feed, event.data.get("user_id"), code)

    def _close_member(self, feed: GroupFeed, user_id: object, code: int) -> None:
        for sub in list(feed.subscribers):
            if sub.user_id == user_id:
                sub.close_soon(code, "You are no longer a member of this group.")

    # -- sockets ---------------------------------------------------------------------------

    async def attach(self, group_id: int, sub: Subscriber, last_seq: int) -> None:
        """Start live delivery to sub; last_seq is what the caller has read from the log."""
        feed = self.feeds.get(group_id)
        if feed is None:
            feed = self.feeds[group_id] = GroupFeed(cursor=last_seq)
        feed.subscribers.add(sub)
        if last_seq > feed.cursor:
            # This socket saw newer rows than the feed has read: catch the feed up.
            self.wake(group_id)
        counts = self._present[group_id]
        counts[sub.user_id] += 1
        if counts[sub.user_id] == 1:
            await self._presence_changed(group_id, sub.user_id, True)
        else:
            await self.send_presence(group_id)

    async def detach(self, group_id: int, sub: Subscriber) -> None:
        feed = self.feeds.get(group_id)
        if feed is None or sub not in feed.subscribers:
            return
        feed.subscribers.discard(sub)
        if not feed.subscribers:
            del self.feeds[group_id]  # its task, if running, ends once it sees no subscribers
        counts = self._present[group_id]
        counts[sub.user_id] -= 1
        if counts[sub.user_id] <= 0:
            del counts[sub.user_id]
            if not counts:
                del self._present[group_id]
            await self._presence_changed(group_id, sub.user_id, False)

    def local_online(self, group_id: int) -> set[int]:
        return set(self._present.get(group_id, {}))

    async def _presence_changed(self, group_id: int, user_id: int, present: bool) -> None:
        try:
            await self.backend.set_present(group_id, user_id, present)
        except Exception:  # presence is best effort; delivery never depends on it
            logger.warning("presence update failed", exc_info=True)
        await self.send_presence(group_id)

    async def send_presence(self, group_id: int) -> None:
        feed = self.feeds.get(group_id)
        if feed is None:
            return
        try:
            online = await self.backend.online(group_id, self.local_online(group_id))
        except Exception:
            online = self.local_online(group_id)
        frame = frames.presence(sorted(online))
        for sub in list(feed.subscribers):
            sub.offer_presence(frame)

    def sockets(self) -> int:
        return sum(len(f.subscribers) for f in self.feeds.values())


def create_hub(settings: Settings, db: Database) -> Hub:
    if settings.redis_url:
        from server.realtime.backends.redis import RedisBackend

        return Hub(db, RedisBackend(settings.redis_url, settings.redis_prefix))
    from server.realtime.backends.memory import MemoryBackend

    return Hub(db, MemoryBackend())
