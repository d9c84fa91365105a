"""The role-play room's rules, as a pure function: (state, actor, command, now) -> (state, effects).

No I/O here. The service around it loads the state, applies a command under the room's
lock, saves the new state with a version, and carries out the effects (storing feedback,
appending events, making a commitment).

A round runs: lobby -> setup -> rehearse -> scene -> feedback -> [replay -> feedback] ->
sharing -> setup (the next round, roles rotated) or ended; `paused` is entered from any
live phase by a time-out and left only when a moderator resumes.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

PHASES = ("lobby", "setup", "rehearse", "scene", "feedback", "replay", "sharing", "paused", "ended")
LIVE = ("lobby", "setup", "rehearse", "scene", "feedback", "replay", "sharing")
ROLES = ("practitioner", "counterpart", "observer")
STYLES = ("assertive", "passive", "passive_aggressive", "aggressive")
CHEERS = ("proud", "rest_counts", "boundary_matters", "worth_it", "with_you")
INTENSITIES = {1: "cooperative", 2: "guilt_trips", 3: "escalates"}
REHEARSE_SECONDS = 30
SCENE_SECONDS = 120
EXTEND_MAX = 600
LINE_MAX = 500
BOUNDARY_MAX = 280
FEEDBACK_MAX = 500
COMMANDS = ("join", "leave", "raise_hand", "lower_hand", "assign_role", "choose_scenario",
            "state_boundary", "advance", "extend", "say", "cheer", "feedback", "self_rate",
            "time_out", "resume", "mute", "unmute", "remove", "save_homework",
            "save_transcript", "end")


class NotAllowed(Exception):
    """The sender's role or the phase does not allow this command; nothing changes."""

    def __init__(self, detail: str, code: str = "not_allowed") -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code


class Invalid(NotAllowed):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, code="invalid")


@dataclass(frozen=True)
class Actor:
    user_id: int
    display_name: str
    is_moderator: bool


@dataclass
class Effect:
    """Something the service must do after saving the state."""

    kind: str  # "feedback" | "round_started" | "self_rate" | "homework" | "transcript" | "ended"
    data: dict[str, Any] = field(default_factory=dict)


def new_state(now: dt.datetime, *, rehearse_seconds: int = REHEARSE_SECONDS,
              scene_seconds: int = SCENE_SECONDS) -> dict[str, Any]:
    return {
        "timings": {"rehearse": rehearse_seconds, "scene": scene_seconds},
        "phase": "lobby", "round": 0, "participants": {}, "hands": [], "removed": [],
        "roles": {"practitioner": None, "counterpart": None},
        "scenario_id": None, "intensity": None, "boundary": None, "deadline": None,
        "paused": None, "lines": [], "line_seq": 0, "cheers": {}, "cheers_shown": False,
        "feedback_in": [], "attempt": 1, "replayed": False, "rated": [],
        "previous": {"practitioner": None, "counterpart": None},
        "saved": {"homework": [], "transcript": []},  # rounds already saved, once each
        "opened_at": _iso(now),
    }


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def apply(state: dict[str, Any], actor: Actor, command: dict[str, Any],
          now: dt.datetime) -> tuple[dict[str, Any], list[Effect]]:
    """Apply one command; raises NotAllowed (or Invalid) and changes nothing when refused."""
    name = command.get("type")
    if name not in COMMANDS:
        raise NotAllowed("That is not a room command.", code="unknown_command")
    s = copy.deepcopy(state)
    effects: list[Effect] = []
    _tick(s, now, effects)
    if s["phase"] == "ended" and name != "save_homework":
        raise NotAllowed("This room has ended.")
    if name != "join" and str(actor.user_id) not in s["participants"] and not (
            actor.is_moderator and name in ("end", "advance", "extend", "resume")):
        raise NotAllowed("Join the room first.")
    handler = _HANDLERS[name]
    handler(s, actor, command, now, effects)
    return s, effects


def forget(state: dict[str, Any], user_id: int) -> dict[str, Any]:
    """The room without any trace of a member who deleted their account."""
    s = copy.deepcopy(state)
    s["participants"].pop(str(user_id), None)
    _drop_from_round(s, user_id)
    s["removed"] = [uid for uid in s["removed"] if uid != user_id]
    s["feedback_in"] = [uid for uid in s["feedback_in"] if uid != user_id]
    s["lines"] = [line for line in s["lines"] if line["by"] != user_id]
    s["previous"] = {role: (None if uid == user_id else uid) for role, uid in s["previous"].items()}
    if s["paused"] and s["paused"]["by"] == user_id:
        s["paused"]["by"] = None
    return s


