"""Planned practice on pages, in the API and in each member's calendar feed: moderators plan
and delete, members read; the feed holds every plan of the member's groups at the right local
times, neutral by default, behind a token kept only as its hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator

import pytest
from icalendar import Calendar
from sqlalchemy import select

from server import clock
from server.db import transaction
from server.models.practice import CalendarFeed, PracticePlan
from tests.fixtures.clients import PASSWORD
from tests.test_pages import Browser, create_group, sign_up, two_people_in_a_group

LINK_RE = re.compile(r"/calendar/([A-Za-z0-9_-]+)\.ics")
WEEKLY = {"title": "Thursday boundaries", "repeat": "weekly", "weekday": "3", "starts": "18:30",
          "zone": "Europe/Berlin", "minutes": "60", "on_date": ""}


@pytest.fixture
def in_march() -> Iterator[None]:
    """Now is 20 March 2026: the next eight weeks cross Berlin's spring clock change."""
    clock.travel(dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC) - dt.datetime.now(dt.UTC))
    yield
    clock.travel(dt.timedelta(0))


async def calendar_link(browser: Browser, names: bool = False) -> str:
    await browser.get("/settings/reminders")
    r = await browser.submit("/settings/calendar", {"show_group_names": "yes" if names else None})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/settings/reminders#calendar"
    shown = await browser.get("/settings/reminders")
    assert "Your new calendar link is ready." in shown.text
    token = LINK_RE.search(shown.text).group(1)
    # Shown once: a reload shows no link, and makes no new one (the link still works).
    again = await browser.get("/settings/reminders")
    assert LINK_RE.search(again.text) is None and "Make a new link" in again.text
    return token


def page(r) -> str:
    """A 404 page without the CSRF token every page carries (new for each visitor), and
    without the address the language switch returns to (the page's own)."""
    text = re.sub(r'name="csrf-token" content="[^"]*"', "", r.text)
    return re.sub(r'name="(csrf_token|next)" value="[^"]*"', "", text)


def events(body: bytes) -> list:
    return [c for c in Calendar.from_ical(body).walk("VEVENT")]


async def test_moderator_plans_member_sees_and_calendar_holds_the_local_times(app, clients, in_march):
    mod, member, gid = await two_people_in_a_group(clients)
    r = await mod.submit(f"/groups/{gid}/practice", WEEKLY)
    assert r.status_code == 303, r.text

    page = await member.get(f"/groups/{gid}/practice")
    assert "Thursday boundaries" in page.text and "Every Thursday, 18:30 (Europe/Berlin)" in page.text
    assert "Plan this session" not in page.text and "/delete" not in page.text
    day = await member.get(f"/groups/{gid}")
    # The member's zone is UTC: 18:30 in Berlin on 26 March (winter) is 17:30 for them.
    assert "Next practice: " in day.text and "Thursday 17:30" in day.text
    assert "Add to my calendar" in day.text and "Plan practice" not in day.text
    assert "Plan practice" in (await mod.get(f"/groups/{gid}")).text

    token = await calendar_link(member)
    feed = await clients.anonymous().get(f"/calendar/{token}.ics")
    assert feed.status_code == 200
    assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
    assert feed.headers["cache-control"] == "private, no-cache"
    assert feed.headers["x-robots-tag"] == "noindex"
    found = events(feed.content)
    assert len(found) == 8  # the next eight weeks, written out
    starts = [e.decoded("dtstart") for e in found]
    assert all(str(s.tzinfo) == "Europe/Berlin" and s.strftime("%H:%M") == "18:30" for s in starts)
    assert b"DTSTART;TZID=Europe/Berlin:20260326T183000" in feed.content
    utc = [s.astimezone(dt.UTC) for s in starts]
    assert utc[0] == dt.datetime(2026, 3, 26, 17, 30, tzinfo=dt.UTC)  # winter: UTC+1
    assert utc[1] == dt.datetime(2026, 4, 2, 16, 30, tzinfo=dt.UTC)   # summer: UTC+2
    # Neutral by default: no group name and no plan title anywhere.
    assert {str(e["summary"]) for e in found} == {"Cairn practice"}
    assert b"Tuesday circle" not in feed.content and b"Thursday boundaries" not in feed.content

    # Only the hash is kept.
    async with transaction(app.state.db) as session:
        row = await session.scalar(select(CalendarFeed))
        assert row is not None and row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in (row.token_hash, str(row.id))


async def test_winter_times_after_the_autumn_change(app, clients):
    clock.travel(dt.datetime(2026, 10, 20, 9, 0, tzinfo=dt.UTC) - dt.datetime.now(dt.UTC))
    try:
        mod, member, gid = await two_people_in_a_group(clients)
        assert (await mod.submit(f"/groups/{gid}/practice", WEEKLY)).status_code == 303
        token = await calendar_link(member)
        body = (await clients.anonymous().get(f"/calendar/{token}.ics")).content
        utc = [e.decoded("dtstart").astimezone(dt.UTC) for e in events(body)]
        assert utc[:2] == [dt.datetime(2026, 10, 22, 16, 30, tzinfo=dt.UTC),
                           dt.datetime(2026, 10, 29, 17, 30, tzinfo=dt.UTC)]
    finally:
        clock.travel(dt.timedelta(0))


