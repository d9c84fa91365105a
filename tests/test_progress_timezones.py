"""A member's "today", streak and progress follow their own local date, across midnight and DST."""

from __future__ import annotations

import datetime as dt

import pytest

from tests import support

pytestmark = pytest.mark.usefixtures("contract_kept")

AUCKLAND, LOS_ANGELES = "Pacific/Auckland", "America/Los_Angeles"
utc = support.utc


async def post(member, gid, category="rest", **extra):
    r = await member.post(f"/api/v1/groups/{gid}/commitments",
                          {"category": category, "text": f"Some {category}", **extra})
    assert r.status_code == 201, r.text
    return r.json()


async def practise(member, gid, status="done", category="rest", **extra):
    """Post a commitment for today (or the given day) and check in on it."""
    c = await post(member, gid, category, **extra)
    r = await member.post(f"/api/v1/commitments/{c['id']}/checkin", {"status": status})
    assert r.status_code == 200, r.text
    return c


async def progress(member, **params):
    r = await member.get("/api/v1/me/progress", params=params or None)
    assert r.status_code == 200, r.text
    return r.json()


def cells(p):
    return {d["day"]: (d["done"], d["partly"], d["not_today"]) for d in p["days"]}


def assert_consecutive(p):
    days = [dt.date.fromisoformat(d["day"]) for d in p["days"]]
    assert days == [days[0] + dt.timedelta(days=i) for i in range(len(days))], days
    assert days[-1].isoformat() == p["today"]


async def test_one_instant_is_a_different_day_in_auckland_and_los_angeles(clients, travel):
    travel(utc(2026, 3, 7, 0, 30))  # 13:30 on the 7th in Auckland; 16:30 on the 6th in Los Angeles
    nz = await clients.member(timezone=AUCKLAND)
    la = await clients.member(timezone=LOS_ANGELES)
    g = await clients.group(nz, la)
    gid = g["id"]
    from_nz, from_la = await post(nz, gid), await post(la, gid)
    assert from_nz["day"] == "2026-03-07"
    assert from_la["day"] == "2026-03-06"
    # Each one's default list is everyone's own today; a day back is everyone's own yesterday.
    both = {from_nz["id"], from_la["id"]}
    assert {c["id"] for c in (await nz.get(f"/api/v1/groups/{gid}/commitments")).json()} == both
    assert {c["id"] for c in (await la.get(f"/api/v1/groups/{gid}/commitments")).json()} == both
    assert (await nz.get(f"/api/v1/groups/{gid}/commitments", params={"day": "2026-03-06"})).json() == []
    assert (await progress(nz))["today"] == "2026-03-07"
    assert (await progress(la))["today"] == "2026-03-06"
    # Moving to Auckland moves "today" with the member.
    assert (await la.patch("/api/v1/me", {"timezone": AUCKLAND})).status_code == 200
    assert (await post(la, gid))["day"] == "2026-03-07"
    assert (await progress(la))["today"] == "2026-03-07"


async def test_auckland_midnight(clients, travel):
    travel(utc(2026, 3, 7, 10, 59))  # 23:59 NZDT on the 7th
    nz = await clients.member(timezone=AUCKLAND)
    g = await clients.group(nz)
    gid = g["id"]
    assert (await post(nz, gid))["day"] == "2026-03-07"
    assert (await post(nz, gid, day="2026-03-08"))["day"] == "2026-03-08"
    r = await nz.post(f"/api/v1/groups/{gid}/commitments",
                      {"category": "rest", "text": "x", "day": "2026-03-09"})
    support.assert_error(r, 422, "invalid_day")
    travel(utc(2026, 3, 7, 11, 1))  # 00:01 NZDT on the 8th
    assert (await post(nz, gid))["day"] == "2026-03-08"
    assert (await post(nz, gid, day="2026-03-09"))["day"] == "2026-03-09"
    r = await nz.post(f"/api/v1/groups/{gid}/commitments",
                      {"category": "rest", "text": "x", "day": "2026-03-06"})
    support.assert_error(r, 422, "invalid_day")


