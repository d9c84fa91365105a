"""The room's view is read once per change in a process, however many sockets ask for it."""

from __future__ import annotations

import asyncio
import datetime as dt

from server.roleplay import machine, views

T0 = dt.datetime(2026, 11, 28, 18, 0, tzinfo=dt.UTC)


def view_at(version: int) -> views.RoomView:
    return views.RoomView(7, 1, "Practice", version, machine.new_state(T0), None, (), None)


async def test_many_sockets_asking_at_once_share_one_read():
    cache = views.RoomViews()
    stored = [view_at(2)]
    reads = 0
    started, let_go = asyncio.Event(), asyncio.Event()

    async def read() -> views.RoomView:
        nonlocal reads
        reads += 1
        started.set()
        await let_go.wait()  # every socket asks while the one read is under way
        return stored[0]

    askers = [asyncio.create_task(cache.at_least(7, 2, read)) for _ in range(20)]
    await started.wait()  # the other askers, queued before this, are waiting on the read too
    let_go.set()
    got = await asyncio.gather(*askers)
    assert reads == 1 and {v.version for v in got} == {2}
    # The version held (or an older one asked for) reads nothing more.
    assert (await cache.at_least(7, 1, read)).version == 2 and reads == 1
    # A newer change reads once more.
    stored[0] = view_at(3)
    assert (await cache.at_least(7, 3, read)).version == 3 and reads == 2


async def test_a_read_that_started_before_the_change_committed_is_read_again():
    cache = views.RoomViews()
    answers = [view_at(4), view_at(5)]

    async def read() -> views.RoomView:
        return answers.pop(0)

    assert (await cache.at_least(7, 5, read)).version == 5 and answers == []


def test_each_viewer_sees_their_own_cut_of_one_view():
    s = machine.new_state(T0)
    for uid, name, mod in ((1, "Mo", True), (2, "Pat", False), (3, "Cas", False), (4, "Obi", False)):
        s, _ = machine.apply(s, machine.Actor(uid, name, mod), machine.command_of({"type": "join"}), T0)
    s.roles = machine.Roles(2, 3)
    s.phase, s.round, s.scenario_id, s.intensity = machine.Phase.FEEDBACK, 1, 9, 2
    s.removed = [5]
    card = views.Card(9, True, "Guilt", "A call.", "After all I did?", ("Fine.", "Guilt!", "Anger!"))
    said = (views.Said(1, "counterpart", "assertive", "Calm.", None, "Cas"),)
    view = views.RoomView(7, 1, "Practice", 12, s, card, said, (2, None), "Circle")
    practitioner, counterpart = views.project(view, 2, False), views.project(view, 3, False)
    observer, moderator = views.project(view, 4, False), views.project(view, 1, True)
    removed = views.project(view, 5, False)
    assert practitioner["my_feedback"][0]["worked"] == "Calm." and "my_feedback" not in observer
    assert counterpart["scenario"]["counterpart_line"] == "Guilt!"
    assert moderator["scenario"]["counterpart_line"] == "Guilt!"
    assert "counterpart_line" not in observer["scenario"]
    assert "counterpart_line" not in practitioner["scenario"]
    assert removed["me"]["removed"] and removed["participants"] == [] and removed["scenario"] is None
    assert observer["turn"] == "Cas is giving feedback first."
    assert counterpart["turn"] == "You are giving feedback first."


def _room_in(phase: machine.Phase) -> machine.RoomState:
    s = machine.new_state(T0)
    for uid, name, mod in ((1, "Mo", True), (2, "Pat", False), (3, "Cas", False), (4, "Obi", False),
                           (5, "Ida", False)):
        s, _ = machine.apply(s, machine.Actor(uid, name, mod), machine.command_of({"type": "join"}), T0)
    s.roles = machine.Roles(2, 3)
    s.phase, s.round, s.scenario_id, s.intensity, s.boundary = phase, 1, 9, 2, "No."
    return s


