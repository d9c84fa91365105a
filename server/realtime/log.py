"""The group event log: append in the caller's transaction, read back by seq."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock
from server.db import after_commit
from server.models import Event, Group, User


async def append(
    session: AsyncSession, group_id: int, kind: str, actor: User | None, data: dict[str, Any],
    *, audience: str | None = None,
) -> Event:
    """Write one event with the group's next seq.

    Bumping groups.last_seq takes the group row's write lock until commit, so two
    writers cannot interleave: seqs are gapless and become visible in order.
    """
    seq = await session.scalar(
        update(Group).where(Group.id == group_id)
        .values(last_seq=Group.last_seq + 1).returning(Group.last_seq)
    )
    if seq is None:
        raise LookupError(f"group {group_id} does not exist")
    event = Event(group_id=group_id, seq=seq, kind=kind, actor_id=actor.id if actor else None,
                  data=data, at=clock.now(), audience=audience)
    session.add(event)
    await session.flush()
    db = session.info.get("db")
    if db is not None and db.doorbell is not None:
        # The committed row travels with the doorbell so this process's sockets need not
        # read back what it has just written.
        after_commit(session, lambda: db.doorbell(group_id, seq, (event, actor)))
    return event


async def since(
    session: AsyncSession, group_id: int, seq: int, limit: int = 500
) -> list[tuple[Event, User | None]]:
    """Events after seq, oldest first, with their actors."""
    rows = await session.execute(
        select(Event, User).outerjoin(User, User.id == Event.actor_id)
        .where(Event.group_id == group_id, Event.seq > seq)
        .order_by(Event.seq).limit(limit)
    )
    return [(e, u) for e, u in rows.all()]


async def read_since(db: Any, group_id: int, seq: int, limit: int = 500) -> list[tuple[Event, User | None]]:
    """since() in its own read transaction, shielded: a socket closing mid-read must not
    cancel a query half-way and hand a broken connection back to the pool."""
    from server.db import transaction

    async def read() -> list[tuple[Event, User | None]]:
        async with transaction(db, write=False) as session:
            return await since(session, group_id, seq, limit)

    return await asyncio.shield(read())


async def bounds(session: AsyncSession, group_id: int) -> tuple[int, int]:
    """(oldest seq still kept, the group's last seq); the oldest is last + 1 when none are kept."""
    last = await session.scalar(select(Group.last_seq).where(Group.id == group_id)) or 0
    oldest = await session.scalar(select(func.min(Event.seq)).where(Event.group_id == group_id))
    return (oldest if oldest is not None else last + 1), last


async def prune(session: AsyncSession, *, keep: int, days: int) -> int:
    """Drop events beyond the last `keep` per group or older than `days`. Safe on any process."""
    cutoff = clock.now() - dt.timedelta(days=days)
    removed = 0
    groups = (await session.execute(select(Group.id, Group.last_seq))).all()
    for group_id, last_seq in groups:
        result = await session.execute(delete(Event).where(
            Event.group_id == group_id, (Event.seq <= last_seq - keep) | (Event.at < cutoff)))
        removed += result.rowcount or 0
    return removed
