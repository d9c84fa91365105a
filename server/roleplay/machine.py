"""The role-play room's rules, as a pure function: (state, actor, command, now) -> (state, effects).

No I/O here. The service around it loads the state, applies a command under the room's
lock, saves the new state with a version, and carries out the effects (storing feedback,
appending events, making a commitment).

A round runs: lobby -> setup -> rehearse -> scene -> feedback -> [replay -> feedback] ->
sharing -> setup (the next round: the first raised hand practises) or lobby (no hand raised: the
moderator chooses) or ended; `paused` is entered from any
live phase by a time-out and left only when a moderator resumes.

The state is a dataclass (RoomState) stored as JSON in the room's row; `load()` reads any
stored shape this module ever wrote, `dump()` writes today's. Commands are the typed models
of server.roleplay.commands, validated at the socket before they reach here.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Literal

from server.i18n import N_
from server.roleplay import commands as c
from server.roleplay.commands import Invalid as Invalid
from server.roleplay.commands import NotAllowed as NotAllowed
from server.roleplay.terms import CheerKind as CheerKind  # the room's words, for its callers
from server.roleplay.terms import Phase as Phase
from server.roleplay.terms import Role as Role
from server.roleplay.terms import Style as Style

PHASES = tuple(Phase)
LIVE = (Phase.LOBBY, Phase.SETUP, Phase.REHEARSE, Phase.SCENE, Phase.FEEDBACK, Phase.REPLAY,
        Phase.SHARING)
ROLES = tuple(Role)
STYLES = tuple(Style)
CHEERS = tuple(CheerKind)
INTENSITIES = {1: "cooperative", 2: "guilt_trips", 3: "escalates"}
REHEARSE_SECONDS = 30
SCENE_SECONDS = 120
EXTEND_MAX = c.EXTEND_MAX
LINE_MAX = c.LINE_MAX
BOUNDARY_MAX = c.BOUNDARY_MAX
FEEDBACK_MAX = c.FEEDBACK_MAX
COMMANDS = c.NAMES
# A command for a phase the room has left (a button pressed as the room moved on).
MOVED_ON = N_("That is not open any more. The room has moved on.")


@dataclass(frozen=True)
class Actor:
    user_id: int
    display_name: str
    is_moderator: bool


EffectKind = Literal["feedback", "round_started", "self_rate", "homework", "transcript", "ended"]


@dataclass
class Effect:
    """Something the service must do after saving the state."""

    kind: EffectKind
    data: dict[str, Any] = field(default_factory=dict)


# -- the state ----------------------------------------------------------------------------------


def iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _opt_iso(at: dt.datetime | None) -> str | None:
    return iso(at) if at is not None else None


@dataclass
class Timings:
    rehearse: int = REHEARSE_SECONDS
    scene: int = SCENE_SECONDS


@dataclass
class Participant:
    display_name: str
    muted: bool = False
    practised: int = 0
    moderator: bool = False


@dataclass
class Roles:
    practitioner: int | None = None
    counterpart: int | None = None

    def role_of(self, user_id: int) -> Role:
        if self.practitioner == user_id:
            return Role.PRACTITIONER
        if self.counterpart == user_id:
            return Role.COUNTERPART
        return Role.OBSERVER

    def holds(self, user_id: int) -> list[Role]:
        return [role for role in (Role.PRACTITIONER, Role.COUNTERPART)
                if self.get(role) == user_id]

    def get(self, role: Role) -> int | None:
        return self.practitioner if role == Role.PRACTITIONER else (
            self.counterpart if role == Role.COUNTERPART else None)

    def set(self, role: Role, user_id: int | None) -> None:
        if role == Role.PRACTITIONER:
            self.practitioner = user_id
        elif role == Role.COUNTERPART:
            self.counterpart = user_id

    def as_json(self) -> dict[str, int | None]:
        return {"practitioner": self.practitioner, "counterpart": self.counterpart}


@dataclass
class Paused:
    from_phase: Phase
    by: int | None
    at: dt.datetime
    remaining: float | None  # seconds left on the timer when it was called, if one ran


@dataclass
class Line:
    id: int | None  # None only in rooms stored before lines had ids
    by: int
    role: Role
    text: str
    at: dt.datetime
    attempt: int
    phase: Phase

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "by": self.by, "role": str(self.role), "text": self.text,
                "at": iso(self.at), "attempt": self.attempt, "phase": str(self.phase)}


@dataclass
class Saved:
    """Rounds already saved, once each."""

    homework: list[int] = field(default_factory=list)
    transcript: list[int] = field(default_factory=list)


@dataclass
class RoomState:
    opened_at: dt.datetime
    timings: Timings = field(default_factory=Timings)
    phase: Phase = Phase.LOBBY
    round: int = 0
    participants: dict[int, Participant] = field(default_factory=dict)  # in order of joining
    hands: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    roles: Roles = field(default_factory=Roles)
    scenario_id: int | None = None
    intensity: int | None = None
    boundary: str | None = None
    deadline: dt.datetime | None = None
    paused: Paused | None = None
    lines: list[Line] = field(default_factory=list)
    line_seq: int = 0  # never reset, so a line's id names it for as long as the room lives
    cheers: dict[str, int] = field(default_factory=dict)
    cheers_shown: bool = False
    feedback_in: list[int] = field(default_factory=list)
    attempt: int = 1
    replayed: bool = False
    rated: list[int] = field(default_factory=list)
    previous: Roles = field(default_factory=Roles)
    saved: Saved = field(default_factory=Saved)
    last_boundary: str | None = None  # the last round's boundary, for homework after the end
    # Why Cairn itself ended the room, when it did: "no_moderator" (a planned session nobody
    # moderated). None when a moderator ended it.
    closed_for: str | None = None

    def role_of(self, user_id: int) -> Role:
        return self.roles.role_of(user_id)

    def queue(self) -> list[int]:
        """Raised hands, those who have practised least first, then by when they asked."""
        order = {uid: i for i, uid in enumerate(self.hands)}
        return sorted(self.hands, key=lambda uid: (self.participants[uid].practised
                                                   if uid in self.participants else 0, order[uid]))


def new_state(now: dt.datetime, *, rehearse_seconds: int = REHEARSE_SECONDS,
              scene_seconds: int = SCENE_SECONDS) -> RoomState:
    return RoomState(opened_at=now, timings=Timings(rehearse_seconds, scene_seconds))


def dump(s: RoomState) -> dict[str, Any]:
    """The state as the JSON stored in the room's row."""
    return {
        "timings": {"rehearse": s.timings.rehearse, "scene": s.timings.scene},
        "phase": str(s.phase), "round": s.round,
        "participants": {str(uid): {"display_name": p.display_name, "muted": p.muted,
                                    "practised": p.practised, "moderator": p.moderator}
                         for uid, p in s.participants.items()},
        "hands": list(s.hands), "removed": list(s.removed), "roles": s.roles.as_json(),
        "scenario_id": s.scenario_id, "intensity": s.intensity, "boundary": s.boundary,
        "deadline": _opt_iso(s.deadline),
        "paused": None if s.paused is None else {
            "from": str(s.paused.from_phase), "by": s.paused.by, "at": iso(s.paused.at),
            "remaining": s.paused.remaining},
        "lines": [line.as_json() for line in s.lines], "line_seq": s.line_seq,
        "cheers": dict(s.cheers), "cheers_shown": s.cheers_shown,
        "feedback_in": list(s.feedback_in), "attempt": s.attempt, "replayed": s.replayed,
        "rated": list(s.rated), "previous": s.previous.as_json(),
        "saved": {"homework": list(s.saved.homework), "transcript": list(s.saved.transcript)},
        "opened_at": iso(s.opened_at), "last_boundary": s.last_boundary,
        "closed_for": s.closed_for,
    }


