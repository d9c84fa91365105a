"""Privacy at the edges of a live socket, on SQLite and PostgreSQL: whatever ends (a session,
a role) ends what the socket receives, with no frame after the ending; hidden words stay
hidden in every later event; moderator-only events leave no trace in the shared stream;
private words notify nobody. Order is asserted, not time: each test reads until the socket
closes or until the answer to a ping (the server answers in order)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import httpx
from sqlalchemy import update

from server import clock
from server.accounts.service import token_hash
from server.db import transaction
from server.models import AuthSession, Event
from tests.realtime.helpers import (
    PASSWORD,
    RemoteMember,
    next_frame,
    remote_group,
    remote_member,
    settle,
    until_closed,
)

WORRYING = "I want to die"


async def second_session(member: RemoteMember) -> RemoteMember:
    """The same member signed in again (another device)."""
    async with httpx.AsyncClient(base_url=member.base_url, timeout=30) as c:
        r = await c.post("/api/v1/auth/login", json={"username": member.user["username"],
                                                     "password": PASSWORD})
        assert r.status_code == 200, r.text
    return RemoteMember(member.base_url, member.user, r.json()["token"])


async def circle(server: Any) -> tuple[RemoteMember, RemoteMember, int]:
    mod, member = await remote_member(server.url), await remote_member(server.url)
    group = await remote_group(mod, member)
    return mod, member, group["id"]


async def newcomer(server: Any, mod: RemoteMember, gid: int) -> RemoteMember:
    """Someone new who joins the group with its invite code."""
    member = await remote_member(server.url)
    code = (await mod.get(f"/api/v1/groups/{gid}")).json()["invite_code"]
    r = await member.post("/api/v1/groups/join", {"invite_code": code, "accept_agreement": True})
    assert r.status_code == 200, r.text
    return member


def kinds(frames: list[dict]) -> list[str]:
    return [f["kind"] for f in frames if f["type"] == "event"]


# -- what ends, ends everything it opened -----------------------------------------------------


async def test_signing_out_closes_the_socket_before_anything_else_arrives(inprocess_server):
    server = inprocess_server
    mod, member, gid = await circle(server)
    async with mod.socket(server.ws_url, gid) as ws:
        assert (await next_frame(ws))["type"] == "welcome"
        assert (await mod.post("/api/v1/auth/logout", None)).status_code == 204
        r = await member.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "A nap"})
        assert r.status_code == 201
        frames, code = await until_closed(ws)
    assert code == 4401
    assert "A nap" not in json.dumps(frames) and kinds(frames) == []


async def test_a_new_password_closes_the_other_sessions_sockets_only(inprocess_server):
    server = inprocess_server
    mod, member, gid = await circle(server)
    phone = await second_session(mod)
    async with mod.socket(server.ws_url, gid) as old, phone.socket(server.ws_url, gid) as kept:
        for ws in (old, kept):
            assert (await next_frame(ws))["type"] == "welcome"
        r = await phone.post("/api/v1/me/password", {"current_password": PASSWORD,
                                                     "new_password": "a whole new sentence 42"})
        assert r.status_code == 204, r.text
        r = await member.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "A nap"})
        assert r.status_code == 201
        frames, code = await until_closed(old)
        assert code == 4401 and kinds(frames) == []
        # The session that changed the password goes on, and hears of the post.
        assert (await next_frame(kept))["kind"] == "commitment.created"


async def test_an_expired_session_gets_nothing_more(inprocess_server):
    server = inprocess_server
    mod, member, gid = await circle(server)
    # The moderator's session ends in an hour; the member's lasts the usual days.
    async with transaction(server.app.state.db) as session:
        await session.execute(update(AuthSession).where(AuthSession.token_hash == token_hash(mod.token))
                              .values(expires_at=clock.now() + dt.timedelta(hours=1)))
    async with mod.socket(server.ws_url, gid) as ws:
        assert (await next_frame(ws))["type"] == "welcome"
        clock.travel(dt.timedelta(hours=1, seconds=1))  # Cairn's clock, in this process
        try:
            r = await member.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "A nap"})
            assert r.status_code == 201
            frames, code = await until_closed(ws)
        finally:
            clock.travel(dt.timedelta(0))
    assert code == 4401 and kinds(frames) == []


async def test_a_demotion_while_a_socket_is_admitted_reaches_it(inprocess_server):
    """The moderator's socket is held between admission (as a moderator) and attachment while
    they are demoted and a member reports something: the socket never shows the report."""
    server = inprocess_server
    mod, other, gid = await circle(server)
    writer = await newcomer(server, mod, gid)
    assert (await mod.patch(f"/api/v1/groups/{gid}/members/{other.id}",
                            {"role": "moderator"})).status_code == 200
    c = (await writer.post(f"/api/v1/groups/{gid}/commitments",
                           {"category": "rest", "text": "Early night"})).json()

    admitted, release = asyncio.Event(), asyncio.Event()

    async def hold(sock: Any) -> None:
        if sock.user_id == other.id:
            admitted.set()
            await release.wait()

    server.app.state.before_attach = hold
    async with other.socket(server.ws_url, gid) as ws:
        await asyncio.wait_for(admitted.wait(), 60)
        assert (await mod.patch(f"/api/v1/groups/{gid}/members/{other.id}",
                                {"role": "member"})).status_code == 200
        r = await writer.post(f"/api/v1/groups/{gid}/reports", {
            "target_type": "commitment", "target_id": c["id"], "reason": "Worried about this one"})
        assert r.status_code == 201, r.text
        release.set()
        welcome = await next_frame(ws)
        frames = await settle(ws)
    server.app.state.before_attach = None
    # Admitted as a moderator, when the moderators' stream held only their own promotion.
    assert welcome["type"] == "welcome" and welcome["moderators"]["last_seq"] == 1
    shown = json.dumps(frames)
    assert "report.created" not in shown and "Worried about this one" not in shown
    # What they were told instead: their role changed, in the shared stream and in the
    # moderators' (the last thing that stream shows them).
    assert [(f["stream"], f["kind"]) for f in frames if f["type"] == "event"] == [
        ("group", "member.role_changed"), ("moderators", "moderator.changed")]


async def test_a_promoted_member_reads_the_moderators_stream_from_their_promotion_on(inprocess_server):
    server = inprocess_server
    mod, member, gid = await circle(server)
    writer = await newcomer(server, mod, gid)
    c = (await writer.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "x"})).json()
    report = {"target_type": "commitment", "target_id": c["id"], "reason": "Please look"}
    async with member.socket(server.ws_url, gid) as ws:
        assert "moderators" not in await next_frame(ws)
        assert (await writer.post(f"/api/v1/groups/{gid}/reports", report)).status_code == 201
        assert kinds(await settle(ws)) == []  # not theirs, and no trace of it
        assert (await mod.patch(f"/api/v1/groups/{gid}/members/{member.id}",
                                {"role": "moderator"})).status_code == 200
        assert (await writer.post(f"/api/v1/groups/{gid}/reports",
                                  {**report, "reason": "Again"})).status_code == 201
        frames = await settle(ws)
    assert [(f["stream"], f["kind"]) for f in frames if f["type"] == "event"] == [
        ("group", "member.role_changed"), ("moderators", "moderator.changed"),
        ("moderators", "report.created")]
    assert frames[-1]["data"]["reason"] == "Again"


# -- hidden words stay hidden --------------------------------------------------------------------


async def test_a_hidden_commitment_stays_hidden_when_its_author_checks_in(inprocess_server):
    server = inprocess_server
    mod, member, gid = await circle(server)
    c = (await member.post(f"/api/v1/groups/{gid}/commitments",
                           {"category": "rest", "text": "words to hide"})).json()
    r = await mod.post(f"/api/v1/groups/{gid}/hidden", {"target_type": "commitment",
                                                        "target_id": c["id"], "reason": "Not kind"})
    assert r.status_code in (200, 201), r.text
    async with mod.socket(server.ws_url, gid) as ws:
        await next_frame(ws)
        r = await member.post(f"/api/v1/commitments/{c['id']}/checkin", {"status": "done"})
        assert r.status_code in (200, 201), r.text
        live = [f for f in await settle(ws) if f["type"] == "event"]
    assert [f["kind"] for f in live] == ["commitment.checked_in"]
    assert live[0]["data"]["text"] is None and live[0]["data"]["hidden"] is True
    async with mod.socket(server.ws_url, gid, last_seq=0) as ws:
        await next_frame(ws)
        assert "words to hide" not in json.dumps(await settle(ws))


async def test_a_hidden_note_stays_hidden_when_its_author_checks_in_again(inprocess_server):
    server = inprocess_server
    mod, member, gid = await circle(server)
    c = (await member.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "Walk"})).json()
    checkin = (await member.post(f"/api/v1/commitments/{c['id']}/checkin",
                                 {"status": "partly", "note": "first words"})).json()["checkin"]
    r = await mod.post(f"/api/v1/groups/{gid}/hidden", {"target_type": "checkin",
                                                        "target_id": checkin["id"], "reason": "Unkind"})
    assert r.status_code in (200, 201), r.text
    async with mod.socket(server.ws_url, gid) as ws:
        await next_frame(ws)
        r = await member.post(f"/api/v1/commitments/{c['id']}/checkin",
                              {"status": "done", "note": "second words"})
        assert r.status_code in (200, 201), r.text
        live = [f for f in await settle(ws) if f["type"] == "event"]
    assert live[0]["data"]["note"] is None and "second words" not in json.dumps(live)
    day = (await mod.get(f"/api/v1/groups/{gid}/commitments")).json()
    assert "second words" not in json.dumps(day)


# -- changed and withdrawn words ------------------------------------------------------------------


def events_in(frames: list[dict]) -> list[dict]:
    return [f for f in frames if f["type"] == "event"]


async def test_changed_and_withdrawn_words_arrive_live_and_a_replay_tells_only_what_is_there_now(inprocess_server):
    server = inprocess_server
    mod, member, gid = await circle(server)
    r = await member.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "first words"})
    cid = r.json()["id"]
    await member.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "words that stay"})
    async with mod.socket(server.ws_url, gid, fragments=True) as page, member.socket(server.ws_url, gid) as own:
        await next_frame(page), await next_frame(own)
        r = await member.patch(f"/api/v1/commitments/{cid}", {"text": "second words"})
        assert r.status_code == 200, r.text
        r = await member.post(f"/api/v1/commitments/{cid}/checkin", {"status": "done", "note": "a note"})
        assert r.status_code == 200, r.text
        [edited, _] = events_in(await settle(page))
        # Replayed now, the older event says the words as they are now.
        async with mod.socket(server.ws_url, gid, last_seq=0) as again:
            await next_frame(again)
            replayed = json.dumps(await settle(again))
        assert "second words" in replayed and "first words" not in replayed
        r = await member.delete(f"/api/v1/commitments/{cid}")
        assert r.status_code == 204, r.text
        [withdrawn] = events_in(await settle(page))
        mine = events_in(await settle(own))
    assert [f["kind"] for f in mine] == ["commitment.edited", "commitment.checked_in", "commitment.withdrawn"]
    assert edited["data"] == {"commitment_id": cid, "user_id": member.id, "text": "second words"}
    assert edited["html"] == [{"target": f"#c{cid}-text", "swap": "replace",
                               "html": f'<p class="text" id="c{cid}-text" data-member-words>second words</p>'}]
    assert withdrawn["kind"] == "commitment.withdrawn" and withdrawn["data"] == {"commitment_id": cid,
                                                                               "user_id": member.id}
    assert withdrawn["html"] == [{"target": f"#entry-{cid}", "swap": "remove", "html": ""}]

    # Withdrawn: a replay from the start keeps no words of it, and draws no card for it.
    async with mod.socket(server.ws_url, gid, last_seq=0, fragments=True) as again:
        await next_frame(again)
        replayed = events_in(await settle(again))
    text = json.dumps(replayed)
    assert "words that stay" in text
    assert not any(words in text for words in ("first words", "second words", "a note"))
    about = [f for f in replayed if f["data"].get("commitment_id") == cid]
    assert [f["kind"] for f in about] == ["commitment.created", "commitment.edited", "commitment.checked_in",
                                          "commitment.withdrawn"]
    for frame in about[:3]:
        assert frame["data"]["withdrawn"] is True and frame["data"]["text"] is None and "html" not in frame


# -- narrower audiences leave no trace; private words tell nobody ----------------------------------


async def test_a_worry_reaches_moderators_in_their_stream_and_leaves_no_trace_in_the_shared_one(
        inprocess_server):
    server = inprocess_server
    mod, member, gid = await circle(server)
    other = await newcomer(server, mod, gid)
    async with mod.socket(server.ws_url, gid) as mod_ws, other.socket(server.ws_url, gid) as ws:
        await next_frame(mod_ws)
        first = (await next_frame(ws))["last_seq"]
        r = await member.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": WORRYING})
        assert r.status_code == 201 and r.json()["support"]
        r = await member.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "Tea"})
        assert r.status_code == 201
        seen = [f for f in await settle(ws) if f["type"] == "event"]
        told = [f for f in await settle(mod_ws) if f["type"] == "event"]
    # Everyone else: the two posts, seq after seq, and nothing in between.
    assert [(f["kind"], f["seq"]) for f in seen] == [("commitment.created", first + 1),
                                                   ("commitment.created", first + 2)]
    assert all(f["stream"] == "group" for f in seen)
    concern = [f for f in told if f["kind"] == "support.concern"]
    assert len(concern) == 1 and concern[0]["stream"] == "moderators" and concern[0]["seq"] == 1
    assert WORRYING not in json.dumps(concern)


async def test_private_worrying_words_tell_nobody(inprocess_server):
    server = inprocess_server
    mod, member, gid = await circle(server)
    async with mod.socket(server.ws_url, gid) as ws:
        await next_frame(ws)
        r = await member.post(f"/api/v1/groups/{gid}/commitments",
                              {"category": "rest", "text": WORRYING, "visibility": "private"})
        assert r.status_code == 201
        assert r.json()["support"]["moderators_told"] is False  # the writer alone is helped
        c = r.json()["id"]
        r = await member.post(f"/api/v1/commitments/{c}/checkin", {"status": "partly", "note": WORRYING})
        assert r.status_code in (200, 201) and r.json()["support"]
        assert await settle(ws) == []
    async with transaction(server.app.state.db, write=False) as session:
        from sqlalchemy import func, select

        assert await session.scalar(select(func.count(Event.id)).where(
            Event.kind == "support.concern")) == 0