def shown_line(state: dict[str, Any], line_id: int) -> dict[str, Any] | None:
    """The line with this id while the room still shows it; None once the round has cleared it."""
    return next((line for line in state["lines"] if line.get("id") == line_id), None)


def without_line(state: dict[str, Any], line_id: int) -> dict[str, Any]:
    """The room with one line taken out (a moderator hid it)."""
    s = copy.deepcopy(state)
    s["lines"] = [line for line in s["lines"] if line.get("id") != line_id]
    return s


def tick(state: dict[str, Any], now: dt.datetime) -> tuple[dict[str, Any], list[Effect]]:
    """Advance past an expired deadline (rehearse -> scene -> feedback, replay -> feedback)."""
    s = copy.deepcopy(state)
    effects: list[Effect] = []
    _tick(s, now, effects)
    return s, effects


def _tick(s: dict[str, Any], now: dt.datetime, effects: list[Effect]) -> None:
    deadline = parse_time(s["deadline"])
    while deadline is not None and now >= deadline and s["phase"] in ("rehearse", "scene", "replay"):
        if s["phase"] == "rehearse":
            _enter_scene(s, deadline, "scene")
        else:
            _enter_feedback(s)
        deadline = parse_time(s["deadline"])


# -- helpers ------------------------------------------------------------------------------------


def _require(condition: bool, detail: str) -> None:
    if not condition:
        raise NotAllowed(detail)


def _moderator(actor: Actor) -> None:
    _require(actor.is_moderator, "Only a moderator can do that.")


def _phase(s: dict[str, Any], *phases: str) -> None:
    _require(s["phase"] in phases, f"Not during {s['phase']}.")


def _role_of(s: dict[str, Any], user_id: int) -> str:
    if s["roles"]["practitioner"] == user_id:
        return "practitioner"
    if s["roles"]["counterpart"] == user_id:
        return "counterpart"
    return "observer"


def _not_muted(s: dict[str, Any], actor: Actor) -> None:
    _require(not s["participants"][str(actor.user_id)]["muted"], "You are muted in this room.")


def _text(command: dict[str, Any], key: str, limit: int, required: bool = True) -> str | None:
    value = command.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise Invalid(f"{key} must be text.")
    value = value.strip()
    if "\x00" in value:
        raise Invalid(f"{key} cannot contain a NUL character.")
    if required and not value:
        raise Invalid(f"Please write something for {key}.")
    if len(value) > limit:
        raise Invalid(f"{key} can be at most {limit} characters.")
    return value or None


def _int(command: dict[str, Any], key: str, low: int, high: int) -> int:
    value = command.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(f"{key} must be a whole number from {low} to {high}.")
    return value


def _participant_id(s: dict[str, Any], command: dict[str, Any]) -> int:
    user_id = _int(command, "user_id", 1, 2**31 - 1)
    _require(str(user_id) in s["participants"], "That person is not in the room.")
    return user_id


def _enter_scene(s: dict[str, Any], start: dt.datetime, phase: str) -> None:
    s["phase"] = phase
    s["deadline"] = _iso(start + dt.timedelta(seconds=s["timings"]["scene"]))
    if phase == "replay":
        s["attempt"] = 2
        s["replayed"] = True
        s["feedback_in"] = []
    s["cheers"] = {}
    s["cheers_shown"] = False


def _enter_feedback(s: dict[str, Any]) -> None:
    s["phase"] = "feedback"
    s["deadline"] = None
    s["cheers_shown"] = True  # the observers' silent cheers are shown now


def _clear_round(s: dict[str, Any]) -> None:
    s.update(scenario_id=None, intensity=None, boundary=None, deadline=None, lines=[],
             cheers={}, cheers_shown=False, feedback_in=[], attempt=1, replayed=False, rated=[])


def _drop_from_round(s: dict[str, Any], user_id: int) -> None:
    """Someone left or was removed: a round missing a main role goes back to the lobby."""
    s["hands"] = [h for h in s["hands"] if h != user_id]
    held = [r for r, uid in s["roles"].items() if uid == user_id]
    for role in held:
        s["roles"][role] = None
    if held and s["phase"] in ("setup", "rehearse", "scene", "feedback", "replay", "paused"):
        s["phase"] = "lobby"
        s["paused"] = None
        _clear_round(s)


