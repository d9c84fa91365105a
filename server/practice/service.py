"""Planned practice sessions: moderators plan and delete them; each member may keep a private
calendar link (an .ics feed) of every plan of every group they are in.

The link's token is shown once to its owner and kept only as its sha256, so the database alone
opens nobody's calendar; making a new link or stopping it makes the old one answer 404, as does
any token nobody holds. The feed is read at each request, so a member who leaves or is removed
from a group stops seeing its plans at the calendar's next refresh, and a deleted account's
link (its row goes with the account) is a 404."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from babel.dates import format_skeleton
from icalendar import Calendar, Event
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock, events, formats, i18n
from server.deps import Member
from server.errors import Invalid, NotFound
from server.i18n import N_
from server.models import Group, Membership, User
from server.models.practice import CalendarFeed, PracticePlan
from server.moderation.service import audit
from server.practice import schedule, sessions
from server.realtime import log
from server.reminders.service import local_time
from server.text import storable

TITLE_MAX = 80
TITLE_DEFAULT = N_("Practice session")  # in the planner's language
MINUTES_MIN, MINUTES_MAX, MINUTES_DEFAULT = 5, 480, 60
PLANS_MAX = 20  # per group: enough for any week, and it bounds every feed
# The weekdays' names a plan's form and the API accept (the form shows them in the reader's
# language: `weekday_choices`).
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
A_MONDAY = dt.date(2024, 1, 1)
# How far ahead the feed lists each plan's sessions (weekly plans are written out, one event
# per session, rather than as a rule each calendar app would interpret on its own).
FEED_WEEKS = 8
# What a calendar shows by default: calendars are shared and synced, so no group's name.
NEUTRAL_TITLE = N_("Cairn practice")
_NO_PLAN = N_("We could not find that planned session.")
_NO_FEED = N_("We could not find that calendar.")
# Carries a new calendar link's token from the form to the one page that shows it, once.
NEW_LINK_COOKIE = "cairn_calendar_link"


# -- plans ------------------------------------------------------------------------------------

def check_plan(*, title: str | None, zone: str | None, starts: str | None, repeat: str | None,
               on_date: str | None, weekday: str | int | None, minutes: int | None,
               default_zone: str, today: dt.date | None = None,
               language: str = i18n.SOURCE) -> dict[str, object]:
    """The fields of a plan as a moderator gave them, each checked with a clear message.
    language: the planner's; the plan's sessions open their rooms in it (and a plan with no
    title is named in it)."""
    clean_title = (storable((title or "").strip(), "A title")
                   or i18n.gettext(language, TITLE_DEFAULT))
    if len(clean_title) > TITLE_MAX:
        raise Invalid(N_("A title has at most %(limit)s characters."), code="invalid_title",
                      params={"limit": TITLE_MAX})
    clean_zone = (zone or "").strip() or default_zone
    if not clock.is_timezone(clean_zone):
        raise Invalid(N_("That is not a timezone we know (try one like Europe/Berlin)."),
                      code="invalid_timezone")
    clean_starts = local_time(starts, "start")
    if clean_starts is None:
        raise Invalid(N_("Give the start, a time like 18:30."), code="invalid_time")
    length = MINUTES_DEFAULT if minutes is None else minutes
    if not MINUTES_MIN <= length <= MINUTES_MAX:
        raise Invalid(N_("A session lasts from %(low)s to %(high)s minutes."),
                      code="invalid_minutes", params={"low": MINUTES_MIN, "high": MINUTES_MAX})
    values: dict[str, object] = {"title": clean_title, "zone": clean_zone, "starts": clean_starts,
                                 "minutes": length, "on_date": None, "weekday": None,
                                 "language": language}
    if repeat == "weekly":
        day = weekday if isinstance(weekday, int) else _weekday(weekday)
        if day is None or not 0 <= day <= 6:
            raise Invalid(N_("Choose the day of the week."), code="invalid_weekday")
        values["weekday"] = day
    elif repeat == "once":
        try:
            when = dt.date.fromisoformat(on_date) if on_date and len(on_date) == 10 else None
        except ValueError:
            when = None
        if when is None:
            raise Invalid(N_("Give the date, like 2026-03-14."), code="invalid_date")
        local_today = today or clock.local_today(clean_zone)
        if when < local_today:
            raise Invalid(N_("That date has passed. Choose today or a later day."),
                          code="date_passed")
        if when > local_today + dt.timedelta(days=731):
            raise Invalid(N_("Plan at most two years ahead."), code="date_too_far")
        values["on_date"] = when
    else:
        raise Invalid(N_("Choose once or every week."), code="invalid_repeat")
    return values


def _weekday(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    if raw.isascii() and raw.isdigit() and len(raw) == 1:
        return int(raw)
    names = [w.lower() for w in WEEKDAYS]
    return names.index(raw.lower()) if raw.lower() in names else None


# Built once, with its values as parameters: every day page asks (docs/performance.md,
# "Statements built once").
_PLANS = (select(PracticePlan).where(PracticePlan.group_id == bindparam("group_id"))
          .order_by(PracticePlan.id))


async def plans_of(session: AsyncSession, group_id: int) -> list[PracticePlan]:
    return list((await session.scalars(_PLANS, {"group_id": group_id})).all())


async def create_plan(session: AsyncSession, moderator: User, group_id: int,
                      values: dict[str, object]) -> PracticePlan:
    # Two moderators planning at once: the group row's lock keeps the count true.
    await session.execute(select(Group.id).where(Group.id == group_id).with_for_update())
    count = await session.scalar(select(func.count()).select_from(PracticePlan)
                                 .where(PracticePlan.group_id == group_id))
    if (count or 0) >= PLANS_MAX:
        raise Invalid(N_("A group keeps at most %(limit)s planned sessions. Delete one first."),
                      code="too_many_plans", params={"limit": PLANS_MAX})
    plan = PracticePlan(group_id=group_id, planned_by=moderator.id, created_at=clock.now(), **values)
    session.add(plan)
    await session.flush()
    await _changed(session, moderator, plan, "plan")
    return plan


async def delete_plan(session: AsyncSession, moderator: User, group_id: int, plan_id: int) -> None:
    plan = await session.scalar(select(PracticePlan).where(PracticePlan.id == plan_id,
                                                           PracticePlan.group_id == group_id))
    if plan is None:
        raise NotFound(_NO_PLAN, code="plan_not_found")
    await _changed(session, moderator, plan, "unplan")
    await session.delete(plan)
    await session.flush()


async def _changed(session: AsyncSession, moderator: User, plan: PracticePlan, action: str) -> None:
    """Planning is moderation: in the group's log for every member to read, and live on every
    open page of the group."""
    await audit(session, plan.group_id, moderator, action, f"{plan.title} ({describe(plan)})", None)
    await log.append(session, plan.group_id, events.PracticeChanged(plan_id=plan.id), moderator)


def weekday_choices(language: str) -> list[tuple[int, str]]:
    """The days of the week a plan's form offers, Monday (0) first, in a language."""
    return [(n, formats.weekday(A_MONDAY + dt.timedelta(days=n), language)) for n in range(7)]


