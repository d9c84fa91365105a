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

from icalendar import Calendar, Event
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock, events
from server.deps import Member
from server.errors import Invalid, NotFound
from server.models import Group, Membership, User
from server.models.practice import CalendarFeed, PracticePlan
from server.moderation.service import audit
from server.practice import schedule, sessions
from server.realtime import log
from server.reminders.service import local_time
from server.text import storable

TITLE_MAX = 80
TITLE_DEFAULT = "Practice session"
MINUTES_MIN, MINUTES_MAX, MINUTES_DEFAULT = 5, 480, 60
PLANS_MAX = 20  # per group: enough for any week, and it bounds every feed
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# How far ahead the feed lists each plan's sessions (weekly plans are written out, one event
# per session, rather than as a rule each calendar app would interpret on its own).
FEED_WEEKS = 8
# What a calendar shows by default: calendars are shared and synced, so no group's name.
NEUTRAL_TITLE = "Cairn practice"
_NO_PLAN = "We could not find that planned session."
_NO_FEED = "We could not find that calendar."
# Carries a new calendar link's token from the form to the one page that shows it, once.
NEW_LINK_COOKIE = "cairn_calendar_link"


# -- plans ------------------------------------------------------------------------------------

def check_plan(*, title: str | None, zone: str | None, starts: str | None, repeat: str | None,
               on_date: str | None, weekday: str | int | None, minutes: int | None,
               default_zone: str, today: dt.date | None = None) -> dict[str, object]:
    """The fields of a plan as a moderator gave them, each checked with a clear message."""
    clean_title = storable((title or "").strip(), "A title") or TITLE_DEFAULT
    if len(clean_title) > TITLE_MAX:
        raise Invalid(f"A title has at most {TITLE_MAX} characters.", code="invalid_title")
    clean_zone = (zone or "").strip() or default_zone
    if not clock.is_timezone(clean_zone):
        raise Invalid("That is not a timezone we know (try one like Europe/Berlin).",
                      code="invalid_timezone")
    clean_starts = local_time(starts, "The start")
    if clean_starts is None:
        raise Invalid("Give the start, a time like 18:30.", code="invalid_time")
    length = MINUTES_DEFAULT if minutes is None else minutes
    if not MINUTES_MIN <= length <= MINUTES_MAX:
        raise Invalid(f"A session lasts from {MINUTES_MIN} to {MINUTES_MAX} minutes.",
                      code="invalid_minutes")
    values: dict[str, object] = {"title": clean_title, "zone": clean_zone, "starts": clean_starts,
                                 "minutes": length, "on_date": None, "weekday": None}
    if repeat == "weekly":
        day = weekday if isinstance(weekday, int) else _weekday(weekday)
        if day is None or not 0 <= day <= 6:
            raise Invalid("Choose the day of the week.", code="invalid_weekday")
        values["weekday"] = day
    elif repeat == "once":
        try:
            when = dt.date.fromisoformat(on_date) if on_date and len(on_date) == 10 else None
        except ValueError:
            when = None
        if when is None:
            raise Invalid("Give the date, like 2026-03-14.", code="invalid_date")
        local_today = today or clock.local_today(clean_zone)
        if when < local_today:
            raise Invalid("That date has passed. Choose today or a later day.", code="date_passed")
        if when > local_today + dt.timedelta(days=731):
            raise Invalid("Plan at most two years ahead.", code="date_too_far")
        values["on_date"] = when
    else:
        raise Invalid("Choose once or every week.", code="invalid_repeat")
    return values


