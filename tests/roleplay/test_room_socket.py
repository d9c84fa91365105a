"""A full practice round over real sockets: five people, a replay, a time-out, refusals,
and a timer that advances once with two processes running."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from tests.fixtures.servers import LiveServer
from tests.realtime.helpers import RemoteMember, close_code, remote_group, remote_member

pytestmark = pytest.mark.slow


class RoomClient:
    """One person's room socket: the latest room frame, and the errors received."""

    def __init__(self, member: RemoteMember, ws: Any) -> None:
        self.member, self.ws = member, ws
        self.room: dict[str, Any] = {}
        self.rooms: list[dict[str, Any]] = []  # every room frame, in order
        self.errors: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.acks: list[dict[str, Any]] = []
        self.pongs = 0
        self.arrived = asyncio.Condition()  # notified on every frame, and when the socket ends
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame["type"] == "room":
                    self.room = frame
                    self.rooms.append(frame)
                elif frame["type"] == "error":
                    self.errors.append(frame)
                elif frame["type"] == "event":
                    self.events.append(frame)
                elif frame["type"] == "pong":
                    self.pongs += 1
                elif frame["type"] == "ack":
                    self.acks.append(frame)
                async with self.arrived:
                    self.arrived.notify_all()
        except websockets.ConnectionClosed:
            pass
        async with self.arrived:
            self.arrived.notify_all()

    async def send(self, type_: str, **fields: Any) -> None:
        await self.ws.send(json.dumps({"type": type_, **fields}))

    async def settle(self) -> None:
        """Until the answer to a ping sent now: everything sent before it has been read."""
        answered = self.pongs + 1
        await self.send("ping")
        await self._wait(lambda: self.pongs >= answered, "no pong")

    async def _wait(self, done, what, timeout: float = 60) -> None:
        """Until done() holds, checked as each frame arrives; the timeout is a last guard."""
        async def arrived() -> None:
            async with self.arrived:
                await self.arrived.wait_for(lambda: done() or self.task.done())

        try:
            await asyncio.wait_for(arrived(), timeout)
        except TimeoutError:
            raise AssertionError(what() if callable(what) else what) from None
        if not done():
            raise AssertionError(what() if callable(what) else what)

    async def until(self, predicate, timeout: float = 60) -> dict[str, Any]:
        await self._wait(lambda: bool(self.room) and predicate(self.room),
                         lambda: f"room never matched; last: {self.room.get('phase')}, "
                                 f"errors: {self.errors[-3:]}", timeout)
        return self.room

    async def server_version(self) -> int:
        """The room's version as the server holds it (this socket's own view may lag behind
        a change another person's command made a moment ago)."""
        r = await self.member.get(f"/api/v1/roleplays/{self.room['room_id']}")
        assert r.status_code == 200, r.text
        return r.json()["version"]

    async def refused(self, type_: str, **fields: Any) -> dict[str, Any]:
        before = len(self.errors)
        version = await self.server_version()
        await self.send(type_, **fields)
        await self._wait(lambda: len(self.errors) > before, f"{type_} was not refused")
        assert await self.server_version() == version  # the refusal changed nothing
        return self.errors[-1]


async def open_room(moderator: RemoteMember, gid: int) -> int:
    r = await moderator.post(f"/api/v1/groups/{gid}/roleplays", {"title": "Tuesday practice"})
    assert r.status_code == 201, r.text
    assert r.json()["phase"] == "lobby"
    return r.json()["room_id"]


@pytest.fixture
def server(quick_room_server: LiveServer) -> LiveServer:
    return quick_room_server


async def connect(member: RemoteMember, ws_url: str, rid: int, query: str = "") -> RoomClient:
    ws = await websockets.connect(f"{ws_url}/ws/roleplays/{rid}{query}",
                                  additional_headers=member.headers, open_timeout=10)
    client = RoomClient(member, ws)
    await client.until(lambda r: r["room_id"] == rid)
    return client


