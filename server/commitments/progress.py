"""A member's progress: a streak of practice days, the 14-day rate, a heatmap, by step.

Progress counts what went well and never what did not: a day counts when at least
one commitment was done or partly done, and today does not break a streak until it
is over.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock
from server.models import Checkin, Commitment, User
from server.models.commitments import CATEGORY_STEP, STEPS, Category

RATE_DAYS = 14
DAYS_MAX = 366


@dataclass
class Day:
    day: dt.date
    done: int = 0
    partly: int = 0
    not_today: int = 0

    @property
    def practised(self) -> bool:
        return self.done + self.partly > 0


@dataclass
class Progress:
    today: dt.date
    streak: int
    rate_14d: float
    days: list[Day]
    by_step: dict[str, int] = field(default_factory=dict)
    # (day, feeling) of each check-in that noted one: for the member's own page alone.
    feelings: list[tuple[dt.date, int]] = field(default_factory=list)


async def progress(session: AsyncSession, user: User, days: int = 28) -> Progress:
    days = max(1, min(days, DAYS_MAX))
    today = clock.local_today(user.timezone)
    span = max(days, RATE_DAYS)
    first = today - dt.timedelta(days=span - 1)
    rows = (await session.execute(
        select(Commitment.day, Commitment.category, Checkin.status, Checkin.feeling)
        .join(Checkin, Checkin.commitment_id == Commitment.id)
        .where(Commitment.user_id == user.id, Commitment.day >= first, Commitment.day <= today)
    )).all()
    by_day = {first + dt.timedelta(days=i): Day(first + dt.timedelta(days=i)) for i in range(span)}
    by_step: dict[str, int] = dict.fromkeys(STEPS, 0)
    felt = []
    for day, category, status, feeling in rows:
        if feeling is not None:
            felt.append((day, feeling))
        cell = by_day[day]
        setattr(cell, status, getattr(cell, status) + 1)
        if status != "not_today" and day > today - dt.timedelta(days=days):
            by_step[CATEGORY_STEP[Category(category)]] += 1
    practised = {d for d, cell in by_day.items() if cell.practised}
    streak = await _streak(session, user, today, practised, first)
    recent = [today - dt.timedelta(days=i) for i in range(RATE_DAYS)]
    rate = round(sum(1 for d in recent if d in practised) / RATE_DAYS, 2)
    shown = sorted(by_day.values(), key=lambda c: c.day)[-days:]
    return Progress(today=today, streak=streak, rate_14d=rate, days=shown, by_step=by_step,
                    feelings=felt)


async def _streak(
    session: AsyncSession, user: User, today: dt.date, practised: set[dt.date], loaded_from: dt.date
) -> int:
    # Today still in progress does not break the streak; start from yesterday then.
    cursor = today if today in practised else today - dt.timedelta(days=1)
    if cursor < loaded_from or cursor not in practised:
        return 0
    streak = 0
    while cursor in practised:
        streak += 1
        cursor -= dt.timedelta(days=1)
        if cursor < loaded_from:
            # A streak longer than the window: fetch the older practice days once.
            older = set((await session.scalars(
                select(Commitment.day).distinct()
                .join(Checkin, Checkin.commitment_id == Commitment.id)
                .where(Commitment.user_id == user.id, Commitment.day < loaded_from,
                       Checkin.status.in_(("done", "partly")))
            )).all())
            practised = practised | older
            loaded_from = dt.date.min
    return streak
