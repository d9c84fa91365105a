"""When reminders fall due: local times in the member's zone, across the days the clocks
change, quiet hours, a snooze, and a group's own times (server/reminders/schedule.py)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from server.models.reminders import Nudge
from server.reminders.schedule import GRACE, PRACTICE_LEAD, Habits, due_now, due_on, instant, practice_due

BERLIN = ZoneInfo("Europe/Berlin")
AUCKLAND = ZoneInfo("Pacific/Auckland")
M, E = Nudge.MORNING, Nudge.EVENING


def t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_a_local_time_is_the_members_own_on_ordinary_days():
    habits = Habits(BERLIN, {M: t("08:30"), E: t("20:00")})
    (morning, evening) = due_on(habits, dt.date(2026, 7, 1))
    assert (morning.nudge, morning.when) == (M, utc("2026-07-01T06:30"))  # summer: UTC+2
    assert (evening.nudge, evening.when) == (E, utc("2026-07-01T18:00"))
    (morning, _) = due_on(habits, dt.date(2026, 12, 1))
    assert morning.when == utc("2026-12-01T07:30")  # winter: UTC+1


def test_the_days_the_clocks_change():
    # 29 March 2026: 02:00 becomes 03:00 in Berlin. A time the day skips comes as late as
    # the clocks moved; the others keep their local time.
    habits = Habits(BERLIN, {M: t("02:30"), E: t("20:00")})
    (skipped, evening) = due_on(habits, dt.date(2026, 3, 29))
    assert skipped.when == utc("2026-03-29T01:30")
    assert skipped.when.astimezone(BERLIN).time() == t("03:30")
    assert evening.when == utc("2026-03-29T18:00")  # already UTC+2
    # 25 October 2026: 03:00 becomes 02:00 again; 02:30 happens twice and is reminded once,
    # at its first occurrence.
    doubled = due_on(Habits(BERLIN, {M: t("02:30")}), dt.date(2026, 10, 25))
    assert [d.when for d in doubled] == [utc("2026-10-25T00:30")]
    # Across the change, each local day has its reminder at its local time, once.
    days = [dt.date(2026, 10, 24) + dt.timedelta(days=n) for n in range(3)]
    whens = [d.when.astimezone(BERLIN) for day in days for d in due_on(Habits(BERLIN, {M: t("08:00")}), day)]
    assert [(w.date(), w.time()) for w in whens] == [(day, t("08:00")) for day in days]


def test_quiet_hours_hold_a_reminder_until_they_end():
    habits = Habits(BERLIN, {M: t("06:30"), E: t("23:15")}, quiet_from=t("22:00"), quiet_until=t("07:00"))
    morning, evening = due_on(habits, dt.date(2026, 7, 1))
    assert morning.when.astimezone(BERLIN) == dt.datetime(2026, 7, 1, 7, 0, tzinfo=BERLIN)
    # Across midnight: the late reminder waits for the next morning, still named for its day.
    assert evening.day == dt.date(2026, 7, 1)
    assert evening.when.astimezone(BERLIN) == dt.datetime(2026, 7, 2, 7, 0, tzinfo=BERLIN)
    # Quiet hours within a day.
    habits = Habits(BERLIN, {M: t("13:30")}, quiet_from=t("13:00"), quiet_until=t("14:00"))
    assert due_on(habits, dt.date(2026, 7, 1))[0].when.astimezone(BERLIN).time() == t("14:00")


def test_a_snooze_drops_what_falls_within_it():
    habits = Habits(BERLIN, {M: t("08:00"), E: t("20:00")}, snoozed_until=utc("2026-07-01T12:00"))
    assert [d.nudge for d in due_on(habits, dt.date(2026, 7, 1))] == [E]
    assert len(due_on(habits, dt.date(2026, 7, 2))) == 2


def test_a_group_can_keep_its_own_time_or_be_quiet():
    habits = Habits(BERLIN, {M: t("08:00"), E: None}, groups={1: {}, 2: {M: t("09:00"), E: t("21:00")}, 3: {M: None}})
    due = due_on(habits, dt.date(2026, 7, 1))
    assert [(d.nudge, d.at) for d in due] == [(M, t("08:00")), (M, t("09:00")), (E, t("21:00"))]
    # Two groups at the same time: one reminder.
    habits = Habits(BERLIN, {M: t("08:00")}, groups={1: {}, 2: {M: t("08:00")}})
    assert len(due_on(habits, dt.date(2026, 7, 1))) == 1
    # Every group quiet: nothing.
    assert due_on(Habits(BERLIN, {M: t("08:00")}, groups={1: {M: None}}), dt.date(2026, 7, 1)) == []
    # Nothing chosen: nothing at all (reminders are off until chosen).
    assert due_on(Habits(BERLIN, {}), dt.date(2026, 7, 1)) == []


def test_what_is_due_now_includes_a_reminder_missed_within_the_grace():
    habits = Habits(AUCKLAND, {M: t("07:00")})
    at = instant(dt.date(2026, 7, 2), t("07:00"), AUCKLAND)
    assert due_now(habits, at - dt.timedelta(seconds=1)) == []
    assert [d.day for d in due_now(habits, at)] == [dt.date(2026, 7, 2)]
    assert len(due_now(habits, at + GRACE - dt.timedelta(seconds=1))) == 1
    assert due_now(habits, at + GRACE) == []


# -- before a planned practice session -------------------------------------------------------

P = Nudge.PRACTICE


def test_a_practice_reminder_goes_in_the_quarter_hour_before_a_session_and_not_after():
    habits = Habits(BERLIN, {}, practice=True)
    start = utc("2026-07-02T16:30")  # 18:30 in Berlin
    sessions = [(1, start)]
    assert practice_due(habits, sessions, start - PRACTICE_LEAD - dt.timedelta(seconds=1)) == []
    (due,) = practice_due(habits, sessions, start - PRACTICE_LEAD)
    assert (due.nudge, due.day, due.at, due.when, due.group_id) == (
        P, dt.date(2026, 7, 2), t("18:30"), start - PRACTICE_LEAD, 1)
    assert practice_due(habits, sessions, start - dt.timedelta(seconds=1)) != []
    assert practice_due(habits, sessions, start) == []  # "starts in 15 minutes" would be wrong now


def test_each_group_may_want_it_or_not_and_one_moment_is_one_push():
    start = utc("2026-07-02T16:30")
    now = start - dt.timedelta(minutes=10)
    off_but_one = Habits(BERLIN, {}, practice=False, practice_in={2: True})
    assert [d.group_id for d in practice_due(off_but_one, [(1, start), (2, start)], now)] == [2]
    on_but_one = Habits(BERLIN, {}, practice=True, practice_in={1: False})
    assert [d.group_id for d in practice_due(on_but_one, [(1, start), (2, start)], now)] == [2]
    both = Habits(BERLIN, {}, practice=True)
    assert len(practice_due(both, [(1, start), (2, start)], now)) == 1  # the same moment: one push
    later = start + dt.timedelta(minutes=5)
    assert len(practice_due(both, [(1, start), (2, later)], now)) == 2


def test_quiet_hours_and_a_snooze_drop_a_practice_reminder_rather_than_hold_it():
    start = utc("2026-07-02T20:30")  # 22:30 in Berlin
    now = start - dt.timedelta(minutes=10)
    quiet = Habits(BERLIN, {}, practice=True, quiet_from=t("22:00"), quiet_until=t("07:00"))
    assert practice_due(quiet, [(1, start)], now) == []
    resting = Habits(BERLIN, {}, practice=True, snoozed_until=start + dt.timedelta(days=1))
    assert practice_due(resting, [(1, start)], now) == []
    # And the daily reminders never include it, whatever time it were given.
    given = Habits(BERLIN, {M: t("08:00"), P: t("08:00")}, groups={1: {P: t("09:00")}}, practice=True)
    assert [d.nudge for d in due_on(given, dt.date(2026, 7, 2))] == [M]