CARD = views.Card(9, True, "Guilt", "A call.", "After all I did?", ("Fine.", "Guilt!", "Anger!"))


def _swaps(state: machine.RoomState, viewer: int, before, *, moderator: bool = False, version: int = 1):
    from server.roleplay import pages

    view = views.RoomView(7, 1, "Practice", version, state, CARD, (), (None, None), "Circle")
    return pages.swaps(pages.page_of(view, viewer, moderator, live=True), before)


def test_a_form_being_filled_in_is_not_redrawn_when_others_act():
    # Ida, an observer, is writing her feedback when Obi gives his.
    s = _room_in(machine.Phase.FEEDBACK)
    s.feedback_in = [3]
    first, drawn = _swaps(s, 5, None)
    assert ("#feedback-giver", "replace") in {(x["target"], x["swap"]) for x in first}
    s.feedback_in = [3, 4]
    later, drawn = _swaps(s, 5, drawn, version=2)
    changed = {x["target"] for x in later}
    assert "#feedback-status" in changed  # "Feedback given by: Cas, Obi."
    assert "#feedback-giver" not in changed  # her form stays as she left it
    # Once she has given hers, her part of the panel is redrawn (the thanks).
    s.feedback_in = [3, 4, 5]
    mine, _ = _swaps(s, 5, drawn, version=3)
    assert "#feedback-giver" in {x["target"] for x in mine}


def test_the_practitioners_forms_are_not_redrawn_as_the_card_and_boundary_come_in():
    s = _room_in(machine.Phase.SETUP)
    s.scenario_id = s.intensity = None
    s.boundary = None
    _, drawn = _swaps(s, 2, None)
    s.scenario_id, s.intensity = 9, 2
    later, drawn = _swaps(s, 2, drawn, version=2)
    changed = {x["target"] for x in later}
    assert "#setup-done" in changed and "#setup-forms" not in changed
    s.boundary = "No."
    later, _ = _swaps(s, 2, drawn, version=3)
    assert "#setup-forms" not in {x["target"] for x in later}


def test_someone_joining_appends_a_row_and_touches_no_other():
    s = _room_in(machine.Phase.LOBBY)
    _, drawn = _swaps(s, 1, None, moderator=True)
    s, _ = machine.apply(s, machine.Actor(6, "Sam", False), machine.command_of({"type": "join"}), T0)
    later, _ = _swaps(s, 1, drawn, moderator=True, version=2)
    assert [(x["target"], x["swap"]) for x in later if "participant" in x["target"]
            or x["target"].startswith("#p-")] == [("#participants", "append")]
    assert 'id="role-for-6"' in next(x["html"] for x in later if x["swap"] == "append")


def test_markup_shared_between_readers_of_one_version_carries_nothing_personal():
    from server.roleplay import pages

    s = _room_in(machine.Phase.SCENE)
    s, _ = machine.apply(s, machine.Actor(3, "Cas", False),
                         machine.command_of({"type": "say", "text": "After all I did?"}), T0)
    said = (views.Said(1, "counterpart", "assertive", "Private words.", None, "Cas"),)
    view = views.RoomView(7, 1, "Practice", 5, s, CARD, said, (3, None), "Circle")

    def html(viewer: int, moderator: bool = False) -> str:
        out, _ = pages.swaps(pages.page_of(view, viewer, moderator, live=True), None, view.drawn)
        return " ".join(x["html"] for x in out)

    # The moderator and the counterpart are drawn first; what they may read is theirs alone.
    assert "Guilt!" in html(1, moderator=True) and "Guilt!" in html(3)
    observer, practitioner = html(4), html(2)
    assert "Guilt!" not in observer and "Guilt!" not in practitioner
    assert "Mo (you)" not in observer and "Obi (you)" in observer
    assert "is-mine" in html(3) and "is-mine" not in observer
    assert 'id="role-for-' not in observer  # a member has no role pickers
