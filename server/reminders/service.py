"""Reminder rules: what a member chooses, the devices that receive their pushes, and sending
each reminder that falls due exactly once, whatever the number of processes.

Sending: every process looks at the clock now and then (`run_forever`). A reminder is
claimed by inserting its row in `reminders_sent` (the primary key lets one process win), sent
outside any transaction, then marked sent. A claim left behind by a process that stopped
between claiming and sending is taken over once its lease has run out, so a restart misses
nothing within schedule.GRACE; a reminder is sent twice only if a process stalls for longer
than the lease in the middle of sending."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock, i18n, jobs
from server.config import Settings
from server.db import Database, insert_into, transaction
from server.errors import Invalid
from server.i18n import N_
from server.models import Membership, PracticePlan, User
from server.models.reminders import DAILY, Delivery, GroupReminder, Nudge, PushDevice, ReminderHabits, ReminderSent
from server.practice import schedule as practice_schedule
from server.reminders import push, schedule

logger = logging.getLogger("cairn.reminders")

LEASE = dt.timedelta(minutes=2)
# What a push says: "Cairn" and a neutral line, never anything a member wrote.
# Said in the member's own language (their `language`, if offered): a push goes with no
# request to read one from.
TITLE = "Cairn"
WORDS = {
    Nudge.MORNING: N_("A gentle nudge: one small act of care for today, whenever you are ready."),
    Nudge.EVENING: N_("How did today go? Checking in takes a moment, whatever the answer."),
    Nudge.PRACTICE: N_("A practice session starts in %(minutes)s minutes. Come as you are."),
}
# What the service worker says about a push (sw.js), in the same language: its one button,
# and what it shows once that button has turned reminders off (or could not).
ACTION_WORDS = {
    "stop": N_("Stop these reminders"),
    "stopped": N_("Reminders are off. You can choose them again in settings, whenever you like."),
    "not_stopped": N_("That did not go through. You can turn reminders off in settings."),
}


def push_words(nudge: Nudge, language: str) -> str:
    """A reminder's neutral line in a language (a code Cairn speaks)."""
    return i18n.gettext(language, WORDS[nudge], minutes=schedule.PRACTICE_LEAD_MINUTES)


def push_payload(settings: Settings, user_id: int, language: str,
                 due: schedule.Due) -> dict[str, Any]:
    """What one reminder carries to a device: "Cairn", a neutral line and the words of its
    button, in the member's language; never anything anyone wrote. A practice reminder opens
    the group's page, where the session's room is; it names the group by its number only."""
    url = f"/groups/{due.group_id}" if due.group_id is not None else "/groups"
    language = i18n.spoken(language)
    return {"title": TITLE, "lang": language, "body": push_words(due.nudge, language),
            "url": url, "tag": f"cairn-{due.nudge}", "stop": stop_token(settings, user_id),
            "words": {key: i18n.gettext(language, words) for key, words in ACTION_WORDS.items()}}


# -- choosing ---------------------------------------------------------------------------------

# A time that is not one, by the time's name: each a whole sentence, in the reader's language.
TIME_PROBLEMS = {
    "morning": N_("The morning reminder should be a time like 08:30."),
    "evening": N_("The evening reminder should be a time like 08:30."),
    "quiet_from": N_("The start of quiet hours should be a time like 08:30."),
    "quiet_until": N_("The end of quiet hours should be a time like 08:30."),
    "group": N_("The group's reminder should be a time like 08:30."),
    "start": N_("The start should be a time like 08:30."),
}

def local_time(raw: str | None, what: str) -> str | None:
    """"HH:MM" as a member typed it (an empty value is off), or Invalid. `what`: the time's
    key in TIME_PROBLEMS, whose sentence says what is wrong in the reader's language."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        at = dt.time.fromisoformat(raw)
    except ValueError:
        at = None
    if at is None or len(raw) != 5 or at.second or at.tzinfo:
        raise Invalid(TIME_PROBLEMS[what], code="invalid_time")
    return raw


async def habits_of(session: AsyncSession, user_id: int) -> ReminderHabits:
    """The member's choices (all off when they have chosen nothing)."""
    found = await session.get(ReminderHabits, user_id)
    return found or ReminderHabits(user_id=user_id, practice=False)


