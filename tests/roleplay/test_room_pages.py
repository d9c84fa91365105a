"""The room page, opening a room from the group's day, and role-play growth on the progress
page: who may see what, CSRF, escaping, and the charts after a real round."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from fastapi import FastAPI
from markupsafe import escape

from server.assets import static_url
from server.db import transaction
from server.models import User
from server.roleplay import growth
from server.roleplay import service as roleplay
from server.roleplay.machine import command_of
from tests.fixtures.clients import Clients, Member

TOKEN_RE = re.compile(r'name="csrf_token" value="([A-Za-z0-9_-]+)"')
FRAME_RE = re.compile(r'<script type="application/json" id="room-frame">(.*?)</script>', re.S)
BOUNDARY = "<script>alert('boundary')</script> I won't lend money again."


async def open_room(moderator: Member, gid: int, title: str = "Tuesday practice") -> int:
    r = await moderator.post(f"/api/v1/groups/{gid}/roleplays", {"title": title})
    assert r.status_code == 201, r.text
    return r.json()["room_id"]


async def csrf(member: Member, gid: int) -> str:
    page = await member.get(f"/groups/{gid}")
    assert page.status_code == 200, page.text[:300]
    return TOKEN_RE.search(page.text).group(1)


async def act(app: FastAPI, person: Member, rid: int, type_: str, **fields: Any) -> None:
    """One room command, as the room socket would carry it."""
    async with transaction(app.state.db) as session:
        user = await session.get(User, person.id)
        await roleplay.command(session, user, rid, command_of({"type": type_, **fields}))


def frame_of(page: str) -> dict[str, Any]:
    return json.loads(FRAME_RE.search(page).group(1))


# --- who may see the room ------------------------------------------------------------------------

async def test_the_room_page_is_for_the_groups_members(clients: Clients):
    mod, member, outsider = [await clients.member() for _ in range(3)]
    group = await clients.group(mod, member)
    other = await clients.group(mod, outsider, name="Other circle")
    rid = await open_room(mod, group["id"])
    other_rid = await open_room(mod, other["id"], "Elsewhere")

    r = await member.get(f"/groups/{group['id']}/rooms/{rid}")
    assert r.status_code == 200
    assert "Tuesday practice" in r.text and 'id="room-timer"' in r.text
    assert 'id="timeout-button"' in r.text and static_url("js/room.js") in r.text
    assert "Gathering" in r.text  # the phase, drawn on the server
    assert frame_of(r.text)["room_id"] == rid
    # Only moderators get the moderator's controls shown.
    assert re.search(r'id="panel-moderate"[^>]*\shidden', r.text)
    mod_page = await mod.get(f"/groups/{group['id']}/rooms/{rid}")
    assert not re.search(r'id="panel-moderate"[^>]*\shidden', mod_page.text)

    # Not a member: the same answer as for a room that does not exist.
    assert (await outsider.get(f"/groups/{group['id']}/rooms/{rid}")).status_code == 404
    assert (await outsider.get(f"/groups/{other['id']}/rooms/{rid}")).status_code == 404
    # A room of another group, under this group's address.
    assert (await mod.get(f"/groups/{group['id']}/rooms/{other_rid}")).status_code == 404
    assert (await member.get(f"/groups/{group['id']}/rooms/{other_rid}")).status_code == 404
    assert (await member.get(f"/groups/{group['id']}/rooms/999999")).status_code == 404
    assert (await member.get(f"/groups/{group['id']}/rooms/99999999999")).status_code == 404

    anonymous = clients.anonymous()
    r = await anonymous.get(f"/groups/{group['id']}/rooms/{rid}")
    assert r.status_code == 303
    assert r.headers["location"] == f"/login?next=/groups/{group['id']}/rooms/{rid}"


# --- opening a room from the group's day ----------------------------------------------------------

async def test_opening_a_room_needs_a_moderator_and_the_forms_token(clients: Clients):
    mod, member = await clients.member(), await clients.member()
    group = await clients.group(mod, member)
    gid = group["id"]

    page = await member.get(f"/groups/{gid}")
    assert 'id="room-banner"' in page.text and re.search(r'id="room-banner"[^>]*\shidden', page.text)
    assert f'action="/groups/{gid}/rooms"' not in page.text  # members do not open rooms

    r = await member.post(f"/groups/{gid}/rooms", data={"csrf_token": await csrf(member, gid),
                                                       "title": "Mine"})
    assert r.status_code == 403
    r = await mod.post(f"/groups/{gid}/rooms", data={"title": "No token"})
    assert r.status_code == 403 and "expired" in r.text
    await csrf(mod, gid)
    r = await mod.post(f"/groups/{gid}/rooms", data={"csrf_token": "0" * 64, "title": "Forged"})
    assert r.status_code == 403
    assert (await member.get(f"/api/v1/groups/{gid}/roleplays")).json() == []

    token = await csrf(mod, gid)
    r = await mod.post(f"/groups/{gid}/rooms", data={"csrf_token": token, "title": "Evening practice"})
    assert r.status_code == 303, r.text
    rid = int(re.fullmatch(rf"/groups/{gid}/rooms/(\d+)", r.headers["location"]).group(1))
    rooms = (await member.get(f"/api/v1/groups/{gid}/roleplays")).json()
    assert [(x["room_id"], x["title"]) for x in rooms] == [(rid, "Evening practice")]

    # The banner shows for everyone, with the way in; the moderator's form steps aside.
    page = await member.get(f"/groups/{gid}")
    assert not re.search(r'id="room-banner"[^>]*\shidden', page.text)
    assert f'href="/groups/{gid}/rooms/{rid}"' in page.text and "Join the practice room" in page.text
    page = await mod.get(f"/groups/{gid}")
    assert re.search(r'id="room-open"[^>]*\shidden', page.text)

    # A second room while one is open: the day page again, with a kind reason.
    r = await mod.post(f"/groups/{gid}/rooms", data={"csrf_token": token, "title": "Another"})
    assert r.status_code == 409
    assert "already has a practice room open" in r.text
    r = await mod.post(f"/groups/{gid}/rooms", data={"csrf_token": token, "title": "x" * 81})
    assert r.status_code in (409, 422)

    # Ended: the banner goes, and the moderator may open another.
    await act(clients.app, mod, rid, "end")
    page = await mod.get(f"/groups/{gid}")
    assert re.search(r'id="room-banner"[^>]*\shidden', page.text)
    assert not re.search(r'id="room-open"[^>]*\shidden', page.text)


async def test_a_room_title_too_long_is_refused_kindly(clients: Clients):
    mod = await clients.member()
    gid = (await clients.group(mod))["id"]
    token = await csrf(mod, gid)
    r = await mod.post(f"/groups/{gid}/rooms", data={"csrf_token": token, "title": "x" * 81})
    assert r.status_code == 422 and "at most 80 characters" in r.text
    assert 'value="' + "x" * 81 + '"' in r.text  # what they typed is still there


# --- a round, and what it leaves behind -----------------------------------------------------------

async def test_a_round_shows_each_person_their_part_and_grows_the_progress_page(clients: Clients):
    app = clients.app
    mod, prac, counter, obs = [await clients.member() for _ in range(4)]
    group = await clients.group(mod, prac, counter, obs)
    gid = group["id"]
    rid = await open_room(mod, gid)
    cards = (await prac.get(f"/api/v1/scenarios?group_id={gid}")).json()
    card = cards[3]

    empty = await prac.get("/me/progress")
    assert 'id="growth"' in empty.text and "growth-chart" not in empty.text

    for person in (mod, prac, counter, obs):
        await act(app, person, rid, "join")
    await act(app, mod, rid, "assign_role", user_id=prac.id, role="practitioner")
    await act(app, mod, rid, "assign_role", user_id=counter.id, role="counterpart")
    await act(app, mod, rid, "advance")
    await act(app, prac, rid, "choose_scenario", scenario_id=card["id"], intensity=2)
    await act(app, prac, rid, "state_boundary", text=BOUNDARY)
    await act(app, mod, rid, "advance")  # rehearse
    await act(app, mod, rid, "advance")  # scene
    await act(app, counter, rid, "say", text=card["opening_line"])
    await act(app, prac, rid, "say", text="No <b>thank</b> you.")

    url = f"/groups/{gid}/rooms/{rid}"
    page = (await obs.get(url)).text
    assert "Scene" in page and "are speaking" in page
    assert "No &lt;b&gt;thank&lt;/b&gt; you." in page and "<b>thank</b>" not in page
    assert "<script>alert" not in page and str(escape(BOUNDARY)) in page
    frame = frame_of(page)  # the data block cannot close itself early
    assert frame["boundary"] == BOUNDARY and "counterpart_line" not in frame["scenario"]
    assert card["intensities"][1] not in page
    counter_page = (await counter.get(url)).text
    assert str(escape(card["intensities"][1])) in counter_page
    assert re.search(r'id="room-timer"[^>]*>\d+:\d\d<', page)

    await act(app, obs, rid, "time_out")
    assert "Called by" in (await mod.get(url)).text and frame_of((await mod.get(url)).text)["paused"]["by"] == obs.id
    paused_for_obs = (await obs.get(url)).text
    assert 'id="grounding"' in paused_for_obs
    assert not re.search(r'id="grounding"[^>]*\shidden', paused_for_obs)
    assert 'href="/help"' in paused_for_obs and 'target="_blank"' not in paused_for_obs
    assert 'id="grounding"' not in (await prac.get(url)).text  # for the one who called it
    assert frame_of((await prac.get(url)).text)["paused"]["by"] is None
    await act(app, mod, rid, "resume")

    await act(app, mod, rid, "advance")  # feedback
    await act(app, counter, rid, "feedback", style="assertive", worked="Calm <i>and</i> kind.",
              try_next="Slower.")
    await act(app, obs, rid, "feedback", style="passive", worked="You stayed.")
    await act(app, prac, rid, "self_rate", confidence=2)
    prac_page = (await prac.get(url)).text
    assert "Calm &lt;i&gt;and&lt;/i&gt; kind." in prac_page and "Slower." in prac_page
    obs_page = (await obs.get(url)).text
    assert "Calm &lt;i&gt;and&lt;/i&gt; kind." not in obs_page and "my_feedback" not in obs_page
    assert "Feedback given by:" in obs_page

    await act(app, mod, rid, "advance", to="replay")
    await act(app, prac, rid, "say", text="No, and that is final.")
    await act(app, mod, rid, "advance")
    await act(app, counter, rid, "feedback", style="assertive", worked="Firmer.")
    await act(app, obs, rid, "feedback", style="assertive", worked="Steady.")
    await act(app, prac, rid, "self_rate", confidence=4)
    await act(app, mod, rid, "advance", to="sharing")
    await act(app, mod, rid, "advance", to="ended")
    ended = (await prac.get(url)).text
    assert "This room has ended" in ended and "No, and that is final." not in ended

    progress = (await prac.get("/me/progress")).text
    assert "Role-play growth" in progress and progress.count('class="growth-chart"') == 2
    assert re.findall(r'class="growth-before" data-round="(\d+)"', progress) == ["1"]
    assert re.findall(r'class="growth-after" data-round="(\d+)"', progress) == ["1"]
    bars = dict(re.findall(r'data-style="(\w+)" data-count="(\d+)"', progress))
    assert bars == {"assertive": "3", "passive": "1"}
    assert "2 of 5 after the first try" in progress and "4 of 5 after the replay" in progress
    assert "<script>alert" not in progress and str(escape(BOUNDARY)) in progress
    assert card["title"] in progress
    assert ' style="' not in progress  # the CSP allows no inline style
    # Nobody else's progress page shows this round.
    assert "growth-chart" not in (await obs.get("/me/progress")).text


# --- the chart's layout, pure ---------------------------------------------------------------------

def _round(number: int, before: int | None, after: int | None, **votes: int) -> growth.GrowthRound:
    return growth.GrowthRound(number=number, day=dt.date(2026, 3, number), title="Card",
                              boundary="No.", intensity=1, before=before, after=after,
                              votes={s: votes.get(s, 0) for s in growth.STYLES})


def test_growth_layout_places_confidence_and_stacks_votes():
    rounds = [_round(1, 2, 4, assertive=1, passive=2), _round(2, 3, None), _round(3, None, None)]
    g = growth.build(rounds)
    first, second, third = g.columns
    assert first.x < second.x < third.x
    assert first.after_y < first.before_y  # higher confidence is drawn higher
    assert second.after_y is None and third.before_y is None
    # Stacked from the baseline up, in the order of the legend, without gaps.
    assert [s.style for s in first.segments] == ["assertive", "passive"]
    assert first.segments[0].y + first.segments[0].height == g.axis_y
    assert first.segments[1].y + first.segments[1].height == first.segments[0].y
    assert third.segments == []
    assert g.vote_ticks[0] == (0, g.axis_y) and g.vote_ticks[-1][0] == 4
    assert "4 of 5 after the replay" not in g.confidence_summary  # the latest rated is round 2
    assert "3 of 5 after the first try" in g.confidence_summary
    assert "assertive 1, passive 2" in g.styles_summary


def test_growth_draws_the_latest_rounds_and_keeps_all_in_the_table():
    rounds = [_round(i, 3, 4, assertive=9) for i in range(1, 16)]
    g = growth.build(rounds)
    assert len(g.columns) == growth.SHOWN and g.more == 15 - growth.SHOWN
    assert g.columns[0].round.number == 16 - growth.SHOWN and len(g.rounds) == 15
    assert max(s.height for c in g.columns for s in c.segments) <= growth.PLOT
    empty = growth.build([])
    assert empty.columns == [] and "not rated" in empty.confidence_summary


# --- a round belongs to its practitioner ---------------------------------------------------------

async def test_a_practitioner_named_later_in_a_round_reads_and_rates_nothing_of_it(clients: Clients, app):
    from sqlalchemy import select

    from server.errors import AppError
    from server.models import Round

    mod, ari, cas, bo = [await clients.member() for _ in range(4)]
    g = await clients.group(mod, ari, cas, bo)
    rid = await open_room(mod, g["id"])
    for p in (mod, ari, cas, bo):
        await act(app, p, rid, "join")
    await act(app, mod, rid, "assign_role", user_id=ari.id, role="practitioner")
    await act(app, mod, rid, "assign_role", user_id=cas.id, role="counterpart")
    await act(app, mod, rid, "advance")
    async with transaction(app.state.db) as session:
        cards = await roleplay.scenarios_for(session, g["id"])
    await act(app, ari, rid, "choose_scenario", scenario_id=cards[0].id, intensity=1)
    await act(app, ari, rid, "state_boundary", text="I will rest this weekend")
    for _ in range(3):  # rehearse, scene, feedback
        await act(app, mod, rid, "advance")
    await act(app, cas, rid, "feedback", style="passive", worked="Words meant for Ari alone")
    await act(app, ari, rid, "self_rate", confidence=1)
    await act(app, mod, rid, "advance", to="sharing")
    # Ari's own page has what was said to her.
    assert "Words meant for Ari alone" in (await ari.get(f"/groups/{g['id']}/rooms/{rid}")).text

    # Bo is made practitioner while the round is still Ari's.
    await act(app, mod, rid, "assign_role", user_id=bo.id, role="practitioner")
    page = (await bo.get(f"/groups/{g['id']}/rooms/{rid}")).text
    assert "Words meant for Ari alone" not in page
    frame = frame_of(page)
    assert not frame.get("my_feedback") and frame.get("my_confidence") in (None, {"before": None, "after": None})
    for command, fields in (("self_rate", {"confidence": 5}), ("save_transcript", {}), ("save_homework", {})):
        with pytest.raises(AppError):
            await act(app, bo, rid, command, **fields)
    async with transaction(app.state.db, write=False) as session:
        rnd = await session.scalar(select(Round).where(Round.room_id == rid))
    assert (rnd.practitioner_id, rnd.confidence_before) == (ari.id, 1)


def shown(page: str, element_id: str) -> bool:
    tag = re.search(rf'<[a-z]+ id="{element_id}"[^>]*>', page)
    assert tag is not None, element_id
    return " hidden" not in tag.group(0)


async def test_the_assigned_are_told_their_part_and_a_time_out_keeps_the_words_and_card(clients: Clients, app):
    mod, ari, cas, obi = [await clients.member() for _ in range(4)]
    g = await clients.group(mod, ari, cas, obi)
    gid = g["id"]
    rid = await open_room(mod, gid)
    for p in (mod, ari, cas, obi):
        await act(app, p, rid, "join")
    await act(app, mod, rid, "assign_role", user_id=ari.id, role="practitioner")
    await act(app, mod, rid, "assign_role", user_id=cas.id, role="counterpart")
    ari_page, cas_page, obi_page = [(await p.get(f"/groups/{gid}/rooms/{rid}")).text for p in (ari, cas, obi)]
    assert "You are practising this round." in ari_page and "Would you like to practise?" not in ari_page
    assert "You are playing the other side" in cas_page and "Would you like to practise?" not in cas_page
    assert "Would you like to practise?" in obi_page

    await act(app, mod, rid, "advance")
    async with transaction(app.state.db) as session:
        cards = await roleplay.scenarios_for(session, gid)
    await act(app, ari, rid, "choose_scenario", scenario_id=cards[0].id, intensity=1)
    await act(app, ari, rid, "state_boundary", text="I will rest this weekend")
    await act(app, mod, rid, "advance")
    await act(app, mod, rid, "advance")
    await act(app, cas, rid, "say", text="Could you help me move on Saturday?")
    await act(app, obi, rid, "time_out")
    for person in (ari, cas, obi, mod):
        page = (await person.get(f"/groups/{gid}/rooms/{rid}")).text
        assert frame_of(page)["phase"] == "paused"
        assert shown(page, "panel-paused") and shown(page, "panel-words") and shown(page, "panel-card")
        assert "Could you help me move on Saturday?" in page and cards[0].title in page


async def test_a_confidence_says_before_only_when_there_was_a_replay(clients: Clients, app):
    mod, ari, cas = [await clients.member() for _ in range(3)]
    g = await clients.group(mod, ari, cas)
    gid = g["id"]
    rid = await open_room(mod, gid)
    for p in (mod, ari, cas):
        await act(app, p, rid, "join")
    await act(app, mod, rid, "assign_role", user_id=ari.id, role="practitioner")
    await act(app, mod, rid, "assign_role", user_id=cas.id, role="counterpart")
    await act(app, mod, rid, "advance")
    async with transaction(app.state.db) as session:
        cards = await roleplay.scenarios_for(session, gid)
    await act(app, ari, rid, "choose_scenario", scenario_id=cards[0].id, intensity=1)
    await act(app, ari, rid, "state_boundary", text="I will rest this weekend")
    for _ in range(3):  # rehearse, scene, feedback
        await act(app, mod, rid, "advance")
    await act(app, ari, rid, "self_rate", confidence=4)
    page = (await ari.get(f"/groups/{gid}/rooms/{rid}")).text
    assert "How you felt: 4 · Steady." in page and "Before" not in page.split('id="confidence-saved"')[1][:200]
    await act(app, mod, rid, "advance", to="replay")
    await act(app, mod, rid, "advance")
    await act(app, ari, rid, "self_rate", confidence=5)
    page = (await ari.get(f"/groups/{gid}/rooms/{rid}")).text
    assert "Before the replay: 4 · Steady. After the replay: 5 · Very steady." in page
