"""Groups over the public API: creating, joining with a code, invites, leaving, removal, and who may do what."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from server.csrf import SESSION_COOKIE
from tests import support

pytestmark = pytest.mark.usefixtures("contract_kept")

MEMBER_KEYS = {"user_id", "display_name", "role"}


async def several(clients, n):
    return [await clients.member() for _ in range(n)]


async def join(member, code, accept=True):
    return await member.post("/api/v1/groups/join", {"invite_code": code, "accept_agreement": accept})


async def members_of(member, gid):
    r = await member.get(f"/api/v1/groups/{gid}/members")
    assert r.status_code == 200, r.text
    return r.json()


async def roles(member, gid):
    return {m["user_id"]: m["role"] for m in await members_of(member, gid)}


async def new_invite(moderator, gid, **body):
    r = await moderator.post(f"/api/v1/groups/{gid}/invites", body)
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_request_about_a_group_reads_the_member_with_their_session(app, clients):
    owner, member, outsider, elsewhere, removed = [await clients.member() for _ in range(5)]
    gid = (await clients.group(owner, member, removed))["id"]
    await clients.group(outsider, elsewhere)  # active members, of another group
    r = await owner.delete(f"/api/v1/groups/{gid}/members/{removed.id}")
    assert r.status_code == 204, r.text
    # The member's page of the group's day, as their browser asks for it (an outsider's is the
    # 404 page: tests/test_pages.py).
    browser = clients.anonymous()
    browser.cookies.set(SESSION_COOKIE, member.token)
    commitments = f"/api/v1/groups/{gid}/commitments"
    for client, path, status in ((member.client, commitments, 200),
                                 (outsider.client, commitments, 404),
                                 (elsewhere.client, commitments, 404),
                                 (removed.client, commitments, 404),
                                 (browser, f"/groups/{gid}", 200)):
        with support.statements_of(app) as seen:
            r = await client.get(path)
        assert r.status_code == status, (path, r.text)
        # One statement reads the session and the membership; none reads the membership again.
        both = [s for s in seen if " sessions" in s and " memberships" in s]
        assert len(both) == 1, seen
        assert not [s for s in seen if "FROM groups JOIN memberships" in s], seen
    # A route that asks for the member itself (a group's reminders) takes the same read.
    with support.statements_of(app) as seen:
        r = await member.client.put(f"/api/v1/me/reminders/groups/{gid}", json={"practice": "on"})
    assert r.status_code == 200, r.text
    assert len([s for s in seen if " sessions" in s and " memberships" in s]) == 1, seen
    assert not [s for s in seen if "FROM groups JOIN memberships" in s], seen
    # A request about no group reads only the session.
    with support.statements_of(app) as seen:
        assert (await member.get("/api/v1/me")).status_code == 200
    assert not [s for s in seen if " memberships" in s and " sessions" in s], seen
    # A form the cookie signed reads the membership after its CSRF check has the whole body:
    # whoever left or was removed while it was sent is not let in.
    token = await support.page_csrf(browser)
    with support.statements_of(app) as seen:
        r = await browser.post(f"/groups/{gid}/commitments", data={
            "csrf_token": token, "category": "rest", "text": "A nap", "visibility": "group"})
    assert r.status_code == 303, r.text
    assert not [s for s in seen if " memberships" in s and " sessions" in s], seen
    assert [s for s in seen if "FROM groups JOIN memberships" in s], seen


# --- creating and reading ---------------------------------------------------------------------


async def test_create_group_makes_the_creator_its_moderator(clients):
    m = await clients.member("maker", display_name="Maker")
    r = await m.post("/api/v1/groups", {"name": "  Tuesday   circle ", "description": "We meet."})
    assert r.status_code == 201, r.text
    g = r.json()
    assert isinstance(g["id"], int)
    assert g["name"] == "Tuesday circle"
    assert g["description"] == "We meet."
    assert g["capacity"] == 12
    assert g["member_count"] == 1
    assert g["role"] == "moderator"
    assert isinstance(g["invite_code"], str) and len(g["invite_code"]) >= 8
    support.parse_time(g["created_at"])
    rows = await members_of(m, g["id"])
    assert [{k: row[k] for k in MEMBER_KEYS} for row in rows] == [
        {"user_id": m.id, "display_name": "Maker", "role": "moderator"}]
    # The moderator sees the same group, code included, when reading it back.
    again = (await m.get(f"/api/v1/groups/{g['id']}")).json()
    assert again["id"] == g["id"] and again["invite_code"] == g["invite_code"]


async def test_capacity_is_3_to_20_and_names_are_needed(clients):
    m = await clients.member()
    for capacity in (3, 20):
        r = await m.post("/api/v1/groups", {"name": "Edge", "capacity": capacity})
        assert r.status_code == 201 and r.json()["capacity"] == capacity, r.text
    for capacity in (2, 21, 0, -1, 10**12, "twelve", 12.5, None):
        support.assert_error(await m.post("/api/v1/groups", {"name": "Bad", "capacity": capacity}), 422)
    for name in ("", "   ", "n" * 81):
        support.assert_error(await m.post("/api/v1/groups", {"name": name}), 422)
    support.assert_error(await m.post("/api/v1/groups", {}), 422)
    support.assert_error(await m.post("/api/v1/groups", [1, 2]), 422)
    assert len((await m.get("/api/v1/groups")).json()) == 2
    support.assert_error(await clients.anonymous().post("/api/v1/groups", json={"name": "x"}), 401)


async def test_list_shows_only_my_groups(clients):
    a, b = await clients.member(), await clients.member()
    alpha = await clients.group(a, name="Alpha")
    beta = await clients.group(b, name="Beta")
    assert [g["id"] for g in (await a.get("/api/v1/groups")).json()] == [alpha["id"]]
    await join(b, alpha["invite_code"])
    mine = {g["id"]: g for g in (await b.get("/api/v1/groups")).json()}
    assert set(mine) == {alpha["id"], beta["id"]}
    assert mine[alpha["id"]]["role"] == "member"
    assert mine[beta["id"]]["role"] == "moderator"
    # A plain member does not get the group's invite code.
    assert mine[alpha["id"]]["invite_code"] is None
    assert (await b.get(f"/api/v1/groups/{alpha['id']}")).json()["invite_code"] is None
    support.assert_error(await clients.anonymous().get("/api/v1/groups"), 401)


async def test_non_members_get_the_same_404_as_for_a_group_that_does_not_exist(clients):
    owner, outsider = await clients.member(), await clients.member()
    g = await clients.group(owner)
    gid = g["id"]
    for path in ("", "/members", "/commitments", "/invites"):
        hidden = support.assert_error(await outsider.get(f"/api/v1/groups/{gid}{path}"), 404)
        missing = support.assert_error(await outsider.get(f"/api/v1/groups/{gid + 1000}{path}"), 404)
        assert hidden == missing
    for method, path, body in (("post", "/leave", None), ("post", "/invites", {}),
                               ("delete", f"/invites/{g['invite_code']}", None),
                               ("delete", f"/members/{owner.id}", None),
                               ("post", "/commitments", {"category": "rest", "text": "nap"}),
                               ("post", "/encouragements", {"kind": "proud"})):
        kw = {} if body is None else {"json": body}
        hidden = support.assert_error(await getattr(outsider.client, method)(
            f"/api/v1/groups/{gid}{path}", **kw), 404)
        missing = support.assert_error(await getattr(outsider.client, method)(
            f"/api/v1/groups/{gid + 1000}{path}", **kw), 404)
        assert hidden == missing, path
    # The outsider did nothing to the group.
    assert await roles(owner, gid) == {owner.id: "moderator"}
    assert (await owner.get(f"/api/v1/groups/{gid}/invites")).json()[0]["code"] == g["invite_code"]
    for bad in ("0", "-1", str(2**31), str(2**63), "abc", "1.5"):
        r = await outsider.get(f"/api/v1/groups/{bad}")
        assert r.status_code in (404, 422), (bad, r.status_code)
    support.assert_error(await clients.anonymous().get(f"/api/v1/groups/{gid}"), 401)


async def test_members_list(clients):
    mod = await clients.member(display_name="Mod")
    a = await clients.member(display_name="Ash")
    b = await clients.member(display_name="Bo")
    g = await clients.group(mod, a, b)
    rows = await members_of(b, g["id"])
    assert all(set(row) >= MEMBER_KEYS for row in rows), rows
    assert {(r["user_id"], r["display_name"], r["role"]) for r in rows} == {
        (mod.id, "Mod", "moderator"), (a.id, "Ash", "member"), (b.id, "Bo", "member")}
    assert len(rows) == 3
    assert (await b.get(f"/api/v1/groups/{g['id']}")).json()["member_count"] == 3


# --- joining ---------------------------------------------------------------------------------


async def test_join_needs_the_agreement(clients):
    mod, j = await clients.member(), await clients.member()
    g = await clients.group(mod)
    support.assert_error(await join(j, g["invite_code"], accept=False), 400, "agreement_required")
    support.assert_error(await j.post("/api/v1/groups/join", {"invite_code": g["invite_code"]}), 400)
    support.assert_error(await j.get(f"/api/v1/groups/{g['id']}"), 404)
    r = await join(j, g["invite_code"].lower())
    assert r.status_code == 200, r.text
    assert r.json()["id"] == g["id"] and r.json()["role"] == "member"


async def test_join_with_an_unknown_code_is_404(clients):
    j = await clients.member()
    for code in ("NOSUCHCODE", "' OR 1=1 --", "%", "ZZZZZZZZZZ"):
        support.assert_error(await join(j, code), 404, "invite_not_found")
    support.assert_error(await join(j, ""), 422)
    support.assert_error(await join(j, "A" * 65), 422)
    support.assert_error(await j.post("/api/v1/groups/join", {"accept_agreement": True}), 422)
    assert (await j.get("/api/v1/groups")).json() == []


async def test_a_full_group_is_409_but_members_can_rejoin(clients):
    mod, a, b, late = await several(clients, 4)
    g = await clients.group(mod, a, b, capacity=3)
    support.assert_error(await join(late, g["invite_code"]), 409, "group_full")
    support.assert_error(await late.get(f"/api/v1/groups/{g['id']}"), 404)
    # Already inside: joining again is fine even though the group is full.
    r = await join(a, g["invite_code"])
    assert r.status_code == 200 and r.json()["member_count"] == 3, r.text
    # A seat frees up when someone leaves.
    assert (await b.post(f"/api/v1/groups/{g['id']}/leave")).status_code == 204
    assert (await join(late, g["invite_code"])).status_code == 200


async def test_an_expired_code_is_410(clients, travel):
    start = support.utc(2026, 3, 1, 9, 0)
    travel(start)
    mod, j = await clients.member(), await clients.member()
    g = await clients.group(mod)
    short = await new_invite(mod, g["id"], expires_in_days=1)
    assert support.parse_time(short["expires_at"]) - start == pytest.approx(
        dt.timedelta(days=1), abs=dt.timedelta(minutes=1))
    travel(start + dt.timedelta(days=1, minutes=1))
    support.assert_error(await join(j, short["code"]), 410, "invite_expired")
    travel(start + dt.timedelta(days=10, minutes=1))
    support.assert_error(await join(j, g["invite_code"]), 410, "invite_expired")
    support.assert_error(await j.get(f"/api/v1/groups/{g['id']}"), 404)
    # The moderator no longer sees an expired code as the group's code.
    assert (await mod.get(f"/api/v1/groups/{g['id']}")).json()["invite_code"] is None


async def test_a_revoked_code_is_410(clients):
    mod, j = await clients.member(), await clients.member()
    g = await clients.group(mod)
    code = g["invite_code"]
    assert (await mod.delete(f"/api/v1/groups/{g['id']}/invites/{code}")).status_code == 204
    support.assert_error(await join(j, code), 410, "invite_revoked")
    assert (await mod.delete(f"/api/v1/groups/{g['id']}/invites/{code}")).status_code == 204
    support.assert_error(await mod.delete(f"/api/v1/groups/{g['id']}/invites/NOSUCHCODE"), 404)
    assert (await mod.get(f"/api/v1/groups/{g['id']}")).json()["invite_code"] is None
    fresh = await new_invite(mod, g["id"])
    assert fresh["code"] != code
    assert (await join(j, fresh["code"])).status_code == 200


async def test_a_used_up_code_is_410(clients):
    mod, a, b = await several(clients, 3)
    g = await clients.group(mod)
    once = await new_invite(mod, g["id"], max_uses=1)
    assert once["max_uses"] == 1
    assert (await join(a, once["code"])).status_code == 200
    support.assert_error(await join(b, once["code"]), 410, "invite_used_up")
    # Someone already in can use it again without using it up further.
    assert (await join(a, once["code"])).status_code == 200


async def test_a_single_use_code_lets_in_one_person_even_at_once(clients):
    mod, a, b, c = await several(clients, 4)
    g = await clients.group(mod)
    once = await new_invite(mod, g["id"], max_uses=1)
    answers = await asyncio.gather(*(join(m, once["code"]) for m in (a, b, c)))
    assert sorted(r.status_code for r in answers) == [200, 410, 410], [r.text for r in answers]
    assert len(await members_of(mod, g["id"])) == 2
    uses = {i["code"]: i["uses"] for i in (await mod.get(f"/api/v1/groups/{g['id']}/invites")).json()}
    assert uses.get(once["code"], 1) == 1


async def test_the_last_seat_goes_to_one_person_even_at_once(clients):
    mod, a, b, c = await several(clients, 4)
    g = await clients.group(mod, a, capacity=3)
    answers = await asyncio.gather(*(join(m, g["invite_code"]) for m in (b, c)))
    assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
    assert len(await members_of(mod, g["id"])) == 3


async def test_the_code_a_moderator_is_shown_still_works(clients):
    mod, a = await several(clients, 2)
    g = await clients.group(mod)
    once = await new_invite(mod, g["id"], max_uses=1)
    assert (await join(a, once["code"])).status_code == 200
    shown = (await mod.get(f"/api/v1/groups/{g['id']}")).json()["invite_code"]
    assert shown != once["code"], "the group page offers a code that is used up"
    assert shown == g["invite_code"]
    listed = [i["code"] for i in (await mod.get(f"/api/v1/groups/{g['id']}/invites")).json()]
    assert once["code"] not in listed


async def test_joining_twice_is_idempotent(clients):
    mod, a = await clients.member(), await clients.member()
    g = await clients.group(mod)
    first, second = await join(a, g["invite_code"]), await join(a, g["invite_code"])
    assert first.status_code == second.status_code == 200
    assert second.json()["member_count"] == 2
    assert len(await members_of(mod, g["id"])) == 2
    invites = (await mod.get(f"/api/v1/groups/{g['id']}/invites")).json()
    assert [i["uses"] for i in invites if i["code"] == g["invite_code"]] == [1]


# --- invites ---------------------------------------------------------------------------------


async def test_moderators_make_invites(clients, travel):
    now = support.utc(2026, 3, 2, 12, 0)
    travel(now)
    mod, a = await clients.member(), await clients.member()
    g = await clients.group(mod)
    r = await mod.post(f"/api/v1/groups/{g['id']}/invites", {})
    assert r.status_code == 201, r.text
    invite = r.json()
    assert {"code", "expires_at", "max_uses"} <= set(invite)
    assert invite["max_uses"] is None
    assert support.parse_time(invite["expires_at"]) - now == pytest.approx(
        dt.timedelta(days=10), abs=dt.timedelta(minutes=1))
    custom = await new_invite(mod, g["id"], expires_in_days=3, max_uses=5)
    assert custom["max_uses"] == 5
    assert support.parse_time(custom["expires_at"]) - now == pytest.approx(
        dt.timedelta(days=3), abs=dt.timedelta(minutes=1))
    for body in ({"expires_in_days": 0}, {"expires_in_days": 91}, {"max_uses": 0},
                 {"max_uses": 101}, {"expires_in_days": "soon"}, {"max_uses": -5}):
        support.assert_error(await mod.post(f"/api/v1/groups/{g['id']}/invites", body), 422)
    assert (await join(a, custom["code"])).status_code == 200


async def test_a_plain_member_gets_403_on_moderator_routes(clients):
    mod, a = await clients.member(), await clients.member()
    g = await clients.group(mod, a)
    gid, code = g["id"], g["invite_code"]
    support.assert_error(await a.post(f"/api/v1/groups/{gid}/invites", {}), 403, "not_moderator")
    support.assert_error(await a.get(f"/api/v1/groups/{gid}/invites"), 403, "not_moderator")
    support.assert_error(await a.delete(f"/api/v1/groups/{gid}/invites/{code}"), 403, "not_moderator")
    support.assert_error(await a.delete(f"/api/v1/groups/{gid}/members/{mod.id}"), 403, "not_moderator")
    # Nothing changed.
    assert await roles(mod, gid) == {mod.id: "moderator", a.id: "member"}
    assert [i["code"] for i in (await mod.get(f"/api/v1/groups/{gid}/invites")).json()] == [code]


# --- leaving and removal --------------------------------------------------------------------


async def test_leaving(clients):
    mod, a = await clients.member(), await clients.member()
    g = await clients.group(mod, a)
    gid = g["id"]
    assert (await a.post(f"/api/v1/groups/{gid}/leave")).status_code == 204
    support.assert_error(await a.get(f"/api/v1/groups/{gid}"), 404)
    support.assert_error(await a.post(f"/api/v1/groups/{gid}/leave"), 404)
    assert (await a.get("/api/v1/groups")).json() == []
    assert await roles(mod, gid) == {mod.id: "moderator"}
    # Leaving is not a ban: the code lets them back in, as a plain member.
    r = await join(a, g["invite_code"])
    assert r.status_code == 200 and r.json()["role"] == "member"


async def test_removing_a_member(clients):
    mod, a, b = await several(clients, 3)
    g = await clients.group(mod, a, b)
    gid = g["id"]
    r = await a.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "A nap"})
    assert r.status_code == 201, r.text
    earlier = r.json()
    assert (await mod.delete(f"/api/v1/groups/{gid}/members/{a.id}")).status_code == 204
    support.assert_error(await a.get(f"/api/v1/groups/{gid}"), 404)
    support.assert_error(await a.get(f"/api/v1/groups/{gid}/members"), 404)
    assert await roles(mod, gid) == {mod.id: "moderator", b.id: "member"}
    # A removed member cannot come back with the group's code, nor with a fresh one.
    r = await join(a, g["invite_code"])
    assert r.status_code == 403, r.text
    r = await join(a, (await new_invite(mod, gid))["code"])
    assert r.status_code == 403, r.text
    support.assert_error(await a.get(f"/api/v1/groups/{gid}"), 404)
    assert a.id not in await roles(mod, gid)
    # Nor act in it: no posting, no checking in on what they posted before, no cheering.
    support.assert_error(await a.post(f"/api/v1/groups/{gid}/commitments",
                                      {"category": "rest", "text": "still here?"}), 404)
    support.assert_error(await a.post(f"/api/v1/commitments/{earlier['id']}/checkin",
                                      {"status": "done"}), 404)
    support.assert_error(await a.post(f"/api/v1/groups/{gid}/encouragements", {"kind": "proud"}), 404)
    # Removing twice, removing nobody, removing yourself.
    support.assert_error(await mod.delete(f"/api/v1/groups/{gid}/members/{a.id}"), 404)
    support.assert_error(await mod.delete(f"/api/v1/groups/{gid}/members/99999"), 404)
    support.assert_error(await mod.delete(f"/api/v1/groups/{gid}/members/{mod.id}"), 400)
    for bad in ("0", "-3", str(2**40), "me"):
        support.assert_error(await mod.delete(f"/api/v1/groups/{gid}/members/{bad}"), 422)
    assert await roles(mod, gid) == {mod.id: "moderator", b.id: "member"}


async def test_the_longest_standing_member_steps_up_when_the_last_moderator_leaves(clients, travel):
    start = support.utc(2026, 3, 3, 9, 0)
    travel(start)
    mod, first, second = await several(clients, 3)
    g = await clients.group(mod)
    gid = g["id"]
    assert (await join(first, g["invite_code"])).status_code == 200
    travel(start + dt.timedelta(hours=1))
    assert (await join(second, g["invite_code"])).status_code == 200
    assert (await mod.post(f"/api/v1/groups/{gid}/leave")).status_code == 204
    assert await roles(first, gid) == {first.id: "moderator", second.id: "member"}
    assert (await first.post(f"/api/v1/groups/{gid}/invites", {})).status_code == 201
    assert (await first.post(f"/api/v1/groups/{gid}/leave")).status_code == 204
    assert await roles(second, gid) == {second.id: "moderator"}
    # The former moderator coming back is a plain member.
    r = await join(mod, (await new_invite(second, gid))["code"])
    assert r.status_code == 200 and r.json()["role"] == "member"


async def test_a_group_keeps_a_moderator_when_people_leave_at_once(clients):
    mod, first, second = await several(clients, 3)
    for _ in range(4):  # a race: several rounds make a lost moderator likely to show
        g = await clients.group(mod, first, second)
        gid = g["id"]
        answers = await asyncio.gather(mod.post(f"/api/v1/groups/{gid}/leave"),
                                       first.post(f"/api/v1/groups/{gid}/leave"))
        assert [r.status_code for r in answers] == [204, 204]
        assert await roles(second, gid) == {second.id: "moderator"}


async def test_leaving_while_being_removed(clients):
    mod, a = await several(clients, 2)
    for _ in range(3):
        g = await clients.group(mod, a)
        gid = g["id"]
        answers = await asyncio.gather(a.post(f"/api/v1/groups/{gid}/leave"),
                                       mod.delete(f"/api/v1/groups/{gid}/members/{a.id}"))
        assert sorted(r.status_code for r in answers) == [204, 404], [r.text for r in answers]
        assert await roles(mod, gid) == {mod.id: "moderator"}


async def test_a_moderator_cannot_reach_into_another_group(clients):
    mod_a, mod_b, b_member = await several(clients, 3)
    a = await clients.group(mod_a, name="A")
    b = await clients.group(mod_b, b_member, name="B")

    async def attempts():
        yield await mod_a.delete(f"/api/v1/groups/{a['id']}/members/{b_member.id}")
        yield await mod_a.delete(f"/api/v1/groups/{a['id']}/members/{mod_b.id}")
        yield await mod_a.delete(f"/api/v1/groups/{b['id']}/members/{b_member.id}")
        yield await mod_a.delete(f"/api/v1/groups/{a['id']}/invites/{b['invite_code']}")
        yield await mod_a.delete(f"/api/v1/groups/{b['id']}/invites/{b['invite_code']}")
        yield await mod_a.post(f"/api/v1/groups/{b['id']}/invites", {})
        yield await mod_a.get(f"/api/v1/groups/{b['id']}/invites")

    # As an outsider to B, everything is 404.
    async for r in attempts():
        support.assert_error(r, 404)
    # As a plain member of B (and still moderator of A), B's moderator routes are 403;
    # A's ids do not reach B's people or codes.
    assert (await join(mod_a, b["invite_code"])).status_code == 200
    statuses = [r.status_code async for r in attempts()]
    assert statuses == [404, 404, 403, 404, 403, 403, 403], statuses

    assert await roles(mod_b, b["id"]) == {mod_b.id: "moderator", b_member.id: "member",
                                           mod_a.id: "member"}
    codes = [i["code"] for i in (await mod_b.get(f"/api/v1/groups/{b['id']}/invites")).json()]
    assert b["invite_code"] in codes
