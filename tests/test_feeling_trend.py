"""The private feeling trend on the progress page: laid out calmly, and shown to its owner alone."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from server.commitments import feelings
from server.models import Event
from tests import support

TODAY = dt.date(2026, 3, 10)


def test_a_day_is_a_bar_of_its_average_and_a_day_without_a_feeling_is_blank():
    trend = feelings.build(TODAY, [
        (TODAY, 4), (TODAY, 5), (TODAY - dt.timedelta(days=3), 1),
        (TODAY - dt.timedelta(days=29), 3),   # the first of the thirty days
        (TODAY - dt.timedelta(days=30), 5),   # before them
        (TODAY + dt.timedelta(days=1), 5),    # tomorrow's commitment, checked in early
    ])
    assert [(b.day, b.feeling) for b in trend.bars] == [
        (TODAY - dt.timedelta(days=29), 3), (TODAY - dt.timedelta(days=3), 1), (TODAY, 4.5)]
    first, low, last = trend.bars
    assert first.x == feelings.LEFT and last.x == feelings.LEFT + 29 * feelings.STEP
    assert last.x + feelings.BAR <= trend.width
    # Taller is a better feeling; every bar stands on the same line, even a very low day.
    assert last.height > first.height > low.height > 0
    assert len({round(b.height / b.feeling, 3) for b in trend.bars}) == 1  # to one scale
    assert low.label == "Saturday 7 March: Very low"
    assert last.label == "Tuesday 10 March: Good and Very good"
    assert trend.noted == 3
    assert trend.summary == ("You noted how you felt on 3 of the 30 days since Monday 9 February, "
                             "between very low and very good. Most recently, on Tuesday 10 March: "
                             "good and very good.")
    # What the words say of the feelings noted: the usual one, or all of them alike.
    often = feelings.build(TODAY, [(TODAY, 3), (TODAY - dt.timedelta(days=1), 3), (TODAY, 2)])
    assert ", most often okay. Most recently, on Tuesday 10 March: low and okay." in often.summary
    alike = feelings.build(TODAY, [(TODAY, 2)])
    assert "on 1 of the 30 days since Monday 9 February, each time low." in alike.summary


def test_no_feelings_yet_is_said_kindly():
    trend = feelings.build(TODAY, [])
    assert trend.bars == [] and trend.noted == 0
    assert trend.summary.startswith("No feelings noted in the last 30 days.")


def section(html):
    return re.search(r'<section class="panel" id="feelings".*?</section>', html, re.S).group(0)


async def test_only_its_owner_sees_the_trend(app, clients, contract_kept, travel):
    travel(support.utc(2026, 2, 8, 12, 0))
    jude = await clients.member("jude")  # moderates the group
    ari = await clients.member("ari")
    gid = (await clients.group(jude, ari))["id"]

    async def felt(feeling, note=None, **day):
        r = await ari.post(f"/api/v1/groups/{gid}/commitments",
                           {"category": "rest", "text": "Rest", **day})
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        r = await ari.post(f"/api/v1/commitments/{cid}/checkin",
                           {"status": "partly", "feeling": feeling, "note": note})
        assert r.status_code == 200, r.text
        return cid

    await felt(5, day="2026-02-07")  # the day before the last thirty days
    for day, feeling in ((3, 2), (8, 1), (9, 4)):
        travel(support.utc(2026, 3, day, 12, 0))
        cid = await felt(feeling, note="A heavy day")

    mine = section((await ari.get("/me/progress")).text)
    assert re.findall(r'class="feelings-bar" data-day="([0-9-]+)" data-feeling="([0-9.]+)"', mine) == [
        ("2026-03-03", "2.0"), ("2026-03-08", "1.0"), ("2026-03-09", "4.0")]
    assert "You noted how you felt on 3 of the 30 days since Sunday 8 February, between" in mine
    assert "<li>Monday 9 March: Good</li>" in mine and "Only you see this." in mine
    # One calm colour for every day: nothing marks a low day as bad.
    assert set(re.findall(r'<rect[^>]* fill="(#[0-9a-f]{6})"', mine)) == {feelings.FILL}

    # Nobody else sees it, nor any of Ari's feelings: not on their progress page, the group's
    # day, the card, the moderation page or the API, nor in any live event.
    theirs = section((await jude.get("/me/progress")).text)
    assert "feelings-bar" not in theirs and "No feelings noted" in theirs
    r = await jude.post(f"/api/v1/groups/{gid}/reports",
                        {"target_type": "checkin", "target_id": cid, "reason": "Worried for her"})
    assert r.status_code == 201, r.text
    for url in (f"/groups/{gid}", f"/groups/{gid}/commitments/{cid}", f"/groups/{gid}/moderation",
                "/me/progress"):
        html = (await jude.get(url)).text
        assert "A heavy day" in html or url == "/me/progress"
        assert "You felt" not in html and "feelings-bar" not in html and "Good" not in html, url
    listed = (await jude.get(f"/api/v1/groups/{gid}/commitments")).json()
    assert [c["checkin"]["feeling"] for c in listed] == [None]
    # Not even its owner's progress in the API carries it: the page alone shows it.
    assert "feeling" not in (await ari.get("/api/v1/me/progress")).text
    async with app.state.db.session() as session:
        for event in (await session.scalars(select(Event).where(Event.group_id == gid))).all():
            assert "feeling" not in event.data, event.data
