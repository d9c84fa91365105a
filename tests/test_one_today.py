"""One fair "today": the group's day shows each member's own today, whatever the zones, on the
page, in the API, in the live fragments and in progress; other days go back as far for all."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from server.models import Event, User
from server.realtime.fragments import LiveEvent
from tests import support

pytestmark = pytest.mark.usefixtures("contract_kept")

KIRITIMATI, PAGO_PAGO = "Pacific/Kiritimati", "Pacific/Pago_Pago"  # UTC+14 and UTC-11, no DST
utc = support.utc


async def post(member, gid, day=None, text="A walk at lunch"):
    body = {"category": "movement", "text": text} | ({"day": day} if day else {})
    r = await member.post(f"/api/v1/groups/{gid}/commitments", body)
    assert r.status_code == 201, r.text
    return r.json()


async def listed(member, gid, day=None):
    r = await member.get(f"/api/v1/groups/{gid}/commitments", params={"day": day} if day else None)
    assert r.status_code == 200, r.text
    return {c["id"]: c["day"] for c in r.json()}


async def page(member, gid, day=None):
    r = await member.get(f"/groups/{gid}" + (f"?day={day}" if day else ""))
    assert r.status_code == 200, r.text[:300]
    return r.text


CARD = re.compile(r'<li id="entry-(\d+)">(.*?)</article>\n</li>', re.S)
THEIR_DAY = re.compile(r'<time class="their-day" datetime="([0-9-]+)">([^<]+)</time>')


def cards(html):
    """{commitment id: its "Their ..." label or None} of a group's day page."""
    return {int(cid): (m.group(2) if (m := THEIR_DAY.search(body)) else None)
            for cid, body in CARD.findall(html)}


def card_markup(html, cid):
    return re.search(rf'<li id="entry-{cid}">.*?</article>\n</li>', html, re.S).group(0)


def heading(html):
    return re.search(r'<h2 id="day-title">([^<]+)', html).group(1).strip()


def list_attrs(html):
    tag = re.search(r'<ol id="commitments"[^>]*>', html).group(0)
    return dict(re.findall(r'([a-z-]+)="([^"]*)"', tag))


def applies(selector, attrs):
    """Whether a swap's `#commitments[...]` selector picks a page's list (what the browser's
    querySelectorAll would say for the attribute tests Cairn uses)."""
    m = re.fullmatch(r"#commitments((?:\[[a-z-]+=\"[^\"]*\"\]|:not\(\[[a-z-]+=\"[^\"]*\"\]\))*)",
                     selector)
    if m is None:
        return False
    for negated, name, value in re.findall(r'(:not\()?\[([a-z-]+)="([^"]*)"\]\)?', m.group(1)):
        if (attrs.get(name) == value) == bool(negated):
            return False
    return True


async def appended(app, gid, cid, viewer, html, *, moderator=False):
    """The card markup the live event of commitment `cid` appends to the page `html` of
    `viewer`, or None when it leaves that page alone."""
    async with app.state.db.session() as session:
        event = next(e for e in (await session.scalars(
            select(Event).where(Event.group_id == gid, Event.kind == "commitment.created"))).all()
            if e.data["commitment_id"] == cid)
        actor = await session.get(User, event.actor_id)
        frame = json.loads(LiveEvent.of(event, actor).frame_for(viewer.id, moderator))
    attrs = list_attrs(html)
    found = [s["html"] for s in frame["html"]
             if s["swap"] == "append" and applies(s["target"], attrs)]
    assert len(found) <= 1, found
    return found[0] if found else None