async def test_a_full_round_with_replay_and_time_out(server):
    mod, prac, counter, obs1, obs2 = [await remote_member(server.url) for _ in range(5)]
    group = await remote_group(mod, prac, counter, obs1, obs2)
    rid = await open_room(mod, group["id"])
    cards = (await prac.get(f"/api/v1/scenarios?group_id={group['id']}")).json()
    assert len(cards) >= 16
    people = [await connect(p, server.ws_url, rid) for p in (mod, prac, counter, obs1, obs2)]
    m, p, c, o1, o2 = people
    try:
        for person in people:
            await person.send("join")
        await m.until(lambda r: len(r["participants"]) == 5)
        await o1.send("raise_hand")
        await m.until(lambda r: r["hands"] == [obs1.id])

        # A member cannot do a moderator's work.
        assert (await o2.refused("advance"))["code"] == "not_allowed"
        await m.send("assign_role", user_id=prac.id, role="practitioner")
        await m.send("assign_role", user_id=counter.id, role="counterpart")
        await m.until(lambda r: r["roles"] == {"practitioner": prac.id, "counterpart": counter.id})
        await m.send("advance")
        await p.until(lambda r: r["phase"] == "setup")

        await p.send("choose_scenario", scenario_id=cards[3]["id"], intensity=2)
        await p.send("state_boundary", text="I won't lend money again; I can help you make a budget.")
        room = await c.until(lambda r: r["boundary"] and r["scenario"])
        assert room["scenario"]["counterpart_line"] == cards[3]["intensities"][1]
        assert "counterpart_line" not in (await o1.until(lambda r: r["scenario"]))["scenario"]
        await m.send("advance")
        # Rehearse lasts one second here; the server's timer starts the scene.
        await p.until(lambda r: r["phase"] == "scene")

        assert (await o1.refused("say", text="Just say no!"))["code"] == "not_allowed"
        await c.send("say", text=cards[3]["opening_line"])
        await p.send("say", text="No. I won't lend money again, and I still care about you.")
        await o1.send("cheer", kind="proud")
        await o2.send("cheer", kind="boundary_matters")
        room = await o2.until(lambda r: r["cheers_held"] == 2 and len(r["lines"]) == 2)
        assert room["cheers"] == {}  # held back until the scene ends

        # A time-out pauses the room for everyone; only the moderator resumes.
        await o2.send("time_out")
        room = await m.until(lambda r: r["phase"] == "paused")
        assert room["paused"]["by"] == obs2.id
        assert (await p.until(lambda r: r["phase"] == "paused"))["paused"]["by"] is None
        assert (await o2.until(lambda r: r["phase"] == "paused"))["paused"]["by_me"] is True
        assert (await p.refused("resume"))["code"] == "not_allowed"
        refusals = len(p.errors)
        await m.send("resume")
        await p.until(lambda r: r["phase"] == "scene")

        await m.send("advance")
        room = await o1.until(lambda r: r["phase"] == "feedback")
        assert room["cheers"] == {"proud": 1, "boundary_matters": 1}

        # Feedback: the counterpart first, then observers, who must say what worked.
        assert (await o1.refused("feedback", style="assertive", worked="Clear."))["code"] == "not_allowed"
        await c.send("feedback", style="assertive", worked="It was hard to argue with; it felt kind.")
        await o1.until(lambda r: r["feedback_in"] == [counter.id])
        assert (await o1.refused("feedback", style="passive", try_next="Louder."))["code"] == "not_allowed"
        await o1.send("feedback", style="assertive", worked="You kept it short.", try_next="Keep eye contact.")
        await o2.send("feedback", style="passive", worked="You stayed calm.")
        await p.send("self_rate", confidence=2)
        room = await p.until(lambda r: len(r.get("my_feedback", [])) == 3)
        assert {f["style"] for f in room["my_feedback"]} == {"assertive", "passive"}
        assert "my_feedback" not in (await o1.until(lambda r: len(r["feedback_in"]) == 3))

        # Replay, then the second feedback, then sharing.
        await m.send("advance", to="replay")
        await p.until(lambda r: r["phase"] == "replay" and r["attempt"] == 2)
        await p.send("say", text="No. And I'm not going to explain it again.")
        await m.until(lambda r: len(r["lines"]) == 3)
        await m.send("advance")
        await p.until(lambda r: r["phase"] == "feedback" and r["attempt"] == 2)
        await c.send("feedback", style="assertive", worked="Even firmer this time.")
        await o1.until(lambda r: counter.id in r["feedback_in"])
        await o1.send("feedback", style="assertive", worked="Shorter and steadier.")
        await p.send("self_rate", confidence=4)
        await p.until(lambda r: len(r.get("my_feedback", [])) == 5)
        await p.send("save_transcript")
        await m.send("advance", to="sharing")
        await o2.until(lambda r: r["phase"] == "sharing")
        await o2.send("say", text="I recognised myself in the guilt part.")
        await p.send("save_homework")
        await m.send("advance", to="ended")
        await p.until(lambda r: r["phase"] == "ended")
        assert len(p.errors) == refusals, p.errors[refusals:]  # every later move was accepted
    finally:
        for person in people:
            await person.ws.close()

    history = (await prac.get("/api/v1/me/roleplay-history")).json()
    assert len(history) == 1
    rnd = history[0]
    assert (rnd["confidence_before"], rnd["confidence_after"]) == (2, 4)
    assert [(f["attempt"], f["role"]) for f in rnd["feedback"]] == [
        (1, "counterpart"), (1, "observer"), (1, "observer"), (2, "counterpart"), (2, "observer")]
    assert [line["text"] for line in rnd["transcript"]][-1] == "No. And I'm not going to explain it again."
    assert (await obs1.get("/api/v1/me/roleplay-history")).json() == []
    # Homework: tomorrow's boundary commitment, private to the practitioner.
    async with httpx.AsyncClient(base_url=server.url) as client:
        r = await client.get(f"/api/v1/groups/{group['id']}/commitments",
                             params={"day": (await _tomorrow(prac))}, headers=prac.headers)
    assert [(x["category"], x["visibility"]) for x in r.json()] == [("boundary", "private")]
    # The room's words were not kept anywhere but the practitioner's own transcript.
    room = (await mod.get(f"/api/v1/roleplays/{rid}")).json()
    assert room["lines"] == [] and room["phase"] == "ended"


