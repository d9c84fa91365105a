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
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock
from server.config import Settings
from server.db import Database, transaction
from server.events import Kind
from server.i18n import N_
from server.models import AuthSession, Event, User
from server.observability import DELIVERIES, DELIVERY_LAG, EVENTS_APPENDED
from server.realtime import frames, log
from server.realtime.fragments import LiveEvent
from server.realtime.log import GROUP, MODERATORS, STREAMS

logger = logging.getLogger("cairn.realtime")

CLOSE_NOT_SIGNED_IN = 4401
# Events of the shared stream after which the member they name may no longer read the group.
CLOSING_KINDS = {Kind.MEMBER_REMOVED, Kind.MEMBER_LEFT}
# The event of the moderators' stream that says someone starts or stops reading it.
MODERATOR_CHANGED = Kind.MODERATOR_CHANGED
PAGE = 500
# How long catching a group up waits for its sockets to have room for the next page: a client
# that reads takes a page well within it; one still short of room then overflows (4408).
PATIENCE_SECONDS = 5.0
EXPIRY_SWEEP_SECONDS = 15


@dataclass(frozen=True, slots=True)
class Effect:
    """What an event does to the sockets of the member it names, besides being shown."""

    user_id: int
    opens_moderators: bool = False   # before the event: they read the moderators' stream from it
    closes_moderators: bool = False  # after it: they stop reading the moderators' stream
    ends: bool = False               # after it: their sockets in the group close (4403)


def effect_of(stream: str, kind: str, data: dict[str, Any]) -> Effect | None:
    """The one place that says what an event ends or opens: used live and on replay alike."""
    user_id = data.get("user_id")
    if not isinstance(user_id, int):
        return None
    if stream == GROUP and kind in CLOSING_KINDS:
        return Effect(user_id, ends=True)
    if stream == MODERATORS and kind == MODERATOR_CHANGED:
        return Effect(user_id, opens_moderators=bool(data.get("moderator")),
                      closes_moderators=not data.get("moderator"))
    return None


class Subscriber(Protocol):
    """A live socket as the hub sees it."""

    user_id: int
    token_hash: str

    def offer(self, stream: str, seq: int, frame: LiveEvent, effect: Effect | None = None) -> None: ...
    def offer_presence(self, frame: str) -> None: ...
    def close_soon(self, code: int, reason: str) -> None: ...
    def has_room(self, frames: int) -> bool: ...
    async def room_for(self, frames: int) -> None: ...
    def expired(self) -> bool: ...


class Backend(Protocol):
    async def start(self, hub: Hub) -> None: ...
    async def stop(self) -> None: ...
    def publish(self, group_id: int, stream: str, seq: int) -> None: ...
    def publish_sessions_ended(self, user_id: int, token_hashes: list[str]) -> None: ...
    async def set_present(self, group_id: int, user_id: int, present: bool) -> None: ...
    async def online(self, group_id: int, local: set[int]) -> set[int]: ...
    async def health(self) -> str | None: ...


async def alive_sessions(session: AsyncSession, hashes: set[str]) -> set[str]:
    """Which of these token hashes belong to sessions that have not ended."""
    if not hashes:
        return set()
    return set((await session.scalars(select(AuthSession.token_hash).where(
        AuthSession.token_hash.in_(hashes), AuthSession.expires_at > clock.now()))).all())


class GroupFeed:
    """One group's sockets in this process, and how far this process has read each of its
    streams."""

    def __init__(self, cursors: dict[str, int]) -> None:
        self.cursors = cursors
        self.subscribers: set[Subscriber] = set()
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None