def _roles(data: Any) -> Roles:
    data = data or {}
    return Roles(data.get("practitioner"), data.get("counterpart"))


def load(data: dict[str, Any]) -> RoomState:
    """A stored state, of today's shape or an older one (rooms stored before lines had ids,
    before saving was once per round, before the last boundary was kept)."""
    paused = data.get("paused")
    saved = data.get("saved") or {}
    lines = [Line(id=line.get("id"), by=line["by"], role=Role(line["role"]), text=line["text"],
                  at=parse_time(line["at"]) or dt.datetime.now(dt.UTC),
                  attempt=line.get("attempt", 1), phase=Phase(line.get("phase", "scene")))
             for line in data.get("lines", [])]
    timings = data.get("timings") or {}
    return RoomState(
        opened_at=parse_time(data.get("opened_at")) or dt.datetime.now(dt.UTC),
        timings=Timings(timings.get("rehearse", REHEARSE_SECONDS),
                        timings.get("scene", SCENE_SECONDS)),
        phase=Phase(data.get("phase", "lobby")), round=data.get("round", 0),
        participants={int(uid): Participant(p["display_name"], bool(p.get("muted")),
                                            int(p.get("practised", 0)), bool(p.get("moderator")))
                      for uid, p in (data.get("participants") or {}).items()},
        hands=list(data.get("hands", [])), removed=list(data.get("removed", [])),
        roles=_roles(data.get("roles")), scenario_id=data.get("scenario_id"),
        intensity=data.get("intensity"), boundary=data.get("boundary"),
        deadline=parse_time(data.get("deadline")),
        paused=None if not paused else Paused(
            Phase(paused["from"]), paused.get("by"),
            parse_time(paused.get("at")) or dt.datetime.now(dt.UTC), paused.get("remaining")),
        lines=lines,
        line_seq=data.get("line_seq", max((line.id or 0 for line in lines), default=0)),
        cheers=dict(data.get("cheers") or {}), cheers_shown=bool(data.get("cheers_shown")),
        feedback_in=list(data.get("feedback_in", [])), attempt=data.get("attempt", 1),
        replayed=bool(data.get("replayed")), rated=list(data.get("rated", [])),
        previous=_roles(data.get("previous")),
        saved=Saved(list(saved.get("homework", [])), list(saved.get("transcript", []))),
        last_boundary=data.get("last_boundary"),
        closed_for=data.get("closed_for"),
    )


