"""The group event log: append in the caller's transaction, read back by seq."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock
from server.db import after_commit
from server.models import Event, Group, User


async def append(
    session: AsyncSession, group_id: int, kind: str, actor: User | None, data: dict[str, Any]
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
    event = Event(group_id=group_id, seq=seq, kind=kind,
                  actor_id=actor.id if actor else None, data=data, at=clock.now())
    session.add(event)
    await session.flush()
    db = session.info.get("db")
    if db is not None and db.doorbell is not None:
        after_commit(session, lambda: db.doorbell(group_id, seq))
    return event


async def since(session: AsyncSession, group_id: int, seq: int, limit: int = 1000) -> list[Event]:
    return list((await session.scalars(
        select(Event).where(Event.group_id == group_id, Event.seq > seq)
        .order_by(Event.seq).limit(limit)
    )).all())
