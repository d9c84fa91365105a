"""Reports, hiding, muting, roles, the audit log, crisis support, export and deletion."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import inspect, select, text

from server import clock
from server.db import transaction
from server.models import Event
from tests import support


async def circle(clients, n=3):
    people = [await clients.member() for _ in range(n)]
    group = await clients.group(*people)
    return people, group["id"]


async def test_report_hide_and_the_author_still_sees_why(clients):
    (mod, a, b), gid = await circle(clients)
    c = (await a.post(f"/api/v1/groups/{gid}/commitments",
                      {"category": "rest", "text": "something unkind"})).json()
    r = await b.post(f"/api/v1/groups/{gid}/reports",
                     {"target_type": "commitment", "target_id": c["id"], "reason": "It hurt."})
    assert r.status_code == 201 and r.json()["status"] == "open"
    assert (await b.get(f"/api/v1/groups/{gid}/reports")).status_code == 403
    reports = (await mod.get(f"/api/v1/groups/{gid}/reports?status=open")).json()
    assert [x["reason"] for x in reports] == ["It hurt."]
    assert (await b.post(f"/api/v1/groups/{gid}/hidden", {"target_type": "commitment",
            "target_id": c["id"], "reason": "x"})).status_code == 403
    r = await mod.post(f"/api/v1/groups/{gid}/hidden",
                       {"target_type": "commitment", "target_id": c["id"], "reason": "Unkind words."})
    assert r.status_code == 201
    assert (await mod.post(f"/api/v1/groups/{gid}/hidden", {"target_type": "commitment",
            "target_id": c["id"], "reason": "again"})).status_code == 409
    seen_by_b = (await b.get(f"/api/v1/groups/{gid}/commitments")).json()[0]
    assert seen_by_b["text"] is None and seen_by_b["hidden"] and seen_by_b["hidden_reason"] is None
    seen_by_a = (await a.get(f"/api/v1/groups/{gid}/commitments")).json()[0]
    assert seen_by_a["text"] == "something unkind" and seen_by_a["hidden_reason"] == "Unkind words."
    assert (await mod.get(f"/api/v1/groups/{gid}/reports?status=open")).json() == []
    audit = (await b.get(f"/api/v1/groups/{gid}/audit")).json()
    assert [(x["action"], x["reason"]) for x in audit] == [("hide", "Unkind words.")]
    page = (await b.client.get(f"/groups/{gid}")).text
    assert "something unkind" not in page and "Hidden by a moderator." in page


async def test_reports_refuse_other_groups_content_and_private_items(clients):
    (mod, a, b), gid = await circle(clients)
    (mod2, x), gid2 = await circle(clients, 2)
    other = (await x.post(f"/api/v1/groups/{gid2}/commitments", {"category": "rest", "text": "t"})).json()
    private = (await a.post(f"/api/v1/groups/{gid}/commitments",
                            {"category": "rest", "text": "p", "visibility": "private"})).json()
    for target in (other["id"], private["id"], 999999):
        r = await b.post(f"/api/v1/groups/{gid}/reports",
                         {"target_type": "commitment", "target_id": target, "reason": "r"})
        assert r.status_code == 404, target
    r = await mod.post(f"/api/v1/groups/{gid}/hidden",
                       {"target_type": "commitment", "target_id": other["id"], "reason": "r"})
    assert r.status_code == 404
    assert (await mod2.get(f"/api/v1/groups/{gid}/reports")).status_code == 404


async def test_mute_blocks_writes_until_unmuted_and_is_audited(clients):
    (mod, a, b), gid = await circle(clients)
    r = await mod.put(f"/api/v1/groups/{gid}/members/{a.id}/mute", {"minutes": 30, "reason": "Cool down."})
    assert r.status_code == 200 and r.json()["reason"] == "Cool down."
    r = await a.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "x"})
    assert r.status_code == 403 and r.json()["error"] == "muted"
    r = await a.post(f"/api/v1/groups/{gid}/encouragements", {"kind": "proud"})
    assert r.status_code == 403 and r.json()["error"] == "muted"
    assert (await a.get(f"/api/v1/groups/{gid}/commitments")).status_code == 200  # still reads
    assert (await b.put(f"/api/v1/groups/{gid}/members/{a.id}/mute",
                        {"minutes": 5, "reason": "x"})).status_code == 403
    assert (await mod.put(f"/api/v1/groups/{gid}/members/{mod.id}/mute",
                          {"minutes": 5, "reason": "x"})).status_code == 400
    assert (await mod.delete(f"/api/v1/groups/{gid}/members/{a.id}/mute")).status_code == 204
    r = await a.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "x"})
    assert r.status_code == 201
    actions = [x["action"] for x in (await a.get(f"/api/v1/groups/{gid}/audit")).json()]
    assert actions == ["unmute", "mute"]


async def test_promote_demote_and_a_group_always_keeps_a_moderator(clients):
    (mod, a, b), gid = await circle(clients)
    r = await mod.patch(f"/api/v1/groups/{gid}/members/{a.id}", {"role": "moderator"})
    assert r.status_code == 200 and r.json()["role"] == "moderator"
    assert (await a.get(f"/api/v1/groups/{gid}/reports")).status_code == 200
    assert (await a.patch(f"/api/v1/groups/{gid}/members/{mod.id}", {"role": "member"})).status_code == 200
    r = await a.patch(f"/api/v1/groups/{gid}/members/{a.id}", {"role": "member"})
    assert r.status_code == 409 and r.json()["error"] == "last_moderator"
    assert (await a.post(f"/api/v1/groups/{gid}/leave")).status_code == 204
    members = {m["user_id"]: m["role"] for m in (await b.get(f"/api/v1/groups/{gid}/members")).json()}
    assert members[mod.id] == "moderator"  # the longest-standing member stepped up
    audit = (await b.get(f"/api/v1/groups/{gid}/audit")).json()
    assert audit[0]["actor"] == "Cairn" and audit[0]["action"] == "promote"


@pytest.mark.parametrize("words", ["I want to die", "sometimes I think about killing myself",
                                   "quiero morirme", "No quiero vivir así", "I've been self-harming"])
async def test_crisis_language_is_accepted_with_support_and_moderators_are_told(app, clients, words):
    (mod, a, b), gid = await circle(clients)
    r = await a.post(f"/api/v1/groups/{gid}/commitments", {"category": "self_soothing", "text": words})
    assert r.status_code == 201
    support = r.json()["support"]
    assert support["message"] and support["resources"]
    async with transaction(app.state.db, write=False) as session:
        notice = (await session.scalars(select(Event).where(Event.kind == "support.concern"))).one()
    assert notice.stream == "moderators" and words not in str(notice.data)
    listed = (await b.get(f"/api/v1/groups/{gid}/commitments")).json()
    assert "support" not in listed[0] or listed[0]["support"] is None


@pytest.mark.parametrize("words", ["I killed it at the gym today", "This diet is killing me, haha",
                                   "therapist at noon", "Dead tired but happy", "skill myself up",
                                   "Mi madre me mata de risa"])
async def test_ordinary_words_do_not_trigger_support(clients, words):
    (mod, a), gid = await circle(clients, 2)
    r = await a.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": words})
    assert r.status_code == 201 and r.json()["support"] is None


async def test_help_resources_are_public(clients):
    anon = clients.anonymous()
    r = await anon.get("/api/v1/help/resources?country=es")
    assert r.status_code == 200 and r.json()["country"] == "ES"
    assert r.json()["grounding"] and r.json()["general"]["message"]
    assert len((await anon.get("/api/v1/help/resources")).json()["countries"]) > 5
    assert (await anon.get("/api/v1/help/resources?country=zzz")).status_code == 422


async def test_export_holds_what_i_wrote_and_nothing_private_of_others(clients):
    (mod, a, b), gid = await circle(clients)
    mine = (await a.post(f"/api/v1/groups/{gid}/commitments",
                         {"category": "water", "text": "my own words", "visibility": "private"})).json()
    await a.post(f"/api/v1/commitments/{mine['id']}/checkin", {"status": "done", "note": "n", "feeling": 4})
    await b.post(f"/api/v1/groups/{gid}/commitments",
                 {"category": "rest", "text": "b private", "visibility": "private"})
    await b.post(f"/api/v1/groups/{gid}/encouragements", {"kind": "proud", "text": "go a",
                                                          "to_user_id": a.id})
    r = await a.get("/api/v1/me/export")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    data = r.json()
    assert data["account"]["username"] == a.user["username"]
    assert [c["text"] for c in data["commitments"]] == ["my own words"]
    assert data["commitments"][0]["checkin"]["feeling"] == 4
    assert [e["text"] for e in data["encouragement_received"]] == ["go a"]
    assert "b private" not in r.text and "password" not in r.text


async def test_delete_account_leaves_no_personal_row(app, clients):
    (mod, a, b), gid = await circle(clients)
    c = (await a.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "a words"})).json()
    await a.post(f"/api/v1/commitments/{c['id']}/checkin", {"status": "done", "note": "a note"})
    await a.post(f"/api/v1/groups/{gid}/encouragements", {"kind": "proud", "text": "a cheer",
                                                          "to_user_id": b.id})
    await a.post(f"/api/v1/groups/{gid}/reports", {"target_type": "commitment", "target_id": c["id"],
                                                   "reason": "testing"})
    assert (await a.client.request("DELETE", "/api/v1/me",
                                   json={"password": "wrong password!"})).status_code == 403
    r = await a.client.request("DELETE", "/api/v1/me", json={"password": "a quiet river bend"})
    assert r.status_code == 204
    assert (await a.get("/api/v1/me")).status_code == 401  # the session ended at once
    received = (await b.get("/api/v1/me/encouragements")).json()
    assert received[0]["from_display_name"] == "a former member" and received[0]["text"] is None
    # Query every table for anything of theirs.
    async with transaction(app.state.db, write=False) as session:
        def tables(conn):
            return inspect(conn).get_table_names()
        names = await (await session.connection()).run_sync(tables)
        uid, username = a.id, a.user["username"]
        for table in names:
            rows = (await session.execute(text(f'SELECT * FROM "{table}"'))).mappings().all()
            for row in rows:
                for column, value in row.items():
                    refers = column.endswith(("user_id", "_by", "actor_id", "reporter_id"))
                    if refers or (column == "id" and table == "users"):
                        assert value != uid, (table, column)
                    assert "a words" not in str(value) and "a note" not in str(value), (table, column)
                    assert "a cheer" not in str(value), (table, column)
                    assert username not in str(value), (table, column)


async def test_reports_are_limited_per_member_so_the_queue_stays_usable(clients):
    from server.moderation.service import REPORTS_PER_HOUR

    (mod, a, b), gid = await circle(clients, 3)
    c = (await b.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "x"})).json()
    body = {"target_type": "commitment", "target_id": c["id"], "reason": "Please look"}
    for _ in range(REPORTS_PER_HOUR):
        assert (await a.post(f"/api/v1/groups/{gid}/reports", body)).status_code == 201
    r = await a.post(f"/api/v1/groups/{gid}/reports", body)
    support.assert_error(r, 429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 3601
    # Someone else may still report, and an hour later so may they.
    assert (await mod.post(f"/api/v1/groups/{gid}/reports", body)).status_code == 201
    clock.travel(dt.timedelta(hours=1, seconds=1))
    try:
        assert (await a.post(f"/api/v1/groups/{gid}/reports", body)).status_code == 201
    finally:
        clock.travel(dt.timedelta(0))