async def _tomorrow(member: RemoteMember) -> str:
    import datetime as dt

    today = dt.date.fromisoformat((await member.get("/api/v1/me/progress?days=1")).json()["today"])
    return (today + dt.timedelta(days=1)).isoformat()


async def test_room_sockets_refuse_outsiders_and_removed_people(server):
    mod, member = await remote_member(server.url), await remote_member(server.url)
    outsider = await remote_member(server.url)
    group = await remote_group(mod, member)
    rid = await open_room(mod, group["id"])
    r = await outsider.get(f"/api/v1/roleplays/{rid}")
    assert r.status_code == 404
    async with websockets.connect(f"{server.ws_url}/ws/roleplays/{rid}",
                                  additional_headers=outsider.headers) as ws:
        assert await close_code(ws) == 4404
    async with websockets.connect(f"{server.ws_url}/ws/roleplays/{rid}") as ws:
        assert await close_code(ws) == 4401
    m = await connect(mod, server.ws_url, rid)
    x = await connect(member, server.ws_url, rid)
    await m.send("join")
    await x.send("join")
    await m.until(lambda r: len(r["participants"]) == 2)
    await x.until(lambda r: len(r["participants"]) == 2)  # x's own view is current too
    assert (await x.refused("mute", user_id=mod.id))["code"] == "not_allowed"
    assert (await x.refused("dance"))["code"] == "unknown_command"
    await m.send("remove", user_id=member.id)
    await asyncio.wait_for(x.task, 60)  # the server closed it (a last guard, not a deadline)
    assert x.ws.close_code == 4403
    await m.ws.close()
    # Out of the room is out of all of it: the API shows that they are out, and nothing more
    # (no one in it, nothing said); the page sends them back to the group.
    room = (await member.get(f"/api/v1/roleplays/{rid}")).json()
    assert room["me"]["removed"] is True
    assert room["participants"] == [] and room["lines"] == [] and room["boundary"] is None
    async with httpx.AsyncClient(base_url=server.url, cookies={"cairn_session": member.token}) as c:
        page = await c.get(f"/groups/{group['id']}/rooms/{rid}")
    assert page.status_code == 303 and page.headers["location"] == f"/groups/{group['id']}"


