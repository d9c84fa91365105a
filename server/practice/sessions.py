"""Planned sessions come to life. At its planned time a session's room opens itself, and any
moderator of the group may run it. If no moderator has joined UNMODERATED_AFTER after the
start, Cairn ends the room gently: members see that it will not happen today, and the
planner (or, when the planner no longer moderates the group, every moderator of it) is told
why on the group's pages until they have read it.

Every process looks at the clock now and then (`run_forever`); each session opens once,
whatever the number of processes: its row in practice_sessions (one per plan and start) is
written in the transaction that opens the room, so a process that stops midway leaves
nothing behind and the next pass opens it. A session whose first UNMODERATED_AFTER went by
while no process ran is not opened late."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock, events, formats, i18n, jobs
from server.db import Database, insert_into, transaction
from server.models import Group, Membership
from server.models.practice import Outcome, PracticePlan, PracticeSession
from server.moderation import service as moderation
from server.practice import schedule
from server.realtime import log
from server.roleplay import service as roleplay

logger = logging.getLogger("cairn.practice")

UNMODERATED_MINUTES = 15
UNMODERATED_AFTER = dt.timedelta(minutes=UNMODERATED_MINUTES)
# How long a moderator is told about a session that did not happen, until they have read it.
NOTICE_DAYS = 14
# How long after a start members see that today's session will not happen.
NOT_TODAY_HOURS = 12


def when_label(plan: PracticePlan, start: dt.datetime, language: str = i18n.SOURCE) -> str:
    """A session's start in its plan's own zone: "Thursday 3 December, 18:30 (Europe/Berlin)"."""
    return f"{formats.moment(start, plan.zone, language)} ({plan.zone})"


# -- opening ----------------------------------------------------------------------------------

async def open_due(db: Database, now: dt.datetime) -> int:
    """Open the room of every session that has started within UNMODERATED_AFTER and is not
    open yet; how many this process opened."""
    async with transaction(db, write=False) as session:
        due = [(plan.id, plan.group_id, plan.title, plan.language, start)
               for plan in (await session.scalars(select(PracticePlan))).all()
               for start in schedule.occurrences(plan, now)
               if start <= now < start + UNMODERATED_AFTER]
    opened = 0
    for plan_id, group_id, title, language, start in due:
        async with transaction(db) as session:
            opened += await _open(session, plan_id, group_id, title, language, start)
    return opened


async def _open(session: AsyncSession, plan_id: int, group_id: int, title: str, language: str,
                start: dt.datetime) -> bool:
    # The group's row first, as a moderator opening a room does: the two never cross.
    await session.execute(select(Group.id).where(Group.id == group_id).with_for_update())
    if await session.get(PracticePlan, plan_id) is None:  # deleted since it was read
        return False
    claimed = (await session.execute(
        insert_into(session, PracticeSession).values(plan_id=plan_id, group_id=group_id, starts_at=start,
                                       outcome=Outcome.OPEN.value)
        .on_conflict_do_nothing().returning(PracticeSession.id))).scalar()
    if claimed is None:
        return False  # another process opened it
    # A room a moderator opened early is this session's room.
    already = await roleplay.open_rooms(session, group_id)
    # The room opens in the plan's language (its planner's when planned).
    room = (already[0] if already
            else await roleplay.open_room(session, None, group_id, title, language=language))
    row = await session.get(PracticeSession, claimed)
    assert row is not None
    row.room_id = room.id
    return True


# -- deciding ---------------------------------------------------------------------------------

async def close_unmoderated(db: Database, now: dt.datetime) -> int:
    """Decide every open session UNMODERATED_AFTER past its start: held when a moderator
    opened, joined or ended its room; otherwise its room ends and the group is told. How many
    this process closed."""
    async with transaction(db, write=False) as session:
        waiting = (await session.scalars(select(PracticeSession.id).where(
            PracticeSession.outcome == Outcome.OPEN.value,
            PracticeSession.starts_at <= now - UNMODERATED_AFTER))).all()
    closed = 0
    for session_id in waiting:
        async with transaction(db) as session:
            closed += await _decide(session, session_id, now)
    return closed


async def _decide(session: AsyncSession, session_id: int, now: dt.datetime) -> bool:
    row = await session.scalar(select(PracticeSession).where(
        PracticeSession.id == session_id, PracticeSession.outcome == Outcome.OPEN.value)
        .with_for_update())
    if row is None:
        return False  # decided by another process
    row.decided_at = now
    # Decided under the room's own lock: a moderator who joins at the last moment is seen.
    if row.room_id is None or not await roleplay.close_unmoderated(session, row.room_id):
        row.outcome = Outcome.HELD.value
        return False
    row.outcome = Outcome.NOT_HELD.value
    plan = await session.get(PracticePlan, row.plan_id)
    assert plan is not None  # the session goes with its plan
    await moderation.audit(session, row.group_id, None, "not_held",
                           f"{plan.title}, {when_label(plan, row.starts_at)}",
                           f"No moderator had joined {UNMODERATED_MINUTES} minutes after the start; "
                           "members were told it will not happen today.")
    await log.append(session, row.group_id, events.PracticeChanged(plan_id=plan.id), None)
    return True


# -- telling ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Notice:
    """A session that did not happen, as a moderator who should know reads it."""

    session_id: int
    title: str
    when: str
    planner: bool  # the reader planned it (else it passed to them: the planner moderates no more)


async def notices_for(session: AsyncSession, group_id: int, user_id: int, now: dt.datetime,
                      language: str = i18n.SOURCE) -> list[Notice]:
    """Sessions of the group that did not happen and that this moderator should hear about:
    theirs, or any whose planner no longer moderates the group (demoted, gone, deleted); when
    each was, in the reader's `language`."""
    rows = (await session.execute(
        select(PracticeSession, PracticePlan).join(PracticePlan, PracticePlan.id == PracticeSession.plan_id)
        .where(PracticeSession.group_id == group_id, PracticeSession.outcome == Outcome.NOT_HELD.value,
               PracticeSession.seen_at.is_(None),
               PracticeSession.starts_at >= now - dt.timedelta(days=NOTICE_DAYS))
        .order_by(PracticeSession.starts_at))).all()
    if not rows:
        return []
    moderators = await _moderators(session, group_id)
    if user_id not in moderators:
        return []
    found = []
    for row, plan in rows:
        planner_moderates = plan.planned_by in moderators
        if plan.planned_by == user_id or not planner_moderates:
            found.append(Notice(row.id, plan.title, when_label(plan, row.starts_at, language),
                                planner=plan.planned_by == user_id))
    return found