async def choose(session: AsyncSession, user: User, *, morning: str | None, evening: str | None,
                 quiet_from: str | None, quiet_until: str | None,
                 practice: bool = False) -> ReminderHabits:
    values = {"morning": local_time(morning, "morning"), "evening": local_time(evening, "evening"),
              "quiet_from": local_time(quiet_from, "quiet_from"),
              "quiet_until": local_time(quiet_until, "quiet_until")}
    if (values["quiet_from"] is None) != (values["quiet_until"] is None):
        raise Invalid(N_("Quiet hours need a start and an end."), code="invalid_quiet_hours")
    habits = await session.get(ReminderHabits, user.id)
    if habits is None:
        habits = ReminderHabits(user_id=user.id)
        session.add(habits)
    for name, value in values.items():
        setattr(habits, name, value)
    habits.practice = practice
    habits.updated_at = clock.now()
    await session.flush()
    return habits


SNOOZES = {0: N_("Not snoozed"), 1: N_("For a day"), 3: N_("For three days"), 7: N_("For a week")}


async def snooze(session: AsyncSession, user: User, days: int) -> dt.datetime | None:
    """Hold every reminder for `days` days (0 ends a snooze)."""
    if days not in SNOOZES:
        raise Invalid(N_("Choose how long to snooze from the list."), code="invalid_snooze")
    habits = await session.get(ReminderHabits, user.id)
    if habits is None:
        habits = ReminderHabits(user_id=user.id)
        session.add(habits)
    habits.snoozed_until = clock.now() + dt.timedelta(days=days) if days else None
    habits.updated_at = clock.now()
    await session.flush()
    return habits.snoozed_until


async def stop_all(session: AsyncSession, user_id: int) -> None:
    """Every reminder off, at once (the one tap on a reminder's "Stop these reminders")."""
    habits = await session.get(ReminderHabits, user_id)
    if habits is not None:
        habits.morning = habits.evening = None
        habits.practice = False
        habits.updated_at = clock.now()
    await session.execute(delete(GroupReminder).where(GroupReminder.user_id == user_id))


async def choose_for_group(session: AsyncSession, user: User, group_id: int, nudge: Nudge,
                           choice: str) -> None:
    """For one of the member's groups: "usual", "off" or a time of its own ("on" for the
    practice reminder, which has no time)."""
    if choice == "usual":
        await session.execute(delete(GroupReminder).where(
            GroupReminder.user_id == user.id, GroupReminder.group_id == group_id,
            GroupReminder.nudge == nudge))
        return
    if nudge == Nudge.PRACTICE:
        if choice not in ("on", "off"):
            raise Invalid(N_("Choose from the list."), code="invalid_choice")
        at = GroupReminder.ON if choice == "on" else None
    else:
        at = None if choice == "off" else local_time(choice, "group")
    row = await session.get(GroupReminder, (user.id, group_id, nudge.value))
    if row is None:
        session.add(GroupReminder(user_id=user.id, group_id=group_id, nudge=nudge.value, at=at))
    else:
        row.at = at
    await session.flush()


async def group_choices(session: AsyncSession, user_id: int) -> dict[int, dict[Nudge, str | None]]:
    rows = (await session.scalars(select(GroupReminder).where(GroupReminder.user_id == user_id))).all()
    found: dict[int, dict[Nudge, str | None]] = {}
    for row in rows:
        found.setdefault(row.group_id, {})[Nudge(row.nudge)] = row.at
    return found


def stop_token(settings: Settings, user_id: int) -> str:
    """What a reminder carries to stop every reminder with one tap, without signing in."""
    mac = hmac.new(settings.secret_key.encode(), f"stop-reminders:{user_id}".encode(), hashlib.sha256)
    return f"{user_id}.{mac.hexdigest()}"