# -- the rules ------------------------------------------------------------------------------------

# Cards the room may use: None when the caller does not restrict them (the pure tests).
Cards = Collection[int] | None


def apply(state: RoomState, actor: Actor, command: c.Command, now: dt.datetime, *,
          scenario_ids: Cards = None) -> tuple[RoomState, list[Effect]]:
    """Apply one command; raises NotAllowed (or Invalid) and changes nothing when refused.
    scenario_ids: the cards this room's group may use (checked by choose_scenario)."""
    s = copy.deepcopy(state)
    effects: list[Effect] = []
    _tick(s, now, effects)
    name = command.type
    if s.phase == Phase.ENDED and name != "save_homework":
        raise NotAllowed(N_("This room has ended."))
    if name != "join" and actor.user_id not in s.participants and not (
            actor.is_moderator and name in ("end", "advance", "extend", "resume")):
        raise NotAllowed(N_("Join the room first."))
    _Rules(s, actor, now, effects, scenario_ids).run(command)
    return s, effects


def command_of(raw: dict[str, Any]) -> c.Command:
    """The typed command for a decoded frame; raises NotAllowed (unknown_command) or Invalid."""
    return c.parse(raw)


def forget(state: RoomState, user_id: int) -> RoomState:
    """The room without any trace of a member who deleted their account."""
    s = copy.deepcopy(state)
    s.participants.pop(user_id, None)
    _drop_from_round(s, user_id)
    s.removed = [uid for uid in s.removed if uid != user_id]
    s.feedback_in = [uid for uid in s.feedback_in if uid != user_id]
    s.lines = [line for line in s.lines if line.by != user_id]
    for role in (Role.PRACTITIONER, Role.COUNTERPART):
        if s.previous.get(role) == user_id:
            s.previous.set(role, None)
    if s.paused and s.paused.by == user_id:
        s.paused.by = None
    return s