def _queue(s: dict[str, Any]) -> list[int]:
    """Raised hands, those who have practised least first, then by when they asked."""
    order = {uid: i for i, uid in enumerate(s["hands"])}
    return sorted(s["hands"], key=lambda uid: (s["participants"][str(uid)]["practised"], order[uid]))


def _rotate(s: dict[str, Any]) -> None:
    previous = s["roles"]["practitioner"]
    s["previous"] = dict(s["roles"])
    present = [int(uid) for uid in s["participants"]]
    queue = [uid for uid in _queue(s) if uid != previous]
    if queue:
        practitioner = queue[0]
    else:
        candidates = sorted((uid for uid in present if uid != previous),
                            key=lambda uid: (s["participants"][str(uid)]["practised"], uid))
        practitioner = candidates[0] if candidates else previous
    counterpart = previous if previous in present and previous != practitioner else None
    if counterpart is None:
        others = [uid for uid in present if uid != practitioner]
        counterpart = others[0] if others else None
    s["roles"] = {"practitioner": practitioner, "counterpart": counterpart}
    s["hands"] = [h for h in s["hands"] if h != practitioner]


# -- commands -----------------------------------------------------------------------------------


def _join(s, actor, command, now, effects):
    _require(actor.user_id not in s["removed"], "A moderator removed you from this room.")
    key = str(actor.user_id)
    if key not in s["participants"]:
        s["participants"][key] = {"display_name": actor.display_name, "muted": False,
                                  "practised": 0, "moderator": actor.is_moderator}


def _leave(s, actor, command, now, effects):
    s["participants"].pop(str(actor.user_id), None)
    _drop_from_round(s, actor.user_id)


def _raise_hand(s, actor, command, now, effects):
    _require(s["phase"] != "paused", "The room is paused.")
    _require(_role_of(s, actor.user_id) != "practitioner" or s["phase"] in ("lobby", "sharing"),
             "You are practising now.")
    if actor.user_id not in s["hands"]:
        s["hands"].append(actor.user_id)


def _lower_hand(s, actor, command, now, effects):
    _require(actor.user_id in s["hands"], "Your hand is not raised.")
    s["hands"].remove(actor.user_id)


def _assign_role(s, actor, command, now, effects):
    _moderator(actor)
    _phase(s, "lobby", "setup", "sharing")
    user_id = _participant_id(s, command)
    role = command.get("role")
    if role not in ROLES:
        raise Invalid("role is practitioner, counterpart or observer.")
    for other in ("practitioner", "counterpart"):
        if s["roles"][other] == user_id:
            s["roles"][other] = None
    if role != "observer":
        s["roles"][role] = user_id
    if role == "practitioner":
        s["hands"] = [h for h in s["hands"] if h != user_id]


def _choose_scenario(s, actor, command, now, effects):
    _phase(s, "setup")
    _require(_role_of(s, actor.user_id) == "practitioner", "Only the practitioner chooses the card.")
    scenario_id = _int(command, "scenario_id", 1, 2**31 - 1)
    intensity = _int(command, "intensity", 1, 3)
    allowed = command.get("_scenario_ids")  # filled in by the service: the cards this group may use
    _require(allowed is None or scenario_id in allowed, "There is no such scenario card here.")
    s["scenario_id"], s["intensity"] = scenario_id, intensity


def _state_boundary(s, actor, command, now, effects):
    _phase(s, "setup")
    _require(_role_of(s, actor.user_id) == "practitioner", "Only the practitioner states the boundary.")
    s["boundary"] = _text(command, "text", BOUNDARY_MAX)


