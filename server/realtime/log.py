"""The group event log: append in the caller's transaction, read back by seq."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import bindparam, case, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

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
    """Write one event with the next seq of its stream (each kind has its stream)."""
    return (await append_many(session, [(group_id, event, actor)]))[0]


async def append_many(session: AsyncSession,
                      entries: Sequence[tuple[int, GroupEvent, User | None]]) -> list[Event]:
    """Write events, in order, each with the next seq of its group's stream: one counter
    update for all the groups and one multi-row insert, however many there are.

    Bumping a stream's counter on the group row takes that row's write lock until commit, so
    two writers cannot interleave: seqs are gapless and become visible in order. Writers that
    bump several groups take their rows in id order (inside the first bump, on PostgreSQL), so
    two of them never wait on each other crosswise."""
    if not entries:
        return []
    wanted = Counter((group_id, event.STREAM) for group_id, event, _ in entries)
    group_ids = sorted({group_id for group_id, _ in wanted})
    # Several groups on PostgreSQL: the first bump's subquery takes every group's row in id order.
    in_id_order = (select(Group.id).where(Group.id.in_(group_ids)).order_by(Group.id)
                   .with_for_update(key_share=True).scalar_subquery()
                   if len(group_ids) > 1 and session.get_bind().dialect.name == "postgresql"
                   else None)
    last: dict[tuple[int, str], int] = {}
    for i, stream in enumerate(sorted({stream for _, stream in wanted})):
        counter = _COUNTER[stream]
        added = {group_id: n for (group_id, s), n in wanted.items() if s == stream}
        bump = (counter + next(iter(added.values())) if len(added) == 1
                else counter + case(added, value=Group.id))
        bumping = update(Group).where(Group.id.in_(list(added)))
        if i == 0 and in_id_order is not None:
            bumping = bumping.where(Group.id.in_(in_id_order))
        for group_id, seq in await session.execute(
                bumping.values({counter.key: bump}).returning(Group.id, counter)):
            last[(group_id, stream)] = seq
    missing = [group_id for group_id, stream in wanted if (group_id, stream) not in last]
    if missing:
        raise LookupError(f"group {missing[0]} does not exist")
    following = {key: last[key] - n + 1 for key, n in wanted.items()}
    now = clock.now()
    rows = []
    for group_id, event, actor in entries:
        key = (group_id, event.STREAM)
        rows.append({"group_id": group_id, "seq": following[key], "kind": event.KIND.value,
                     "actor_id": actor.id if actor else None, "data": event.data(), "at": now,
                     "stream": event.STREAM})
        following[key] += 1
    ids = (await session.execute(insert(Event).returning(Event.id, sort_by_parameter_order=True),
                                 rows)).scalars().all()
    written = [Event(id=event_id, **row) for event_id, row in zip(ids, rows, strict=True)]
    for row in written:
        # Known to the session as the rows they are, as a flushed row would be: what the
        # transaction does to them next (an account deleted lets go of its events) is theirs.
        make_transient_to_detached(row)
        session.add(row)
    db = session.info.get("db")
    if db is not None and db.doorbell is not None:
        # The committed rows travel with the doorbell so this process's sockets need not read
        # back what it has just written.
        ring = db.doorbell
        for row, (_, _, actor) in zip(written, entries, strict=True):
            after_commit(session, partial(ring, row.group_id, row.stream, row.seq, (row, actor)))
    return written


# Built once, with its values as parameters: every socket catching up asks (docs/performance.md,
# "Statements built once").
_SINCE = (
    select(Event, User).outerjoin(User, User.id == Event.actor_id)
    .where(Event.group_id == bindparam("group_id"), Event.stream == bindparam("stream"),
           Event.seq > bindparam("seq"))
    .order_by(Event.seq).limit(bindparam("limit")))


async def since(
    session: AsyncSession, group_id: int, seq: int, limit: int = 500, stream: str = GROUP,
) -> list[tuple[Event, User | None]]:
    """Events of a stream after seq, oldest first, with their actors."""
    rows = await session.execute(
        _SINCE, {"group_id": group_id, "stream": stream, "seq": seq, "limit": limit})
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