def stop_token_user(settings: Settings, token: str) -> int | None:
    who, _, _ = token.partition(".")
    if not (who.isascii() and who.isdigit() and len(who) <= 10):
        return None
    return int(who) if hmac.compare_digest(stop_token(settings, int(who)), token) else None


# -- devices ----------------------------------------------------------------------------------

async def add_device(session: AsyncSession, pusher: push.Pusher, user: User, *, endpoint: str,
                     p256dh: str, auth: str) -> PushDevice:
    """A browser that will receive the member's reminders (the same endpoint again is the
    same device, now the member's)."""
    endpoint = push.accepted_endpoint(pusher.settings, endpoint.strip())
    if not push.usable_keys(p256dh, auth):
        raise Invalid(N_("The device's keys are not ones a browser makes."), code="invalid_push_keys")
    device = await session.scalar(select(PushDevice).where(PushDevice.endpoint == endpoint))
    if device is None:
        device = PushDevice(user_id=user.id, endpoint=endpoint, p256dh=p256dh, auth=auth)
        session.add(device)
    else:
        device.user_id, device.p256dh, device.auth = user.id, p256dh, auth
    await session.flush()
    return device


async def remove_device(session: AsyncSession, user: User, endpoint: str) -> None:
    """This device no longer receives the member's reminders (if it did)."""
    await session.execute(delete(PushDevice).where(
        PushDevice.user_id == user.id, PushDevice.endpoint == endpoint))


async def device_count(session: AsyncSession, user_id: int) -> int:
    return await session.scalar(select(func.count(PushDevice.id)).where(PushDevice.user_id == user_id)) or 0


# -- sending ----------------------------------------------------------------------------------

def _time(value: str | None) -> dt.time | None:
    return dt.time.fromisoformat(value) if value else None


def _habits(user: User, chosen: ReminderHabits, group_ids: list[int],
            own: dict[int, dict[Nudge, str | None]]) -> schedule.Habits:
    return schedule.Habits(
        zone=clock.zone(user.timezone),
        usual={Nudge.MORNING: _time(chosen.morning), Nudge.EVENING: _time(chosen.evening)},
        groups={gid: {n: _time(at) for n, at in own.get(gid, {}).items() if n in DAILY}
                for gid in group_ids},
        practice=bool(chosen.practice),
        practice_in={gid: own[gid][Nudge.PRACTICE] == GroupReminder.ON for gid in group_ids
                     if Nudge.PRACTICE in own.get(gid, {})},
        quiet_from=_time(chosen.quiet_from), quiet_until=_time(chosen.quiet_until),
        snoozed_until=chosen.snoozed_until)


async def _claim(db: Database, user_id: int, due: schedule.Due, now: dt.datetime) -> bool:
    """Whether this process sends this reminder: the first to claim it, or the one that takes
    over a claim whose lease ran out."""
    key = {"user_id": user_id, "nudge": due.nudge.value, "day": due.day, "at": due.at.strftime("%H:%M")}
    async with transaction(db) as session:
        result: Any = await session.execute(insert_into(session, ReminderSent).values(
            **key, state=Delivery.CLAIMED.value, claimed_at=now).on_conflict_do_nothing())
        if result.rowcount == 1:
            return True
        result = await session.execute(update(ReminderSent).where(
            *(getattr(ReminderSent, k) == v for k, v in key.items()),
            ReminderSent.state == Delivery.CLAIMED.value,
            ReminderSent.claimed_at < now - LEASE).values(claimed_at=now))
        return bool(result.rowcount == 1)