async def test_a_flood_of_room_commands_is_slowed_not_written(server):
    mod, member = await remote_member(server.url), await remote_member(server.url)
    group = await remote_group(mod, member)
    rid = await open_room(mod, group["id"])
    x = await connect(member, server.ws_url, rid)
    await x.send("join")
    await x.until(lambda r: len(r["participants"]) == 1)
    for i in range(60):
        await x.send("raise_hand" if i % 2 == 0 else "lower_hand")
    await x.settle()  # every command above has been answered, and its event sent
    assert {e["code"] for e in x.errors} == {"rate_limited"}
    assert len(x.errors) == 41  # the join and 19 more went through in the window
    written = [e for e in x.events if e["kind"] == "roleplay.updated"]
    assert 1 <= len(written) <= 20
    assert x.ws.state is websockets.protocol.State.OPEN  # slowed, not cut off
    await x.ws.close()


async def test_a_timer_advances_once_with_two_processes(cluster):
    a_srv, b_srv = cluster.servers
    # The cluster's processes run with the default timings; open the room on a process
    # started with a one-second rehearsal instead.
    for s in cluster.servers:
        s.stop()
        s.env["CAIRN_ROLEPLAY_REHEARSE_SECONDS"] = "1"
        s.start()
    mod, prac, counter = [await remote_member(a_srv.url) for _ in range(3)]
    group = await remote_group(mod, prac, counter)
    rid = await open_room(mod, group["id"])
    cards = (await prac.get("/api/v1/scenarios")).json()
    m = await connect(mod, a_srv.ws_url, rid)
    p = await connect(prac, b_srv.ws_url, rid)
    c = await connect(counter, a_srv.ws_url, rid)
    try:
        for person in (m, p, c):
            await person.send("join")
        await m.until(lambda r: len(r["participants"]) == 3)
        await m.send("assign_role", user_id=prac.id, role="practitioner")
        await m.send("assign_role", user_id=counter.id, role="counterpart")
        await m.until(lambda r: r["roles"]["counterpart"] == counter.id)
        await m.send("advance")
        await p.until(lambda r: r["phase"] == "setup")
        await p.send("choose_scenario", scenario_id=cards[0]["id"], intensity=1)
        await p.send("state_boundary", text="I'm resting this weekend.")
        await p.until(lambda r: r["boundary"])
        await m.send("advance")
        room = await p.until(lambda r: r["phase"] == "scene")
        await c.until(lambda r: r["phase"] == "scene")
        await asyncio.sleep(1.5)  # both processes' timers have fired by now
    finally:
        for person in (m, p, c):
            await person.ws.close()
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(cluster.database_url)
    conn = await asyncpg.connect(host=u.host, port=u.port or 5432, user=u.username, database=u.database)
    try:
        kinds = [r["phase"] for r in await conn.fetch(
            "SELECT data->>'phase' AS phase FROM events WHERE group_id = $1 AND kind = 'roleplay.updated' "
            "ORDER BY seq", group["id"])]
    finally:
        await conn.close()
    assert kinds.count("scene") == 1, kinds  # rehearse -> scene happened exactly once
    assert room["version"] >= 1


def targets(frame: dict[str, Any]) -> set[tuple[str, str]]:
    return {(s["target"], s["swap"]) for s in frame.get("html", [])}


