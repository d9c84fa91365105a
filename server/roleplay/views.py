"""What each person sees of a room: the room's full view, read once per version, and one
projection of it per viewer, in memory.

`RoomView` holds everything any viewer may be shown (the chosen card with the counterpart's
answer, the feedback of the current round with its words); `project()` cuts from it what
one person may see: the practitioner alone reads the feedback, the counterpart and the
moderators the answer to play, the moderators who called a time-out, and a person a
moderator removed only that they are out. `RoomViews` keeps the newest view of each room
in this process, so a change reaches every socket here after one read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock, i18n
from server.i18n import N_
from server.models import Feedback, Group, Room, Round, Scenario, User
from server.roleplay import machine, scenarios
from server.roleplay.machine import Phase, Role, RoomState


@dataclass(frozen=True)
class Card:
    id: int
    builtin: bool
    title: str
    situation: str
    opening_line: str
    intensities: tuple[str, ...]


def card_of(row: Scenario, language: str) -> Card:
    """A card as a room in `language` reads it: Cairn's own cards in that language (by their
    key), a group's own cards as the group wrote them."""
    builtin = row.group_id is None
    found = scenarios.card(row.builtin_key, language) if builtin and row.builtin_key else None
    if found is not None:
        return Card(row.id, True, found.title, found.situation, found.opening_line,
                    found.intensities)
    return Card(row.id, builtin, row.title, row.situation, row.opening_line,
                tuple(row.intensities))


@dataclass(frozen=True)
class Said:
    """One piece of feedback of the current round, for the practitioner's eyes."""

    attempt: int
    role: str
    style: str
    worked: str
    try_next: str | None
    from_name: str | None  # None: the account is gone


@dataclass(frozen=True)
class RoomView:
    """A room at one version, as read from the database: the whole of what anyone may see."""

    room_id: int
    group_id: int
    title: str
    version: int
    state: RoomState
    card: Card | None
    feedback: tuple[Said, ...]
    confidence: tuple[int | None, int | None] | None  # (before, after) of the current round
    group_name: str = ""
    cards: tuple[Card, ...] = ()  # while setting up: the cards the practitioner chooses from
    language: str = "en"  # the room's: its cards read in it, for everyone in the room
    # Markup drawn from this version that is the same for many viewers (another person's
    # row, a line), kept with the version so that each is drawn once per process.
    drawn: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def deadline(self) -> dt.datetime | None:
        return self.state.deadline


async def read(session: AsyncSession, room: Room, group_name: str | None = None, *,
               cards: bool = True) -> RoomView:
    """The room's full view: the room row given, and at most three more statements (the
    chosen card, the current round's feedback with its round, and while setting up the
    cards to choose from, unless `cards` is False: the JSON view does not draw them)."""
    s = machine.load(room.state)
    if group_name is None:
        group_name = await session.scalar(select(Group.name).where(Group.id == room.group_id)) or ""
    card = None
    if s.scenario_id is not None:
        row = await session.get(Scenario, s.scenario_id)
        if row is not None:
            card = card_of(row, room.language)
    feedback: list[Said] = []
    confidence = None
    if s.round and s.roles.practitioner is not None:
        rows = (await session.execute(
            select(Round.confidence_before, Round.confidence_after, Feedback, User.display_name)
            .outerjoin(Feedback, Feedback.round_id == Round.id)
            .outerjoin(User, User.id == Feedback.from_user_id)
            # The round as its own practitioner practised it: someone made practitioner
            # later in the same round (in sharing, or after the first one left) reads nothing
            # of what was said to them.
            .where(Round.room_id == room.id, Round.number == s.round,
                   Round.practitioner_id == s.roles.practitioner)
            .order_by(Feedback.attempt, Feedback.id))).all()
        for before, after, f, name in rows:
            confidence = (before, after)
            if f is not None:
                feedback.append(Said(f.attempt, f.role, f.style, f.worked, f.try_next,
                                     name))
    choices: tuple[Card, ...] = ()
    if cards and s.phase == Phase.SETUP:
        rows_ = (await session.scalars(
            select(Scenario).where(or_(Scenario.group_id.is_(None), Scenario.group_id == room.group_id))
            .order_by(Scenario.group_id.is_not(None), Scenario.id))).all()
        choices = tuple(card_of(c, room.language) for c in rows_)
    return RoomView(room.id, room.group_id, room.title, room.version, s, card, tuple(feedback),
                    confidence, group_name, choices, room.language)


def _opt_iso(at: dt.datetime | None) -> str | None:
    return machine.iso(at) if at is not None else None


