"""When a planned practice session happens: pure rules, no database and no clock of their own.

A plan is a local time in a zone, once on a date or every week on a weekday. Each occurrence
is the UTC instant of that local time on its local day (server.reminders.schedule.instant), so
a weekly session keeps its local time across clock changes: 18:30 in Berlin is 16:30 UTC in
summer and 17:30 UTC in winter. A time the clocks skip comes as late as they moved; a time the
day has twice comes at its first occurrence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from server import clock
from server.models.practice import PracticePlan
from server.reminders.schedule import instant


def _days(plan: PracticePlan, start: dt.date) -> Iterator[dt.date]:
    if plan.on_date is not None:
        if plan.on_date >= start:
            yield plan.on_date
        return
    if plan.weekday is None:
        return
    day = start + dt.timedelta(days=(plan.weekday - start.weekday()) % 7)
    while day <= dt.date.max - dt.timedelta(days=7):
        yield day
        day += dt.timedelta(days=7)


def occurrences(plan: PracticePlan, after: dt.datetime, count: int = 1,
                until: dt.datetime | None = None) -> list[dt.datetime]:
    """The next `count` starts (UTC) of the plan's sessions that have not ended by `after`
    (one under way counts), and none starting after `until`."""
    zone = clock.zone(plan.zone)
    at = dt.time.fromisoformat(plan.starts)
    length = dt.timedelta(minutes=plan.minutes)
    # From the local day before: a session that began yesterday may still be under way.
    first = after.astimezone(zone).date() - dt.timedelta(days=1)
    found: list[dt.datetime] = []
    for day in _days(plan, first):
        when = instant(day, at, zone)
        if until is not None and when > until:
            break
        if when + length > after:
            found.append(when)
            if len(found) >= count:
                break
    return found


def next_of(plans: list[PracticePlan], after: dt.datetime) -> tuple[PracticePlan, dt.datetime] | None:
    """The plan whose session comes soonest (or is under way) at `after`, and its start."""
    soonest: tuple[PracticePlan, dt.datetime] | None = None
    for plan in plans:
        for when in occurrences(plan, after):
            if soonest is None or when < soonest[1]:
                soonest = (plan, when)
    return soonest


def starting_soon(plans: Iterable[PracticePlan], now: dt.datetime,
                  within: dt.timedelta) -> list[tuple[int, dt.datetime]]:
    """(group, start) of each session that has not started by `now` and starts within
    `within` of it."""
    found = []
    for plan in plans:
        for start in occurrences(plan, now, count=2, until=now + within):
            if start > now:
                found.append((plan.group_id, start))
    return found