def describe(plan: PracticePlan, language: str = i18n.SOURCE) -> str:
    """How the plan reads, in its own zone: "Every Thursday, 18:30 (Europe/Berlin), 60 min".
    In English unless a language is given (the moderation log keeps it as written then)."""
    values = {"time": plan.starts, "zone": plan.zone, "minutes": plan.minutes}
    if plan.weekday is not None:
        weekday = formats.weekday(A_MONDAY + dt.timedelta(days=plan.weekday), language)
        return i18n.gettext(language, N_("Every %(weekday)s, %(time)s (%(zone)s), %(minutes)s min"),
                    weekday=weekday, **values)
    assert plan.on_date is not None
    day = format_skeleton("yMMMMEEEEd", plan.on_date, locale=formats.locale(language))
    return i18n.gettext(language, N_("%(day)s, %(time)s (%(zone)s), %(minutes)s min"), day=day, **values)


def next_label(at: dt.datetime, timezone: str, now: dt.datetime,
               language: str = i18n.SOURCE) -> str:
    """A session's start as the reader says it, in their zone and language: "Today 18:30",
    "Thursday 18:30" (this week), or "Thursday 4 March, 18:30"."""
    zone = clock.zone(timezone)
    local, today = at.astimezone(zone), now.astimezone(zone).date()
    days = (local.date() - today).days
    time = formats.time_of_day(local, language)
    if days == 0:
        return i18n.gettext(language, N_("Today %(time)s"), time=time)
    if days == 1:
        return i18n.gettext(language, N_("Tomorrow %(time)s"), time=time)
    if days < 7:
        return i18n.gettext(language, N_("%(weekday)s %(time)s"),
                    weekday=formats.weekday(local, language), time=time)
    return i18n.gettext(language, N_("%(day)s, %(time)s"), day=formats.day(local, language), time=time)


