"""Deleted is not gone from the group's record, but the person is: the audit log names them
"a former member" or "a former moderator" and keeps none of their words, Cairn's own entries
still say Cairn, and no id of theirs is ever handed to someone else."""

from __future__ import annotations

from server import cli
from tests.fixtures.clients import PASSWORD


def main(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


async def delete_account(person) -> None:
    r = await person.client.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
    assert r.status_code == 204, r.text


async def test_a_deleted_member_is_a_former_member_in_the_audit_log(clients):
    mod = await clients.member(display_name="Marisol Vantongeren")
    x = await clients.member(display_name="Zephyrine Quillfeather")
    reader = await clients.member()
    gid = (await clients.group(mod, x, reader))["id"]
    them = f"/api/v1/groups/{gid}/members/{x.id}"
    assert (await mod.put(f"{them}/mute", {"minutes": 30, "reason": "A pause to cool down."})).status_code == 200
    assert (await mod.delete(f"{them}/mute")).status_code == 204
    assert (await mod.patch(them, {"role": "moderator"})).status_code == 200
    assert (await mod.patch(them, {"role": "member"})).status_code == 200
    assert (await mod.delete(them)).status_code == 204
    page = main((await reader.get(f"/groups/{gid}/audit")).text)
    assert page.count("Zephyrine Quillfeather") == 5  # what the deletion must take away

    await delete_account(x)
    audit = (await reader.get(f"/api/v1/groups/{gid}/audit")).json()
    assert [(a["actor"], a["action"], a["target"]) for a in audit] == [
        ("Marisol Vantongeren", action, "a former member")
        for action in ("remove", "demote", "promote", "unmute", "mute")]
    assert audit[-1]["reason"] == "A pause to cool down."  # the moderator's words, not theirs
    html = (await reader.get(f"/groups/{gid}/audit")).text
    assert "Zephyrine" not in html and "Quillfeather" not in html
    assert main(html).count("a former member") == 5 and "Marisol Vantongeren" in html


async def test_a_deleted_moderator_is_a_former_moderator_not_cairn(app, clients):
    mod = await clients.member(display_name="Octavia Brightwater")
    first = await clients.member(display_name="Ines Farrow")
    author = await clients.member(display_name="Tobiah Lund")
    gid = (await clients.group(mod, first, author))["id"]
    c = (await author.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "t"})).json()
    r = await mod.post(f"/api/v1/groups/{gid}/hidden", {"target_type": "commitment", "target_id": c["id"],
                                                        "reason": "Periwinkle marmalade, my own words."})
    assert r.status_code == 201

    # The group's only moderator goes: Cairn hands the group to its longest-standing member,
    # and the operator makes one more moderator from the command line.
    await delete_account(mod)
    await cli.make_moderator(app.state.db.settings, gid, author.user["username"])
    audit = (await first.get(f"/api/v1/groups/{gid}/audit")).json()
    assert [(a["actor"], a["action"], a["target"]) for a in audit] == [
        ("Cairn", "promote", "Tobiah Lund"), ("Cairn", "promote", "Ines Farrow"),
        ("a former moderator", "hide", f"commitment #{c['id']}")]
    assert audit[1]["reason"] and audit[2]["reason"] is None
    html = main((await first.get(f"/groups/{gid}/audit")).text)
    assert "Octavia" not in html and "Periwinkle" not in html
    assert html.count("<strong>Cairn</strong>") == 2 and html.count("<strong>A former moderator</strong>") == 1


async def test_ids_are_never_handed_out_again(clients):
    mod = await clients.member()
    other = await clients.member()
    leaving = await clients.member()  # the newest account: its id is the highest
    gid = (await clients.group(mod, other, leaving))["id"]
    old = (await leaving.post(f"/api/v1/groups/{gid}/commitments",
                              {"category": "rest", "text": "mine, for now"})).json()
    r = await mod.post(f"/api/v1/groups/{gid}/hidden", {"target_type": "commitment", "target_id": old["id"],
                                                        "reason": "Not for this group."})
    assert r.status_code == 201
    await delete_account(leaving)

    new = (await other.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "a walk"})).json()
    assert new["id"] != old["id"]
    [seen] = (await mod.get(f"/api/v1/groups/{gid}/commitments")).json()
    assert seen["id"] == new["id"] and not seen["hidden"] and seen["text"] == "a walk"
    newcomer = await clients.member()
    assert newcomer.id not in (mod.id, other.id, leaving.id)


async def test_a_deleted_member_leaves_no_name_or_words_in_what_moderators_read(app, clients):
    """Reports they filed, worries the moderators were told of, and their replay: the
    moderators keep what happened, not who or in what words."""
    from sqlalchemy import select

    from server.db import transaction
    from server.models import Event, Report

    mod = await clients.member(display_name="Marisol Vantongeren")
    x = await clients.member(display_name="Zephyrine Quillfeather")
    other = await clients.member()
    gid = (await clients.group(mod, x, other))["id"]
    c = (await other.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "x"})).json()
    r = await x.post(f"/api/v1/groups/{gid}/reports", {"target_type": "commitment", "target_id": c["id"],
                                                     "reason": "Quillfeather-words about this"})
    assert r.status_code == 201
    assert (await x.post(f"/api/v1/groups/{gid}/commitments",
                         {"category": "rest", "text": "I want to die"})).status_code == 201
    await delete_account(x)
    reports = (await mod.get(f"/api/v1/groups/{gid}/reports")).json()
    page = (await mod.get(f"/groups/{gid}/moderation")).text
    async with transaction(app.state.db, write=False) as session:
        logged = [e.data for e in (await session.scalars(select(Event).where(Event.group_id == gid))).all()]
        kept = (await session.scalars(select(Report).where(Report.group_id == gid))).all()
    for seen in (str(reports), page, str(logged), str([k.reason for k in kept])):
        assert "Zephyrine" not in seen and "Quillfeather" not in seen
    assert len(kept) == 1 and kept[0].status == "open"  # the report itself stays
