"""Reminders by Web Push, end to end without the internet: a push service on this machine
checks each request's VAPID signature and decrypts it with keys of subscriptions the test
made, on both databases, with a controlled clock: each reminder once across two processes, a
restart in the middle missing none, gone devices removed, nothing private in a push, and a
reminder once on the nights the clocks change."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from server import clock
from server.db import Database, transaction
from server.errors import Invalid
from server.models import Group, Membership, User
from server.models.reminders import Nudge, PushDevice, ReminderSent
from server.reminders import push, service
from tests.fixtures.clients import make_settings
from tests.reminders.push_service import PushService, verify_vapid

PRIVATE, PUBLIC = push.new_keys()
_names = itertools.count(1)


def settings_for(database_url: str, service_: PushService):
    return make_settings(database_url, vapid_private_key=PRIVATE, vapid_subject="mailto:care@cairn.example",
                         push_services=[service_.origin], reminder_interval_seconds=0)


async def member(db: Database, timezone: str, *, morning: str | None = None, evening: str | None = None,
                 quiet: tuple[str, str] | None = None) -> User:
    async with transaction(db) as session:
        user = User(username=f"rem{next(_names)}", display_name="Ari Secretname", password_hash="x",
                    timezone=timezone)
        session.add(user)
        await session.flush()
        await service.choose(session, user, morning=morning, evening=evening,
                             quiet_from=quiet[0] if quiet else None, quiet_until=quiet[1] if quiet else None)
    return user


async def device(db: Database, pusher: push.Pusher, user: User, sub) -> None:
    async with transaction(db) as session:
        await service.add_device(session, pusher, user, endpoint=sub.endpoint, **sub.keys)


@contextlib.asynccontextmanager
async def reminding(database_url: str, **keys: Any) -> AsyncIterator[tuple[PushService, Database, push.Pusher]]:
    """A push service on this machine, and Cairn's database and pusher sending to it."""
    async with PushService(**keys) as ps:
        settings = settings_for(database_url, ps)
        db = Database(settings)
        try:
            yield ps, db, push.Pusher(settings)
        finally:
            await db.dispose()


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


async def test_a_reminder_arrives_signed_and_encrypted_and_says_nothing_private(database_url):
    async with reminding(database_url, application_key=PUBLIC) as (ps, db, pusher):
        assert push.public_key(pusher.settings) == PUBLIC
        ari = await member(db, "Pacific/Auckland", morning="07:30", evening="21:00")
        phone, laptop = ps.subscribe(), ps.subscribe()
        await device(db, pusher, ari, phone)
        await device(db, pusher, ari, laptop)
        # 07:30 in Auckland on 1 July (UTC+12) is 19:30 UTC the day before.
        assert await service.send_due(db, pusher, utc("2026-06-30T19:29:59")) == 0
        assert await service.send_due(db, pusher, utc("2026-06-30T19:30:00")) == 1
        assert ps.refused == []
        assert sorted(r.endpoint for r in ps.received) == sorted([phone.endpoint, laptop.endpoint])
        for r in ps.received:
            assert r.payload["title"] == "Cairn"
            assert r.payload["body"] == service.push_words(Nudge.MORNING, "en")
            assert "Secretname" not in str(r.payload) and "Ari" not in str(r.payload)
            assert r.claims["sub"] == "mailto:care@cairn.example" and r.ttl == push.TTL
        # Once: the next passes that day send nothing more until the evening.
        assert await service.send_due(db, pusher, utc("2026-06-30T19:31:00")) == 0
        assert await service.send_due(db, pusher, utc("2026-07-01T09:00:00")) == 1
        assert [r.payload["body"] for r in ps.received][2:] == [service.push_words(Nudge.EVENING, "en")] * 2


async def test_the_checker_refuses_a_bad_signature():
    private, public = push.new_keys()
    other_private, other_public = push.new_keys()
    async with PushService(application_key=public) as ps:
        sub = ps.subscribe()
        from pywebpush import WebPushException, webpush_async

        with pytest.raises(WebPushException):  # signed with a key browsers did not subscribe with
            await webpush_async({"endpoint": sub.endpoint, "keys": sub.keys}, data="{}",
                                vapid_private_key=other_private, vapid_claims={"sub": "mailto:x@y.example"})
        assert ps.received == [] and "another key" in ps.refused[-1]
    with pytest.raises(ValueError):
        verify_vapid("vapid t=a.b.c, k=" + other_public)