def shown_line(state: RoomState, line_id: int) -> Line | None:
    """The line with this id while the room still shows it; None once the round has cleared it."""
    return next((line for line in state.lines if line.id == line_id), None)


def without_line(state: RoomState, line_id: int) -> RoomState:
    """The room with one line taken out (a moderator hid it)."""
    s = copy.deepcopy(state)
    s.lines = [line for line in s.lines if line.id != line_id]
    return s


def tick(state: RoomState, now: dt.datetime) -> tuple[RoomState, list[Effect]]:
    """Advance past an expired deadline (rehearse -> scene -> feedback, replay -> feedback)."""
    s = copy.deepcopy(state)
    effects: list[Effect] = []
    _tick(s, now, effects)
    return s, effects


NO_MODERATOR = "no_moderator"


def moderated(state: RoomState) -> bool:
    """Whether a moderator has joined the room (and so runs it)."""
    return any(p.moderator for p in state.participants.values())


def close_unmoderated(state: RoomState) -> tuple[RoomState, list[Effect]]:
    """Cairn ends a planned session's room that no moderator joined: nothing said in it is
    kept. Unchanged when a moderator has joined or the room has ended already."""
    if state.phase == Phase.ENDED or moderated(state):
        return state, []
    s = copy.deepcopy(state)
    s.phase, s.deadline, s.paused, s.lines = Phase.ENDED, None, None, []
    s.hands, s.closed_for = [], NO_MODERATOR
    return s, [Effect("ended", {})]


def _tick(s: RoomState, now: dt.datetime, effects: list[Effect]) -> None:
    deadline = s.deadline
    while deadline is not None and now >= deadline and s.phase in (
            Phase.REHEARSE, Phase.SCENE, Phase.REPLAY):
        if s.phase == Phase.REHEARSE:
            _enter_scene(s, deadline, Phase.SCENE)
        else:
            _enter_feedback(s)
        deadline = s.deadline


# -- helpers ------------------------------------------------------------------------------------


def _require(condition: object, detail: str, **params: str) -> None:
    """Refused with `detail` (marked N_, said in each sender's language) unless condition."""
    if not condition:
        raise NotAllowed(detail, params=params or None)


def _enter_scene(s: RoomState, start: dt.datetime, phase: Phase) -> None:
    s.phase = phase
    s.deadline = start + dt.timedelta(seconds=s.timings.scene)
    if phase == Phase.REPLAY:
        s.attempt = 2
        s.replayed = True
        s.feedback_in = []
    s.cheers = {}
    s.cheers_shown = False


def _enter_feedback(s: RoomState) -> None:
    s.phase = Phase.FEEDBACK
    s.deadline = None
    s.cheers_shown = True  # the observers' silent cheers are shown now


def _clear_round(s: RoomState) -> None:
    s.scenario_id = s.intensity = None
    s.boundary = None
    s.deadline = None
    s.lines = []
    s.cheers = {}
    s.cheers_shown = False
    s.feedback_in = []
    s.attempt = 1
    s.replayed = False
    s.rated = []


def _drop_from_round(s: RoomState, user_id: int) -> None:
    """Someone left or was removed: a round missing a main role goes back to the lobby."""
    s.hands = [h for h in s.hands if h != user_id]
    held = s.roles.holds(user_id)
    for role in held:
        s.roles.set(role, None)
    if held and s.phase in (Phase.SETUP, Phase.REHEARSE, Phase.SCENE, Phase.FEEDBACK,
                            Phase.REPLAY, Phase.PAUSED):
        s.phase = Phase.LOBBY
        s.paused = None
        _clear_round(s)


def _next_up(s: RoomState) -> int | None:
    """Who practises next: the first raised hand (not the one who just practised). Nobody is
    made to practise without asking; with no hand raised the moderator chooses."""
    queue = [uid for uid in s.queue() if uid != s.roles.practitioner]
    return queue[0] if queue else None