async def test_los_angeles_midnight(clients, travel):
    travel(utc(2026, 3, 7, 7, 59))  # 23:59 PST on the 6th
    la = await clients.member(timezone=LOS_ANGELES)
    g = await clients.group(la)
    assert (await post(la, g["id"]))["day"] == "2026-03-06"
    assert (await progress(la))["today"] == "2026-03-06"
    travel(utc(2026, 3, 7, 8, 1))  # 00:01 PST on the 7th
    assert (await post(la, g["id"]))["day"] == "2026-03-07"
    assert (await progress(la))["today"] == "2026-03-07"


async def test_streak_rate_days_and_steps(clients, travel):
    la = await clients.member(timezone=LOS_ANGELES)
    g = await clients.group(la)
    gid = g["id"]
    first = dt.date(2026, 2, 20)

    def noon(day_index: int) -> dt.datetime:  # noon in Los Angeles (PST, UTC-8) on that day
        return utc(2026, 2, 20, 20, 0) + dt.timedelta(days=day_index)

    plan = [  # what happened each local day, oldest first
        [("done", "rest")],                                 # 02-20
        [("partly", "boundary")],                           # 02-21
        [("not_today", "closeness")],                       # 02-22: not practice, breaks the run
        [("done", "assertive_communication")],              # 02-23
        [("done", "water"), ("not_today", "sleep")],        # 02-24
        [],                                                 # 02-25: nothing
        [("done", "play"), ("partly", "movement")],         # 02-26
        [("partly", "closeness")],                          # 02-27
    ]
    for i, day in enumerate(plan):
        travel(noon(i))
        for status, category in day:
            assert (await practise(la, gid, status, category))["day"] == (
                first + dt.timedelta(days=i)).isoformat()

    # 02-28, before checking anything in: today not done yet does not break the streak.
    travel(noon(8))
    p = await progress(la)
    assert p["today"] == "2026-02-28"
    assert p["streak"] == 2
    practised = {"2026-02-20", "2026-02-21", "2026-02-23", "2026-02-24", "2026-02-26", "2026-02-27"}
    assert p["rate_14d"] == pytest.approx(len(practised) / 14, abs=0.006)
    assert all(set(d) >= {"day", "done", "partly", "not_today"} for d in p["days"])
    assert_consecutive(p)
    c = cells(p)
    assert c["2026-02-20"] == (1, 0, 0)
    assert c["2026-02-21"] == (0, 1, 0)
    assert c["2026-02-22"] == (0, 0, 1)
    assert c["2026-02-24"] == (1, 0, 1)
    assert c["2026-02-25"] == (0, 0, 0)
    assert c["2026-02-26"] == (1, 1, 0)
    assert c["2026-02-28"] == (0, 0, 0)
    assert p["by_step"] == {"care": 4, "protect": 1, "connect": 2}

    # A commitment for tomorrow, even checked in early, is not today's practice.
    await practise(la, gid, "done", "rest", day="2026-03-01")
    assert (await progress(la))["streak"] == 2
    # Only not_today today: still not a break, still not practice.
    await practise(la, gid, "not_today", "sleep")
    p = await progress(la)
    assert (p["streak"], cells(p)["2026-02-28"]) == (2, (0, 0, 1))
    await practise(la, gid, "partly", "boundary")
    p = await progress(la)
    assert p["streak"] == 3
    assert p["rate_14d"] == pytest.approx((len(practised) + 1) / 14, abs=0.006)
    assert p["by_step"]["protect"] == 2

    # The early check-in counts on its own day, once that day has come.
    travel(noon(10))
    p = await progress(la)
    assert (p["today"], p["streak"]) == ("2026-03-02", 4)
    assert cells(p)["2026-03-01"] == (1, 0, 0)
    # A day later, with nothing done yesterday: the streak is over.
    travel(noon(11))
    p = await progress(la)
    assert (p["today"], p["streak"]) == ("2026-03-03", 0)
    assert cells(p)["2026-03-02"] == (0, 0, 0)


