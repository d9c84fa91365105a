"""Worry notices: a member's shared words that worry Cairn leave a notice on the moderation page
(and "needs care" beside the group) until a moderator acknowledges it, so a moderator who signs
in later still sees it. Private words leave none. The acknowledgement is the moderators' alone:
never in the audit log, never in an event. A deleted account leaves no name on its notices."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from server.db import transaction
from server.models import Event
from tests.fixtures.clients import PASSWORD
from tests.test_pages import create_group, join, sign_up

WORRYING = "I want to die"


def care_badge_hidden(page: str) -> bool:
    """The "needs care" badge is on a moderator's page always (a worry arriving live counts
    it up), hidden while nothing needs care."""
    return bool(re.search(r'<a [^>]*id="needs-care"[^>]*\shidden>', page))

def plain(html: str) -> str:
    """A page without the marks around members' own words (`data-member-words`)."""
    html = re.sub(r"<span data-member-words>([^<]*)</span>", r"\1", html)
    return html.replace(" data-member-words", "")



async def circle(clients, n=3, **names):
    people = [await clients.member(display_name=names.get(f"p{i}")) for i in range(n)]
    gid = (await clients.group(*people))["id"]
    return people, gid


async def worries(person, gid, state="open"):
    r = await person.get(f"/api/v1/groups/{gid}/worries?state={state}")
    assert r.status_code == 200, r.text
    return r.json()


async def events(app, gid):
    async with transaction(app.state.db, write=False) as session:
        return [(e.stream, e.kind, e.data) for e in (await session.scalars(
            select(Event).where(Event.group_id == gid).order_by(Event.id))).all()]


async def test_a_worry_waits_for_a_moderator_who_signs_in_later_until_acknowledged(app, clients):
    (mod, writer, reader), gid = await circle(clients, p1="Wren Ashdown")
    # Nobody is online: the notice is all a moderator will have.
    r = await writer.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": WORRYING})
    assert r.status_code == 201 and r.json()["support"]["moderators_told"] is True

    [notice] = await worries(mod, gid)
    assert notice["member"] == "Wren Ashdown" and notice["user_id"] == writer.id
    assert notice["times"] == 1 and notice["acknowledged"] is None
    assert WORRYING not in str(notice)
    # Only moderators read the notices.
    assert (await writer.get(f"/api/v1/groups/{gid}/worries")).status_code == 403
    assert (await reader.get(f"/api/v1/groups/{gid}/worries")).status_code == 403
    assert (await reader.post(f"/api/v1/groups/{gid}/worries/{notice['id']}/acknowledge")).status_code == 403

    audit_before = (await reader.get(f"/api/v1/groups/{gid}/audit")).json()
    logged_before = await events(app, gid)
    r = await mod.post(f"/api/v1/groups/{gid}/worries/{notice['id']}/acknowledge")
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["acknowledged"]["by"] == mod.user["display_name"] and done["acknowledged"]["at"]
    assert await worries(mod, gid) == []
    assert [w["id"] for w in await worries(mod, gid, "acknowledged")] == [notice["id"]]
    # Where only moderators see it: not in the members' audit log, not in any event.
    assert (await reader.get(f"/api/v1/groups/{gid}/audit")).json() == audit_before
    assert await events(app, gid) == logged_before

    # Another moderator acknowledging too keeps the first acknowledgement.
    assert (await mod.patch(f"/api/v1/groups/{gid}/members/{reader.id}", {"role": "moderator"})).status_code == 200
    r = await reader.post(f"/api/v1/groups/{gid}/worries/{notice['id']}/acknowledge")
    assert r.status_code == 200 and r.json()["acknowledged"] == done["acknowledged"]


async def test_worrying_words_again_add_to_the_open_notice_and_a_new_one_follows_an_acknowledged_one(clients):
    (mod, writer), gid = await circle(clients, 2)
    cid = (await writer.post(f"/api/v1/groups/{gid}/commitments",
                             {"category": "rest", "text": WORRYING})).json()["id"]
    r = await writer.post(f"/api/v1/commitments/{cid}/checkin",
                          {"status": "not_today", "note": "quiero morirme"})
    assert r.status_code == 200, r.text
    [notice] = await worries(mod, gid)
    assert notice["times"] == 2 and notice["noticed_at"] >= notice["first_noticed_at"]
    await mod.post(f"/api/v1/groups/{gid}/worries/{notice['id']}/acknowledge")
    # An encouragement note is shared words too.
    mod_cid = (await mod.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "walk"})).json()["id"]
    r = await writer.post(f"/api/v1/groups/{gid}/encouragements",
                          {"kind": "proud", "commitment_id": mod_cid, "text": "some days I want to die too"})
    assert r.status_code == 201, r.text
    [again] = await worries(mod, gid)
    assert again["id"] != notice["id"] and again["times"] == 1


