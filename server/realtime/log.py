"""The group event log: append in the caller's transaction, read back by seq."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock, events
from server.db import after_commit
from server.events import GroupEvent
from server.models import Event, Group, User

if TYPE_CHECKING:
    from typing_extensions import deprecated  # PEP 702: mypy and editors flag the legacy calls
else:
    _F = TypeVar("_F", bound=Callable[..., Any])

    def deprecated(_message: str) -> Callable[[_F], _F]:
        return lambda f: f

GROUP, MODERATORS = events.GROUP, events.MODERATORS
STREAMS = (GROUP, MODERATORS)
# Each stream's counter on the group row.
_COUNTER = {GROUP: Group.last_seq, MODERATORS: Group.moderators_seq}


async def append(session: AsyncSession, group_id: int, event: GroupEvent,
                 actor: User | None) -> Event:
    """Write one event with the next seq of its stream (each kind has its stream).

    Bumping the stream's counter on the group row takes that row's write lock until commit,
    so two writers cannot interleave: seqs are gapless and become visible in order.
    """
    stream = event.STREAM
    counter = _COUNTER[stream]
    seq = await session.scalar(
        update(Group).where(Group.id == group_id)
        .values({counter.key: counter + 1}).returning(counter)
    )
    if seq is None:
        raise LookupError(f"group {group_id} does not exist")
    row = Event(group_id=group_id, seq=seq, kind=event.KIND.value,
                actor_id=actor.id if actor else None, data=event.data(), at=clock.now(),
                stream=stream)
    session.add(row)
    await session.flush()
    db = session.info.get("db")
    if db is not None and db.doorbell is not None:
        # The committed row travels with the doorbell so this process's sockets need not
        # read back what it has just written.
        after_commit(session, lambda: db.doorbell(group_id, stream, seq, (row, actor)))
    return row


async def since(
    session: AsyncSession, group_id: int, seq: int, limit: int = 500, stream: str = GROUP,
) -> list[tuple[Event, User | None]]:
    """Events of a stream after seq, oldest first, with their actors."""
    rows = await session.execute(
        select(Event, User).outerjoin(User, User.id == Event.actor_id)
        .where(Event.group_id == group_id, Event.stream == stream, Event.seq > seq)
        .order_by(Event.seq).limit(limit)
    )
    return [(e, u) for e, u in rows.all()]


async def about(session: AsyncSession, group_id: int, kinds: Collection[str], key: str,
                value: int) -> list[Event]:
    """The kept events of these kinds whose data names `value` under `key`: what a replay
    would send again about one thing, to revise once that thing changes or goes."""
    rows = (await session.scalars(select(Event).where(
        Event.group_id == group_id, Event.kind.in_(list(kinds))))).all()
    return [event for event in rows if event.data.get(key) == value]


async def read_since(db: Any, group_id: int, seq: int, limit: int = 500,
                     stream: str = GROUP) -> list[tuple[Event, User | None]]:
    """since() in its own read transaction, shielded: a socket closing mid-read must not
    cancel a query half-way and hand a broken connection back to the pool."""
    from server.db import transaction

    async def read() -> list[tuple[Event, User | None]]:
        async with transaction(db, write=False) as session:
            return await since(session, group_id, seq, limit, stream)

    return await asyncio.shield(read())


async def oldest(session: AsyncSession, group_id: int, stream: str = GROUP) -> int | None:
    """The oldest seq of a stream still kept, if any."""
    return await session.scalar(select(func.min(Event.seq)).where(
        Event.group_id == group_id, Event.stream == stream))


async def prune(session: AsyncSession, *, keep: int, days: int) -> int:
    """Drop events beyond the last `keep` per group stream or older than `days`. Safe on any
    process."""
    cutoff = clock.now() - dt.timedelta(days=days)
    removed = 0
    groups = (await session.execute(select(Group.id, Group.last_seq, Group.moderators_seq))).all()
    for group_id, last_seq, moderators_seq in groups:
        for stream, last in ((GROUP, last_seq), (MODERATORS, moderators_seq)):
            result = await session.execute(delete(Event).where(
                Event.group_id == group_id, Event.stream == stream,
                (Event.seq <= last - keep) | (Event.at < cutoff)))
            removed += getattr(result, "rowcount", 0) or 0
    return removed
