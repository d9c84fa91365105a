"""Changing a commitment's words until someone has responded to it, withdrawing it at any time,
and the report that keeps what it was about: over the API and the pages, on SQLite and
PostgreSQL. (The pages: tests/test_pages.py; live and on replay:
tests/realtime/test_privacy_edges.py; who may call what: tests/authz.)"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from server import clock
from server.models import Event
from tests import support
from tests.fixtures.clients import PASSWORD

WORDS = "Drink a glass of water with each meal"


@pytest.fixture(autouse=True)
def _every_answer_keeps_the_contract(clients):
    yield from support.watch(clients)


@pytest.fixture(autouse=True)
def _fast_sign_ups(monkeypatch):
    support.cheap_hashing(monkeypatch)


async def circle(clients):
    """A moderator, a member who writes, and another who reads, in one group."""
    mod, writer, reader = await clients.member(), await clients.member(), await clients.member()
    gid = (await clients.group(mod, writer, reader))["id"]
    return mod, writer, reader, gid


async def posted(member, gid, text=WORDS, **extra):
    r = await member.post(f"/api/v1/groups/{gid}/commitments", {"category": "water", "text": text, **extra})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def edit(member, cid, body):
    return await member.patch(f"/api/v1/commitments/{cid}", body)


async def withdraw(member, cid):
    return await member.delete(f"/api/v1/commitments/{cid}")


async def day_texts(member, gid):
    r = await member.get(f"/api/v1/groups/{gid}/commitments")
    assert r.status_code == 200, r.text
    return {c["id"]: c["text"] for c in r.json()}


async def events_of(app, gid):
    async with app.state.db.session() as session:
        return [(e.kind, e.data) for e in (await session.scalars(
            select(Event).where(Event.group_id == gid, Event.stream == "group").order_by(Event.seq))).all()]


async def reports(mod, gid):
    r = await mod.get(f"/api/v1/groups/{gid}/reports")
    assert r.status_code == 200, r.text
    return {(x["target_type"], x["target_id"]): x["reported_words"] for x in r.json()}


# -- changing the words -----------------------------------------------------------------------


async def test_its_author_changes_the_words_and_the_log_tells_them_as_they_are_now(clients, app):
    _, writer, reader, gid = await circle(clients)
    cid = await posted(writer, gid)
    r = await writer.post(f"/api/v1/commitments/{cid}/checkin", {"status": "partly", "note": "Two of three"})
    assert r.status_code == 200, r.text
    r = await edit(writer, cid, {"text": "  Drink water with two meals  "})
    assert r.status_code == 200, r.text
    assert r.json()["text"] == "Drink water with two meals" and r.json()["checkin"]["note"] == "Two of three"
    assert (await day_texts(reader, gid))[cid] == "Drink water with two meals"
    # The same words again change nothing and say nothing.
    assert (await edit(writer, cid, {"text": "Drink water with two meals"})).status_code == 200
    logged = await events_of(app, gid)
    about = [(kind, data) for kind, data in logged if data.get("commitment_id") == cid]
    assert [kind for kind, _ in about] == ["commitment.created", "commitment.checked_in", "commitment.edited"]
    # A replay of the older events tells the words as they are now.
    assert {data["text"] for _, data in about} == {"Drink water with two meals"}
    assert about[-1][1] == {"commitment_id": cid, "user_id": writer.id, "text": "Drink water with two meals"}


async def test_the_words_stay_once_anyone_has_cheered_reported_or_hidden_them(clients):
    mod, writer, reader, gid = await circle(clients)
    cheered, reported, hidden = [await posted(writer, gid, f"Rest {n}") for n in range(3)]
    untouched = await posted(writer, gid, "Rest 3", day=str(clock.local_today("UTC") + dt.timedelta(days=1)))
    assert (await reader.post(f"/api/v1/groups/{gid}/encouragements",
                              {"kind": "proud", "commitment_id": cheered})).status_code == 201
    assert (await reader.post(f"/api/v1/groups/{gid}/reports", {
        "target_type": "commitment", "target_id": reported, "reason": "Worried"})).status_code == 201
    assert (await mod.post(f"/api/v1/groups/{gid}/hidden", {
        "target_type": "commitment", "target_id": hidden, "reason": "Agreement"})).status_code == 201
    refusals = [support.assert_error(await edit(writer, cid, {"text": "Other words"}), 409, "commitment_locked")
                for cid in (cheered, reported, hidden)]
    # One answer whichever it was: the author cannot tell that a report was made.
    assert len({body["detail"] for body in refusals}) == 1 and "withdraw" in refusals[0]["detail"]
    texts = await day_texts(writer, gid)
    assert [texts[c] for c in (cheered, reported, hidden)] == ["Rest 0", "Rest 1", "Rest 2"]
    # The pages say the same: no Edit on the day or on the card, but on the untouched one.
    today = (await writer.get(f"/groups/{gid}")).text
    tomorrow = (await writer.get(f"/groups/{gid}?day={clock.local_today('UTC') + dt.timedelta(days=1)}")).text
    for cid in (cheered, reported, hidden):
        assert f'id="entry-{cid}"' in today and f"/commitments/{cid}?open=edit" not in today
        card = (await writer.get(f"/groups/{gid}/commitments/{cid}?open=edit")).text
        assert f'id="c{cid}-edit"' not in card
    assert f"/commitments/{untouched}?open=edit" in tomorrow
    assert f'id="c{untouched}-edit"' in (await writer.get(f"/groups/{gid}/commitments/{untouched}?open=edit")).text
    assert (await edit(writer, untouched, {"text": "Other words"})).status_code == 200
    # Withdrawing is never refused to its author.
    for cid in (cheered, reported, hidden):
        assert (await withdraw(writer, cid)).status_code == 204


async def test_only_its_author_may_and_a_muted_author_may_still_withdraw(clients):
    mod, writer, reader, gid = await circle(clients)
    outsider = await clients.member()
    shared, private = await posted(writer, gid), await posted(writer, gid, "Mine", visibility="private")
    for cid, code in ((shared, 403), (private, 404)):
        support.assert_error(await edit(reader, cid, {"text": "Not mine"}), code)
        support.assert_error(await withdraw(reader, cid), code)
    for cid in (shared, private, 2**31 - 1):
        support.assert_error(await edit(outsider, cid, {"text": "Not mine"}), 404, "commitment_not_found")
        support.assert_error(await withdraw(outsider, cid), 404, "commitment_not_found")
    for cid in (0, 2**31, "one"):
        support.assert_error(await withdraw(writer, cid), 422)
    support.assert_error(await clients.anonymous().delete(f"/api/v1/commitments/{shared}"), 401)
    assert (await mod.put(f"/api/v1/groups/{gid}/members/{writer.id}/mute",
                          {"minutes": 30, "reason": "A pause"})).status_code == 200
    support.assert_error(await edit(writer, shared, {"text": "Other words"}), 403, "muted")
    assert (await withdraw(writer, private)).status_code == 204
    assert (await withdraw(writer, shared)).status_code == 204


async def test_words_that_cannot_be_kept_are_refused_and_nothing_changes(clients, app):
    _, writer, _, gid = await circle(clients)
    cid = await posted(writer, gid)
    before = await events_of(app, gid)
    for body in ({"text": ""}, {"text": "x" * 281}, {"text": None}, {"text": 5}, {"text": ["a"]},
                 {"text": {"a": 1}}, {}, {"words": "Other"}, ["text"], "text"):
        support.assert_error(await edit(writer, cid, body), 422)
    support.assert_error(await edit(writer, cid, {"text": "   \n "}), 422, "text_required")
    support.assert_error(await edit(writer, cid, {"text": "a\x00b"}), 422, "invalid_text")
    support.assert_error(await writer.client.patch(
        f"/api/v1/commitments/{cid}", content=b"{not json", headers={"Content-Type": "application/json"}),
        400, "malformed")
    assert (await day_texts(writer, gid))[cid] == WORDS and await events_of(app, gid) == before
    assert (await edit(writer, cid, {"text": "y" * 280})).json()["text"] == "y" * 280


# -- withdrawing ------------------------------------------------------------------------------


async def test_a_withdrawn_commitment_goes_from_every_view(clients, app):
    mod, writer, reader, gid = await circle(clients)
    cid, other = await posted(writer, gid), await posted(writer, gid, "Stretch at noon")
    r = await writer.post(f"/api/v1/commitments/{cid}/checkin", {"status": "done", "note": "All three", "feeling": 4})
    checkin = r.json()["checkin"]["id"]
    cheer = (await reader.post(f"/api/v1/groups/{gid}/encouragements",
                               {"kind": "proud", "text": "Lovely", "commitment_id": cid})).json()
    assert (await writer.get("/api/v1/me/progress")).json()["days"][-1]["done"] == 1
    assert (await withdraw(writer, cid)).status_code == 204

    for member in (writer, reader, mod):
        assert set(await day_texts(member, gid)) == {other}
    assert (await writer.get("/api/v1/me/progress")).json()["days"][-1]["done"] == 0
    export = (await writer.get("/api/v1/me/export")).json()
    assert [c["id"] for c in export["commitments"]] == [other] and WORDS not in str(export["commitments"])
    # The encouragement stays its receiver's, about nothing any more.
    [kept] = (await writer.get("/api/v1/me/encouragements")).json()
    assert kept["text"] == "Lovely" and kept["commitment_id"] is None
    # A replay keeps no words of it: neither the commitment's nor its check-in's.
    logged = await events_of(app, gid)
    about = [(kind, data) for kind, data in logged if data.get("commitment_id") == cid]
    assert [kind for kind, _ in about] == ["commitment.created", "commitment.checked_in",
                                           "encouragement.sent", "commitment.withdrawn"]
    for kind, data in about[:2]:
        assert data["withdrawn"] is True and data["text"] is None and data.get("note") is None, (kind, data)
    assert about[-1][1] == {"commitment_id": cid, "user_id": writer.id}
    assert WORDS not in str(logged) and "All three" not in str(logged)

    # Nothing more can be done with it, by anyone.
    support.assert_error(await withdraw(writer, cid), 404, "commitment_not_found")
    support.assert_error(await edit(writer, cid, {"text": "Again"}), 404, "commitment_not_found")
    support.assert_error(await writer.post(f"/api/v1/commitments/{cid}/checkin", {"status": "done"}), 404)
    support.assert_error(await reader.post(f"/api/v1/groups/{gid}/encouragements",
                                           {"kind": "proud", "commitment_id": cid}), 404)
    for target_type, target_id in (("commitment", cid), ("checkin", checkin)):
        body = {"target_type": target_type, "target_id": target_id, "reason": "Late"}
        support.assert_error(await reader.post(f"/api/v1/groups/{gid}/reports", body), 404, "target_not_found")
        support.assert_error(await mod.post(f"/api/v1/groups/{gid}/hidden", body), 404, "target_not_found")
    assert cheer["data"]["commitment_id"] == cid


async def test_a_report_keeps_the_words_it_was_about(clients, app):
    mod, writer, reader, gid = await circle(clients)
    cid = await posted(writer, gid, "Say no to the extra shift")
    note = (await writer.post(f"/api/v1/commitments/{cid}/checkin",
                              {"status": "partly", "note": "First words"})).json()["checkin"]["id"]
    for target_type, target_id in (("commitment", cid), ("checkin", note)):
        assert (await reader.post(f"/api/v1/groups/{gid}/reports", {
            "target_type": target_type, "target_id": target_id, "reason": "Please look"})).status_code == 201
    # The writer's own private words, reported by themselves, are never copied.
    private = await posted(writer, gid, "Only mine", visibility="private")
    r = await writer.post(f"/api/v1/groups/{gid}/reports",
                          {"target_type": "commitment", "target_id": private, "reason": "Oops"})
    assert r.status_code == 201 and r.json()["reported_words"] is None

    # The note written again, then the whole commitment withdrawn: the moderators still read
    # what was reported.
    assert (await writer.post(f"/api/v1/commitments/{cid}/checkin",
                              {"status": "done", "note": "Second words"})).status_code == 200
    page = (await mod.get(f"/groups/{gid}/moderation")).text
    assert "First words" in page and "It reads now:" in page and "Second words" in page
    assert (await withdraw(writer, cid)).status_code == 204
    kept = await reports(mod, gid)
    assert kept[("commitment", cid)] == "Say no to the extra shift" and kept[("checkin", note)] == "First words"
    page = (await mod.get(f"/groups/{gid}/moderation")).text
    assert page.count("Its author has since withdrawn it") == 2
    assert "Say no to the extra shift" in page and "First words" in page and "Second words" not in page
    assert writer.user["display_name"] in page and "Hide it" not in page
    assert "Say no to the extra shift" not in (await reader.get(f"/groups/{gid}")).text

    # Their words leave the reports with their account.
    assert (await writer.client.request("DELETE", "/api/v1/me", json={"password": PASSWORD})).status_code == 204
    assert set((await reports(mod, gid)).values()) == {None}
    page = (await mod.get(f"/groups/{gid}/moderation")).text
    assert "Say no to the extra shift" not in page and "First words" not in page


# -- at once ------------------------------------------------------------------------------------


async def test_an_edit_racing_a_cheer_never_lets_changed_words_follow_the_cheer(clients, app):
    """Either the edit comes first (and the cheer is about the new words), or the cheer does and
    the words stay; never a cheer on words that change after it."""
    _, writer, reader, gid = await circle(clients)
    for n in range(12):
        cid = await posted(writer, gid, f"Round {n}")  # withdrawn again below: three a day at most
        edited, cheered = await asyncio.gather(
            edit(writer, cid, {"text": f"Round {n}, changed"}),
            reader.post(f"/api/v1/groups/{gid}/encouragements", {"kind": "proud", "commitment_id": cid}))
        assert cheered.status_code == 201, cheered.text
        assert edited.status_code in (200, 409), edited.text
        logged = [kind for kind, data in await events_of(app, gid) if data.get("commitment_id") == cid]
        if edited.status_code == 200:
            assert logged[1:] == ["commitment.edited", "encouragement.sent"], logged
        else:
            support.assert_error(edited, 409, "commitment_locked")
            assert logged[1:] == ["encouragement.sent"], logged
        assert (await withdraw(writer, cid)).status_code == 204


async def test_a_withdrawal_racing_a_cheer_or_a_check_in_answers_either_way(clients):
    _, writer, reader, gid = await circle(clients)
    for n in range(6):
        cid = await posted(writer, gid, f"Round {n}")
        gone, cheered, checked = await asyncio.gather(
            withdraw(writer, cid),
            reader.post(f"/api/v1/groups/{gid}/encouragements", {"kind": "proud", "commitment_id": cid}),
            writer.post(f"/api/v1/commitments/{cid}/checkin", {"status": "done"}))
        assert gone.status_code == 204, gone.text
        assert cheered.status_code in (201, 404) and checked.status_code in (200, 404), (cheered.text, checked.text)
    assert await day_texts(writer, gid) == {}