def _advance(s, actor, command, now, effects):
    _moderator(actor)
    to = command.get("to")
    phase = s["phase"]
    if phase == "lobby":
        _require(s["roles"]["practitioner"] and s["roles"]["counterpart"],
                 "Choose a practitioner and a counterpart first.")
        s["phase"] = "setup"
        s["round"] += 1
    elif phase == "setup":
        _require(s["roles"]["practitioner"] and s["roles"]["counterpart"],
                 "Choose a practitioner and a counterpart first.")
        _require(s["scenario_id"] is not None and s["boundary"],
                 "The practitioner chooses a card and states the boundary first.")
        s["phase"] = "rehearse"
        s["deadline"] = _iso(now + dt.timedelta(seconds=s["timings"]["rehearse"]))
        effects.append(Effect("round_started", _round_data(s)))
    elif phase == "rehearse":
        _enter_scene(s, now, "scene")
    elif phase in ("scene", "replay"):
        _enter_feedback(s)
    elif phase == "feedback":
        target = to or "sharing"
        _require(target in ("replay", "sharing"), "From feedback the room goes to replay or sharing.")
        if target == "replay":
            _require(not s["replayed"], "This round has had its replay.")
            _enter_scene(s, now, "replay")
        else:
            s["phase"] = "sharing"
    elif phase == "sharing":
        target = to or "setup"
        _require(target in ("setup", "ended"), "From sharing the room goes to the next round or ends.")
        if target == "ended":
            _end(s, actor, command, now, effects)
            return
        practitioner = s["roles"]["practitioner"]
        if practitioner is not None and str(practitioner) in s["participants"]:
            s["participants"][str(practitioner)]["practised"] += 1
        _clear_round(s)
        _rotate(s)
        s["round"] += 1
        s["phase"] = "setup"
    else:
        raise NotAllowed("The room is paused; resume it first." if phase == "paused"
                         else f"Not during {phase}.")
    if to is not None and phase not in ("feedback", "sharing"):
        _require(to == s["phase"], f"From {phase} the room can only go to {s['phase']}.")


def _round_data(s: dict[str, Any]) -> dict[str, Any]:
    return {"round": s["round"], "practitioner_id": s["roles"]["practitioner"],
            "counterpart_id": s["roles"]["counterpart"], "scenario_id": s["scenario_id"],
            "intensity": s["intensity"], "boundary": s["boundary"]}


def _extend(s, actor, command, now, effects):
    _moderator(actor)
    _phase(s, "rehearse", "scene", "replay")
    seconds = _int(command, "seconds", 1, EXTEND_MAX)
    deadline = parse_time(s["deadline"]) or now
    s["deadline"] = _iso(deadline + dt.timedelta(seconds=seconds))


def _say(s, actor, command, now, effects):
    role = _role_of(s, actor.user_id)
    if s["phase"] in ("scene", "replay"):
        _require(role in ("practitioner", "counterpart"),
                 "Only the practitioner and the counterpart speak in the scene; observers can cheer.")
    else:
        _require(s["phase"] == "sharing", f"Not during {s['phase']}.")
    _not_muted(s, actor)
    text = _text(command, "text", LINE_MAX)
    # Never reset, so a line's id names it for as long as the room lives (a report names it).
    s["line_seq"] = s.get("line_seq", 0) + 1
    s["lines"].append({"id": s["line_seq"], "by": actor.user_id, "role": role, "text": text,
                       "at": _iso(now), "attempt": s["attempt"], "phase": s["phase"]})


def _cheer(s, actor, command, now, effects):
    _phase(s, "scene", "replay")
    _require(_role_of(s, actor.user_id) == "observer", "Cheers come from the observers.")
    _not_muted(s, actor)
    kind = command.get("kind")
    if kind not in CHEERS:
        raise Invalid("That is not one of the cheers.")
    s["cheers"][kind] = s["cheers"].get(kind, 0) + 1


def _feedback(s, actor, command, now, effects):
    _phase(s, "feedback")
    role = _role_of(s, actor.user_id)
    _require(role in ("counterpart", "observer"), "Feedback comes from the counterpart and observers.")
    _not_muted(s, actor)
    counterpart = s["roles"]["counterpart"]
    _require(role == "counterpart" or counterpart in s["feedback_in"],
             "The counterpart speaks first: how it felt to receive the boundary.")
    style = command.get("style")
    if style not in STYLES:
        raise Invalid("style is assertive, passive, passive_aggressive or aggressive.")
    worked = _text(command, "worked", FEEDBACK_MAX, required=False)
    _require(bool(worked), "Write what worked first; then you may add one thing to try next.")
    try_next = _text(command, "try_next", FEEDBACK_MAX, required=False)
    if actor.user_id not in s["feedback_in"]:
        s["feedback_in"].append(actor.user_id)
    effects.append(Effect("feedback", {"round": s["round"], "attempt": s["attempt"],
                                       "from_user_id": actor.user_id, "role": role, "style": style,
                                       "worked": worked, "try_next": try_next}))