def project(view: RoomView, viewer: int, is_moderator: bool,
            now: dt.datetime | None = None, language: str = i18n.SOURCE) -> dict[str, Any]:
    """The room as one person sees it (the `room` frame of the protocol), without I/O; its
    sentence of whose turn it is in the reader's `language`."""
    s = view.state
    roles = s.roles
    participants = [
        {"user_id": uid, "display_name": p.display_name, "role": str(roles.role_of(uid)),
         "muted": p.muted, "moderator": p.moderator, "hand_raised": uid in s.hands,
         "practised": p.practised}
        for uid, p in s.participants.items()]
    scenario: dict[str, Any] | None = None
    if view.card is not None:
        card = view.card
        scenario = {"id": card.id, "builtin": card.builtin, "title": card.title,
                    "situation": card.situation, "opening_line": card.opening_line,
                    "intensity": s.intensity,
                    "intensity_name": machine.INTENSITIES.get(s.intensity or 0)}
        if viewer == roles.counterpart or is_moderator:
            scenario["counterpart_line"] = card.intensities[(s.intensity or 1) - 1]
    frame: dict[str, Any] = {
        "type": "room", "room_id": view.room_id, "group_id": view.group_id, "title": view.title,
        "language": view.language, "version": view.version, "phase": str(s.phase), "round": s.round,
        "participants": participants, "roles": roles.as_json(),
        "hands": s.queue() if s.hands else [],
        "deadline": _opt_iso(s.deadline), "now": machine.iso(now or clock.now()),
        "scenario": scenario, "boundary": s.boundary,
        "lines": [line.as_json() for line in s.lines],
        "cheers": dict(s.cheers) if s.cheers_shown else {},
        "cheers_held": sum(s.cheers.values()) if not s.cheers_shown else 0,
        "feedback_in": list(s.feedback_in), "attempt": s.attempt, "replayed": s.replayed,
        "paused": None, "closed_for": s.closed_for,
        "me": {"user_id": viewer, "is_moderator": is_moderator,
               "joined": viewer in s.participants, "removed": viewer in s.removed},
    }
    if s.paused is not None:
        frame["paused"] = {"from": str(s.paused.from_phase), "at": machine.iso(s.paused.at),
                           "by": s.paused.by if is_moderator or s.paused.by == viewer else None,
                           "by_me": s.paused.by == viewer}
    if viewer in s.removed:
        # Asked to step out: the room's name and that they are out, nothing said in it.
        frame.update(participants=[], hands=[], scenario=None, boundary=None, lines=[], cheers={},
                     cheers_held=0, feedback_in=[], paused=None)
        return frame
    if viewer == roles.practitioner and view.confidence is not None:
        frame["my_feedback"] = [
            {"attempt": f.attempt, "role": f.role, "style": f.style, "worked": f.worked,
             "try_next": f.try_next, "from": f.from_name or "a former member",
             "former": f.from_name is None} for f in view.feedback]
        frame["my_confidence"] = {"before": view.confidence[0], "after": view.confidence[1]}
    if viewer == (roles.practitioner if s.phase != Phase.ENDED else s.previous.practitioner):
        frame["my_saved"] = {"homework": s.round in s.saved.homework,
                             "transcript": s.round in s.saved.transcript}
    frame["turn"] = turn(s, viewer, language)
    return frame


# -- whose turn it is ------------------------------------------------------------------------------


