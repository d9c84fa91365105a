"""Next occurrences of planned practice sessions: pure, across the clock changes of 2026 in
Berlin (29 March forward, 25 October back)."""

from __future__ import annotations

import datetime as dt

from server.models.practice import PracticePlan
from server.practice import schedule

UTC = dt.UTC


def plan(starts: str, *, weekday: int | None = None, on_date: dt.date | None = None,
         minutes: int = 60, zone: str = "Europe/Berlin") -> PracticePlan:
    return PracticePlan(id=1, group_id=1, title="Practice session", zone=zone, starts=starts,
                        weekday=weekday, on_date=on_date, minutes=minutes)


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_weekly_keeps_its_local_time_across_spring_forward():
    thursdays = plan("18:30", weekday=3)
    found = schedule.occurrences(thursdays, at(2026, 3, 20), count=3)
    # 26 March in winter time (UTC+1), then 2 and 9 April in summer time (UTC+2).
    assert found == [at(2026, 3, 26, 17, 30), at(2026, 4, 2, 16, 30), at(2026, 4, 9, 16, 30)]


def test_weekly_keeps_its_local_time_across_fall_back():
    thursdays = plan("18:30", weekday=3)
    found = schedule.occurrences(thursdays, at(2026, 10, 20), count=2)
    assert found == [at(2026, 10, 22, 16, 30), at(2026, 10, 29, 17, 30)]


def test_a_time_the_clocks_skip_comes_as_late_as_they_moved():
    sundays = plan("02:30", weekday=6)
    # 29 March 2026: 02:00 becomes 03:00 in Berlin; 02:30 does not exist and comes at 03:30
    # local (01:30 UTC), as calendars do.
    assert schedule.occurrences(sundays, at(2026, 3, 28), count=1) == [at(2026, 3, 29, 1, 30)]


def test_a_time_the_day_has_twice_comes_once_at_its_first():
    sundays = plan("02:30", weekday=6)
    # 25 October 2026: 03:00 summer time becomes 02:00 winter time; 02:30 happens twice.
    found = schedule.occurrences(sundays, at(2026, 10, 24), count=2)
    assert found == [at(2026, 10, 25, 0, 30), at(2026, 11, 1, 1, 30)]


def test_one_off_once_then_never():
    once = plan("19:00", on_date=dt.date(2026, 10, 25), minutes=90)
    assert schedule.occurrences(once, at(2026, 10, 1), count=5) == [at(2026, 10, 25, 18, 0)]
    # Under way: still the next one, until it ends.
    assert schedule.occurrences(once, at(2026, 10, 25, 19, 0)) == [at(2026, 10, 25, 18, 0)]
    assert schedule.occurrences(once, at(2026, 10, 25, 19, 30)) == []


def test_a_session_under_way_counts_and_one_ended_does_not():
    thursdays = plan("23:30", weekday=3, minutes=60)  # ends after midnight, local
    assert schedule.occurrences(thursdays, at(2026, 1, 1, 22, 45)) == [at(2026, 1, 1, 22, 30)]
    assert schedule.occurrences(thursdays, at(2026, 1, 1, 23, 30)) == [at(2026, 1, 8, 22, 30)]


def test_until_and_the_soonest_of_several():
    weekly = plan("18:30", weekday=3)
    assert len(schedule.occurrences(weekly, at(2026, 3, 20), count=100,
                                    until=at(2026, 5, 15))) == 8
    once = plan("09:00", on_date=dt.date(2026, 3, 22))
    soonest = schedule.next_of([weekly, once], at(2026, 3, 20))
    assert soonest is not None and soonest[0] is once and soonest[1] == at(2026, 3, 22, 8, 0)
    assert schedule.next_of([], at(2026, 3, 20)) is None
