"""The group socket over a real uvicorn process and real websockets clients."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from pathlib import Path

import httpx
import pytest
import websockets

from tests.fixtures.servers import LiveServer
from tests.realtime.helpers import (
    PASSWORD,
    close_code,
    events_until,
    next_frame,
    remote_group,
    remote_member,
    until_closed,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def server(sqlite_database_url: str, tmp_path: Path):
    live = LiveServer(sqlite_database_url, log_path=tmp_path / "server.log",
                      env={"CAIRN_ENCOURAGEMENTS_PER_MINUTE": "5"}).start()
    yield live
    live.stop()


async def _circle(server: LiveServer, n: int = 2):
    people = [await remote_member(server.url) for _ in range(n)]
    group = await remote_group(*people)
    return people, group


async def test_welcome_live_events_and_encouragement(server):
    (a, b), group = await _circle(server)
    gid = group["id"]
    async with a.socket(server.ws_url, gid) as wa, b.socket(server.ws_url, gid) as wb:
        welcome = await next_frame(wa)
        epoch = welcome["epoch"]
        assert re.fullmatch(r"[0-9a-f]{16}", epoch)
        # a moderates: the moderators' own stream is announced beside the shared one.
        assert welcome == {"type": "welcome", "group_id": gid, "last_seq": 1,
                           "recovered": True, "missed": 0, "epoch": epoch,
                           "moderators": {"last_seq": 0, "recovered": True, "missed": 0}}
        assert await next_frame(wb) == {"type": "welcome", "group_id": gid, "last_seq": 1,
                                        "recovered": True, "missed": 0, "epoch": epoch}
        r = await b.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "nap"})
        cid = r.json()["id"]
        created = await next_frame(wa)
        assert created["type"] == "event" and created["kind"] == "commitment.created"
        assert created["stream"] == "group"
        assert created["seq"] == 2 and created["actor"] == {"id": b.id, "display_name": b.user["display_name"]}
        assert created["data"]["text"] == "nap" and created["at"].endswith("Z")

        await wa.send(json.dumps({"type": "encourage", "kind": "rest_counts", "text": "well done",
                                  "commitment_id": cid}))
        for ws in (wa, wb):
            sent = await next_frame(ws)
            if sent["kind"] == "commitment.created":
                sent = await next_frame(ws)
            assert sent["kind"] == "encouragement.sent" and sent["seq"] == 3
            data = {k: sent["data"][k] for k in ("kind", "text", "commitment_id", "to_user_id")}
            assert data == {"kind": "rest_counts", "text": "well done", "commitment_id": cid,
                            "to_user_id": b.id}
    r = await b.get("/api/v1/me/encouragements")
    assert [e["text"] for e in r.json()] == ["well done"]


async def test_private_commitments_never_reach_the_group(server):
    (a, b), group = await _circle(server)
    gid = group["id"]
    async with a.socket(server.ws_url, gid) as wa:
        await next_frame(wa)
        await b.post(f"/api/v1/groups/{gid}/commitments",
                     {"category": "rest", "text": "secret", "visibility": "private"})
        await b.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "shared"})
        frame = await next_frame(wa)
        assert frame["data"]["text"] == "shared"


async def test_presence_shows_who_is_online(server):
    (a, b), group = await _circle(server)
    gid = group["id"]
    async with a.socket(server.ws_url, gid) as wa:
        await next_frame(wa)
        assert (await next_frame(wa, skip=()))["online"] == [a.id]
        async with b.socket(server.ws_url, gid):
            assert (await next_frame(wa, skip=()))["online"] == sorted([a.id, b.id])
        assert (await next_frame(wa, skip=()))["online"] == [a.id]


async def test_resume_replays_missed_events_once_in_order(server):
    (a, b), group = await _circle(server)
    gid = group["id"]
    async with a.socket(server.ws_url, gid) as wa:
        last = (await next_frame(wa))["last_seq"]
    for i in range(5):
        await b.post(f"/api/v1/groups/{gid}/encouragements", {"kind": "with_you", "text": str(i)})
    async with a.socket(server.ws_url, gid, last_seq=last) as wa:
        welcome = await next_frame(wa)
        assert welcome["recovered"] is True and welcome["missed"] == 5
        got = await events_until(wa, 5)
        assert [f["seq"] for f in got] == list(range(last + 1, last + 6))
        assert [f["data"]["text"] for f in got] == ["0", "1", "2", "3", "4"]
        await b.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "live"})
        live = await next_frame(wa)
        assert live["seq"] == last + 6  # live after replay, no duplicate, no gap


async def test_resume_from_before_retention_says_not_recovered(server):
    (a, b), group = await _circle(server)
    gid = group["id"]
    for i in range(3):
        await b.post(f"/api/v1/groups/{gid}/encouragements", {"kind": "proud", "text": str(i)})
    db = server.database_url.split("///", 1)[1]
    with sqlite3.connect(db) as conn:  # retention pruned the oldest events
        conn.execute("DELETE FROM events WHERE group_id = ? AND seq <= 2", (gid,))
    async with a.socket(server.ws_url, gid, last_seq=1) as wa:
        welcome = await next_frame(wa)
        assert welcome["recovered"] is False and welcome["last_seq"] == 4  # joined + 3
    async with a.socket(server.ws_url, gid, last_seq=2) as wa:
        welcome = await next_frame(wa)
        assert welcome["recovered"] is True and welcome["missed"] == 2
        assert [f["seq"] for f in await events_until(wa, 2)] == [3, 4]


async def test_a_seq_from_before_a_restore_is_not_resumed(server):
    """A restore starts a new database epoch: a client that saw seqs the restored database
    reuses for other events reloads instead of skipping them."""
    (a, b), group = await _circle(server)
    gid = group["id"]
    async with a.socket(server.ws_url, gid) as wa:
        before = await next_frame(wa)
    page = await a.get(f"/groups/{gid}")
    assert f'data-epoch="{before["epoch"]}"' in page.text
    db = server.database_url.split("///", 1)[1]
    server.stop()  # a restore is made with the app stopped
    with sqlite3.connect(db) as conn:  # what `cairn restore` does to the restored file
        conn.execute("PRAGMA user_version = 7")
    server.start()
    async with a.socket(server.ws_url, gid, last_seq=before["last_seq"],
                        epoch=before["epoch"]) as wa:
        welcome = await next_frame(wa)
        assert welcome["epoch"] != before["epoch"]
        assert (welcome["recovered"], welcome["missed"]) == (False, 0)
        await b.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "live"})
        assert (await next_frame(wa))["seq"] == before["last_seq"] + 1  # live from now on
    async with a.socket(server.ws_url, gid, last_seq=before["last_seq"],
                        epoch=welcome["epoch"]) as wa:  # the new epoch: resumed as usual
        again = await next_frame(wa)
        assert (again["recovered"], again["missed"]) == (True, 1)
    async with a.socket(server.ws_url, gid, last_seq=before["last_seq"]) as wa:
        assert (await next_frame(wa))["recovered"] is True  # no epoch sent: seqs alone


async def test_refusals_carry_the_contract_close_codes(server):
    (a, b), group = await _circle(server)
    outsider = await remote_member(server.url)
    gid = group["id"]
    async with websockets.connect(f"{server.ws_url}/ws/groups/{gid}") as ws:
        assert await close_code(ws) == 4401
    async with websockets.connect(f"{server.ws_url}/ws/groups/{gid}",
                                  additional_headers={"Authorization": "Bearer nope"}) as ws:
        assert await close_code(ws) == 4401
    async with outsider.socket(server.ws_url, gid) as ws:
        assert await close_code(ws) == 4404
    async with a.socket(server.ws_url, 999999) as ws:
        assert await close_code(ws) == 4404
    cookie = {"Cookie": f"cairn_session={a.token}"}
    async with websockets.connect(f"{server.ws_url}/ws/groups/{gid}", additional_headers=cookie,
                                  origin="http://evil.example") as ws:
        assert await close_code(ws) == 1008
    async with websockets.connect(f"{server.ws_url}/ws/groups/{gid}", additional_headers=cookie) as ws:
        assert await close_code(ws) == 1008  # a cookie without any Origin is refused too
    async with websockets.connect(f"{server.ws_url}/ws/groups/{gid}", additional_headers=cookie,
                                  origin=server.url) as ws:
        assert (await next_frame(ws))["type"] == "welcome"


async def test_bad_frames_get_errors_and_the_socket_survives(server):
    (a, b), group = await _circle(server)
    gid = group["id"]
    async with a.socket(server.ws_url, gid) as wa:
        await next_frame(wa)
        cases = [
            ("not json", "bad_json"), ("[1, 2]", "bad_command"), ('{"type": 5}', "bad_command"),
            ('{"type": "dance"}', "unknown_command"),
            ('{"type": "encourage", "kind": "nope"}', "invalid_kind"),
            ('{"type": "encourage", "kind": "proud", "text": 5}', "invalid"),
            ('{"type": "encourage", "kind": "proud", "commitment_id": "1"}', "invalid"),
            ('{"type": "encourage", "kind": "proud", "to_user_id": 99999}', "member_not_found"),
            ('{"type": "encourage", "kind": "proud", "text": "' + "x" * 281 + '"}', "text_too_long"),
            ("[" * 5000 + "]" * 5000, "bad_json"),
        ]
        for raw, code in cases:
            await wa.send(raw)
            frame = await next_frame(wa)
            assert frame["type"] == "error" and frame["code"] == code, (raw[:40], frame)
        await wa.send(b"\xff\xfe binary")
        assert (await next_frame(wa))["code"] == "binary_not_supported"
        await wa.send('{"type": "ping"}')
        assert await next_frame(wa) == {"type": "pong"}
        await wa.send("x" * (16 * 1024 + 1))
        assert await close_code(wa) == 1009
    r = await a.get(f"/api/v1/groups/{gid}")
    assert r.status_code == 200  # the process is fine


async def test_encouragement_rate_limit(server):
    (a, b), group = await _circle(server)
    gid = group["id"]
    async with a.socket(server.ws_url, gid) as wa:
        await next_frame(wa)
        for _ in range(5):
            await wa.send('{"type": "encourage", "kind": "with_you"}')
            assert (await next_frame(wa))["kind"] == "encouragement.sent"
        await wa.send('{"type": "encourage", "kind": "with_you"}')
        frame = await next_frame(wa)
        assert frame["type"] == "error" and frame["code"] == "rate_limited"


async def test_removed_member_is_cut_off_by_the_removal(server):
    (a, b), group = await _circle(server)
    gid = group["id"]
    async with b.socket(server.ws_url, gid) as wb:
        await next_frame(wb)
        r = await a.post(f"/api/v1/groups/{gid}/members/{b.id}", None)
        assert r.status_code == 405  # removal is DELETE
        async with httpx.AsyncClient(base_url=server.url) as c:
            r = await c.delete(f"/api/v1/groups/{gid}/members/{b.id}", headers=a.headers)
            assert r.status_code == 204
        # Closed by the removal itself, with nothing after it (order, not a duration: the
        # removal event is the last frame the socket gets).
        frames, code = await until_closed(wb)
        assert code == 4403 and [f["kind"] for f in frames if f["type"] == "event"][-1:] == ["member.removed"]
    async with b.socket(server.ws_url, gid) as wb:
        assert await close_code(wb) == 4404


async def test_slow_reader_is_closed_and_others_are_unaffected(server):
    (a, b), group = await _circle(server)
    gid = group["id"]
    # A reader that stops reading: tiny buffers, and it never calls recv().
    slow = await b.socket(server.ws_url, gid, max_queue=1, max_size=2**24).__aenter__()
    async with a.socket(server.ws_url, gid, max_size=2**24) as fast:
        await next_frame(fast)
        await asyncio.sleep(0.2)
        # Many large events at once (written straight into the log, as a burst of
        # commits would), then one real post rings the doorbell.
        db = server.database_url.split("///", 1)[1]
        count = 3000
        with sqlite3.connect(db) as conn:
            last = conn.execute("SELECT last_seq FROM groups WHERE id = ?", (gid,)).fetchone()[0]
            payload = json.dumps({"kind": "proud", "text": "x" * 12000, "commitment_id": None,
                                  "to_user_id": None})
            conn.executemany(
                "INSERT INTO events (group_id, seq, kind, actor_id, data, at) "
                "VALUES (?, ?, 'encouragement.sent', ?, ?, CURRENT_TIMESTAMP)",
                [(gid, last + i + 1, a.id, payload) for i in range(count)])
            conn.execute("UPDATE groups SET last_seq = ? WHERE id = ?", (last + count, gid))
        await a.post(f"/api/v1/groups/{gid}/encouragements", {"kind": "with_you"})
        got = await events_until(fast, count + 1, timeout=60)
        assert [f["seq"] for f in got] == list(range(last + 1, last + count + 2))
    try:
        # Reading now drains what was buffered, then finds the close frame.
        assert await close_code(slow, timeout=20) == 4408
    finally:
        await slow.close()


async def test_a_deleted_account_leaves_no_name_live_or_replayed(server):
    (a, b), group = await _circle(server)
    gid = group["id"]
    async with a.socket(server.ws_url, gid) as wa:
        await next_frame(wa)
        r = await b.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "a nap"})
        assert r.status_code == 201
        assert (await next_frame(wa))["kind"] == "commitment.created"
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
            r = await c.request("DELETE", "/api/v1/me", json={"password": PASSWORD},
                                headers=b.headers)
        assert r.status_code == 204, r.text
        live = await next_frame(wa)
    assert live["kind"] == "member.left"
    assert live["actor"] is None and b.user["display_name"] not in json.dumps(live)
    async with a.socket(server.ws_url, gid, last_seq=1) as wa:
        await next_frame(wa)
        replayed = await events_until(wa, 2)
    assert replayed[-1] == live
    assert "a nap" not in json.dumps(replayed)


async def test_one_member_may_hold_only_so_many_sockets(server):
    from contextlib import AsyncExitStack

    from server.realtime.ws import SOCKETS_PER_MEMBER

    (a, b), group = await _circle(server)
    gid = group["id"]
    async with AsyncExitStack() as stack:
        # max_queue=None: unread presence frames must not hold up each close at the end.
        held = [await stack.enter_async_context(a.socket(server.ws_url, gid, max_queue=None))
                for _ in range(SOCKETS_PER_MEMBER)]
        for ws in held:
            assert (await next_frame(ws))["type"] == "welcome"
        async with a.socket(server.ws_url, gid) as one_too_many:
            assert await close_code(one_too_many) == 4429
        async with b.socket(server.ws_url, gid) as other:  # nobody else is held back
            assert (await next_frame(other))["type"] == "welcome"