async def day_line(session: AsyncSession, member: Member, plans: list[PracticePlan],
                   language: str | None = None) -> dict[str, Any]:
    """What the group's day says about practice, for this member, in `language` (the page's;
    their own when not given, if Cairn offers it): the next session of the group's `plans` in
    their zone, whether today's did not happen, and (moderators) why, for those who should
    know."""
    if language is None:
        own = member.user.language
        language = own if own in i18n.installed().offered else i18n.SOURCE
    now = clock.now()
    coming = schedule.next_of(plans, now)
    return {"next_practice": (next_label(coming[1], member.user.timezone, now, language)
                              if coming else None),
            "not_today": await sessions.not_today(session, member.group.id, now),
            "unmoderated_minutes": sessions.UNMODERATED_MINUTES,
            "practice_notices": (await sessions.notices_for(session, member.group.id, member.user.id,
                                                            now, language)
                                 if member.is_moderator else [])}


# -- calendar links ---------------------------------------------------------------------------

def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def feed_of(session: AsyncSession, user_id: int) -> CalendarFeed | None:
    return await session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == user_id))


async def make_feed(session: AsyncSession, user: User, show_group_names: bool) -> str:
    """A new calendar link for the member (any earlier one stops); the token, shown once."""
    await session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user.id))
    token = secrets.token_urlsafe(24)
    session.add(CalendarFeed(user_id=user.id, token_hash=token_hash(token),
                             show_group_names=show_group_names, created_at=clock.now()))
    await session.flush()
    return token


async def stop_feed(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user_id))


async def feed_plans(session: AsyncSession, token: str
                     ) -> tuple[CalendarFeed, str, list[tuple[PracticePlan, Group]]]:
    """The feed a token opens, its owner's language (if Cairn offers it, else English) and
    the plans of the groups its owner is an active member of; 404 alike for a wrong, stopped
    or deleted account's token."""
    if not token or len(token) > 128:
        raise NotFound(_NO_FEED, code="calendar_not_found")
    found = (await session.execute(
        select(CalendarFeed, User.language).join(User, User.id == CalendarFeed.user_id)
        .where(CalendarFeed.token_hash == token_hash(token)))).first()
    if found is None:
        raise NotFound(_NO_FEED, code="calendar_not_found")
    feed, language = found
    if language not in i18n.installed().offered:
        language = i18n.SOURCE
    rows = await session.execute(
        select(PracticePlan, Group).join(Group, Group.id == PracticePlan.group_id)
        .join(Membership, Membership.group_id == Group.id)
        .where(Membership.user_id == feed.user_id, Membership.state == "active")
        .order_by(PracticePlan.id))
    return feed, language, [(p, g) for p, g in rows.all()]


def calendar(plans: list[tuple[PracticePlan, Group]], now: dt.datetime, *,
             show_group_names: bool, language: str = i18n.SOURCE) -> bytes:
    """The .ics: each plan's sessions over the next FEED_WEEKS weeks, each at its local time
    with the plan's zone (TZID, with its VTIMEZONE). Titles are neutral (in the member's
    `language`) unless the member chose to see the groups' names."""
    neutral = i18n.gettext(language, NEUTRAL_TITLE)
    cal = Calendar()
    cal.add("prodid", "-//Cairn//Practice sessions//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", neutral)
    cal.add("refresh-interval", dt.timedelta(hours=6), parameters={"VALUE": "DURATION"})
    until = now + dt.timedelta(weeks=FEED_WEEKS)
    for plan, group in plans:
        zone = clock.zone(plan.zone)
        for start in schedule.occurrences(plan, now, count=FEED_WEEKS + 1, until=until):
            local = start.astimezone(zone)
            event = Event()
            event.add("uid", f"plan-{plan.id}-{local:%Y%m%d}@cairn")
            event.add("dtstamp", now)
            event.add("dtstart", local)
            event.add("dtend", (start + dt.timedelta(minutes=plan.minutes)).astimezone(zone))
            event.add("summary", f"{group.name}: {plan.title}" if show_group_names else neutral)
            event.add("transp", "OPAQUE")
            cal.add_component(event)
    # Each zone's rules from a year back to a year past the feed's end: a short VTIMEZONE.
    cal.add_missing_timezones(first_date=(now - dt.timedelta(days=366)).date(),
                              last_date=(until + dt.timedelta(days=366)).date())
    body: bytes = cal.to_ical()
    return body