async def _deliver(db: Database, pusher: push.Pusher, user_id: int, language: str,
                   due: schedule.Due) -> None:
    async with transaction(db, write=False) as session:
        devices = [push.Device(d.endpoint, d.p256dh, d.auth) for d in (await session.scalars(
            select(PushDevice).where(PushDevice.user_id == user_id))).all()]
    payload = push_payload(pusher.settings, user_id, language, due)
    gone = []
    for device in devices:
        try:
            await pusher.send(device, payload)
        except push.Gone:
            gone.append(device.endpoint)
        except Exception:  # one device's trouble never keeps the reminder from the others
            logger.warning("push to a device failed", exc_info=True)
    async with transaction(db) as session:
        if gone:
            await session.execute(delete(PushDevice).where(PushDevice.endpoint.in_(gone)))
        await session.execute(update(ReminderSent).where(
            ReminderSent.user_id == user_id, ReminderSent.nudge == due.nudge.value,
            ReminderSent.day == due.day, ReminderSent.at == due.at.strftime("%H:%M"),
        ).values(state=Delivery.SENT.value))


async def send_due(db: Database, pusher: push.Pusher, now: dt.datetime | None = None) -> int:
    """Send every reminder due at `now` that no process has sent; how many this one sent."""
    now = now or clock.now()
    async with transaction(db, write=False) as session:
        # Five reads a pass, whatever the number of members: who has a device and chose
        # something, their groups, those groups' own times, the planned sessions, and the
        # reminders of the last hours already taken care of. Only what is left is claimed.
        with_devices = select(PushDevice.user_id)
        rows = (await session.execute(
            select(User, ReminderHabits).join(ReminderHabits, ReminderHabits.user_id == User.id)
            .where(User.id.in_(with_devices)))).all()
        groups: dict[int, list[int]] = {}
        for uid, gid in (await session.execute(select(Membership.user_id, Membership.group_id).where(
                Membership.user_id.in_(with_devices), Membership.state == "active"))).all():
            groups.setdefault(uid, []).append(gid)
        own: dict[int, dict[int, dict[Nudge, str | None]]] = {}
        for row in (await session.scalars(select(GroupReminder).where(
                GroupReminder.user_id.in_(with_devices)))).all():
            own.setdefault(row.user_id, {}).setdefault(row.group_id, {})[Nudge(row.nudge)] = row.at
        starting = practice_schedule.starting_soon(
            (await session.scalars(select(PracticePlan))).all(), now, schedule.PRACTICE_LEAD)
        # And what no process needs to claim again: sent, or claimed by a process whose lease
        # runs. A reminder due now fell due within GRACE, so any claim of it is that recent.
        done = {(r.user_id, r.nudge, r.day, r.at) for r in (await session.execute(
            select(ReminderSent.user_id, ReminderSent.nudge, ReminderSent.day, ReminderSent.at)
            .where(ReminderSent.claimed_at >= now - schedule.GRACE,
                   (ReminderSent.state == Delivery.SENT.value)
                   | (ReminderSent.claimed_at >= now - LEASE)))).all()}
    wanted = []
    for user, chosen in rows:
        mine = groups.get(user.id, [])
        habits = _habits(user, chosen, mine, own.get(user.id, {}))
        sessions = [(gid, start) for gid, start in starting if gid in mine]
        wanted.append((user.id, user.language, schedule.due_now(habits, now)
                       + schedule.practice_due(habits, sessions, now)))
    sent = 0
    for user_id, language, dues in wanted:
        for due in dues:
            if (user_id, due.nudge.value, due.day, due.at.strftime("%H:%M")) in done:
                continue
            if await _claim(db, user_id, due, now):
                await _deliver(db, pusher, user_id, language, due)
                sent += 1
    return sent


async def prune(session: AsyncSession, days: int = 7) -> int:
    result: Any = await session.execute(delete(ReminderSent).where(
        ReminderSent.day < (clock.now() - dt.timedelta(days=days)).date()))
    return int(result.rowcount or 0)


async def run_forever(db: Database, pusher: push.Pusher) -> None:
    async def remind() -> str | None:
        sent = await send_due(db, pusher)
        return f"sent {sent} reminders" if sent else None

    await jobs.every(db.settings.reminder_interval_seconds, remind, logger, "reminder pass")
