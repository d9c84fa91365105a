"""The group event log: append in the caller's transaction, read back by seq."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import JSON, Integer, String, Text, any_, bindparam, case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from server import clock, events
from server.db import UTCDateTime, after_commit, arrays_of, insert_rows, inserted_ids, rows_bound
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
    """Write events, in order, each with the next seq of its group's stream, however many
    there are: on PostgreSQL in one statement (the groups' counters bumped and the events
    inserted together), on SQLite one counter update per stream and one multi-row insert.

    Bumping a stream's counter on the group row takes that row's write lock until commit, so
    two writers cannot interleave: seqs are gapless and become visible in order. On PostgreSQL
    writers that bump several groups take their rows in id order first, in the same statement,
    so two of them never wait on each other crosswise (SQLite's writers take turns)."""
    if not entries:
        return []
    now = clock.now()
    wanted: Counter[tuple[int, str]] = Counter()
    places = []  # each event's place among its group stream's new events: 1, 2, ...
    for group_id, event, _ in entries:
        wanted[(group_id, event.STREAM)] += 1
        places.append(wanted[(group_id, event.STREAM)])
    rows: list[dict[str, Any]] = [
        {"group_id": group_id, "kind": event.KIND.value, "actor_id": actor.id if actor else None,
         "data": event.data(), "at": now, "stream": event.STREAM}
        for group_id, event, actor in entries]
    append = _bump_and_insert if session.get_bind().dialect.name == "postgresql" else _bump_then_insert
    ids = await append(session, wanted, rows, places)
    # The groups this session holds show their new counters (the statements do not tell them).
    last = {(row["group_id"], row["stream"]): row["seq"] for row in rows}
    for (group_id, stream), seq in last.items():
        group = session.identity_map.get(identity_key(Group, group_id))
        if group is not None:
            set_committed_value(group, _COUNTER[stream].key, seq)
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


def _seqs(rows: list[dict[str, Any]], places: list[int], before: dict[tuple[int, str], int],
          wanted: Counter[tuple[int, str]]) -> None:
    """Each row's seq: its stream's counter before this append, then its place; a group with
    no counter does not exist (LookupError, and the caller's transaction writes nothing)."""
    missing = [group_id for group_id, stream in wanted if (group_id, stream) not in before]
    if missing:
        raise LookupError(f"group {missing[0]} does not exist")
    for row, place in zip(rows, places, strict=True):
        row["seq"] = before[(row["group_id"], row["stream"])] + place


async def _bump_then_insert(session: AsyncSession, wanted: Counter[tuple[int, str]],
                            rows: list[dict[str, Any]], places: list[int]) -> list[int]:
    """SQLite: each stream's counters bumped, then the events inserted."""
    before: dict[tuple[int, str], int] = {}
    for stream in sorted({stream for _, stream in wanted}):
        counter = _COUNTER[stream]
        added = {group_id: n for (group_id, s), n in wanted.items() if s == stream}
        bump = (counter + next(iter(added.values())) if len(added) == 1
                else counter + case(added, value=Group.id))
        for group_id, seq in await session.execute(
                update(Group).where(Group.id.in_(list(added)))
                .values({counter.key: bump}).returning(Group.id, counter)
                .execution_options(synchronize_session=False)):
            before[(group_id, stream)] = seq - added[group_id]
    _seqs(rows, places, before, wanted)
    # The rows' data as the column keeps it (JSON, as text), written as it is.
    keep = _EVENTS.c.data.type.bind_processor(session.get_bind().dialect)
    assert keep is not None
    return await inserted_ids(session, _INSERT_SQLITE, {
        **rows_bound("sqlite", "new", _SQLITE_NEW, [
            (row["group_id"], row["seq"], row["kind"], row["actor_id"], keep(row["data"]),
             row["stream"]) for row in rows]),
        "at": rows[0]["at"]})


_EVENTS = Event.metadata.tables["events"]
_SQLITE_NEW = {"group_id": Integer(), "seq": Integer(), "kind": String(), "actor_id": Integer(),
               "data": Text(), "stream": String()}
_INSERT_SQLITE = insert_rows("sqlite", _EVENTS, "new", _SQLITE_NEW, at=UTCDateTime())


# The groups' rows, taken in id order; their counters bumped by the events each stream gets;
# the events inserted with seqs from the bumped counters: one statement, one shape whatever
# the batch (docs/performance.md, "Statements built once").
_ADDED_COLUMNS = {"group_id": Integer(), "shared": Integer(), "moderators": Integer()}
_ADDED = arrays_of("added", _ADDED_COLUMNS)
_TAKEN = (select(Group.id).where(Group.id == any_(bindparam("added_group_id", type_=postgresql.ARRAY(Integer))))
          .order_by(Group.id).with_for_update(key_share=True).cte("taken").prefix_with("MATERIALIZED"))
_BUMPED = (update(Group).where(Group.id == _TAKEN.c.id, Group.id == _ADDED.c.group_id)
           .values(last_seq=Group.last_seq + _ADDED.c.shared,
                   moderators_seq=Group.moderators_seq + _ADDED.c.moderators)
           .returning(Group.id, (Group.last_seq - _ADDED.c.shared).label("shared_before"),
                      (Group.moderators_seq - _ADDED.c.moderators).label("moderators_before"))
           .cte("bumped"))
_NEW_COLUMNS = {"group_id": Integer(), "stream": String(), "place": Integer(), "kind": String(),
                "actor_id": Integer(), "data": JSON()}
_NEW = arrays_of("new", _NEW_COLUMNS, ordinality="n")
_BUMP_AND_INSERT = (
    # Written to the table, as Core: an ORM statement of this shape is not one SQLAlchemy's
    # bulk insert takes. The rows come back as (id, group, stream, seq).
    insert(_EVENTS).from_select(
        ["group_id", "seq", "kind", "actor_id", "data", "at", "stream"],
        select(_NEW.c.group_id,
               case((_NEW.c.stream == GROUP, _BUMPED.c.shared_before),
                    else_=_BUMPED.c.moderators_before) + _NEW.c.place,
               _NEW.c.kind, _NEW.c.actor_id, _NEW.c.data,
               bindparam("at", type_=UTCDateTime()), _NEW.c.stream)
        .join_from(_NEW, _BUMPED, _BUMPED.c.id == _NEW.c.group_id).order_by(_NEW.c.n))
    .returning(Event.id, Event.group_id, Event.stream, Event.seq))


async def _bump_and_insert(session: AsyncSession, wanted: Counter[tuple[int, str]],
                           rows: list[dict[str, Any]], places: list[int]) -> list[int]:
    """PostgreSQL: _BUMP_AND_INSERT (the session flushes what the transaction changed first,
    for a Core statement as for the ORM's)."""
    group_ids = sorted({group_id for group_id, _ in wanted})
    written = (await session.execute(_BUMP_AND_INSERT, {
        **rows_bound("postgresql", "added", _ADDED_COLUMNS, [
            (group_id, wanted[(group_id, GROUP)], wanted[(group_id, MODERATORS)])
            for group_id in group_ids]),
        **rows_bound("postgresql", "new", _NEW_COLUMNS, [
            (row["group_id"], row["stream"], place, row["kind"], row["actor_id"], row["data"])
            for row, place in zip(rows, places, strict=True)]),
        "at": rows[0]["at"]})).all()
    before: dict[tuple[int, str], int] = {}
    ids: dict[tuple[int, str, int], int] = {}
    for event_id, group_id, stream, seq in written:
        before[(group_id, stream)] = min(seq - 1, before.get((group_id, stream), seq))
        ids[(group_id, stream, seq)] = event_id
    _seqs(rows, places, before, wanted)
    return [ids[(row["group_id"], row["stream"], row["seq"])] for row in rows]


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