def _weekday(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    if raw.isascii() and raw.isdigit() and len(raw) == 1:
        return int(raw)
    names = [w.lower() for w in WEEKDAYS]
    return names.index(raw.lower()) if raw.lower() in names else None


async def plans_of(session: AsyncSession, group_id: int) -> list[PracticePlan]:
    return list((await session.scalars(
        select(PracticePlan).where(PracticePlan.group_id == group_id).order_by(PracticePlan.id))).all())


async def create_plan(session: AsyncSession, moderator: User, group_id: int,
                      values: dict[str, object]) -> PracticePlan:
    # Two moderators planning at once: the group row's lock keeps the count true.
    await session.execute(select(Group.id).where(Group.id == group_id).with_for_update())
    count = await session.scalar(select(func.count()).select_from(PracticePlan)
                                 .where(PracticePlan.group_id == group_id))
    if (count or 0) >= PLANS_MAX:
        raise Invalid(f"A group keeps at most {PLANS_MAX} planned sessions. Delete one first.",
                      code="too_many_plans")
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


def describe(plan: PracticePlan) -> str:
    """How the plan reads, in its own zone: "Every Thursday, 18:30 (Europe/Berlin), 60 min"."""
    if plan.weekday is not None:
        when = f"Every {WEEKDAYS[plan.weekday]}"
    else:
        assert plan.on_date is not None
        when = f"{plan.on_date:%A} {plan.on_date.day} {plan.on_date:%B %Y}"
    return f"{when}, {plan.starts} ({plan.zone}), {plan.minutes} min"


def next_label(at: dt.datetime, timezone: str, now: dt.datetime) -> str:
    """A session's start as the reader says it, in their zone: "Today 18:30", "Thursday
    18:30" (this week), or "Thursday 4 March, 18:30"."""
    zone = clock.zone(timezone)
    local, today = at.astimezone(zone), now.astimezone(zone).date()
    days = (local.date() - today).days
    if days <= 0:
        return f"Today {local:%H:%M}" if days == 0 else f"{local:%A} {local:%H:%M}"
    if days == 1:
        return f"Tomorrow {local:%H:%M}"
    if days < 7:
        return f"{local:%A} {local:%H:%M}"
    return f"{local:%A} {local.day} {local:%B}, {local:%H:%M}"


async def day_line(session: AsyncSession, member: Member,
                   plans: list[PracticePlan]) -> dict[str, Any]:
    """What the group's day says about practice, for this member: the next session of the
    group's `plans` in their zone, whether today's did not happen, and (moderators) why, for
    those who should know."""
    now = clock.now()
    coming = schedule.next_of(plans, now)
    return {"next_practice": next_label(coming[1], member.user.timezone, now) if coming else None,
            "not_today": await sessions.not_today(session, member.group.id, now),
            "unmoderated_minutes": sessions.UNMODERATED_MINUTES,
            "practice_notices": (await sessions.notices_for(session, member.group.id, member.user.id, now)
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


async def feed_plans(session: AsyncSession, token: str) -> tuple[CalendarFeed, list[tuple[PracticePlan, Group]]]:
    """The feed a token opens and the plans of the groups its owner is an active member of;
    404 alike for a wrong, stopped or deleted account's token."""
    if not token or len(token) > 128:
        raise NotFound(_NO_FEED, code="calendar_not_found")
    feed = await session.scalar(select(CalendarFeed).join(User, User.id == CalendarFeed.user_id)
                                .where(CalendarFeed.token_hash == token_hash(token)))
    if feed is None:
        raise NotFound(_NO_FEED, code="calendar_not_found")
    rows = await session.execute(
        select(PracticePlan, Group).join(Group, Group.id == PracticePlan.group_id)
        .join(Membership, Membership.group_id == Group.id)
        .where(Membership.user_id == feed.user_id, Membership.state == "active")
        .order_by(PracticePlan.id))
    return feed, [(p, g) for p, g in rows.all()]


def calendar(plans: list[tuple[PracticePlan, Group]], now: dt.datetime, *,
             show_group_names: bool) -> bytes:
    """The .ics: each plan's sessions over the next FEED_WEEKS weeks, each at its local time
    with the plan's zone (TZID, with its VTIMEZONE). Titles are neutral unless the member
    chose to see the groups' names."""
    cal = Calendar()
    cal.add("prodid", "-//Cairn//Practice sessions//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "Cairn practice")
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
            event.add("summary", f"{group.name}: {plan.title}" if show_group_names else NEUTRAL_TITLE)
            event.add("transp", "OPAQUE")
            cal.add_component(event)
    # Each zone's rules from a year back to a year past the feed's end: a short VTIMEZONE.
    cal.add_missing_timezones(first_date=(now - dt.timedelta(days=366)).date(),
                              last_date=(until + dt.timedelta(days=366)).date())
    body: bytes = cal.to_ical()
    return body
