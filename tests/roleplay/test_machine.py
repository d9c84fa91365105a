"""The room's rules as a table: every command, in every phase, for every role."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from server.roleplay import machine as m

T0 = dt.datetime(2026, 11, 28, 18, 0, tzinfo=dt.UTC)
MOD, PRAC, COUNTER, OBS, OUT = 1, 2, 3, 4, 5
ACTORS = {
    "moderator": m.Actor(MOD, "Mo", True),
    "practitioner": m.Actor(PRAC, "Pat", False),
    "counterpart": m.Actor(COUNTER, "Cas", False),
    "observer": m.Actor(OBS, "Obi", False),
    "outsider": m.Actor(OUT, "Out", False),
}


def run(state, who, command, now=T0):
    """A command as the socket receives it: checked into its type, then applied."""
    return m.apply(state, ACTORS[who], m.command_of(command), now)


def lobby():
    s = m.new_state(T0)
    for who in ("moderator", "practitioner", "counterpart", "observer"):
        s, _ = run(s, who, {"type": "join"})
    s, _ = run(s, "observer", {"type": "raise_hand"})
    s, _ = run(s, "moderator", {"type": "assign_role", "user_id": PRAC, "role": "practitioner"})
    s, _ = run(s, "moderator", {"type": "assign_role", "user_id": COUNTER, "role": "counterpart"})
    return s


def setup():
    s, _ = run(lobby(), "moderator", {"type": "advance"})
    s, _ = run(s, "practitioner", {"type": "choose_scenario", "scenario_id": 1, "intensity": 2})
    s, _ = run(s, "practitioner", {"type": "state_boundary", "text": "I won't lend money again."})
    return s


def rehearse():
    return run(setup(), "moderator", {"type": "advance"})[0]


def scene():
    s, _ = run(rehearse(), "moderator", {"type": "advance"})
    s, _ = run(s, "counterpart", {"type": "say", "text": "Just this once?"})
    return s


def feedback():
    return run(scene(), "moderator", {"type": "advance"})[0]


def replay():
    return run(feedback(), "moderator", {"type": "advance", "to": "replay"})[0]


def sharing():
    return run(feedback(), "moderator", {"type": "advance", "to": "sharing"})[0]


def paused():
    return run(scene(), "observer", {"type": "time_out"})[0]


def ended():
    return run(sharing(), "moderator", {"type": "end"})[0]


PHASES = {"lobby": lobby, "setup": setup, "rehearse": rehearse, "scene": scene,
          "feedback": feedback, "replay": replay, "sharing": sharing, "paused": paused,
          "ended": ended}

COMMANDS = {
    "join": {}, "leave": {}, "raise_hand": {}, "lower_hand": {},
    "assign_role": {"user_id": OBS, "role": "counterpart"},
    "choose_scenario": {"scenario_id": 3, "intensity": 1},
    "state_boundary": {"text": "I will leave if there is yelling."},
    "advance": {}, "extend": {"seconds": 30}, "say": {"text": "No, thank you."},
    "cheer": {"kind": "proud"},
    "feedback": {"style": "assertive", "worked": "Calm and clear."},
    "self_rate": {"confidence": 4}, "time_out": {}, "resume": {},
    "mute": {"user_id": OBS}, "unmute": {"user_id": OBS}, "remove": {"user_id": OBS},
    "save_homework": {}, "save_transcript": {}, "end": {},
}

ALL = set(PHASES)
LIVE = ALL - {"paused", "ended"}
MEMBERS = {"moderator", "practitioner", "counterpart", "observer"}  # joined the room
MODS = {"moderator"}

# Where each command is allowed: {phase: roles}. Anything not listed is not_allowed.
EXPECTED: dict[str, dict[str, set[str]]] = {
    "join": {p: MEMBERS | {"outsider"} for p in ALL - {"ended"}},
    "leave": {p: MEMBERS for p in ALL - {"ended"}},
    # The practitioner cannot queue to practise while practising; the observer's hand is already up.
    "raise_hand": {p: MEMBERS - ({"practitioner"} if p not in ("lobby", "sharing") else set())
                   for p in ALL - {"paused", "ended"}},
    "lower_hand": {p: {"observer"} for p in ALL - {"ended"}},
    "assign_role": {p: MODS for p in ("lobby", "setup", "sharing")},
    "choose_scenario": {"setup": {"practitioner"}},
    "state_boundary": {"setup": {"practitioner"}},
    "advance": {p: MODS for p in LIVE},
    "extend": {p: MODS for p in ("rehearse", "scene", "replay")},
    "say": {"scene": {"practitioner", "counterpart"}, "replay": {"practitioner", "counterpart"},
            "sharing": MEMBERS},
    "cheer": {"scene": {"observer", "moderator"}, "replay": {"observer", "moderator"}},
    # The counterpart speaks first; observers after (see the test below).
    "feedback": {"feedback": {"counterpart"}},
    "self_rate": {"feedback": {"practitioner"}, "sharing": {"practitioner"}},
    "time_out": {p: MEMBERS for p in LIVE},
    "resume": {"paused": MODS},
    "mute": {p: MODS for p in ALL - {"ended"}},
    "unmute": {p: MODS for p in ALL - {"ended"}},
    "remove": {p: MODS for p in ALL - {"ended"}},
    "save_homework": {p: {"practitioner"} for p in ("feedback", "sharing", "ended")},
    "save_transcript": {p: {"practitioner"} for p in ("feedback", "sharing")},
    "end": {p: MODS for p in ALL - {"ended"}},
}

CASES = [(phase, who, command) for phase in PHASES for who in ACTORS for command in COMMANDS]


def test_every_command_is_in_the_table():
    assert set(COMMANDS) == set(m.COMMANDS) == set(EXPECTED)


@pytest.mark.parametrize(("phase", "who", "command"), CASES,
                         ids=[f"{p}-{w}-{c}" for p, w, c in CASES])
def test_command_table(phase, who, command):
    state = PHASES[phase]()
    assert state.phase == phase
    allowed = who in EXPECTED[command].get(phase, set())
    body = {"type": command, **COMMANDS[command]}
    if allowed:
        new, effects = run(state, who, body)
        # Allowed commands change the room or ask for something to be stored (a no-op
        # only where repeating is harmless: joining twice, a hand already up, unmuting).
        assert new != state or effects or command in ("join", "raise_hand", "unmute")
    else:
        with pytest.raises(m.NotAllowed):
            run(state, who, body)
        assert state == PHASES[phase]()  # refused commands change nothing


def test_observers_give_feedback_after_the_counterpart_and_must_say_what_worked():
    s = feedback()
    with pytest.raises(m.NotAllowed, match="counterpart speaks first"):
        run(s, "observer", COMMANDS_FEEDBACK)
    s, effects = run(s, "counterpart", {"type": "feedback", "style": "assertive",
                                        "worked": "It felt firm but kind."})
    assert effects[0].data["role"] == "counterpart"
    with pytest.raises(m.NotAllowed, match="what worked"):
        run(s, "observer", {"type": "feedback", "style": "passive", "try_next": "Say it once."})
    s, effects = run(s, "observer", COMMANDS_FEEDBACK)
    assert effects[0].kind == "feedback" and effects[0].data["worked"] == "Calm."
    assert s.feedback_in == [COUNTER, OBS]  # the room sees that feedback is in, not what


COMMANDS_FEEDBACK = {"type": "feedback", "style": "assertive", "worked": "Calm.", "try_next": "Slower."}


def test_timers_advance_from_stored_deadlines_exactly_once():
    s = rehearse()
    assert s.deadline == T0 + dt.timedelta(seconds=m.REHEARSE_SECONDS)
    same, _ = m.tick(s, T0 + dt.timedelta(seconds=29))
    assert same == s
    s, _ = m.tick(s, T0 + dt.timedelta(seconds=30))
    assert s.phase == "scene"
    assert s.deadline == T0 + dt.timedelta(seconds=30 + m.SCENE_SECONDS)
    again, _ = m.tick(s, T0 + dt.timedelta(seconds=31))
    assert again == s
    # A command long after both deadlines sees the room where the clock says it is.
    late = T0 + dt.timedelta(seconds=400)
    s2, _ = run(rehearse(), "counterpart", {"type": "raise_hand"}, now=late)
    assert s2.phase == "feedback"


def test_time_out_pauses_keeps_the_time_left_and_only_a_moderator_resumes():
    s = scene()
    s, _ = run(s, "counterpart", {"type": "time_out"}, now=T0 + dt.timedelta(seconds=20))
    assert s.phase == "paused" and s.paused.by == COUNTER and s.deadline is None
    assert s.paused.remaining == m.SCENE_SECONDS - 20
    later = T0 + dt.timedelta(hours=1)
    assert m.tick(s, later)[0] == s  # no timer runs while paused
    with pytest.raises(m.NotAllowed):
        run(s, "practitioner", {"type": "resume"}, now=later)
    s, _ = run(s, "moderator", {"type": "resume"}, now=later)
    assert s.phase == "scene"
    assert s.deadline == later + dt.timedelta(seconds=m.SCENE_SECONDS - 20)


def test_cheers_are_held_until_the_scene_ends():
    s = scene()
    s, _ = run(s, "observer", {"type": "cheer", "kind": "proud"})
    assert s.cheers == {"proud": 1} and s.cheers_shown is False
    s, _ = run(s, "moderator", {"type": "advance"})
    assert s.cheers_shown is True


def test_muted_participants_cannot_speak_cheer_or_give_feedback():
    s, _ = run(scene(), "moderator", {"type": "mute", "user_id": COUNTER})
    with pytest.raises(m.NotAllowed, match="muted"):
        run(s, "counterpart", {"type": "say", "text": "hello"})
    s, _ = run(s, "moderator", {"type": "unmute", "user_id": COUNTER})
    run(s, "counterpart", {"type": "say", "text": "hello"})


def test_replay_then_second_feedback_then_sharing_then_roles_rotate():
    s = feedback()
    s, eff = run(s, "practitioner", {"type": "self_rate", "confidence": 2})
    assert eff[0].data == {"round": 1, "attempt": 1, "confidence": 2}
    s, _ = run(s, "moderator", {"type": "advance", "to": "replay"})
    assert s.phase == "replay" and s.attempt == 2
    s, _ = run(s, "moderator", {"type": "advance"})
    assert s.phase == "feedback"
    with pytest.raises(m.NotAllowed, match="had its replay"):
        run(s, "moderator", {"type": "advance", "to": "replay"})
    s, eff = run(s, "practitioner", {"type": "self_rate", "confidence": 4})
    assert eff[0].data["attempt"] == 2
    s, _ = run(s, "moderator", {"type": "advance", "to": "sharing"})
    s, _ = run(s, "moderator", {"type": "advance", "to": "setup"})
    # The observer's raised hand puts them first; the last practitioner plays the other person.
    assert s.phase == "setup" and s.round == 2
    assert s.roles == m.Roles(practitioner=OBS, counterpart=PRAC)
    assert s.participants[PRAC].practised == 1
    assert s.lines == [] and s.boundary is None  # the scene's words are gone


def test_the_hand_queue_puts_those_who_practised_least_first():
    s = lobby()
    s.participants[OBS].practised = 3
    s, _ = run(s, "counterpart", {"type": "raise_hand"})
    assert s.queue() == [COUNTER, OBS]


def test_leaving_mid_round_returns_to_the_lobby():
    s, _ = run(scene(), "practitioner", {"type": "leave"})
    assert s.phase == "lobby" and s.roles.practitioner is None and s.lines == []


def test_removed_people_cannot_rejoin():
    s, _ = run(lobby(), "moderator", {"type": "remove", "user_id": OBS})
    with pytest.raises(m.NotAllowed, match="removed"):
        run(s, "observer", {"type": "join"})


@pytest.mark.parametrize("command", [
    {"type": "choose_scenario", "scenario_id": 1, "intensity": 4},
    {"type": "choose_scenario", "scenario_id": "1", "intensity": 1},
    {"type": "state_boundary", "text": ""},
    {"type": "state_boundary", "text": "x" * 281},
    {"type": "state_boundary", "text": 5},
])
def test_invalid_arguments_are_refused(command):
    with pytest.raises(m.Invalid):
        run(run(lobby(), "moderator", {"type": "advance"})[0], "practitioner", command)


def test_unknown_commands_are_refused():
    with pytest.raises(m.NotAllowed) as refused:
        run(lobby(), "moderator", {"type": "dance"})
    assert refused.value.code == "unknown_command"


@pytest.mark.parametrize("command", ["save_homework", "save_transcript"])
def test_a_round_is_saved_once(command):
    s, effects = run(feedback(), "practitioner", {"type": command})
    assert [e.kind for e in effects] == [command.removeprefix("save_")]
    with pytest.raises(m.NotAllowed, match="already"):
        run(s, "practitioner", {"type": command})
    s, _ = run(s, "moderator", {"type": "advance", "to": "sharing"})
    with pytest.raises(m.NotAllowed, match="already"):
        run(s, "practitioner", {"type": command})


def test_homework_saved_after_the_room_ends_is_still_once():
    s, effects = run(ended(), "practitioner", {"type": "save_homework"})
    assert [e.kind for e in effects] == ["homework"]
    with pytest.raises(m.NotAllowed, match="already"):
        run(s, "practitioner", {"type": "save_homework"})


# A room stored before the state was typed: string keys, ISO strings, lines without ids,
# no "saved", no "line_seq", no "last_boundary".
OLD_STATE = {
    "timings": {"rehearse": 30, "scene": 120},
    "phase": "paused", "round": 1,
    "participants": {"1": {"display_name": "Mo", "muted": False, "practised": 0, "moderator": True},
                     "2": {"display_name": "Pat", "muted": False, "practised": 0, "moderator": False},
                     "3": {"display_name": "Cas", "muted": True, "practised": 2, "moderator": False}},
    "hands": [3], "removed": [9],
    "roles": {"practitioner": 2, "counterpart": 3},
    "scenario_id": 4, "intensity": 2, "boundary": "I won't lend money again.", "deadline": None,
    "paused": {"from": "scene", "by": 3, "at": "2026-11-28T18:01:00Z", "remaining": 61.5},
    "lines": [{"by": 3, "role": "counterpart", "text": "Just this once?",
               "at": "2026-11-28T18:00:40Z", "attempt": 1, "phase": "scene"}],
    "cheers": {"proud": 2}, "cheers_shown": False, "feedback_in": [], "attempt": 1,
    "replayed": False, "rated": [], "previous": {"practitioner": None, "counterpart": None},
    "opened_at": "2026-11-28T17:55:00Z",
}


def test_a_room_stored_in_the_old_shape_still_loads_and_plays_on():
    s = m.load(OLD_STATE)
    assert s.phase == m.Phase.PAUSED and s.paused.from_phase == m.Phase.SCENE
    assert s.paused.remaining == 61.5 and s.paused.by == 3
    assert list(s.participants) == [1, 2, 3] and s.participants[3].muted
    assert s.roles.role_of(3) == m.Role.COUNTERPART and s.role_of(1) == m.Role.OBSERVER
    assert s.lines[0].id is None and s.lines[0].at == dt.datetime(2026, 11, 28, 18, 0, 40, tzinfo=dt.UTC)
    assert s.saved == m.Saved() and s.line_seq == 0 and s.last_boundary is None
    later = T0 + dt.timedelta(minutes=5)
    s, _ = m.apply(s, ACTORS["moderator"], m.command_of({"type": "resume"}), later)
    assert s.phase == "scene" and s.deadline == later + dt.timedelta(seconds=61.5)
    s, _ = m.apply(s, ACTORS["practitioner"], m.command_of({"type": "say", "text": "No."}), later)
    assert [line.id for line in s.lines] == [None, 1]


def test_the_stored_json_reads_back_as_the_same_state():
    for make in PHASES.values():
        s = make()
        stored = m.dump(s)
        assert m.load(json.loads(json.dumps(stored))) == s
    assert m.dump(m.load(m.dump(paused()))) == m.dump(paused())


@pytest.mark.parametrize(("body", "code"), [
    ({"type": "dance"}, "unknown_command"),
    ({"type": "assign_role", "user_id": True, "role": "observer"}, "invalid"),
    ({"type": "assign_role", "user_id": 3, "role": "boss"}, "invalid"),
    ({"type": "assign_role", "role": "observer"}, "invalid"),
    ({"type": "extend", "seconds": 601}, "invalid"),
    ({"type": "cheer", "kind": "boo"}, "invalid"),
    ({"type": "feedback", "style": "loud", "worked": "x"}, "invalid"),
    ({"type": "say", "text": "a\x00b"}, "invalid"),
    ({"type": "self_rate", "confidence": 6}, "invalid"),
    ({"type": "advance", "to": "nowhere"}, "invalid"),
])
def test_commands_are_checked_at_the_edge(body, code):
    with pytest.raises(m.NotAllowed) as refused:
        m.command_of(body)
    assert refused.value.code == code and refused.value.detail


def test_the_cards_a_group_may_use_come_as_an_argument_not_in_the_command():
    s = run(lobby(), "moderator", {"type": "advance"})[0]
    choose = m.command_of({"type": "choose_scenario", "scenario_id": 7, "intensity": 1,
                           "_scenario_ids": [7]})  # a client cannot smuggle its own list in
    with pytest.raises(m.NotAllowed, match="no such scenario card"):
        m.apply(s, ACTORS["practitioner"], choose, T0, scenario_ids={1, 2})
    s, _ = m.apply(s, ACTORS["practitioner"], choose, T0, scenario_ids={7})
    assert s.scenario_id == 7


def test_the_turn_says_who_speaks_first_until_the_counterpart_has():
    from server.roleplay.views import turn

    s, _ = run(rehearse(), "moderator", {"type": "advance"})
    assert turn(s, COUNTER) == "You speak first: open with the card's first line."
    assert turn(s, PRAC) == "Cas speaks first; then you answer with your boundary."
    assert turn(s, OBS) == turn(s, MOD) == "Cas speaks first, then Pat answers."
    s, _ = run(s, "counterpart", {"type": "say", "text": "Just this once?"})
    assert turn(s, OBS) == "Cas and Pat are speaking."
    assert turn(s, PRAC) == "Cas and you are speaking."
    # A replay starts afresh: the counterpart opens again.
    s, _ = run(s, "moderator", {"type": "advance"})
    s, _ = run(s, "moderator", {"type": "advance", "to": "replay"})
    assert turn(s, OBS) == "Cas speaks first, then Pat answers."


def test_the_next_round_is_the_first_raised_hands_and_nobody_is_made_to_practise():
    # A hand raised: its owner practises next, the last practitioner plays the other side.
    s = sharing()
    assert s.hands == [OBS]
    s, _ = run(s, "moderator", {"type": "advance", "to": "setup"})
    assert (s.phase, s.roles) == ("setup", m.Roles(practitioner=OBS, counterpart=PRAC))
    # No hand raised: back to gathering, nobody chosen (not the moderator, not anyone).
    s = sharing()
    s, _ = run(s, "observer", {"type": "lower_hand"})
    s, _ = run(s, "moderator", {"type": "advance", "to": "setup"})
    assert (s.phase, s.roles, s.round) == ("lobby", m.Roles(None, None), 1)
    assert s.participants[PRAC].practised == 1
    from server.roleplay.views import turn
    assert turn(s, OBS) == "The moderator is choosing who practises and who plays the counterpart."