async def _moderators(session: AsyncSession, group_id: int) -> set[int]:
    return set((await session.scalars(select(Membership.user_id).where(
        Membership.group_id == group_id, Membership.state == "active",
        Membership.role == "moderator"))).all())


async def mark_seen(session: AsyncSession, group_id: int, user_id: int, session_id: int) -> None:
    """A moderator read why a session did not happen: nobody is told again. Only one who was
    told may mark it (anything else changes nothing)."""
    now = clock.now()
    if any(n.session_id == session_id for n in await notices_for(session, group_id, user_id, now)):
        row = await session.get(PracticeSession, session_id)
        assert row is not None
        row.seen_at = now


# Built once, with its values as parameters: every day page asks (docs/performance.md,
# "Statements built once").
_NOT_HELD_SINCE = (
    select(PracticeSession.id)
    .where(PracticeSession.group_id == bindparam("group_id"),
           PracticeSession.outcome == Outcome.NOT_HELD.value,
           PracticeSession.starts_at >= bindparam("since")).limit(1))


async def not_today(session: AsyncSession, group_id: int, now: dt.datetime) -> bool:
    """Whether a session of the group did not happen within the last NOT_TODAY_HOURS."""
    return await session.scalar(_NOT_HELD_SINCE, {
        "group_id": group_id, "since": now - dt.timedelta(hours=NOT_TODAY_HOURS)}) is not None


# -- the clock --------------------------------------------------------------------------------

async def run_due(db: Database, now: dt.datetime | None = None) -> tuple[int, int]:
    """One pass: rooms opened, rooms closed."""
    now = now or clock.now()
    return await open_due(db, now), await close_unmoderated(db, now)


async def run_forever(db: Database) -> None:
    async def practise() -> str | None:
        opened, closed = await run_due(db)
        return (f"planned practice: {opened} rooms opened, {closed} closed unmoderated"
                if opened or closed else None)

    await jobs.every(db.settings.reminder_interval_seconds, practise, logger,
                     "planned practice pass")