class Hub:
    def __init__(self, db: Database, backend: Backend) -> None:
        self.db = db
        self.backend = backend
        self.feeds: dict[int, GroupFeed] = {}
        self._present: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self._per_member: dict[int, int] = defaultdict(int)  # open sockets here, per member
        self.deliveries = 0
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.backend.start(self)
        self._sweeper = asyncio.create_task(self._sweep_expired())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
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

    async def ring(self, group_id: int, stream: str, seq: int,
                   committed: tuple[Event, User | None] | None = None) -> None:
        """After a commit: deliver to this process's sockets, and tell the other processes.

        When the committed event is the very next one this process's feed expects, it is
        delivered as it is; otherwise (another process wrote in between) the feed reads
        the log."""
        EVENTS_APPENDED.inc()
        feed = self.feeds.get(group_id)
        if feed is not None and committed is not None and feed.cursors[stream] == seq - 1:
            event, actor = committed
            # The row as committed: the transaction may have let go of the actor since
            # (an account deleted after leaving), as a read of the log would show.
            self._deliver(feed, event, actor if actor and event.actor_id == actor.id else None)
        else:
            self.wake(group_id)
        self.backend.publish(group_id, stream, seq)

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
                for stream in STREAMS:
                    await self._read_new(group_id, feed, stream)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is down: try again shortly
                logger.warning("feed for group %s could not read the log; retrying", group_id,
                               exc_info=True)
                await asyncio.sleep(1)
                feed.wake.set()

    async def _read_new(self, group_id: int, feed: GroupFeed, stream: str) -> None:
        while True:
            await self._room_for_a_page(feed)
            rows, checked, alive = await self._read(group_id, feed, stream)
            # Rows read here may have been written by another process after a session of
            # one of these sockets ended there, before word of it arrived: the sessions are
            # read after the rows, so such a socket closes before it is offered them. (A
            # socket attached during the read was admitted after it: not checked here.)
            for sub in list(feed.subscribers):
                if sub.token_hash in checked and sub.token_hash not in alive:
                    sub.close_soon(CLOSE_NOT_SIGNED_IN, N_("Your session has ended."))
            for event, actor in rows:
                if event.seq > feed.cursors[stream]:  # a ring may have delivered it meanwhile
                    self._deliver(feed, event, actor)
            if len(rows) < PAGE:
                return

    @staticmethod
    async def _room_for_a_page(feed: GroupFeed) -> None:
        """Before a page is read from the log, wait until every socket has room for it, for
        PATIENCE_SECONDS at most: a socket that reads, however slowly, is not overrun by the
        catching up; one that stopped reading, or reads too slowly to take a page in that
        time, overflows and is let go (4408), and the group waits for it no longer."""
        short = [sub for sub in feed.subscribers if not sub.has_room(PAGE)]
        if not short:
            return
        waits = [asyncio.ensure_future(sub.room_for(PAGE)) for sub in short]
        try:
            await asyncio.wait(waits, timeout=PATIENCE_SECONDS)
        finally:
            for wait in waits:
                wait.cancel()

    async def _read(self, group_id: int, feed: GroupFeed, stream: str
                    ) -> tuple[list[tuple[Event, User | None]], set[str], set[str]]:
        """New rows of a stream, then which of the sockets' sessions are still alive, in one
        read transaction: (rows, the token hashes checked, those alive). Shielded, so a
        closing socket cannot cancel a query half-way."""
        hashes = {sub.token_hash for sub in feed.subscribers}

        async def read() -> tuple[list[tuple[Event, User | None]], set[str], set[str]]:
            async with transaction(self.db, write=False) as session:
                rows = await log.since(session, group_id, feed.cursors[stream], PAGE, stream)
                if not rows:
                    return rows, hashes, hashes
                return rows, hashes, await alive_sessions(session, hashes)

        return await asyncio.shield(read())

    def _deliver(self, feed: GroupFeed, event: Event, actor: User | None) -> None:
        frame = LiveEvent.of(event, actor)
        feed.cursors[event.stream] = event.seq
        DELIVERY_LAG.observe(max(0.0, (clock.now() - event.at).total_seconds()))
        DELIVERIES.inc(len(feed.subscribers))
        effect = effect_of(event.stream, event.kind, event.data)
        for sub in list(feed.subscribers):
            sub.offer(event.stream, event.seq, frame, effect if effect and effect.user_id == sub.user_id
                      else None)
            self.deliveries += 1

    # -- sessions --------------------------------------------------------------------------

    def sessions_ended(self, user_id: int, token_hashes: list[str]) -> None:
        """After a commit that ended sessions (sign-out, a new password, a deleted account):
        their sockets here close at once, and the other processes are told."""
        self.close_sessions(user_id, set(token_hashes))
        self.backend.publish_sessions_ended(user_id, token_hashes)

    def close_sessions(self, user_id: int, token_hashes: set[str]) -> None:
        for feed in list(self.feeds.values()):
            for sub in list(feed.subscribers):
                if sub.user_id == user_id and sub.token_hash in token_hashes:
                    sub.close_soon(CLOSE_NOT_SIGNED_IN, N_("Your session has ended."))

    async def recheck_sessions(self) -> None:
        """After a time without news from the other processes (Redis was away): close every
        socket here whose session has ended meanwhile."""
        subs = [sub for feed in list(self.feeds.values()) for sub in list(feed.subscribers)]
        if not subs:
            return
        try:
            async with transaction(self.db, write=False) as session:
                alive = await alive_sessions(session, {sub.token_hash for sub in subs})
        except Exception:
            logger.warning("could not recheck sessions", exc_info=True)
            return
        for sub in subs:
            if sub.token_hash not in alive:
                sub.close_soon(CLOSE_NOT_SIGNED_IN, N_("Your session has ended."))

    async def _sweep_expired(self) -> None:
        """A socket whose session expires closes even if nothing happens in its group (a
        socket that is offered an event checks the expiry itself first)."""
        while True:
            await asyncio.sleep(EXPIRY_SWEEP_SECONDS)
            for feed in list(self.feeds.values()):
                for sub in list(feed.subscribers):
                    if sub.expired():
                        sub.close_soon(CLOSE_NOT_SIGNED_IN, N_("Your session has ended."))

    # -- sockets ---------------------------------------------------------------------------

    async def attach(self, group_id: int, sub: Subscriber, cursors: dict[str, int]) -> None:
        """Start live delivery to sub; cursors are the streams' last seqs the caller has read
        from the log."""
        feed = self.feeds.get(group_id)
        if feed is None:
            feed = self.feeds[group_id] = GroupFeed(dict(cursors))
        feed.subscribers.add(sub)
        if any(cursors[stream] > feed.cursors[stream] for stream in STREAMS):
            # This socket saw newer rows than the feed has read: catch the feed up.
            self.wake(group_id)
        self._per_member[sub.user_id] += 1
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
        self._per_member[sub.user_id] -= 1
        if self._per_member[sub.user_id] <= 0:
            del self._per_member[sub.user_id]
        if not feed.subscribers:
            del self.feeds[group_id]  # its task, if running, ends once it sees no subscribers
        counts = self._present[group_id]
        counts[sub.user_id] -= 1
        if counts[sub.user_id] <= 0:
            del counts[sub.user_id]
            if not counts:
                del self._present[group_id]
            await self._presence_changed(group_id, sub.user_id, False)

    def sockets_of(self, user_id: int) -> int:
        """The sockets a member has open on this process."""
        return self._per_member.get(user_id, 0)

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