def turn(s: RoomState, viewer: int, language: str = i18n.SOURCE) -> str:
    """Whose turn it is, in a sentence for this viewer, in their language: the one place that
    says it (the page, the live frames and the setup panel all show this sentence)."""
    gettext = i18n.installed().for_language(language).gettext
    me = viewer

    def say(message: str, **names: str) -> str:
        text = gettext(message)
        return text % names if names else text

    def name(user_id: int | None) -> str:
        if user_id is None:
            return gettext(N_("Nobody yet"))
        p = s.participants.get(user_id)
        return p.display_name if p is not None else gettext(N_("Someone who left"))

    practitioner, counterpart = s.roles.practitioner, s.roles.counterpart
    phase = s.phase
    if phase == Phase.LOBBY:
        if practitioner and counterpart:
            return say(N_("The moderator starts the round when everyone is ready."))
        return say(N_("The moderator is choosing who practises and who plays the counterpart."))
    if phase == Phase.SETUP:
        card, boundary = s.scenario_id is not None, bool(s.boundary)
        if card and boundary:
            return say(N_("The moderator starts the rehearsal when the practitioner is ready."))
        mine = practitioner == me
        if card:
            return (say(N_("You are writing the boundary; the card is chosen.")) if mine else
                    say(N_("%(name)s is writing the boundary; the card is chosen."),
                        name=name(practitioner)))
        if boundary:
            return (say(N_("You are choosing a card; the boundary is stated.")) if mine else
                    say(N_("%(name)s is choosing a card; the boundary is stated."),
                        name=name(practitioner)))
        return (say(N_("You are choosing a card and a boundary.")) if mine else
                say(N_("%(name)s is choosing a card and a boundary."), name=name(practitioner)))
    if phase == Phase.REHEARSE:
        return say(N_("Everyone has a quiet moment to prepare."))
    if phase in (Phase.SCENE, Phase.REPLAY):
        opened = any(line.by == counterpart and line.attempt == s.attempt and line.phase == phase
                     for line in s.lines)
        if not opened:  # the counterpart opens, with the card's first line
            if counterpart == me:
                return say(N_("You speak first: open with the card's first line."))
            if practitioner == me:
                return say(N_("%(name)s speaks first; then you answer with your boundary."),
                           name=name(counterpart))
            return say(N_("%(counterpart)s speaks first, then %(practitioner)s answers."),
                       counterpart=name(counterpart), practitioner=name(practitioner))
        if counterpart == me:
            return say(N_("%(name)s and you are speaking."), name=name(practitioner))
        if practitioner == me:
            return say(N_("%(name)s and you are speaking."), name=name(counterpart))
        return say(N_("%(counterpart)s and %(practitioner)s are speaking."),
                   counterpart=name(counterpart), practitioner=name(practitioner))
    if phase == Phase.FEEDBACK:
        if counterpart not in s.feedback_in:
            return (say(N_("You are giving feedback first.")) if counterpart == me else
                    say(N_("%(name)s is giving feedback first."), name=name(counterpart)))
        observers = [uid for uid in s.participants if s.role_of(uid) == Role.OBSERVER]
        if any(uid not in s.feedback_in for uid in observers):
            return say(N_("The observers are giving feedback."))
        return say(N_("The moderator chooses what comes next."))
    if phase == Phase.SHARING:
        return say(N_("Anyone can share what came up for them."))
    if phase == Phase.PAUSED:
        return say(N_("Take the time you need. A moderator resumes when everyone is ready."))
    if s.closed_for == machine.NO_MODERATOR:
        return say(N_("No moderator could be here today, so this session will not happen."))
    return say(N_("This room has ended."))


# -- the newest view of each room, in this process ----------------------------------------------


class RoomViews:
    """The newest view of each room this process has read. After a change, the first socket
    to ask reads the room once; every other socket here is given the same view. Asking for
    a version this process already holds (or a newer one) reads nothing."""

    HELD = 1000  # rooms whose view is kept; far more than are open at once
    TRIES = 3    # reads of a room that is still older than the change announced

    def __init__(self, on_read: Callable[[RoomView], None] | None = None) -> None:
        self._views: dict[int, RoomView] = {}
        self._reading: dict[int, asyncio.Task[RoomView | None]] = {}
        self.on_read = on_read  # told of each view read (the room's timer follows it)
        self.reads = 0

    def held(self, room_id: int) -> RoomView | None:
        return self._views.get(room_id)

    def put(self, view: RoomView) -> None:
        current = self._views.pop(view.room_id, None)
        self._views[view.room_id] = (
            view if current is None or current.version <= view.version else current)
        while len(self._views) > self.HELD:  # the rooms least recently changed go first
            del self._views[next(iter(self._views))]
        if self.on_read is not None:
            self.on_read(view)

    def forget(self, room_id: int) -> None:
        self._views.pop(room_id, None)

    async def at_least(self, room_id: int, version: int,
                       read: Callable[[], Awaitable[RoomView | None]]) -> RoomView | None:
        """The room's view at `version` or newer; `read()` (the view from the database, or
        None when the room is gone) runs once at a time per room, for every asker here."""
        for _ in range(self.TRIES):
            held = self._views.get(room_id)
            if held is not None and held.version >= version:
                return held
            task = self._reading.get(room_id)
            if task is None:
                task = asyncio.ensure_future(self._read(room_id, read))
                self._reading[room_id] = task
            try:
                view = await asyncio.shield(task)
            finally:
                if self._reading.get(room_id) is task and task.done():
                    del self._reading[room_id]
            if view is None or view.version >= version:
                return view
            # Read before the change this asker heard of had committed: read again.
        return self._views.get(room_id)

    async def _read(self, room_id: int,
                    read: Callable[[], Awaitable[RoomView | None]]) -> RoomView | None:
        view = await read()
        self.reads += 1
        if view is None:
            self.forget(room_id)
        else:
            self.put(view)
        return view