async def test_rate_counts_only_the_last_14_days(clients, travel):
    travel(utc(2026, 1, 1, 12, 0))
    m = await clients.member()
    g = await clients.group(m)
    await practise(m, g["id"])
    travel(utc(2026, 1, 14, 12, 0))  # the 1st is the oldest of the last fourteen days
    p = await progress(m)
    assert (p["rate_14d"], p["streak"]) == (pytest.approx(1 / 14, abs=0.006), 0)
    travel(utc(2026, 1, 15, 12, 0))
    assert (await progress(m))["rate_14d"] == 0


async def test_progress_window(clients, travel):
    travel(utc(2026, 3, 20, 12, 0))
    m = await clients.member(timezone=AUCKLAND)
    for days in (1, 7, 14, 60):
        p = await progress(m, days=days)
        assert len(p["days"]) == days
        assert_consecutive(p)
    for bad in (0, -1, 367, "week"):
        support.assert_error(await m.get("/api/v1/me/progress", params={"days": bad}), 422)
    support.assert_error(await clients.anonymous().get("/api/v1/me/progress"), 401)


async def test_los_angeles_spring_forward_neither_skips_nor_doubles_a_day(clients, travel):
    travel(utc(2026, 3, 7, 20, 0))  # noon PST, Saturday the 7th
    la = await clients.member(timezone=LOS_ANGELES)
    g = await clients.group(la)
    gid = g["id"]
    moments = [
        (utc(2026, 3, 7, 20, 0), "2026-03-07"),
        (utc(2026, 3, 8, 7, 59), "2026-03-07"),   # 23:59 PST
        (utc(2026, 3, 8, 8, 1), "2026-03-08"),    # 00:01 PST; clocks jump 02:00 -> 03:00 at 10:00Z
        (utc(2026, 3, 8, 10, 30), "2026-03-08"),  # 03:30 PDT
        (utc(2026, 3, 9, 6, 59), "2026-03-08"),   # 23:59 PDT
        (utc(2026, 3, 9, 7, 30), "2026-03-09"),   # 00:30 PDT (still the 8th at a fixed UTC-8)
    ]
    for instant, local_day in moments:
        travel(instant)
        assert (await practise(la, gid))["day"] == local_day, instant
    p = await progress(la, days=7)
    assert p["today"] == "2026-03-09"
    assert_consecutive(p)
    c = cells(p)
    assert (c["2026-03-07"], c["2026-03-08"], c["2026-03-09"]) == ((2, 0, 0), (3, 0, 0), (1, 0, 0))
    assert p["streak"] == 3


async def test_auckland_autumn_change_neither_skips_nor_doubles_a_day(clients, travel):
    travel(utc(2026, 4, 4, 10, 30))  # 23:30 NZDT, Saturday the 4th
    nz = await clients.member(timezone=AUCKLAND)
    g = await clients.group(nz)
    gid = g["id"]
    moments = [
        (utc(2026, 4, 4, 10, 30), "2026-04-04"),
        (utc(2026, 4, 4, 11, 30), "2026-04-05"),  # 00:30 NZDT; 03:00 NZDT -> 02:00 NZST at 14:00Z
        (utc(2026, 4, 4, 14, 30), "2026-04-05"),  # 02:30 NZST, the second time round
        (utc(2026, 4, 5, 11, 30), "2026-04-05"),  # 23:30 NZST (already the 6th at a fixed UTC+13)
        (utc(2026, 4, 5, 12, 30), "2026-04-06"),  # 00:30 NZST
    ]
    for instant, local_day in moments:
        travel(instant)
        assert (await practise(nz, gid))["day"] == local_day, instant
    p = await progress(nz, days=5)
    assert p["today"] == "2026-04-06"
    assert_consecutive(p)
    c = cells(p)
    assert (c["2026-04-04"], c["2026-04-05"], c["2026-04-06"]) == ((1, 0, 0), (3, 0, 0), (1, 0, 0))
    assert p["streak"] == 3