async def test_two_processes_send_each_reminder_once(database_url):
    async with PushService() as ps:
        settings = settings_for(database_url, ps)
        first, second = Database(settings), Database(settings)  # two processes' engines
        pusher = push.Pusher(settings)
        try:
            people = [await member(first, zone, morning="08:00", evening="20:00")
                      for zone in ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC")]
            for person in people:
                await device(first, pusher, person, ps.subscribe())
            # Every minute of a day and a half, both processes look at once.
            start = utc("2026-07-01T00:00:00")
            for minute in range(0, 36 * 60, 7):
                now = start + dt.timedelta(minutes=minute)
                await asyncio.gather(service.send_due(first, pusher, now), service.send_due(second, pusher, now))
            # Each member's local day: Berlin, Kolkata and UTC have a morning, an evening and the
            # next morning in that time; New York the evening before, a morning and an evening.
            per_device: dict[str, list[str]] = {}
            for r in ps.received:
                per_device.setdefault(r.endpoint, []).append(r.payload["body"])
            assert len(per_device) == 4 and ps.refused == []
            assert all(len(bodies) == 3 for bodies in per_device.values()), per_device
            async with transaction(first, write=False) as session:
                rows = (await session.execute(select(ReminderSent.user_id, ReminderSent.day,
                                                     ReminderSent.nudge))).all()
            assert len(rows) == len(set(rows)) == 12
        finally:
            await first.dispose()
            await second.dispose()


async def test_a_restart_between_claiming_and_sending_misses_nothing(database_url):
    async with reminding(database_url) as (ps, db, pusher):
        sam = await member(db, "Europe/Berlin", morning="08:00")
        await device(db, pusher, sam, ps.subscribe())
        due = utc("2026-07-01T06:00:00")

        class Crash(BaseException):  # the process stops: nothing after it runs
            pass

        async def crash(device, payload):
            raise Crash

        crashing = push.Pusher(pusher.settings)
        crashing.send = crash  # type: ignore[method-assign]
        with pytest.raises(Crash):  # the process stops after claiming, before the push went
            await service.send_due(db, crashing, due)
        assert ps.received == []
        # Another process, within the lease: the claim is still someone's.
        assert await service.send_due(db, pusher, due + service.LEASE - dt.timedelta(seconds=1)) == 0
        # After it: taken over and sent, once.
        assert await service.send_due(db, pusher, due + service.LEASE + dt.timedelta(seconds=1)) == 1
        assert await service.send_due(db, pusher, due + 2 * service.LEASE + dt.timedelta(seconds=2)) == 0
        assert len(ps.received) == 1
        async with transaction(db, write=False) as session:
            states = (await session.scalars(select(ReminderSent.state))).all()
        assert states == ["sent"]


async def test_a_device_the_push_service_says_is_gone_is_removed(database_url):
    async with reminding(database_url) as (ps, db, pusher):
        kai = await member(db, "UTC", evening="19:00")
        kept, old = ps.subscribe(), ps.subscribe()
        await device(db, pusher, kai, kept)
        await device(db, pusher, kai, old)
        ps.gone.add(old.endpoint)
        assert await service.send_due(db, pusher, utc("2026-07-01T19:00:00")) == 1
        async with transaction(db, write=False) as session:
            left = (await session.scalars(select(PushDevice.endpoint))).all()
        assert left == [kept.endpoint]
        assert [r.endpoint for r in ps.received] == [kept.endpoint]


async def test_a_device_the_push_service_no_longer_knows_is_removed_and_the_others_still_hear(database_url):
    async with reminding(database_url) as (ps, db, pusher):
        kai = await member(db, "UTC", evening="19:00")
        phone, forgotten, laptop = ps.subscribe(), ps.subscribe(), ps.subscribe()
        for sub in (phone, forgotten, laptop):
            await device(db, pusher, kai, sub)
        ps.unknown.add(forgotten.endpoint)  # the push service answers 404 for it
        assert await service.send_due(db, pusher, utc("2026-07-01T19:00:00")) == 1
        async with transaction(db, write=False) as session:
            left = (await session.scalars(select(PushDevice.endpoint))).all()
        assert sorted(left) == sorted([phone.endpoint, laptop.endpoint])
        assert sorted(r.endpoint for r in ps.received) == sorted([phone.endpoint, laptop.endpoint])
        assert ps.refused == []


async def test_only_the_configured_push_services_are_ever_called(database_url):
    async with reminding(database_url) as (ps, db, pusher):
        lee = await member(db, "UTC", morning="08:00")
        sub = ps.subscribe()
        async with transaction(db) as session:
            for endpoint in ("http://127.0.0.1:6379/", "http://169.254.169.254/latest/meta-data",
                             "https://fcm.googleapis.com.evil.example/x", "file:///etc/passwd",
                             f"{ps.origin}@evil.example/push/x", "", ps.origin):
                with pytest.raises(Invalid):
                    await service.add_device(session, pusher, lee, endpoint=endpoint, **sub.keys)
            with pytest.raises(Invalid):
                await service.add_device(session, pusher, lee, endpoint=sub.endpoint, p256dh="", auth="x")
        default = make_settings(database_url)
        assert push.accepted_endpoint(default, "https://fcm.googleapis.com/fcm/send/abc")
        assert push.accepted_endpoint(default, "https://wns2-par02p.notify.windows.com/w/?token=x")
        with pytest.raises(Invalid):
            push.accepted_endpoint(default, "https://notify.windows.com.evil.example/w")


async def test_quiet_hours_and_a_snooze_hold_reminders(database_url):
    async with reminding(database_url) as (ps, db, pusher):
        try:
            noa = await member(db, "UTC", morning="06:30", quiet=("22:00", "07:00"))
            await device(db, pusher, noa, ps.subscribe())
            assert await service.send_due(db, pusher, utc("2026-07-01T06:45:00")) == 0
            assert await service.send_due(db, pusher, utc("2026-07-01T07:00:00")) == 1
            clock.travel(utc("2026-07-01T07:30:00") - dt.datetime.now(dt.UTC))
            async with transaction(db) as session:
                user = await session.get(User, noa.id)
                assert user is not None
                until = await service.snooze(session, user, 3)
            assert until is not None and until.date() == dt.date(2026, 7, 4)
            for day in ("02", "03", "04"):
                assert await service.send_due(db, pusher, utc(f"2026-07-{day}T07:00:00")) == 0
            assert await service.send_due(db, pusher, utc("2026-07-05T07:00:00")) == 1
            assert len(ps.received) == 2
        finally:
            clock.travel(dt.timedelta(0))


async def test_a_group_keeps_its_own_time_or_is_quiet(database_url):
    async with reminding(database_url) as (ps, db, pusher):
        ida = await member(db, "UTC", morning="08:00")
        await device(db, pusher, ida, ps.subscribe())
        async with transaction(db) as session:
            user = await session.get(User, ida.id)
            assert user is not None
            groups = [Group(name=f"Circle {n}", capacity=12) for n in range(2)]
            session.add_all(groups)
            await session.flush()
            session.add_all([Membership(group_id=g.id, user_id=ida.id, role="member", state="active")
                             for g in groups])
            await service.choose_for_group(session, user, groups[0].id, Nudge.MORNING, "09:15")
            await service.choose_for_group(session, user, groups[1].id, Nudge.MORNING, "off")
        assert await service.send_due(db, pusher, utc("2026-07-01T08:00:00")) == 0
        assert await service.send_due(db, pusher, utc("2026-07-01T09:15:00")) == 1
        async with transaction(db) as session:
            user = await session.get(User, ida.id)
            assert user is not None
            await service.stop_all(session, user.id)  # the one tap
        assert await service.send_due(db, pusher, utc("2026-07-02T09:15:00")) == 0


async def test_a_practice_session_of_ones_group_is_reminded_once_15_minutes_before(database_url):
    from server.models.practice import PracticePlan

    async with reminding(database_url) as (ps, db, pusher):
        ida = await member(db, "America/New_York")
        await device(db, pusher, ida, ps.subscribe())
        async with transaction(db) as session:
            user = await session.get(User, ida.id)
            assert user is not None
            await service.choose(session, user, morning=None, evening=None, quiet_from=None,
                                 quiet_until=None, practice=True)
            mine, other = Group(name="Circle", capacity=12), Group(name="Elsewhere", capacity=12)
            session.add_all([mine, other])
            await session.flush()
            session.add(Membership(group_id=mine.id, user_id=ida.id, role="member", state="active"))
            # Thursdays 18:30 in Berlin (16:30 UTC in summer); the other group's at the same time.
            for group in (mine, other):
                session.add(PracticePlan(group_id=group.id, title="Practice", zone="Europe/Berlin",
                                         starts="18:30", weekday=3, minutes=60))
        assert await service.send_due(db, pusher, utc("2026-07-02T16:14:59")) == 0
        assert await service.send_due(db, pusher, utc("2026-07-02T16:15:00")) == 1
        assert await service.send_due(db, pusher, utc("2026-07-02T16:20:00")) == 0  # once
        (sent,) = ps.received
        assert sent.payload["body"] == service.push_words(Nudge.PRACTICE, "en")
        assert sent.payload["url"] == f"/groups/{mine.id}" and "Practice" not in sent.payload["title"]
        # The day and time it is kept under are the member's own: 12:30 in New York.
        async with transaction(db, write=False) as session:
            row = await session.scalar(select(ReminderSent).where(ReminderSent.nudge == "practice"))
            assert row is not None and (row.day, row.at) == (dt.date(2026, 7, 2), "12:30")
        # Off for that group: nothing the next week.
        async with transaction(db) as session:
            user = await session.get(User, ida.id)
            assert user is not None
            await service.choose_for_group(session, user, mine.id, Nudge.PRACTICE, "off")
        assert await service.send_due(db, pusher, utc("2026-07-09T16:15:00")) == 0


# -- the nights the clocks change -------------------------------------------------------------

MADRID = ZoneInfo("Europe/Madrid")


async def night_of_passes(db: Database, pusher: push.Pusher, ps: PushService, start: dt.datetime,
                          end: dt.datetime) -> list[dt.datetime]:
    """One pass every five minutes from `start` to `end`, each when the one before is done, as
    the process does; the instant of each pass at which a push arrived, once per push."""
    arrived: list[dt.datetime] = []
    now = start
    while now <= end:
        before = len(ps.received)
        await service.send_due(db, pusher, now)
        arrived += [now] * (len(ps.received) - before)
        now += dt.timedelta(minutes=5)
    return arrived


@pytest.mark.parametrize(("night", "sent_at", "local"), [
    # Madrid, 28 March 2027: at 02:00 the clocks go to 03:00, so 02:30 is not that day. Passes
    # from 22:00 the evening before to 08:00 local, well past the grace: once, at 03:30 summer
    # time (01:30 UTC), as late as the clocks moved.
    (("2027-03-27T21:00:00", "2027-03-28T06:00:00"), "2027-03-28T01:30:00", "03:30 +0200"),
    # Madrid, 31 October 2027: at 03:00 the clocks go back to 02:00, so 02:30 comes twice:
    # once, at the first (summer time, 00:30 UTC), not again at the second, an hour on.
    (("2027-10-30T20:00:00", "2027-10-31T07:00:00"), "2027-10-31T00:30:00", "02:30 +0200"),
], ids=["the-clocks-skip-it", "the-night-has-it-twice"])
async def test_a_reminder_on_a_night_the_clocks_change_goes_once(database_url, night, sent_at, local):
    async with reminding(database_url) as (ps, db, pusher):
        ana = await member(db, "Europe/Madrid", morning="02:30")
        await device(db, pusher, ana, ps.subscribe())
        arrived = await night_of_passes(db, pusher, ps, utc(night[0]), utc(night[1]))
        assert arrived == [utc(sent_at)]
        assert arrived[0].astimezone(MADRID).strftime("%H:%M %z") == local
        assert [r.payload["body"] for r in ps.received] == [service.push_words(Nudge.MORNING, "en")]
        async with transaction(db, write=False) as session:
            rows = (await session.execute(select(ReminderSent.day, ReminderSent.at, ReminderSent.state))).all()
        assert [tuple(r) for r in rows] == [(arrived[0].astimezone(MADRID).date(), "02:30", "sent")]