def _rotate(s: RoomState, practitioner: int) -> None:
    """The next round's roles: the one who asked practises, and the last practitioner (if
    still here) plays the other side."""
    previous = s.roles.practitioner
    s.previous = copy.copy(s.roles)
    present = list(s.participants)
    counterpart = previous if previous in present and previous != practitioner else None
    if counterpart is None:
        others = [uid for uid in present if uid != practitioner]
        counterpart = others[0] if others else None
    s.roles = Roles(practitioner, counterpart)
    s.hands = [h for h in s.hands if h != practitioner]


def _round_data(s: RoomState) -> dict[str, Any]:
    return {"round": s.round, "practitioner_id": s.roles.practitioner,
            "counterpart_id": s.roles.counterpart, "scenario_id": s.scenario_id,
            "intensity": s.intensity, "boundary": s.boundary}


# -- commands -----------------------------------------------------------------------------------


@dataclass
class _Rules:
    """One command applied to a (copied) state: a method per command."""

    s: RoomState
    actor: Actor
    now: dt.datetime
    effects: list[Effect]
    scenario_ids: Cards

    def run(self, command: c.Command) -> None:
        handler: Callable[[Any], None] = getattr(self, "_" + command.type)
        handler(command)

    # checks

    def moderator(self) -> None:
        _require(self.actor.is_moderator, N_("Only a moderator can do that."))

    def phase(self, *phases: Phase) -> None:
        _require(self.s.phase in phases, MOVED_ON)

    def role(self) -> Role:
        return self.s.role_of(self.actor.user_id)

    def not_muted(self) -> None:
        _require(not self.s.participants[self.actor.user_id].muted, N_("You are muted in this room."))

    def participant(self, user_id: int) -> int:
        _require(user_id in self.s.participants, N_("That person is not in the room."))
        return user_id

    # handlers

    def _join(self, command: c.Join) -> None:
        _require(self.actor.user_id not in self.s.removed, N_("A moderator removed you from this room."))
        if self.actor.user_id not in self.s.participants:
            self.s.participants[self.actor.user_id] = Participant(
                self.actor.display_name, moderator=self.actor.is_moderator)

    def _leave(self, command: c.Leave) -> None:
        self.s.participants.pop(self.actor.user_id, None)
        _drop_from_round(self.s, self.actor.user_id)

    def _raise_hand(self, command: c.RaiseHand) -> None:
        s = self.s
        _require(s.phase != Phase.PAUSED, N_("The room is paused."))
        _require(self.role() != Role.PRACTITIONER or s.phase in (Phase.LOBBY, Phase.SHARING),
                 N_("You are practising now."))
        if self.actor.user_id not in s.hands:
            s.hands.append(self.actor.user_id)

    def _lower_hand(self, command: c.LowerHand) -> None:
        _require(self.actor.user_id in self.s.hands, N_("Your hand is not raised."))
        self.s.hands.remove(self.actor.user_id)

    def _assign_role(self, command: c.AssignRole) -> None:
        s = self.s
        self.moderator()
        self.phase(Phase.LOBBY, Phase.SETUP, Phase.SHARING)
        user_id = self.participant(command.user_id)
        role = Role(command.role)
        for other in s.roles.holds(user_id):
            s.roles.set(other, None)
        if role != Role.OBSERVER:
            s.roles.set(role, user_id)
        if role == Role.PRACTITIONER:
            s.hands = [h for h in s.hands if h != user_id]

    def _choose_scenario(self, command: c.ChooseScenario) -> None:
        self.phase(Phase.SETUP)
        _require(self.role() == Role.PRACTITIONER, N_("Only the practitioner chooses the card."))
        _require(self.scenario_ids is None or command.scenario_id in self.scenario_ids,
                 N_("There is no such scenario card here."))
        self.s.scenario_id, self.s.intensity = command.scenario_id, command.intensity

    def _state_boundary(self, command: c.StateBoundary) -> None:
        self.phase(Phase.SETUP)
        _require(self.role() == Role.PRACTITIONER, N_("Only the practitioner states the boundary."))
        self.s.boundary = command.text

    def _advance(self, command: c.Advance) -> None:
        s = self.s
        self.moderator()
        to = command.to
        phase = s.phase
        if phase == Phase.LOBBY:
            _require(s.roles.practitioner and s.roles.counterpart,
                     N_("Choose a practitioner and a counterpart first."))
            s.phase = Phase.SETUP
            s.round += 1
        elif phase == Phase.SETUP:
            _require(s.roles.practitioner and s.roles.counterpart,
                     N_("Choose a practitioner and a counterpart first."))
            _require(s.scenario_id is not None and s.boundary,
                     N_("The practitioner chooses a card and states the boundary first."))
            s.phase = Phase.REHEARSE
            s.deadline = self.now + dt.timedelta(seconds=s.timings.rehearse)
            self.effects.append(Effect("round_started", _round_data(s)))
        elif phase == Phase.REHEARSE:
            _enter_scene(s, self.now, Phase.SCENE)
        elif phase in (Phase.SCENE, Phase.REPLAY):
            _enter_feedback(s)
        elif phase == Phase.FEEDBACK:
            target = to or Phase.SHARING
            _require(target in (Phase.REPLAY, Phase.SHARING),
                     N_("From feedback the room goes to replay or sharing."))
            if target == Phase.REPLAY:
                _require(not s.replayed, N_("This round has had its replay."))
                _enter_scene(s, self.now, Phase.REPLAY)
            else:
                s.phase = Phase.SHARING
        elif phase == Phase.SHARING:
            target = to or Phase.SETUP
            _require(target in (Phase.SETUP, Phase.ENDED),
                     N_("From sharing the room goes to the next round or ends."))
            if target == Phase.ENDED:
                self._end(c.End(type="end"))
                return
            practitioner = s.roles.practitioner
            if practitioner is not None and practitioner in s.participants:
                s.participants[practitioner].practised += 1
            _clear_round(s)
            next_up = _next_up(s)
            if next_up is None:  # back to gathering: the moderator asks who would like to
                s.previous = copy.copy(s.roles)
                s.roles = Roles(None, None)
                s.phase = Phase.LOBBY
                return
            _rotate(s, next_up)
            s.round += 1
            s.phase = Phase.SETUP
        else:
            raise NotAllowed(N_("The room is paused; resume it first.") if phase == Phase.PAUSED
                             else MOVED_ON)
        if to is not None and phase not in (Phase.FEEDBACK, Phase.SHARING):
            _require(to == s.phase, N_("From %(phase)s the room can only go to %(next)s."),
                     phase=str(phase), next=str(s.phase))

    def _extend(self, command: c.Extend) -> None:
        self.moderator()
        self.phase(Phase.REHEARSE, Phase.SCENE, Phase.REPLAY)
        self.s.deadline = (self.s.deadline or self.now) + dt.timedelta(seconds=command.seconds)

    def _say(self, command: c.Say) -> None:
        s = self.s
        role = self.role()
        if s.phase in (Phase.SCENE, Phase.REPLAY):
            _require(role in (Role.PRACTITIONER, Role.COUNTERPART),
                     N_("Only the practitioner and the counterpart speak in the scene; observers can cheer."))
        else:
            _require(s.phase == Phase.SHARING, MOVED_ON)
        self.not_muted()
        s.line_seq += 1
        s.lines.append(Line(s.line_seq, self.actor.user_id, role, command.text, self.now,
                            s.attempt, s.phase))

    def _cheer(self, command: c.Cheer) -> None:
        self.phase(Phase.SCENE, Phase.REPLAY)
        _require(self.role() == Role.OBSERVER, N_("Cheers come from the observers."))
        self.not_muted()
        kind = str(command.kind)
        self.s.cheers[kind] = self.s.cheers.get(kind, 0) + 1

    def _feedback(self, command: c.Feedback) -> None:
        s = self.s
        self.phase(Phase.FEEDBACK)
        role = self.role()
        _require(role in (Role.COUNTERPART, Role.OBSERVER),
                 N_("Feedback comes from the counterpart and observers."))
        self.not_muted()
        _require(role == Role.COUNTERPART or s.roles.counterpart in s.feedback_in,
                 N_("The counterpart speaks first: how it felt to receive the boundary."))
        _require(bool(command.worked), N_("Write what worked first; then you may add one thing to try next."))
        if self.actor.user_id not in s.feedback_in:
            s.feedback_in.append(self.actor.user_id)
        self.effects.append(Effect("feedback", {
            "round": s.round, "attempt": s.attempt, "from_user_id": self.actor.user_id,
            "role": str(role), "style": str(command.style), "worked": command.worked,
            "try_next": command.try_next}))

    def _self_rate(self, command: c.SelfRate) -> None:
        s = self.s
        self.phase(Phase.FEEDBACK, Phase.SHARING)
        _require(self.role() == Role.PRACTITIONER, N_("Only the practitioner rates their confidence."))
        if s.attempt not in s.rated:
            s.rated.append(s.attempt)
        self.effects.append(Effect("self_rate", {"round": s.round, "attempt": s.attempt,
                                                 "confidence": command.confidence}))

    def _time_out(self, command: c.TimeOut) -> None:
        s = self.s
        _require(s.phase in LIVE, N_("The room is already paused.") if s.phase == Phase.PAUSED
                 else MOVED_ON)
        remaining = (max(0.0, (s.deadline - self.now).total_seconds())
                     if s.deadline is not None else None)
        s.paused = Paused(s.phase, self.actor.user_id, self.now, remaining)
        s.phase, s.deadline = Phase.PAUSED, None

    def _resume(self, command: c.Resume) -> None:
        s = self.s
        self.moderator()
        self.phase(Phase.PAUSED)
        assert s.paused is not None
        s.phase = s.paused.from_phase
        if s.paused.remaining is not None:
            s.deadline = self.now + dt.timedelta(seconds=s.paused.remaining)
        s.paused = None

    def _mute(self, command: c.Mute) -> None:
        self.moderator()
        self.s.participants[self.participant(command.user_id)].muted = True

    def _unmute(self, command: c.Unmute) -> None:
        self.moderator()
        self.s.participants[self.participant(command.user_id)].muted = False

    def _remove(self, command: c.Remove) -> None:
        s = self.s
        self.moderator()
        user_id = self.participant(command.user_id)
        _require(user_id != self.actor.user_id, N_("Use leave to step out yourself."))
        s.participants.pop(user_id)
        if user_id not in s.removed:
            s.removed.append(user_id)
        _drop_from_round(s, user_id)

    def _save_homework(self, command: c.SaveHomework) -> None:
        s = self.s
        self.phase(Phase.FEEDBACK, Phase.SHARING, Phase.ENDED)
        ended = s.phase == Phase.ENDED
        practitioner = s.previous.practitioner if ended else s.roles.practitioner
        boundary = s.last_boundary if ended else s.boundary
        _require(self.actor.user_id == practitioner,
                 N_("Only the practitioner saves their boundary as homework."))
        _require(bool(boundary), N_("There is no boundary to save."))
        self.mark_saved(s.saved.homework, N_("This boundary is already tomorrow's commitment."))
        self.effects.append(Effect("homework", {"round": s.round, "boundary": boundary}))

    def _save_transcript(self, command: c.SaveTranscript) -> None:
        s = self.s
        self.phase(Phase.FEEDBACK, Phase.SHARING)
        _require(self.actor.user_id == s.roles.practitioner,
                 N_("Only the practitioner saves the transcript."))
        lines = [line.as_json() for line in s.lines if line.phase in (Phase.SCENE, Phase.REPLAY)]
        _require(bool(lines), N_("Nothing was said in the scene to save."))
        self.mark_saved(s.saved.transcript, N_("This scene is already saved in your history."))
        self.effects.append(Effect("transcript", {"round": s.round, "lines": lines}))

    def mark_saved(self, saved: list[int], already: str) -> None:
        _require(self.s.round not in saved, already)
        saved.append(self.s.round)

    def _end(self, command: c.End) -> None:
        s = self.s
        self.moderator()
        if s.roles.practitioner is not None:
            s.previous = copy.copy(s.roles)
            s.last_boundary = s.boundary
        s.phase, s.deadline, s.paused = Phase.ENDED, None, None
        s.lines = []  # the scene's words are never kept beyond the round unless saved
        self.effects.append(Effect("ended", {}))
