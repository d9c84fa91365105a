"""Reporting in a practice room: a line while the room shows it (its words kept for the
moderators after the round forgets them), and a group's own scenario card, not Cairn's."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.db import transaction
from server.models import Event, User
from server.roleplay import service as roleplay
from server.roleplay.machine import command_of


async def command(app, member, rid: int, type_: str, **fields: Any) -> None:
    async with transaction(app.state.db) as session:
        user = await session.get(User, member.id)
        await roleplay.command(session, user, rid, command_of({"type": type_, **fields}))


async def scene(app, clients):
    """A room in its scene: moderator, practitioner, counterpart, observer; and a member of
    the group who has not joined the room."""
    mod, practitioner = await clients.member(), await clients.member()
    counterpart = await clients.member(display_name="Sam Counterpart")
    observer, elsewhere = await clients.member(), await clients.member()
    gid = (await clients.group(mod, practitioner, counterpart, observer, elsewhere))["id"]
    r = await mod.post(f"/api/v1/groups/{gid}/roleplays", {"title": "Practice"})
    assert r.status_code == 201, r.text
    rid = r.json()["room_id"]
    for person in (mod, practitioner, counterpart, observer):
        await command(app, person, rid, "join")
    await command(app, mod, rid, "assign_role", user_id=practitioner.id, role="practitioner")
    await command(app, mod, rid, "assign_role", user_id=counterpart.id, role="counterpart")
    await command(app, mod, rid, "advance")
    cards = (await practitioner.get(f"/api/v1/scenarios?group_id={gid}")).json()
    builtin = next(c for c in cards if c["builtin"])
    await command(app, practitioner, rid, "choose_scenario", scenario_id=builtin["id"], intensity=2)
    await command(app, practitioner, rid, "state_boundary", text="I will not work this weekend.")
    await command(app, mod, rid, "advance")  # rehearse
    await command(app, mod, rid, "advance")  # scene
    people = {"mod": mod, "practitioner": practitioner, "counterpart": counterpart,
              "observer": observer, "elsewhere": elsewhere}
    return people, gid, rid, builtin


async def lines_of(member, rid: int) -> list[dict[str, Any]]:
    r = await member.get(f"/api/v1/roleplays/{rid}")
    assert r.status_code == 200, r.text
    return r.json()["lines"]


async def test_a_line_reported_while_shown_reaches_the_moderators_and_outlives_the_round(app, clients):
    people, gid, rid, _ = await scene(app, clients)
    mod, counterpart, observer = people["mod"], people["counterpart"], people["observer"]
    await command(app, counterpart, rid, "say", text="You always let the team down, you know.")
    await command(app, people["practitioner"], rid, "say", text="I hear you, and my answer is no.")
    lines = await lines_of(observer, rid)
    assert [line["id"] for line in lines] == [1, 2]
    said = lines[0]

    body = {"target_type": "roleplay_line", "target_id": said["id"], "room_id": rid,
            "reason": "That felt cruel, not practice."}
    r = await observer.post(f"/api/v1/groups/{gid}/reports", body)
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["target_type"] == "roleplay_line" and report["status"] == "open"
    # A second report of the same line names the same kept words.
    r = await people["practitioner"].post(f"/api/v1/groups/{gid}/reports", {**body, "reason": "Too much."})
    assert r.status_code == 201 and r.json()["target_id"] == report["target_id"]

    async with transaction(app.state.db, write=False) as session:
        events = (await session.scalars(select(Event).where(
            Event.group_id == gid, Event.kind == "report.created").order_by(Event.seq))).all()
    assert [e.stream for e in events] == ["moderators", "moderators"]
    assert events[0].data["target_type"] == "roleplay_line"
    assert events[0].data["report_id"] == report["id"]
    # The live notice carries the reason, never the reported words themselves.
    assert "cruel" in events[0].data["reason"] and "let the team down" not in str(events[0].data)

    listed = (await mod.get(f"/api/v1/groups/{gid}/reports?status=open")).json()
    assert {x["target_type"] for x in listed} == {"roleplay_line"}

    # The round moves on and the room ends: the room forgets the line, the moderators do not.
    await command(app, mod, rid, "advance")  # feedback
    await command(app, mod, rid, "advance", to="sharing")
    await command(app, mod, rid, "end")
    assert await lines_of(observer, rid) == []
    page = (await mod.client.get(f"/groups/{gid}/moderation")).text
    assert "You always let the team down, you know." in page
    assert "Sam Counterpart" in page and "That felt cruel, not practice." in page
    assert "line said in a practice room" in page
    # Once the room no longer shows it, the line cannot be reported.
    r = await observer.post(f"/api/v1/groups/{gid}/reports", body)
    assert r.status_code == 404 and r.json()["error"] == "target_not_found"


async def test_line_reports_refuse_lines_not_shown_outsiders_and_other_rooms(app, clients):
    people, gid, rid, _ = await scene(app, clients)
    observer = people["observer"]
    await command(app, people["counterpart"], rid, "say", text="Just this once?")
    body = {"target_type": "roleplay_line", "target_id": 1, "room_id": rid, "reason": "r"}

    r = await observer.post(f"/api/v1/groups/{gid}/reports", {**body, "target_id": 2})
    assert r.status_code == 404 and r.json()["error"] == "target_not_found"
    r = await observer.post(f"/api/v1/groups/{gid}/reports", {**body, "room_id": None})
    assert r.status_code == 422 and r.json()["error"] == "invalid_target"
    # A member of the group who is not in the room did not take part in it.
    r = await people["elsewhere"].post(f"/api/v1/groups/{gid}/reports", body)
    assert r.status_code == 403 and r.json()["error"] == "not_in_room"
    # Someone outside the group, even from their own group, gets nothing.
    stranger = await clients.member()
    other_gid = (await clients.group(stranger))["id"]
    assert (await stranger.post(f"/api/v1/groups/{gid}/reports", body)).status_code in (403, 404)
    r = await stranger.post(f"/api/v1/groups/{other_gid}/reports", body)
    assert r.status_code == 404 and r.json()["error"] == "room_not_found"
    async with transaction(app.state.db, write=False) as session:
        reported = (await session.scalars(select(Event).where(Event.kind == "report.created"))).all()
    assert reported == []


async def test_a_moderator_hides_a_line_and_it_leaves_every_view_of_the_room(app, clients):
    people, gid, rid, _ = await scene(app, clients)
    mod, observer = people["mod"], people["observer"]
    await command(app, people["counterpart"], rid, "say", text="Unkind words here.")
    await command(app, people["practitioner"], rid, "say", text="No, thank you.")
    report = (await observer.post(f"/api/v1/groups/{gid}/reports", {
        "target_type": "roleplay_line", "target_id": 1, "room_id": rid, "reason": "Unkind."})).json()
    r = await mod.post(f"/api/v1/groups/{gid}/hidden", {
        "target_type": "roleplay_line", "target_id": report["target_id"], "reason": "Not kind."})
    assert r.status_code == 201, r.text
    for person in (observer, people["counterpart"], mod):
        assert [line["text"] for line in await lines_of(person, rid)] == ["No, thank you."]
    assert (await mod.get(f"/api/v1/groups/{gid}/reports?status=open")).json() == []
    audit = (await observer.get(f"/api/v1/groups/{gid}/audit")).json()
    assert [(x["action"], x["reason"]) for x in audit] == [("hide", "Not kind.")]


async def test_a_groups_own_card_can_be_reported_and_cairns_cannot(app, clients):
    people, gid, rid, builtin = await scene(app, clients)
    mod, observer = people["mod"], people["observer"]
    room = (await observer.get(f"/api/v1/roleplays/{rid}")).json()
    assert room["scenario"]["id"] == builtin["id"] and room["scenario"]["builtin"] is True
    r = await observer.post(f"/api/v1/groups/{gid}/reports", {
        "target_type": "scenario", "target_id": builtin["id"], "reason": "Not ours."})
    assert r.status_code == 404 and r.json()["error"] == "target_not_found"

    own = (await mod.post(f"/api/v1/groups/{gid}/scenarios", {
        "title": "The borrowed car", "situation": "A cousin asks for the car again.",
        "opening_line": "Can I take it tonight?",
        "intensities": ["Okay, fair.", "After all I did?", "You are selfish."]})).json()
    assert own["builtin"] is False
    r = await observer.post(f"/api/v1/groups/{gid}/reports", {
        "target_type": "scenario", "target_id": own["id"], "reason": "Feels too close to home."})
    assert r.status_code == 201, r.text
    page = (await mod.client.get(f"/groups/{gid}/moderation")).text
    assert "The borrowed car: A cousin asks for the car again." in page


async def test_the_kept_words_go_with_the_speakers_account(app, clients):
    people, gid, rid, _ = await scene(app, clients)
    mod, counterpart = people["mod"], people["counterpart"]
    await command(app, counterpart, rid, "say", text="Words of a person who then leaves.")
    r = await people["observer"].post(f"/api/v1/groups/{gid}/reports", {
        "target_type": "roleplay_line", "target_id": 1, "room_id": rid, "reason": "Harsh."})
    assert r.status_code == 201
    assert "Words of a person who then leaves." in (await mod.client.get(f"/groups/{gid}/moderation")).text
    r = await counterpart.client.request("DELETE", "/api/v1/me", json={"password": "a quiet river bend"})
    assert r.status_code == 204
    page = (await mod.client.get(f"/groups/{gid}/moderation")).text
    assert "Words of a person who then leaves." not in page and "Harsh." in page
