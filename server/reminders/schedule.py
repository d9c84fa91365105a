"""When a member's reminders fall due: pure rules, no database and no clock of their own.

A member chooses local times ("08:30") in their own zone, overall and, for a group, instead
of the overall ones; quiet hours and a snooze hold reminders back. Reminders that fall at the
same moment go as one push. Every moment here is a UTC instant, computed from the member's
zone on that local day, so a change of the clocks moves nothing a person would notice:

- a time the clocks skip that day (spring forward, 02:30 when 02:00 becomes 03:00) comes as
  late as the clocks moved (03:30), as calendars do;
- a time the day has twice (fall back) comes at its first occurrence, once.

The practice reminder is different: it goes PRACTICE_LEAD before each planned session of the
member's groups (the sessions' starts are given), and only until the session begins; quiet
hours and a snooze drop it rather than hold it, as a late "starts soon" would be wrong.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from server.models.reminders import DAILY, Nudge

# A reminder missed while no process ran (a restart, a deploy) still goes within this long.
GRACE = dt.timedelta(hours=2)
# How long before a planned practice session its reminder goes.
PRACTICE_LEAD_MINUTES = 15
PRACTICE_LEAD = dt.timedelta(minutes=PRACTICE_LEAD_MINUTES)


@dataclass(frozen=True)
class Habits:
    """Everything that decides when one member is reminded. A time of None is off."""

    zone: ZoneInfo
    usual: dict[Nudge, dt.time | None]
    # Per group the member is in: the group's own choice for a reminder ("as usual" when
    # absent). A member in no group is reminded at their usual times.
    groups: dict[int, dict[Nudge, dt.time | None]] = field(default_factory=dict)
    # The practice reminder: overall, and per group where it differs (True on, False off).
    practice: bool = False
    practice_in: dict[int, bool] = field(default_factory=dict)
    quiet_from: dt.time | None = None  # quiet hours, local; may cross midnight
    quiet_until: dt.time | None = None
    snoozed_until: dt.datetime | None = None


@dataclass(frozen=True)
class Due:
    """One push: what it is for, the member's local day and chosen time, and when it goes."""

    nudge: Nudge
    day: dt.date
    at: dt.time
    when: dt.datetime  # UTC
    group_id: int | None = None  # the group whose session a practice reminder is about


def instant(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant of a local time on a local day (see the module's rules for the days the
    clocks change)."""
    return dt.datetime.combine(day, at, tzinfo=zone).replace(fold=0).astimezone(dt.UTC)


def _times(habits: Habits, nudge: Nudge) -> set[dt.time]:
    """The distinct local times this reminder is wanted at: one per group that keeps its own
    time, the usual one for the rest; none when every group (or the usual) says off."""
    usual = habits.usual.get(nudge)
    chosen: set[dt.time] = set()
    for own in habits.groups.values() or [{}]:
        at = own.get(nudge, usual)
        if at is not None:
            chosen.add(at)
    return chosen


def _in_quiet_hours(habits: Habits, when: dt.datetime) -> dt.datetime | None:
    """If `when` falls in quiet hours, the instant they end; else None."""
    start, end = habits.quiet_from, habits.quiet_until
    if start is None or end is None or start == end:
        return None
    local = when.astimezone(habits.zone)
    t = local.time().replace(tzinfo=None)
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    return instant(end_day, end, habits.zone)


def due_on(habits: Habits, day: dt.date) -> list[Due]:
    """The member's reminders for one of their local days, held back by quiet hours (they go
    when the quiet ends) and dropped while snoozed."""
    found: list[Due] = []
    for nudge in DAILY:
        for at in sorted(_times(habits, nudge)):
            when = instant(day, at, habits.zone)
            when = _in_quiet_hours(habits, when) or when
            if habits.snoozed_until is not None and when < habits.snoozed_until:
                continue
            found.append(Due(nudge, day, at, when))
    return found


def due_now(habits: Habits, now: dt.datetime) -> list[Due]:
    """What should go at `now`: reminders whose moment has come within the grace, on the
    member's local yesterday, today (quiet hours can carry one past midnight)."""
    today = now.astimezone(habits.zone).date()
    found = []
    for day in (today - dt.timedelta(days=1), today):
        found += [d for d in due_on(habits, day) if d.when <= now < d.when + GRACE]
    return found


def practice_due(habits: Habits, sessions: list[tuple[int, dt.datetime]],
                 now: dt.datetime) -> list[Due]:
    """The practice reminders that should go at `now`, for `sessions` (group, start in UTC) of
    the member's groups: from PRACTICE_LEAD before a start until it, where the member wants
    them for that group, not in quiet hours nor while snoozed. One per start: sessions of two
    groups at the same moment make one push (its day and time are the start's, locally)."""
    found: dict[dt.datetime, Due] = {}
    for group_id, start in sorted(sessions, key=lambda s: (s[1], s[0])):
        if not habits.practice_in.get(group_id, habits.practice):
            continue
        when = start - PRACTICE_LEAD
        if not when <= now < start or start in found:
            continue
        if _in_quiet_hours(habits, when) or (habits.snoozed_until is not None
                                             and when < habits.snoozed_until):
            continue
        local = start.astimezone(habits.zone)
        found[start] = Due(Nudge.PRACTICE, local.date(), local.time().replace(second=0, microsecond=0),
                           when, group_id)
    return list(found.values())