async def test_a_writer_at_utc_plus_14_is_in_a_utc_readers_today(app, clients, travel):
    travel(utc(2026, 3, 10, 12, 30))  # Tuesday 12:30 in UTC; Wednesday the 11th, 02:30 in Kiritimati
    jude = await clients.member("jude")
    ari = await clients.member("ari", timezone=KIRITIMATI)
    gid = (await clients.group(jude, ari))["id"]
    mine = await post(jude, gid)
    today = await post(ari, gid, text="Tell my sister no, kindly")
    yesterday = await post(ari, gid, "2026-03-10")
    tomorrow = await post(ari, gid, "2026-03-12")
    assert (today["day"], mine["day"]) == ("2026-03-11", "2026-03-10")

    # The API: Ari's present is in Jude's today, not in his tomorrow; each day goes back as far
    # for everyone, so her yesterday (his today's date) is in his yesterday.
    assert await listed(jude, gid) == {mine["id"]: "2026-03-10", today["id"]: "2026-03-11"}
    assert await listed(jude, gid, "2026-03-11") == {tomorrow["id"]: "2026-03-12"}
    assert await listed(jude, gid, "2026-03-09") == {yesterday["id"]: "2026-03-10"}
    assert await listed(ari, gid) == {mine["id"]: "2026-03-10", today["id"]: "2026-03-11"}
    assert await listed(ari, gid, "2026-03-10") == {yesterday["id"]: "2026-03-10"}

    # The page says the same, with Ari's weekday where it is not Jude's.
    html = await page(jude, gid)
    assert heading(html) == "Today" and "Everyone&#39;s own today" in html
    assert cards(html) == {mine["id"]: None, today["id"]: "Their Wednesday"}
    html_tomorrow = await page(jude, gid, "2026-03-11")
    assert heading(html_tomorrow) == "Tomorrow"
    assert cards(html_tomorrow) == {tomorrow["id"]: "Their Thursday"}
    html_yesterday = await page(jude, gid, "2026-03-09")
    assert heading(html_yesterday) == "Yesterday"
    assert cards(html_yesterday) == {yesterday["id"]: "Their Tuesday"}
    ari_html = await page(ari, gid)
    assert cards(ari_html) == {today["id"]: None, mine["id"]: "Their Tuesday"}

    # One card's page finds its way back to the day that shows it: Jude's today.
    r = await jude.get(f"/groups/{gid}/commitments/{today['id']}")
    assert "Their Wednesday" in r.text
    assert f'href="/groups/{gid}#c{today["id"]}"' in r.text and "· Today</a>" in r.text
    # And so does the moderation page's link to reported words.
    r = await ari.post(f"/api/v1/groups/{gid}/reports",
                       {"target_type": "commitment", "target_id": mine["id"], "reason": "Testing"})
    assert r.status_code == 201, r.text
    r = await jude.post(f"/api/v1/groups/{gid}/reports",
                        {"target_type": "commitment", "target_id": today["id"], "reason": "Worried"})
    assert r.status_code == 201, r.text
    moderation = (await jude.get(f"/groups/{gid}/moderation")).text
    assert f'<a href="/groups/{gid}?day=2026-03-11">' not in moderation
    assert moderation.count(f'<a href="/groups/{gid}">See it on the group\'s day</a>') == 2

    # Live: each post lands on the pages that show it, drawn as a reload draws it.
    async def to_jude(cid, html):  # Jude moderates: his cards have the hide control
        return await appended(app, gid, cid, jude, html, moderator=True)

    assert await to_jude(today["id"], html) == card_markup(html, today["id"])
    assert await to_jude(today["id"], html_tomorrow) is None
    assert await to_jude(tomorrow["id"], html) is None
    assert await to_jude(tomorrow["id"], html_tomorrow) == card_markup(html_tomorrow, tomorrow["id"])
    assert await to_jude(yesterday["id"], html) is None
    assert await to_jude(yesterday["id"], html_yesterday) == card_markup(html_yesterday,
                                                                         yesterday["id"])
    assert "Their" not in await to_jude(mine["id"], html)
    assert await appended(app, gid, mine["id"], ari, ari_html) == card_markup(ari_html, mine["id"])

    # Progress counts Ari's check-in on her own today; Jude sees how it went, not how she felt.
    r = await ari.post(f"/api/v1/commitments/{today['id']}/checkin",
                       {"status": "done", "note": "It was hard", "feeling": 2})
    assert r.status_code == 200, r.text
    html = await page(jude, gid)
    assert cards(html)[today["id"]] == "Their Wednesday"
    assert "It was hard" in html and "You felt" not in html
    p = (await ari.get("/api/v1/me/progress", params={"days": 3})).json()
    assert p["today"] == "2026-03-11" and p["streak"] == 1
    assert [(d["day"], d["done"]) for d in p["days"]] == [
        ("2026-03-09", 0), ("2026-03-10", 0), ("2026-03-11", 1)]
    html = (await ari.get("/me/progress")).text
    assert 'class="heatmap-cell level-done is-today" data-day="2026-03-11"' in html
    assert (await jude.get("/api/v1/me/progress")).json()["today"] == "2026-03-10"