async def test_private_words_leave_no_notice(app, clients):
    (mod, writer), gid = await circle(clients, 2)
    r = await writer.post(f"/api/v1/groups/{gid}/commitments",
                          {"category": "rest", "text": WORRYING, "visibility": "private"})
    assert r.status_code == 201 and r.json()["support"]["moderators_told"] is False
    r = await writer.post(f"/api/v1/commitments/{r.json()['id']}/checkin",
                          {"status": "partly", "note": "I want to kill myself"})
    assert r.status_code == 200 and r.json()["support"]["moderators_told"] is False
    assert await worries(mod, gid) == []
    async with transaction(app.state.db, write=False) as session:
        from server.models.moderation import Worry
        assert await session.scalar(select(func.count(Worry.id))) == 0


async def test_notices_of_another_group_are_not_found(clients):
    (mod, writer), gid = await circle(clients, 2)
    (other_mod, other), other_gid = await circle(clients, 2)
    await writer.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": WORRYING})
    [notice] = await worries(mod, gid)
    r = await other_mod.post(f"/api/v1/groups/{other_gid}/worries/{notice['id']}/acknowledge")
    assert r.status_code == 404 and r.json()["error"] == "worry_not_found"
    assert (await other_mod.get(f"/api/v1/groups/{gid}/worries")).status_code == 404
    assert (await mod.post(f"/api/v1/groups/{gid}/worries/999999/acknowledge")).status_code == 404
    assert (await worries(mod, gid))[0]["acknowledged"] is None


async def test_a_deleted_account_leaves_no_name_on_its_notices(clients):
    (mod, writer, helper), gid = await circle(clients, 3, p1="Zephyrine Quillfeather",
                                              p2="Octavia Brightwater")
    await mod.patch(f"/api/v1/groups/{gid}/members/{helper.id}", {"role": "moderator"})
    await writer.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": WORRYING})
    [notice] = await worries(mod, gid)
    await helper.post(f"/api/v1/groups/{gid}/worries/{notice['id']}/acknowledge")
    await writer.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "I want to die, still"})
    for person in (writer, helper):
        r = await person.client.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
        assert r.status_code == 204, r.text

    [still_open] = await worries(mod, gid)
    [seen] = await worries(mod, gid, "acknowledged")
    assert still_open["member"] == "a former member" and still_open["user_id"] is None
    assert seen["member"] == "a former member" and seen["acknowledged"]["by"] == "a former moderator"
    page = (await mod.get(f"/groups/{gid}/moderation")).text
    for seen_text in (str(still_open), str(seen), page):
        for name in ("Zephyrine", "Quillfeather", "Octavia", "Brightwater"):
            assert name not in seen_text


# --- the pages -----------------------------------------------------------------------------

async def test_the_moderation_page_keeps_the_notice_and_the_group_shows_it_needs_care(clients):
    mod, writer = await sign_up(clients), await sign_up(clients)
    gid, code = await create_group(mod)
    assert (await join(writer, code)).status_code == 303
    r = await writer.submit(f"/groups/{gid}/commitments",
                            {"category": "rest", "text": "I can't go on like this", "visibility": "group"})
    assert r.status_code == 303

    day = (await mod.get(f"/groups/{gid}")).text
    assert 'id="needs-care"' in day and ">1 needs care<" in day and not care_badge_hidden(day)
    assert f'href="/groups/{gid}/moderation#worries"' in day
    assert "needs care" not in (await writer.get(f"/groups/{gid}")).text
    page = (await mod.get(f"/groups/{gid}/moderation")).text
    worries_panel = page.split('id="worries"', 1)[1].split("</section>", 1)[0]
    assert writer.name.title() in worries_panel and "can&#39;t go on" not in worries_panel
    wid = int(worries_panel.split('data-worry-id="', 1)[1].split('"', 1)[0])

    # A member cannot acknowledge, on the page either.
    assert (await writer.submit(f"/groups/{gid}/worries/{wid}/acknowledge", {})).status_code == 403
    r = await mod.submit(f"/groups/{gid}/worries/{wid}/acknowledge", {})
    assert r.status_code == 303 and r.headers["location"] == f"/groups/{gid}/moderation#worries"
    page = (await mod.get(f"/groups/{gid}/moderation")).text
    assert f'data-worry-id="{wid}"' not in page
    assert "Acknowledged notices (1)" in page and "acknowledged by " + mod.name.title() in plain(page)
    assert care_badge_hidden((await mod.get(f"/groups/{gid}")).text)
    # The group's log, which every member reads, says nothing of it.
    audit = (await writer.get(f"/groups/{gid}/audit")).text
    assert "acknowledg" not in audit.lower() and "worr" not in audit.lower()


async def test_private_words_show_no_notice_on_the_pages(clients):
    mod, writer = await sign_up(clients), await sign_up(clients)
    gid, code = await create_group(mod)
    assert (await join(writer, code)).status_code == 303
    r = await writer.submit(f"/groups/{gid}/commitments",
                            {"category": "rest", "text": "I can't go on like this", "visibility": "private"})
    assert r.status_code == 303
    assert care_badge_hidden((await mod.get(f"/groups/{gid}")).text)
    page = (await mod.get(f"/groups/{gid}/moderation")).text
    assert "data-worry-id" not in page and writer.name.title() not in page.split('id="worries"', 1)[1].split(
        "</section>", 1)[0]
