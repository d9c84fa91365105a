"""When reminders fall due: local times in the member's zone, across the days the clocks
change, quiet hours, a snooze, and a group's own times (server/reminders/schedule.py)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from server.models.reminders import Nudge
from server.reminders.schedule import GRACE, Habits, due_now, due_on, instant

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
