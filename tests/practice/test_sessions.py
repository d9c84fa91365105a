"""Planned sessions come to life, on both databases, with a controlled clock: the room opens
itself at the planned time (once, whatever the number of processes), any moderator may run it,
and when no moderator has joined 15 minutes in it closes gently: members are told, the planner
is told why, and a planner who no longer moderates leaves that to the group's other moderators."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from server import clock
from server.db import Database, transaction
from server.models import AuditEntry, Event, Room
from server.models.practice import Outcome, PracticeSession
from server.practice import sessions
from server.roleplay import machine
from tests.fixtures.clients import PASSWORD, Clients, Member, make_settings
from tests.roleplay.test_room_pages import act, csrf

# Thursday 7 January 2027, 18:30 in Berlin (winter, UTC+1): 17:30 UTC.
START = dt.datetime(2027, 1, 7, 17, 30, tzinfo=dt.UTC)
PLAN = {"title": "Thursday boundaries", "starts": "18:30", "on_date": "2027-01-07", "zone": "Europe/Berlin"}
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def at() -> Iterator[Any]:
    """Move the clock pages read to a moment (the passes are given theirs). It starts on the
    morning of the planned day, so sign-ins made in the test are fresh then."""
    def to(moment: dt.datetime) -> None:
        clock.travel(moment - dt.datetime.now(dt.UTC))
    to(START - dt.timedelta(hours=8))
    yield to
    clock.travel(dt.timedelta(0))


async def circle(clients: Clients) -> tuple[Member, Member, Member, int]:
    """A planner (moderator), a second moderator and a member, in one group."""
    planner, second, member = (await clients.member("planner"), await clients.member("second"),
                               await clients.member("member"))
    gid = (await clients.group(planner, second, member))["id"]
    r = await planner.client.patch(f"/api/v1/groups/{gid}/members/{second.id}", json={"role": "moderator"})
    assert r.status_code == 200, r.text
    return planner, second, member, gid


async def plan(person: Member, gid: int, **change: Any) -> int:
    r = await person.client.post(f"/api/v1/groups/{gid}/practice-plans", json={**PLAN, **change})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def rows(app: FastAPI, gid: int) -> tuple[list[PracticeSession], list[Room]]:
    async with transaction(app.state.db, write=False) as session:
        found = (await session.scalars(select(PracticeSession).where(PracticeSession.group_id == gid))).all()
        rooms = (await session.scalars(select(Room).where(Room.group_id == gid).order_by(Room.id))).all()
        return list(found), list(rooms)


async def kinds(app: FastAPI, gid: int) -> list[str]:
    async with transaction(app.state.db, write=False) as session:
        return list((await session.scalars(select(Event.kind).where(Event.group_id == gid)
                                           .order_by(Event.id))).all())


def words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_the_room_opens_at_the_planned_time_once_and_closes_gently_without_a_moderator(
        app, clients, at):
    planner, second, member, gid = await circle(clients)
    pid = await plan(planner, gid)
    db = app.state.db
    assert await sessions.run_due(db, START - MINUTE) == (0, 0)
    assert await sessions.run_due(db, START) == (1, 0)
    assert await sessions.run_due(db, START + MINUTE) == (0, 0)  # open already
    (held,), (room,) = await rows(app, gid)
    assert (held.plan_id, held.starts_at, held.room_id, held.outcome) == (pid, START, room.id, "open")
    assert room.opened_by is None and room.title == "Thursday boundaries" and room.phase == "lobby"
    assert (await kinds(app, gid))[-1] == "roleplay.opened"

    # Members come in; nobody who moderates. Fifteen minutes in, it closes, once.
    await act(app, member, room.id, "join")
    assert await sessions.run_due(db, START + 15 * MINUTE - dt.timedelta(seconds=1)) == (0, 0)
    assert await sessions.run_due(db, START + 15 * MINUTE) == (0, 1)
    assert await sessions.run_due(db, START + 16 * MINUTE) == (0, 0)
    (held,), (room,) = await rows(app, gid)
    assert held.outcome == "not_held" and room.phase == "ended"
    assert machine.load(room.state).closed_for == machine.NO_MODERATOR
    assert (await kinds(app, gid))[-2:] == ["roleplay.ended", "practice.changed"]

    at(START + 20 * MINUTE)
    # The member: gently, in the room and on the group's day.
    seen = words((await member.client.get(f"/groups/{gid}/rooms/{room.id}")).text)
    assert "Not today" in seen and "No moderator could be here today" in seen
    day = words((await member.client.get(f"/groups/{gid}")).text)
    assert "Today's practice session will not happen" in day and "did not happen" not in day
    # The planner is told why; the other moderator is not (the planner still moderates).
    told = words((await planner.client.get(f"/groups/{gid}")).text)
    assert "Thursday boundaries, Thursday 7 January, 18:30 (Europe/Berlin) did not happen" in told
    assert "no moderator had joined 15 minutes after the start" in told
    assert "no longer moderates" not in told
    assert "did not happen" not in words((await second.client.get(f"/groups/{gid}")).text)
    # The group's log says what Cairn did, and members read it.
    log = words((await member.client.get(f"/groups/{gid}/audit")).text)
    assert "Cairn closed the room of Thursday boundaries, Thursday 7 January, 18:30 (Europe/Berlin)" in log
    assert "planned a practice session: Thursday boundaries" in log, log[log.find("Actions"):][:800]

    # Read: told no more. Another moderator's "read" changes nothing for the planner.
    form = {"csrf_token": await csrf(planner, gid)}
    r = await planner.client.post(f"/groups/{gid}/practice/sessions/{held.id}/seen", data=form)
    assert r.status_code == 303 and r.headers["location"] == f"/groups/{gid}"
    assert "did not happen" not in words((await planner.client.get(f"/groups/{gid}")).text)
    # A day later, members no longer see it.
    at(START + dt.timedelta(hours=13))
    assert "will not happen" not in words((await member.client.get(f"/groups/{gid}")).text)


@pytest.mark.parametrize("how", ["demoted", "deleted"])
async def test_a_planner_who_moderates_no_more_leaves_it_to_the_other_moderators(app, clients, at, how):
    planner, second, member, gid = await circle(clients)
    await plan(planner, gid)
    if how == "demoted":
        r = await second.client.patch(f"/api/v1/groups/{gid}/members/{planner.id}", json={"role": "member"})
        assert r.status_code == 200, r.text
    else:
        r = await planner.client.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
        assert r.status_code in (200, 204), r.text
    db = app.state.db
    await sessions.run_due(db, START)
    assert await sessions.run_due(db, START + 15 * MINUTE) == (0, 1)
    at(START + 20 * MINUTE)
    told = words((await second.client.get(f"/groups/{gid}")).text)
    assert "did not happen" in told and "Whoever planned it no longer moderates this group" in told
    assert "did not happen" not in words((await member.client.get(f"/groups/{gid}")).text)
    if how == "demoted":
        assert "did not happen" not in words((await planner.client.get(f"/groups/{gid}")).text)


@pytest.mark.parametrize("how", ["joins", "opened early", "ends it"])
async def test_any_moderator_runs_it_and_then_it_is_held(app, clients, at, how):
    planner, second, member, gid = await circle(clients)
    await plan(planner, gid)
    db = app.state.db
    if how == "opened early":  # the session's room is the one the moderator opened
        r = await second.client.post(f"/api/v1/groups/{gid}/roleplays", json={"title": "Early"})
        assert r.status_code == 201, r.text
    assert await sessions.run_due(db, START + 2 * MINUTE) == (1, 0)
    (held,), (room,) = await rows(app, gid)
    assert held.room_id == room.id
    if how == "joins":  # not the planner: any moderator of the group
        await act(app, second, room.id, "join")
    elif how == "ends it":
        await act(app, second, room.id, "end")
    assert await sessions.run_due(db, START + 30 * MINUTE) == (0, 0)
    (held,), (room,) = await rows(app, gid)
    assert held.outcome == Outcome.HELD
    assert room.phase == ("ended" if how == "ends it" else "lobby")
    at(START + 31 * MINUTE)
    for person in (planner, second, member):
        page = words((await person.client.get(f"/groups/{gid}")).text)
        assert "will not happen" not in page and "did not happen" not in page
    async with transaction(db, write=False) as session:
        assert await session.scalar(select(AuditEntry.id).where(AuditEntry.action == "not_held")) is None


async def test_a_session_missed_while_nothing_ran_is_not_opened_late_and_weekly_ones_repeat(
        app, clients, at):
    planner, _, _, gid = await circle(clients)
    await plan(planner, gid, on_date=None, weekday=3)  # every Thursday
    db = app.state.db
    assert await sessions.run_due(db, START + 15 * MINUTE) == (0, 0)  # too late for this one
    assert await sessions.run_due(db, START + dt.timedelta(days=7)) == (1, 0)  # the next Thursday
    (held,), _ = await rows(app, gid)
    assert held.starts_at == START + dt.timedelta(days=7)


async def test_a_deleted_plan_opens_nothing(app, clients, at):
    planner, _, _, gid = await circle(clients)
    pid = await plan(planner, gid)
    assert (await planner.client.delete(f"/api/v1/groups/{gid}/practice-plans/{pid}")).status_code == 204
    assert await sessions.run_due(app.state.db, START) == (0, 0)
    assert await kinds(app, gid) and (await kinds(app, gid))[-1] == "practice.changed"


async def test_two_processes_open_and_close_each_session_once(app, clients, database_url, at):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite runs one process")
    planner, _, _, gid = await circle(clients)
    await plan(planner, gid)
    other = Database(make_settings(database_url))
    try:
        results = await asyncio.gather(sessions.run_due(app.state.db, START),
                                       sessions.run_due(other, START))
        assert sum(opened for opened, _ in results) == 1
        results = await asyncio.gather(sessions.run_due(app.state.db, START + 15 * MINUTE),
                                       sessions.run_due(other, START + 15 * MINUTE))
        assert sum(closed for _, closed in results) == 1
    finally:
        await other.dispose()
    found, rooms = await rows(app, gid)
    assert len(found) == 1 and len(rooms) == 1 and found[0].outcome == "not_held"
    assert (await kinds(app, gid)).count("roleplay.opened") == 1


async def test_the_process_opens_rooms_on_its_own_clock(database_url):
    """The runner every process starts: a session starting this minute opens by itself."""
    from server.main import create_app

    app = create_app(make_settings(database_url, reminder_interval_seconds=1))
    async with app.router.lifespan_context(app):
        clients = Clients(app)
        try:
            planner, _, _, gid = await circle(clients)
            now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
            opened = asyncio.Event()
            ring = app.state.db.doorbell

            def doorbell(group_id: int, stream: str, seq: int, written: Any) -> Any:
                if group_id == gid and written[0].kind == "roleplay.opened":
                    opened.set()
                return ring(group_id, stream, seq, written)

            app.state.db.doorbell = doorbell
            await plan(planner, gid, zone="UTC", on_date=now.date().isoformat(), starts=f"{now:%H:%M}")
            async with asyncio.timeout(30):
                await opened.wait()
            (room,) = (await rows(app, gid))[1]
            assert room.opened_by is None
        finally:
            await clients.close()