async def test_a_room_socket_with_fragments_sends_the_parts_that_changed_for_that_person(server):
    mod, pat, sam = [await remote_member(server.url) for _ in range(3)]
    group = await remote_group(mod, pat, sam)
    rid = await open_room(mod, group["id"])
    m = await connect(mod, server.ws_url, rid, "?fragments=1")
    plain = await connect(pat, server.ws_url, rid)
    try:
        first = m.rooms[0]
        # The first frame draws everything: the page may be older than the socket.
        assert {("#room-status", "replace"), ("#participants", "replace"), ("#lines", "replace"),
                ("#panel-setup", "hide"), ("#panel-moderate", "replace")} <= targets(first)
        assert "html" not in plain.room  # only a socket that asks gets markup
        await m.send("join")
        # Each join reaches the moderator on its own: two at once may be drawn as one frame.
        await m.until(lambda r: len(r["participants"]) == 1)
        await plain.send("join")
        room = await m.until(lambda r: len(r["participants"]) == 2)
        assert (f"#participant-{pat.id}", "remove") not in targets(room)
        joined = [s for s in room["html"] if s["swap"] == "append"]
        assert [s["target"] for s in joined] == ["#participants"]
        assert f'id="participant-{pat.id}"' in joined[0]["html"]
        assert f'id="role-for-{pat.id}"' in joined[0]["html"]  # the moderator's picker, drawn
        # The moderator's own row is not redrawn because Pat joined: a choice in its picker
        # stays under the moderator's hand.
        assert not {t for t, _ in targets(room)} & {f"#p-role-{mod.id}", f"#p-tags-{mod.id}"}

        s = await connect(sam, server.ws_url, rid)
        await s.send("join")
        room = await m.until(lambda r: len(r["participants"]) == 3)
        assert not any(f"p-role-{pat.id}" in t for t, _ in targets(room))
        await m.send("assign_role", user_id=pat.id, role="counterpart")
        room = await m.until(lambda r: r["roles"]["counterpart"] == pat.id)
        changed = {t for t, _ in targets(room)}
        assert {f"#p-tags-{pat.id}", f"#p-role-{pat.id}"} <= changed
        assert "#participants" not in changed and f"#p-role-{sam.id}" not in changed
        picker = next(x["html"] for x in room["html"] if x["target"] == f"#p-role-{pat.id}")
        assert '<option value="counterpart" selected>' in picker
        # Nothing else moved for the moderator but what says whose turn it is.
        assert changed <= {f"#p-tags-{pat.id}", f"#p-role-{pat.id}", "#room-status",
                           "#setup-waiting"}
        # Muting someone redraws their mute button, not the picker beside it.
        await m.send("mute", user_id=pat.id)
        room = await m.until(lambda r: any(p["muted"] for p in r["participants"]))
        assert f"#p-controls-{pat.id}" in {t for t, _ in targets(room)}
        assert f"#p-role-{pat.id}" not in {t for t, _ in targets(room)}
        await s.ws.close()
    finally:
        await m.ws.close()
        await plain.ws.close()


async def test_named_room_commands_are_answered_by_name(server):
    mod, member = await remote_member(server.url), await remote_member(server.url)
    group = await remote_group(mod, member)
    rid = await open_room(mod, group["id"])
    x = await connect(member, server.ws_url, rid)
    try:
        await x.send("join", ref="j1")
        await x.send("raise_hand", ref=7)
        await x.send("join", ref="again")  # nothing to change: answered, nothing written
        await x.send("assign_role", user_id=member.id, role="counterpart", ref="r" * 100)
        await x.send("say", text="", ref="empty")
        await x.settle()
        assert [(a["ref"], isinstance(a["seq"], int)) for a in x.acks] == [
            ("j1", True), (7, True), ("again", False)]
        assert x.acks[2]["seq"] is None
        assert [(e["ref"], e["code"]) for e in x.errors] == [("r" * 64, "not_allowed"),
                                                              ("empty", "invalid")]
        # The acks name the events the commands wrote, which arrive as everyone's do.
        def updates() -> list[int]:
            return [e["seq"] for e in x.events if e["kind"] == "roleplay.updated"]

        await x._wait(lambda: len(updates()) >= 2, "the two changes' events did not arrive")
        assert [a["seq"] for a in x.acks[:2]] == updates()
    finally:
        await x.ws.close()