async def test_a_writer_at_utc_minus_11_is_in_a_utc_plus_14_readers_today(app, clients, travel):
    travel(utc(2026, 3, 10, 20, 0))  # Tuesday 09:00 in Pago Pago; Wednesday the 11th, 10:00 in Kiritimati
    ari = await clients.member("ari", timezone=KIRITIMATI)
    sam = await clients.member("sam", timezone=PAGO_PAGO)
    gid = (await clients.group(ari, sam))["id"]
    theirs = await post(sam, gid, text="Rest before the family call")
    mine = await post(ari, gid)
    assert (theirs["day"], mine["day"]) == ("2026-03-10", "2026-03-11")

    assert await listed(ari, gid) == {theirs["id"]: "2026-03-10", mine["id"]: "2026-03-11"}
    assert await listed(ari, gid, "2026-03-10") == {}  # Sam's yesterday: nothing
    assert await listed(sam, gid) == {theirs["id"]: "2026-03-10", mine["id"]: "2026-03-11"}
    assert await listed(sam, gid, "2026-03-11") == {}  # "Tomorrow" for Sam is nobody's present
    html = await page(ari, gid)
    assert cards(html) == {theirs["id"]: "Their Tuesday", mine["id"]: None}
    assert cards(await page(ari, gid, "2026-03-10")) == {}
    sam_html = await page(sam, gid)
    assert cards(sam_html) == {theirs["id"]: None, mine["id"]: "Their Wednesday"}
    assert await appended(app, gid, theirs["id"], ari, html, moderator=True) == card_markup(
        html, theirs["id"])
    assert await appended(app, gid, mine["id"], sam, sam_html) == card_markup(sam_html, mine["id"])
    r = await sam.post(f"/api/v1/commitments/{theirs['id']}/checkin", {"status": "partly"})
    assert r.status_code == 200, r.text
    p = (await sam.get("/api/v1/me/progress", params={"days": 1})).json()
    assert (p["today"], p["streak"], p["days"][0]["partly"]) == ("2026-03-10", 1, 1)

    # 25 hours apart: for an hour a day their dates are two days apart, and still one today.
    travel(utc(2026, 3, 11, 10, 30))  # Tuesday 23:30 in Pago Pago; Thursday the 12th, 00:30 in Kiritimati
    late = await post(sam, gid, text="Bed by midnight")
    assert late["day"] == "2026-03-10"
    assert await listed(ari, gid) == {theirs["id"]: "2026-03-10", late["id"]: "2026-03-10"}
    html = await page(ari, gid)
    assert heading(html) == "Today"
    assert cards(html) == {theirs["id"]: "Their Tuesday", late["id"]: "Their Tuesday"}
    assert await appended(app, gid, late["id"], ari, html, moderator=True) == card_markup(
        html, late["id"])
    assert cards(await page(ari, gid, "2026-03-11")) == {mine["id"]: None}  # Ari's yesterday
    assert cards(await page(sam, gid, "2026-03-11")) == {}  # Sam's tomorrow
    p = (await sam.get("/api/v1/me/progress", params={"days": 1})).json()
    assert (p["today"], p["streak"]) == ("2026-03-10", 1)


async def test_the_ends_of_the_calendar_are_empty_days(clients, travel):
    travel(utc(2026, 3, 10, 12, 0))
    ari = await clients.member("ari", timezone=KIRITIMATI)
    sam = await clients.member("sam", timezone=PAGO_PAGO)
    gid = (await clients.group(ari, sam))["id"]
    await post(sam, gid)
    for day in ("0001-01-01", "0001-01-02", "9999-12-31", "9999-12-30"):
        assert await listed(ari, gid, day) == {}
        assert await listed(sam, gid, day) == {}
    for day in ("2000-01-01", "9999-12-30"):
        assert cards(await page(ari, gid, day)) == {}
