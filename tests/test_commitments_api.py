"""Commitments, check-ins and encouragement over the public API, as a member and as someone poking at ids."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from server.models import Event
from tests import support

pytestmark = pytest.mark.usefixtures("contract_kept")

# The contract's table of the three steps, written out again on purpose.
STEP_OF = {
    "rest": "care", "sleep": "care", "play": "care", "water": "care", "movement": "care",
    "nourishing_food": "care", "self_soothing": "care",
    "boundary": "protect",
    "assertive_communication": "connect", "closeness": "connect",
}
COMMITMENT_KEYS = {"id", "user_id", "group_id", "day", "category", "step", "text", "visibility",
                   "checkin"}
KINDS = ("proud", "rest_counts", "boundary_matters", "worth_it", "with_you")
NOW = support.utc(2026, 3, 10, 12, 0)  # a Tuesday noon in UTC: the same date nearly everywhere
TODAY = NOW.date()
YESTERDAY, TOMORROW = TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _noon():
    support.travel_to(NOW)
    yield
    support.reset_clock()


async def post(member, gid, category="rest", text="An early night", **extra):
    return await member.post(f"/api/v1/groups/{gid}/commitments",
                             {"category": category, "text": text, **extra})


async def posted(member, gid, category="rest", text="An early night", **extra):
    r = await post(member, gid, category, text, **extra)
    assert r.status_code == 201, r.text
    return r.json()


async def day_list(member, gid, day=None):
    r = await member.get(f"/api/v1/groups/{gid}/commitments",
                         params={"day": day.isoformat()} if day else None)
    assert r.status_code == 200, r.text
    return r.json()


async def check_in(member, cid, status="done", **extra):
    return await member.post(f"/api/v1/commitments/{cid}/checkin", {"status": status, **extra})


async def encourage(member, gid, kind="proud", **extra):
    return await member.post(f"/api/v1/groups/{gid}/encouragements", {"kind": kind, **extra})


async def group_events(app, gid):
    async with app.state.db.session() as session:
        return list((await session.scalars(
            select(Event).where(Event.group_id == gid).order_by(Event.seq))).all())


# --- posting ---------------------------------------------------------------------------------


async def test_every_category_has_its_step_and_three_a_day_is_the_most(clients):
    m = await clients.member()
    g1, g2 = await clients.group(m, name="One"), await clients.group(m, name="Two")
    categories = list(STEP_OF)
    days = [YESTERDAY] * 3 + [TODAY] * 3 + [TOMORROW] * 3
    for category, day in zip(categories, days, strict=False):
        c = await posted(m, g1["id"], category, f"  {category} please ", day=day.isoformat())
        assert set(c) >= COMMITMENT_KEYS, c
        assert isinstance(c["id"], int)
        assert (c["user_id"], c["group_id"]) == (m.id, g1["id"])
        assert (c["category"], c["step"]) == (category, STEP_OF[category])
        assert c["day"] == day.isoformat()
        assert c["text"] == f"{category} please"
        assert c["visibility"] == "group"
        assert c["checkin"] is None
    last = await posted(m, g2["id"], categories[9])
    assert (last["step"], last["day"]) == (STEP_OF[categories[9]], TODAY.isoformat())

    for day in (YESTERDAY, TODAY, TOMORROW):
        support.assert_error(await post(m, g1["id"], day=day.isoformat()), 409, "daily_limit")
    support.assert_error(await post(m, g1["id"], visibility="private"), 409, "daily_limit")
    assert len(await day_list(m, g1["id"])) == 3
    # The limit is per group: the second group still has room today.
    await posted(m, g2["id"], visibility="private")
    await posted(m, g2["id"])
    support.assert_error(await post(m, g2["id"]), 409, "daily_limit")


async def test_three_a_day_holds_even_at_once(clients):
    m = await clients.member()
    g = await clients.group(m)
    answers = await asyncio.gather(*(post(m, g["id"], text=f"Try {i}") for i in range(6)))
    assert sorted(r.status_code for r in answers) == [201] * 3 + [409] * 3, [r.text for r in answers]
    assert len(await day_list(m, g["id"])) == 3


async def test_refused_commitments(clients, app):
    m, outsider = await clients.member(), await clients.member()
    g = await clients.group(m)
    gid = g["id"]
    for category in ("nap", "Rest", "", None, 3, "care"):
        support.assert_error(await post(m, gid, category), 422)
    for text in ("", "   ", "\n\t", "x" * 281, None):
        support.assert_error(await post(m, gid, text=text), 422)
    support.assert_error(await post(m, gid, text="  "), 422, "text_required")
    for day in (TODAY + dt.timedelta(days=2), TODAY - dt.timedelta(days=2), dt.date(1970, 1, 1),
                dt.date(9999, 12, 31)):
        support.assert_error(await post(m, gid, day=day.isoformat()), 422, "invalid_day")
    for day in ("2026-02-30", "yesterday", "10/03/2026", 20260310):
        support.assert_error(await post(m, gid, day=day), 422)
    for visibility in ("public", "", "PRIVATE"):
        support.assert_error(await post(m, gid, visibility=visibility), 422)
    support.assert_error(await m.post(f"/api/v1/groups/{gid}/commitments", {"text": "no category"}), 422)
    support.assert_error(await post(outsider, gid), 404)
    support.assert_error(await clients.anonymous().post(
        f"/api/v1/groups/{gid}/commitments", json={"category": "rest", "text": "x"}), 401)
    # Nothing of that was stored, and 280 characters is fine.
    assert await day_list(m, gid) == []
    assert (await posted(m, gid, text="y" * 280))["text"] == "y" * 280
    assert [e.kind for e in await group_events(app, gid)] == ["commitment.created"]


async def test_a_nul_character_in_text_is_422_not_a_database_failure(clients):
    # PostgreSQL cannot store U+0000; it must be refused as input on every database alike.
    m = await clients.member()
    g = await clients.group(m)
    support.assert_error(await post(m, g["id"], text="before\x00after"), 422, "invalid_text")
    c = (await posted(m, g["id"], text="ok"))["id"]
    support.assert_error(await check_in(m, c, note="a\x00b"), 422, "invalid_text")
    support.assert_error(await encourage(m, g["id"], text="hi\x00"), 422, "invalid_text")
    support.assert_error(await m.patch("/api/v1/me", {"display_name": "Nul\x00"}), 422, "invalid_text")
    support.assert_error(await m.post("/api/v1/groups", {"name": "Nul\x00"}), 422, "invalid_text")
    support.assert_error(await m.post("/api/v1/groups", {"name": "N", "description": "\x00"}), 422)
    c = clients.anonymous()
    support.assert_error(await c.post("/api/v1/auth/register", json={
        "username": "nul", "password": "a fine long phrase", "display_name": "x\x00"}), 422)
    support.assert_error(await c.post("/api/v1/auth/login", json={
        "username": "a\x00b", "password": "whatever12"}), 401)
    support.assert_error(await m.get(f"/api/v1/groups/{g['id']}/commitments",
                                     params={"day": "2026-03-10\x00"}), 422)


async def test_the_day_list_hides_other_peoples_private_items(clients):
    a = await clients.member(display_name="Ann")
    b = await clients.member(display_name="Ben")
    outsider = await clients.member()
    g = await clients.group(a, b)
    gid = g["id"]
    a_shared = await posted(a, gid, "water", "Water with meals")
    a_private = await posted(a, gid, "boundary", "Say no to Sunday lunch", visibility="private")
    b_shared = await posted(b, gid, "play", "Ten minutes of guitar")
    b_private = await posted(b, gid, "closeness", "Call my sister", visibility="private")
    b_tomorrow = await posted(b, gid, "sleep", "Bed by eleven", day=TOMORROW.isoformat())

    seen_by_a = {c["id"]: c for c in await day_list(a, gid, TODAY)}
    assert set(seen_by_a) == {a_shared["id"], a_private["id"], b_shared["id"]}
    assert seen_by_a[b_shared["id"]]["display_name"] == "Ben"
    assert {c["id"] for c in await day_list(b, gid)} == {a_shared["id"], b_shared["id"], b_private["id"]}
    assert [c["id"] for c in await day_list(a, gid, TOMORROW)] == [b_tomorrow["id"]]
    assert await day_list(a, gid, YESTERDAY) == []
    for bad in ("tomorrow", "2026-13-01", "' OR 1=1 --"):
        support.assert_error(await a.get(f"/api/v1/groups/{gid}/commitments", params={"day": bad}), 422)
    support.assert_error(await outsider.get(f"/api/v1/groups/{gid}/commitments"), 404)


# --- checking in -----------------------------------------------------------------------------


async def test_check_in_and_check_in_again(clients, app):
    a, b = await clients.member(), await clients.member()
    g = await clients.group(a, b)
    c = await posted(a, g["id"], "movement", "A walk round the block")

    r = await check_in(a, c["id"], "done", note="  It rained, still went ", feeling=4)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= COMMITMENT_KEYS and body["id"] == c["id"]
    ch = body["checkin"]
    assert (ch["status"], ch["note"], ch["feeling"]) == ("done", "It rained, still went", 4)
    support.parse_time(ch["at"])

    for status, feeling in (("partly", 2), ("not_today", None), ("partly", 1), ("done", 5)):
        r = await check_in(a, c["id"], status, feeling=feeling)
        assert r.status_code == 200, r.text
        assert (r.json()["checkin"]["status"], r.json()["checkin"]["feeling"]) == (status, feeling)
        assert r.json()["checkin"]["id"] == ch["id"]
    mine = (await day_list(a, g["id"]))[0]["checkin"]
    assert (mine["status"], mine["feeling"], mine["note"]) == ("done", 5, None)

    # What others see: how it went, never the feeling.
    theirs = (await day_list(b, g["id"]))[0]["checkin"]
    assert theirs["status"] == "done"
    assert theirs["feeling"] is None
    await check_in(a, c["id"], "partly", note="Half way", feeling=3)
    theirs = (await day_list(b, g["id"]))[0]["checkin"]
    assert (theirs["status"], theirs["note"], theirs["feeling"]) == ("partly", "Half way", None)
    for event in await group_events(app, g["id"]):
        assert "feeling" not in event.data, event.data


async def test_refused_check_ins(clients, app):
    a, b, outsider = await clients.member(), await clients.member(), await clients.member()
    g = await clients.group(a, b)
    other = await clients.group(outsider)
    c = await posted(a, g["id"])
    a_private = await posted(a, g["id"], "boundary", "No to overtime", visibility="private")
    b_shared = await posted(b, g["id"], "sleep", "Phone out of the bedroom")
    outsider_private = await posted(outsider, other["id"], "rest", "Sofa time", visibility="private")
    outsider_shared = await posted(outsider, other["id"], "rest", "Bath")

    for feeling in (0, 6, -1, 2.5, "good", 10**10):
        support.assert_error(await check_in(a, c["id"], feeling=feeling), 422)
    for status in ("maybe", "", None, "DONE"):
        support.assert_error(await check_in(a, c["id"], status), 422)
    support.assert_error(await check_in(a, c["id"], note="n" * 501), 422)
    support.assert_error(await a.post(f"/api/v1/commitments/{c['id']}/checkin", {}), 422)

    support.assert_error(await check_in(a, b_shared["id"]), 403, "not_author")
    support.assert_error(await check_in(b, a_private["id"]), 404)
    support.assert_error(await check_in(outsider, c["id"]), 404)
    not_found = support.assert_error(await check_in(a, outsider_private["id"]), 404)
    assert support.assert_error(await check_in(a, outsider_shared["id"]), 404) == not_found
    assert support.assert_error(await check_in(a, 987654), 404) == not_found
    for bad in ("0", "-1", str(2**31), "x"):
        support.assert_error(await a.post(f"/api/v1/commitments/{bad}/checkin", {"status": "done"}), 422)
    support.assert_error(await clients.anonymous().post(
        f"/api/v1/commitments/{c['id']}/checkin", json={"status": "done"}), 401)

    # None of it left a mark.
    assert all(x["checkin"] is None for x in await day_list(a, g["id"]))
    assert all(x["checkin"] is None for x in await day_list(outsider, other["id"]))
    kinds = [e.kind for e in await group_events(app, g["id"])]
    assert "commitment.checked_in" not in kinds


async def test_private_items_never_reach_group_events(clients, app):
    a, b = await clients.member(), await clients.member()
    g = await clients.group(a, b)
    private = await posted(a, g["id"], "boundary", "A secret boundary", visibility="private")
    assert (await check_in(a, private["id"], "done", note="kept it")).status_code == 200
    for event in await group_events(app, g["id"]):
        assert "secret" not in str(event.data) and "kept it" not in str(event.data), event.data
        assert event.data.get("commitment_id") != private["id"]


# --- encouragement ---------------------------------------------------------------------------


async def test_encouragement_events(clients):
    a = await clients.member(display_name="Ann")
    b = await clients.member(display_name="Ben")
    g = await clients.group(a, b)
    gid = g["id"]
    cb = await posted(b, gid, "rest", "A nap after lunch")

    seqs = []
    for kind in KINDS:
        r = await encourage(a, gid, kind)
        assert r.status_code == 201, r.text
        e = r.json()
        assert e["type"] == "event" and e["kind"] == "encouragement.sent"
        assert e["group_id"] == gid
        assert e["actor"]["id"] == a.id and e["actor"]["display_name"] == "Ann"
        assert {k: e["data"][k] for k in ("kind", "text", "commitment_id", "to_user_id")} == {
            "kind": kind, "text": None, "commitment_id": None, "to_user_id": None}
        support.parse_time(e["at"])
        seqs.append(e["seq"])
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    r = await encourage(a, gid, "rest_counts", text="  Rest is work too ", commitment_id=cb["id"])
    assert r.status_code == 201, r.text
    assert {k: r.json()["data"][k] for k in ("kind", "text", "commitment_id", "to_user_id")} == {
        "kind": "rest_counts", "text": "Rest is work too", "commitment_id": cb["id"],
        "to_user_id": b.id}
    r = await encourage(b, gid, "with_you", to_user_id=a.id, text="t" * 280)
    assert r.status_code == 201, r.text
    assert r.json()["data"]["to_user_id"] == a.id and r.json()["data"]["commitment_id"] is None


async def test_refused_encouragement(clients):
    a, b, outsider = await clients.member(), await clients.member(), await clients.member()
    g = await clients.group(a, b)
    gid = g["id"]
    elsewhere = await clients.group(a, name="Elsewhere")
    theirs = await clients.group(outsider, name="Theirs")
    c_elsewhere = await posted(a, elsewhere["id"], "play", "Puzzle")
    c_theirs = await posted(outsider, theirs["id"], "play", "Cards")
    b_private = await posted(b, gid, "boundary", "Private one", visibility="private")
    cb = await posted(b, gid, "water", "Two litres")
    left = await clients.member()
    assert (await join_and_leave(left, g)) == 204

    for kind in ("hug", "", None, "PROUD"):
        support.assert_error(await encourage(a, gid, kind), 422)
    support.assert_error(await encourage(a, gid, text="t" * 281), 422)
    support.assert_error(await encourage(a, gid, to_user_id=outsider.id), 404)
    support.assert_error(await encourage(a, gid, to_user_id=left.id), 404)
    support.assert_error(await encourage(a, gid, to_user_id=99999), 404)
    support.assert_error(await encourage(a, gid, commitment_id=c_elsewhere["id"]), 404)
    support.assert_error(await encourage(a, gid, commitment_id=c_theirs["id"]), 404)
    support.assert_error(await encourage(a, gid, commitment_id=b_private["id"]), 404)
    support.assert_error(await encourage(a, gid, commitment_id=987654), 404)
    support.assert_error(await encourage(a, gid, commitment_id=cb["id"], to_user_id=outsider.id), 422)
    support.assert_error(await encourage(a, gid, to_user_id=a.id), 422)
    for bad in (0, -1, 2**31, 2**63, "x"):
        support.assert_error(await encourage(a, gid, to_user_id=bad), 422)
        support.assert_error(await encourage(a, gid, commitment_id=bad), 422)
    support.assert_error(await encourage(outsider, gid), 404)
    support.assert_error(await clients.anonymous().post(
        f"/api/v1/groups/{gid}/encouragements", json={"kind": "proud"}), 401)
    received = (await b.get("/api/v1/me/encouragements")).json()
    assert received == []


async def join_and_leave(member, group):
    r = await member.post("/api/v1/groups/join", {"invite_code": group["invite_code"],
                                                  "accept_agreement": True})
    assert r.status_code == 200, r.text
    return (await member.post(f"/api/v1/groups/{group['id']}/leave")).status_code


async def test_the_21st_encouragement_in_a_minute_waits(clients):
    a, b = await clients.member(), await clients.member()
    g = await clients.group(a, b)
    for i in range(20):
        r = await encourage(a, g["id"], KINDS[i % len(KINDS)], to_user_id=b.id)
        assert r.status_code == 201, (i, r.text)
    r = await encourage(a, g["id"])
    support.assert_error(r, 429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    support.assert_error(await encourage(a, g["id"]), 429)
    # Someone else is not slowed down, and a minute later the first can cheer again.
    assert (await encourage(b, g["id"])).status_code == 201
    support.travel_on(dt.timedelta(seconds=61))
    assert (await encourage(a, g["id"])).status_code == 201


async def test_the_limit_holds_when_sent_at_once(clients):
    a, b = await clients.member(), await clients.member()
    g = await clients.group(a, b)
    answers = await asyncio.gather(*(encourage(a, g["id"], to_user_id=b.id) for _ in range(25)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201] * 20 + [429] * 5, statuses
    assert len((await b.get("/api/v1/me/encouragements")).json()) == 20
