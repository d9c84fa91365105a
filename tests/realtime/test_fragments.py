"""Rendered fragments on the group socket: only for sockets that ask, the same data beside
them, hidden words hidden on replay too, rendered once per audience; and a named command
answered with its acknowledgement and, when the words call for it, support."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest

from server.models import Event, User
from server.realtime import fragments
from server.realtime.fragments import Audience, LiveEvent, Shown
from tests.fixtures.servers import LiveServer
from tests.realtime.helpers import events_until, next_frame, remote_group, remote_member, settle

pytestmark = pytest.mark.slow


@pytest.fixture
def server(sqlite_database_url: str, tmp_path: Path):
    live = LiveServer(sqlite_database_url, log_path=tmp_path / "server.log").start()
    yield live
    live.stop()


def without_html(frame: dict) -> dict:
    return {k: v for k, v in frame.items() if k != "html"}


async def test_only_sockets_that_ask_get_fragments_beside_the_same_data(server):
    alex, bea = await remote_member(server.url, "alex"), await remote_member(server.url, "bea")
    gid = (await remote_group(alex, bea))["id"]
    async with alex.socket(server.ws_url, gid) as plain, \
            alex.socket(server.ws_url, gid, fragments=True) as page:
        await next_frame(plain), await next_frame(page)
        r = await bea.post(f"/api/v1/groups/{gid}/commitments",
                           {"category": "water", "text": "Water <b>first</b>"})
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        (api_frame,), (page_frame,) = await events_until(plain, 1), await events_until(page, 1)
    assert "html" not in api_frame
    assert without_html(page_frame) == api_frame
    (entry, labelled, empty) = page_frame["html"]
    # Posted for Bea's today: it joins every page of a today, labelled on one whose date is
    # not hers (its reader is in another zone).
    day = r.json()["day"]
    assert entry == {"target": f'#commitments[data-days-from-today="0"][data-day="{day}"]',
                     "swap": "append", "html": entry["html"]}
    assert labelled["target"] == f'#commitments[data-days-from-today="0"]:not([data-day="{day}"])'
    assert labelled["html"] == entry["html"].replace(
        "</span>\n", f'</span> <time class="their-day" datetime="{day}">Their '
        f'{dt.date.fromisoformat(day):%A}</time>\n', 1)
    assert f'<li id="entry-{cid}">' in entry["html"] and "Water &lt;b&gt;first&lt;/b&gt;" in entry["html"]
    # Alex moderates: his card has the hide control. Its forms are drawn when opened (so no
    # form, and no token, travels with the card).
    assert f'href="/groups/{gid}/commitments/{cid}?open=hide"' in entry["html"]
    assert "<form" not in entry["html"] and "csrf_token" not in entry["html"]
    assert empty == {"target": '#commitments-empty[data-days-from-today="0"]', "swap": "hide",
                     "html": ""}


async def test_a_replay_renders_hidden_words_as_hidden(server):
    alex, bea, carl = (await remote_member(server.url, "alex"), await remote_member(server.url, "bea"),
                       await remote_member(server.url, "carl"))
    gid = (await remote_group(alex, bea, carl))["id"]
    r = await bea.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "Unkind words"})
    cid = r.json()["id"]
    r = await alex.post(f"/api/v1/groups/{gid}/hidden", {"target_type": "commitment", "target_id": cid,
                                                        "reason": "Kept to our agreement."})
    assert r.status_code == 201, r.text
    async with carl.socket(server.ws_url, gid, last_seq=0, fragments=True) as ws:
        await next_frame(ws)
        frames = [f for f in await settle(ws) if f.get("kind") in ("commitment.created", "content.hidden")]
    created, hidden = frames
    html = json.dumps(created["html"])
    assert "Unkind words" not in html and "Hidden by a moderator." in html
    assert "?open=report" not in html  # nothing left to report
    assert {s["swap"] for s in hidden["html"]} >= {"replace", "remove"}


async def test_a_named_command_is_acknowledged_with_support_when_words_call_for_it(server):
    alex, bea = await remote_member(server.url, "alex"), await remote_member(server.url, "bea")
    gid = (await remote_group(alex, bea))["id"]
    r = await alex.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "Nap"})
    cid = r.json()["id"]
    async with bea.socket(server.ws_url, gid, fragments=True) as ws:
        await next_frame(ws)
        await ws.send(json.dumps({"type": "encourage", "kind": "proud", "commitment_id": cid,
                                  "ref": "c1"}))
        got = await settle(ws)
        ack = next(f for f in got if f["type"] == "ack")
        event = next(f for f in got if f["type"] == "event")
        assert ack == {"type": "ack", "ref": "c1", "seq": event["seq"], "support": None}
        await ws.send(json.dumps({"type": "encourage", "kind": "with_you", "commitment_id": cid,
                                  "text": "Some days I want to die too", "ref": 2}))
        got = await settle(ws)
        ack = next(f for f in got if f["type"] == "ack")
        assert ack["ref"] == 2 and ack["support"]["resources"]
        assert ack["html"][0]["target"] == "#main" and 'id="support"' in ack["html"][0]["html"]
        # Refused: the error names the command too. Without a ref, no ack (as before).
        await ws.send(json.dumps({"type": "encourage", "kind": "nope", "ref": "c3"}))
        await ws.send(json.dumps({"type": "encourage", "kind": "proud", "commitment_id": cid}))
        got = await settle(ws)
    assert [f["type"] for f in got] == ["error", "event"] and got[0]["ref"] == "c3"


def test_a_fragment_is_rendered_once_per_audience():
    calls: list[Audience] = []

    def render(shown: Shown, audience: Audience) -> list[dict[str, str]]:
        calls.append(audience)
        return [fragments.swap("#x", "replace", f"<p>{audience.relation}</p>")]

    fragments.register("test.rendered_once", render)
    event = Event(group_id=1, seq=5, kind="test.rendered_once", actor_id=2, stream="group",
                  data={"user_id": 3}, at=dt.datetime(2026, 11, 30, tzinfo=dt.UTC))
    live = LiveEvent.of(event, User(id=2, display_name="Ari"))
    readers = [(3, False), (4, False), (5, False), (2, False), (6, True), (7, True)]
    sent = {uid: live.frame_for(uid, moderator) for uid, moderator in readers}
    # subject, other (x3), actor, other moderator (x2): four audiences, four renders.
    assert sorted((a.relation, a.moderator) for a in calls) == [
        ("actor", False), ("other", False), ("other", True), ("subject", False)]
    assert sent[4] is sent[5] and sent[6] is sent[7]
    assert json.loads(sent[3])["html"] == [{"target": "#x", "swap": "replace", "html": "<p>subject</p>"}]
    assert {k: v for k, v in json.loads(sent[3]).items() if k != "html"} == json.loads(live.frame)


async def test_a_broken_character_is_refused_on_sockets_and_in_the_api(server):
    """A lone surrogate ("\\ud800" in JSON) is half a character: no page could be encoded with
    it, so it is refused wherever words come in, and nothing is kept."""
    alex, bea = await remote_member(server.url, "alex"), await remote_member(server.url, "bea")
    gid = (await remote_group(alex, bea))["id"]

    async def post_raw(person, path: str, body: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=server.url, headers=person.headers) as client:
            return await client.post(path, content=body, headers={"content-type": "application/json"})

    # json.dumps writes a lone surrogate as its escape, as a hostile client would.
    r = await post_raw(bea, f"/api/v1/groups/{gid}/commitments",
                       json.dumps({"category": "rest", "text": "Nap \ud800"}))
    assert r.status_code == 422 and r.json()["error"] in ("invalid", "invalid_text"), r.text
    r = await bea.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "Nap"})
    cid = r.json()["id"]
    r = await post_raw(alex, f"/api/v1/groups/{gid}/encouragements",
                       json.dumps({"kind": "proud", "text": "Well \udfff done", "commitment_id": cid}))
    assert r.status_code == 422 and r.json()["error"] in ("invalid", "invalid_text"), r.text
    async with alex.socket(server.ws_url, gid) as ws:
        await next_frame(ws)
        await ws.send(json.dumps({"type": "encourage", "kind": "proud", "commitment_id": cid,
                                  "text": "Well \ud800 done", "ref": "x"}))
        got = await settle(ws)
    assert [(f["type"], f.get("code"), f.get("ref")) for f in got] == [("error", "invalid_text", "x")]
    assert (await bea.get(f"/groups/{gid}")).status_code == 200