async def test_names_leaving_stopping_and_deleting(app, clients, in_march):
    mod, member, gid = await two_people_in_a_group(clients)
    assert (await mod.submit(f"/groups/{gid}/practice", WEEKLY)).status_code == 303
    anon = clients.anonymous()
    unknown = await anon.get("/calendar/not-a-token-anyone-holds.ics")
    assert unknown.status_code == 404

    old = await calendar_link(member)
    named = await calendar_link(member, names=True)
    # A new link stops the old one: the same answer as a token nobody ever held.
    stopped = await anon.get(f"/calendar/{old}.ics")
    assert (stopped.status_code, page(stopped)) == (404, page(unknown))
    body = (await anon.get(f"/calendar/{named}.ics")).content
    assert {str(e["summary"]) for e in events(body)} == {"Tuesday circle: Thursday boundaries"}

    # Leaving the group: its plans are gone from the feed at once.
    assert (await member.submit(f"/groups/{gid}/leave", {})).status_code == 303
    assert events((await anon.get(f"/calendar/{named}.ics")).content) == []

    # Stopping the link.
    r = await member.submit("/settings/calendar/stop", {})
    assert r.status_code == 303
    gone = await anon.get(f"/calendar/{named}.ics")
    assert (gone.status_code, page(gone)) == (404, page(unknown))

    # A deleted account's link.
    mod_token = await calendar_link(mod)
    assert (await anon.get(f"/calendar/{mod_token}.ics")).status_code == 200
    r = await mod.submit("/settings/delete", {"password": PASSWORD})
    assert r.status_code == 200
    assert (await anon.get(f"/calendar/{mod_token}.ics")).status_code == 404


async def test_only_moderators_plan_and_delete(app, clients, in_march):
    mod, member, gid = await two_people_in_a_group(clients)
    await member.get(f"/groups/{gid}/practice")
    assert (await member.submit(f"/groups/{gid}/practice", WEEKLY)).status_code == 403
    assert (await mod.submit(f"/groups/{gid}/practice", WEEKLY)).status_code == 303
    async with transaction(app.state.db) as session:
        pid = (await session.scalar(select(PracticePlan.id)))
    assert (await member.submit(f"/groups/{gid}/practice/{pid}/delete", {})).status_code == 403
    r = await mod.submit(f"/groups/{gid}/practice/{pid}/delete", {})
    assert r.status_code == 303
    assert "Nothing is planned yet" in (await mod.get(f"/groups/{gid}/practice")).text
    assert (await mod.submit(f"/groups/{gid}/practice/{pid}/delete", {})).status_code == 404
    assert "Next practice" not in (await member.get(f"/groups/{gid}")).text


@pytest.mark.parametrize(("change", "message"), [
    ({"starts": "25:00"}, "The start should be a time like 08:30."),
    ({"starts": ""}, "Give the start, a time like 18:30."),
    ({"zone": "Mars/Olympus"}, "That is not a timezone we know"),
    ({"repeat": "once", "on_date": "2026-02-30"}, "Give the date, like 2026-03-14."),
    ({"repeat": "once", "on_date": "2026-03-01"}, "That date has passed."),
    ({"repeat": "weekly", "weekday": ""}, "Choose the day of the week."),
    ({"repeat": "fortnightly"}, "Choose once or every week."),
    ({"minutes": "0"}, "The length in minutes should be a whole number from 5 to 480."),
    ({"title": "x" * 81}, "A title has at most 80 characters."),
])
async def test_bad_plans_come_back_with_a_clear_message(app, clients, in_march, change, message):
    mod = await sign_up(clients)
    gid, _ = await create_group(mod)
    r = await mod.submit(f"/groups/{gid}/practice", {**WEEKLY, **change})
    assert r.status_code == 422, r.text
    assert message in r.text
    assert 'role="alert"' in r.text and f'action="/groups/{gid}/practice"' in r.text
    async with transaction(app.state.db) as session:
        assert await session.scalar(select(PracticePlan.id)) is None


async def test_defaults_and_a_one_off(app, clients, in_march):
    mod = await sign_up(clients, timezone="America/New_York")
    gid, _ = await create_group(mod)
    r = await mod.submit(f"/groups/{gid}/practice", {"repeat": "once", "on_date": "2026-03-21",
                                                     "starts": "10:00"})
    assert r.status_code == 303, r.text
    page = await mod.get(f"/groups/{gid}/practice")
    assert "Practice session" in page.text and "(America/New_York), 60 min" in page.text


async def test_api(app, clients, in_march):
    mod, member = await clients.member(), await clients.member()
    gid = (await clients.group(mod, member))["id"]
    body = {"starts": "18:30", "weekday": 3, "zone": "Europe/Berlin"}
    assert (await member.post(f"/api/v1/groups/{gid}/practice-plans", json=body)).status_code == 403
    r = await mod.post(f"/api/v1/groups/{gid}/practice-plans", json=body)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["title"] == "Practice session" and made["minutes"] == 60
    assert made["next_start"].startswith("2026-03-26T17:30")
    listed = (await member.get(f"/api/v1/groups/{gid}/practice-plans")).json()
    assert [p["id"] for p in listed] == [made["id"]]
    both = await mod.post(f"/api/v1/groups/{gid}/practice-plans",
                          json={**body, "on_date": "2026-04-01"})
    assert both.status_code == 422 and both.json()["error"] == "invalid_repeat"
    assert (await member.delete(f"/api/v1/groups/{gid}/practice-plans/{made['id']}")).status_code == 403
    assert (await mod.delete(f"/api/v1/groups/{gid}/practice-plans/{made['id']}")).status_code == 204
    assert (await mod.delete(f"/api/v1/groups/{gid}/practice-plans/{made['id']}")).status_code == 404