def _self_rate(s, actor, command, now, effects):
    _phase(s, "feedback", "sharing")
    _require(_role_of(s, actor.user_id) == "practitioner", "Only the practitioner rates their confidence.")
    confidence = _int(command, "confidence", 1, 5)
    if s["attempt"] not in s["rated"]:
        s["rated"].append(s["attempt"])
    effects.append(Effect("self_rate", {"round": s["round"], "attempt": s["attempt"],
                                        "confidence": confidence}))


def _time_out(s, actor, command, now, effects):
    _require(s["phase"] in LIVE, "The room is already paused." if s["phase"] == "paused"
             else f"Not during {s['phase']}.")
    deadline = parse_time(s["deadline"])
    s["paused"] = {"from": s["phase"], "by": actor.user_id, "at": _iso(now),
                   "remaining": max(0.0, (deadline - now).total_seconds()) if deadline else None}
    s["phase"], s["deadline"] = "paused", None


def _resume(s, actor, command, now, effects):
    _moderator(actor)
    _phase(s, "paused")
    paused = s["paused"]
    s["phase"] = paused["from"]
    if paused["remaining"] is not None:
        s["deadline"] = _iso(now + dt.timedelta(seconds=paused["remaining"]))
    s["paused"] = None


def _mute(s, actor, command, now, effects):
    _moderator(actor)
    s["participants"][str(_participant_id(s, command))]["muted"] = True


def _unmute(s, actor, command, now, effects):
    _moderator(actor)
    s["participants"][str(_participant_id(s, command))]["muted"] = False


def _remove(s, actor, command, now, effects):
    _moderator(actor)
    user_id = _participant_id(s, command)
    _require(user_id != actor.user_id, "Use leave to step out yourself.")
    s["participants"].pop(str(user_id))
    if user_id not in s["removed"]:
        s["removed"].append(user_id)
    _drop_from_round(s, user_id)


def _save_homework(s, actor, command, now, effects):
    _phase(s, "feedback", "sharing", "ended")
    ended = s["phase"] == "ended"
    practitioner = s["previous"]["practitioner"] if ended else s["roles"]["practitioner"]
    boundary = s.get("last_boundary") if ended else s["boundary"]
    _require(actor.user_id == practitioner, "Only the practitioner saves their boundary as homework.")
    _require(bool(boundary), "There is no boundary to save.")
    _mark_saved(s, "homework", "This boundary is already tomorrow's commitment.")
    effects.append(Effect("homework", {"round": s["round"], "boundary": boundary}))


def _save_transcript(s, actor, command, now, effects):
    _phase(s, "feedback", "sharing")
    _require(actor.user_id == s["roles"]["practitioner"], "Only the practitioner saves the transcript.")
    lines = [line for line in s["lines"] if line["phase"] in ("scene", "replay")]
    _require(bool(lines), "Nothing was said in the scene to save.")
    _mark_saved(s, "transcript", "This scene is already saved in your history.")
    effects.append(Effect("transcript", {"round": s["round"], "lines": lines}))


def _mark_saved(s, what, already):
    saved = s.setdefault("saved", {"homework": [], "transcript": []})[what]
    _require(s["round"] not in saved, already)
    saved.append(s["round"])


def _end(s, actor, command, now, effects):
    _moderator(actor)
    if s["roles"]["practitioner"] is not None:
        s["previous"] = dict(s["roles"])
        s["last_boundary"] = s["boundary"]
    s["phase"], s["deadline"], s["paused"] = "ended", None, None
    s["lines"] = []  # the scene's words are never kept beyond the round unless saved
    effects.append(Effect("ended", {}))


_HANDLERS = {
    "join": _join, "leave": _leave, "raise_hand": _raise_hand, "lower_hand": _lower_hand,
    "assign_role": _assign_role, "choose_scenario": _choose_scenario,
    "state_boundary": _state_boundary, "advance": _advance, "extend": _extend, "say": _say,
    "cheer": _cheer, "feedback": _feedback, "self_rate": _self_rate, "time_out": _time_out,
    "resume": _resume, "mute": _mute, "unmute": _unmute, "remove": _remove,
    "save_homework": _save_homework, "save_transcript": _save_transcript, "end": _end,
}
