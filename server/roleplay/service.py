"""Role-play rooms: load a room under its lock, apply the machine, save state and version,
carry out the effects, and append the events that wake every process's sockets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock, events, i18n
from server.commitments import service as commitments
from server.db import insert_into
from server.errors import Conflict, Invalid, NotFound
from server.groups import service as groups
from server.i18n import N_
from server.models import Feedback, Group, Membership, Room, Round, Scenario, Transcript, User
from server.moderation import service as moderation
from server.realtime import log
from server.roleplay import commands, machine, views
from server.roleplay.machine import RoomState
from server.roleplay.scenarios import CARDS
from server.text import storable

TITLE_MAX = 80
SPEAKING = commands.SPEAKING
_NO_ROOM = N_("We could not find that room.")
# A room's title when its opener gives none, in the room's language.
TITLE_DEFAULT = N_("Boundary practice")


# -- scenario cards -------------------------------------------------------------------------------


async def sync_builtin_cards(session: AsyncSession) -> None:
    """Make the table's built-in cards match scenarios.py (idempotent; safe on every process)."""
    for card in CARDS:
        values = {"builtin_key": card.key, "title": card.title, "situation": card.situation,
                  "opening_line": card.opening_line, "intensities": list(card.intensities),
                  "group_id": None, "created_at": clock.now()}
        statement = insert_into(session, Scenario).values(**values)
        await session.execute(statement.on_conflict_do_update(
            index_elements=["builtin_key"],
            set_={k: statement.excluded[k] for k in ("title", "situation", "opening_line",
                                                     "intensities")}))


async def scenarios_for(session: AsyncSession, group_id: int | None) -> list[Scenario]:
    """The built-in cards, and the group's own when a group is given."""
    condition: ColumnElement[bool] = Scenario.group_id.is_(None)
    if group_id is not None:
        condition = or_(condition, Scenario.group_id == group_id)
    return list((await session.scalars(
        select(Scenario).where(condition).order_by(Scenario.group_id.is_not(None), Scenario.id)
    )).all())


async def create_scenario(session: AsyncSession, user: User, group_id: int, *, title: str,
                          situation: str, opening_line: str, intensities: list[str]) -> Scenario:
    def clean(value: str, what: str, needs: str, limit: int) -> str:
        value = storable(value.strip(), what)
        if not 1 <= len(value) <= limit:
            raise Invalid(needs, code="invalid_scenario", params={"limit": limit})
        return value

    if len(intensities) != 3:
        raise Invalid(N_("Give three lines: cooperative, guilt-tripping and escalating."),
                      code="invalid_scenario")
    card = Scenario(group_id=group_id,
                    title=clean(title, "A title", N_("A title needs 1 to %(limit)s characters."),
                                TITLE_MAX),
                    situation=clean(situation, "The situation",
                                    N_("The situation needs 1 to %(limit)s characters."), 1000),
                    opening_line=clean(opening_line, "The opening line",
                                       N_("The opening line needs 1 to %(limit)s characters."), 500),
                    intensities=[clean(line, "Each intensity line",
                                       N_("Each intensity line needs 1 to %(limit)s characters."), 500)
                                 for line in intensities],
                    created_by=user.id, created_at=clock.now())
    session.add(card)
    await session.flush()
    return card


# -- rooms ------------------------------------------------------------------------------------


def room_language(chosen: str | None, opener: str) -> str:
    """The language a room opens in: the one chosen, if Cairn offers it (Invalid otherwise),
    else the opener's own."""
    if chosen is None or chosen == "":
        return opener
    if chosen not in i18n.installed().offered:
        raise Invalid(N_("Choose one of the languages Cairn speaks."), code="invalid_language")
    return chosen


async def open_room(session: AsyncSession, moderator: User | None, group_id: int, title: str | None, *,
                    language: str = i18n.SOURCE,
                    rehearse_seconds: int = machine.REHEARSE_SECONDS,
                    scene_seconds: int = machine.SCENE_SECONDS) -> Room:
    """A new room in the group, opened by a moderator or (None) by Cairn for a planned
    session, in `language` (everyone in it reads its cards in it). Conflict when the group
    has a room open already."""
    title = (storable((title or "").strip(), "A title")
             or i18n.gettext(language, TITLE_DEFAULT))
    if len(title) > TITLE_MAX:
        raise Invalid(N_("A room title has at most %(limit)s characters."), code="invalid_title",
                      params={"limit": TITLE_MAX})
    # Two moderators opening at once: the group row's lock makes the second see the first.
    await session.execute(select(Group.id).where(Group.id == group_id).with_for_update())
    open_rooms = await session.scalar(
        select(Room.id).where(Room.group_id == group_id, Room.phase != "ended").limit(1))
    if open_rooms:
        raise Conflict(N_("This group already has a practice room open. Join that one, or end "
                          "it first."), code="room_open")
    now = clock.now()
    room = Room(group_id=group_id, title=title, opened_by=moderator.id if moderator else None,
                language=language, phase="lobby",
                state=machine.dump(machine.new_state(now, rehearse_seconds=rehearse_seconds,
                                                     scene_seconds=scene_seconds)),
                version=1, created_at=now)
    session.add(room)
    await session.flush()
    await log.append(session, group_id, events.RoleplayOpened(room_id=room.id, title=title),
                     moderator)
    return room


# Built once, with its values as parameters: every day page asks (docs/performance.md,
# "Statements built once").
_OPEN_ROOMS = (select(Room).where(Room.group_id == bindparam("group_id"), Room.phase != "ended")
               .order_by(Room.id))


async def open_rooms(session: AsyncSession, group_id: int) -> list[Room]:
    return list((await session.scalars(_OPEN_ROOMS, {"group_id": group_id})).all())


async def room_for(session: AsyncSession, user: User, room_id: int, *,
                   lock: bool = False) -> tuple[Room, Membership]:
    """The room and the member's membership in its group; 404 for everyone else."""
    query = select(Room).where(Room.id == room_id)
    room = await session.scalar(query.with_for_update() if lock else query)
    if room is None:
        raise NotFound(_NO_ROOM, code="room_not_found")
    try:
        _, membership = await groups.membership_of(session, room.group_id, user.id)
    except NotFound:
        raise NotFound(_NO_ROOM, code="room_not_found") from None
    return room, membership


def state_of(room: Room) -> RoomState:
    return machine.load(room.state)


@dataclass(frozen=True)
class Changed:
    """What a command did: the seq of the event it wrote, None when it changed nothing."""

    seq: int | None

    def __bool__(self) -> bool:
        return self.seq is not None


async def command(session: AsyncSession, user: User, room_id: int,
                  body: commands.Command) -> Changed:
    """Apply one command under the room's lock; raises machine.NotAllowed and changes nothing
    when refused. Whether the room changed, and the seq of the event that says so."""
    room, membership = await room_for(session, user, room_id, lock=True)
    actor = machine.Actor(user.id, user.display_name, membership.role == "moderator")
    if body.type in SPEAKING and moderation.is_muted(membership):
        raise machine.NotAllowed(N_("A moderator has paused your posting in this group for a while."),
                                 code="muted")
    cards = None
    if body.type == "choose_scenario":
        cards = {c.id for c in await scenarios_for(session, room.group_id)}
    before = state_of(room)
    state, effects = machine.apply(before, actor, body, clock.now(), scenario_ids=cards)
    if state == before and not effects:
        return Changed(None)  # a repeat (joined already, hand up): no event that says nothing
    return Changed(await _save(session, room, state, effects, user))


async def tick(session: AsyncSession, room_id: int) -> Room | None:
    """Advance an expired timer. Whichever process gets here first does it, once: the others
    wait on the lock and then find nothing left to do."""
    room = await session.scalar(select(Room).where(Room.id == room_id).with_for_update())
    if room is None:
        return None
    before = state_of(room)
    state, effects = machine.tick(before, clock.now())
    if state == before:
        return None
    await _save(session, room, state, effects, None)
    return room


async def close_unmoderated(session: AsyncSession, room_id: int) -> bool:
    """Cairn ends a room no moderator opened or joined (see machine.close_unmoderated);
    whether it did. A moderator's room, or one ended already, is left as it is."""
    room = await session.scalar(select(Room).where(Room.id == room_id).with_for_update())
    if room is None or room.opened_by is not None:
        return False
    state, effects = machine.close_unmoderated(state_of(room))
    if not effects:
        return False
    await _save(session, room, state, effects, None)
    return True


async def _save(session: AsyncSession, room: Room, state: RoomState,
                effects: list[machine.Effect], user: User | None) -> int:
    """Store the new state with the next version and append its event; the event's seq."""
    for effect in effects:
        await _carry_out(session, room, effect, user)
    room.state, room.phase, room.version = machine.dump(state), str(state.phase), room.version + 1
    if state.phase == machine.Phase.ENDED and room.ended_at is None:
        room.ended_at = clock.now()
    await session.flush()
    ended = any(e.kind == "ended" for e in effects)
    event = (events.RoleplayEnded if ended else events.RoleplayUpdated)(
        room_id=room.id, version=room.version, phase=room.phase)
    return (await log.append(session, room.group_id, event, user)).seq


async def _round(session: AsyncSession, room: Room, number: int) -> Round:
    found = await session.scalar(select(Round).where(Round.room_id == room.id, Round.number == number))
    if found is None:
        raise machine.NotAllowed(N_("This round has not started yet."))
    return found


async def _own_round(session: AsyncSession, room: Room, number: int, user: User | None) -> Round:
    """The round, if `user` practised it: what was rated, said and saved in a round belongs
    to its practitioner, not to whoever holds the role later in it."""
    rnd = await _round(session, room, number)
    if user is None or rnd.practitioner_id != user.id:
        raise machine.NotAllowed(N_("That round was someone else's practice."))
    return rnd


async def _carry_out(session: AsyncSession, room: Room, effect: machine.Effect,
                     user: User | None) -> None:
    data = effect.data
    if effect.kind == "round_started":
        session.add(Round(room_id=room.id, group_id=room.group_id, number=data["round"],
                          practitioner_id=data["practitioner_id"],
                          counterpart_id=data["counterpart_id"], scenario_id=data["scenario_id"],
                          intensity=data["intensity"], boundary=data["boundary"],
                          created_at=clock.now()))
        await session.flush()
    elif effect.kind == "feedback":
        rnd = await _round(session, room, data["round"])
        row = await session.scalar(select(Feedback).where(
            Feedback.round_id == rnd.id, Feedback.attempt == data["attempt"],
            Feedback.from_user_id == data["from_user_id"]))
        if row is None:
            row = Feedback(round_id=rnd.id, attempt=data["attempt"],
                           from_user_id=data["from_user_id"])
            session.add(row)
        row.role, row.style, row.worked, row.try_next = (data["role"], data["style"],
                                                        data["worked"], data["try_next"])
        row.created_at = clock.now()
    elif effect.kind == "self_rate":
        rnd = await _own_round(session, room, data["round"], user)
        if data["attempt"] == 1:
            rnd.confidence_before = data["confidence"]
        else:
            rnd.confidence_after = data["confidence"]
    elif effect.kind == "homework" and user is not None:
        await _own_round(session, room, data["round"], user)
        tomorrow = clock.local_today(user.timezone) + dt.timedelta(days=1)
        await commitments.create(session, user, room.group_id, category="boundary",
                                 text=data["boundary"], day=tomorrow, visibility="private")
    elif effect.kind == "transcript" and user is not None:
        rnd = await _own_round(session, room, data["round"], user)
        session.add(Transcript(round_id=rnd.id, user_id=user.id, lines=data["lines"],
                               created_at=clock.now()))


async def hide_line(session: AsyncSession, room_id: int, line_id: int) -> None:
    """A moderator hid this line: it leaves every view of the room (if still shown)."""
    room = await session.scalar(select(Room).where(Room.id == room_id).with_for_update())
    if room is None:
        return
    state = state_of(room)
    if machine.shown_line(state, line_id) is None:
        return
    await _save(session, room, machine.without_line(state, line_id), [], None)


async def forget_member(session: AsyncSession, user_id: int) -> None:
    """Remove a deleted account from every room's state (rooms of any group)."""
    rooms = (await session.scalars(select(Room).with_for_update())).all()
    for room in rooms:
        before = state_of(room)
        state = machine.forget(before, user_id)
        if state != before:  # a new version, announced: open room pages drop them too
            await _save(session, room, state, [], None)


async def feedback_for(session: AsyncSession, round_id: int) -> list[tuple[Feedback, User | None]]:
    rows = await session.execute(
        select(Feedback, User).outerjoin(User, User.id == Feedback.from_user_id)
        .where(Feedback.round_id == round_id).order_by(Feedback.attempt, Feedback.id))
    return [(f, u) for f, u in rows.all()]


Received = list[tuple[Feedback, User | None]]


async def history(session: AsyncSession, user: User) -> list[tuple[Round, Scenario | None, Received]]:
    """My rounds as practitioner, oldest first, each with the feedback I received."""
    rows = (await session.execute(
        select(Round, Scenario).outerjoin(Scenario, Scenario.id == Round.scenario_id)
        .where(Round.practitioner_id == user.id).order_by(Round.created_at, Round.id))).all()
    return [(rnd, card, await feedback_for(session, rnd.id)) for rnd, card in rows]


async def transcripts(session: AsyncSession, user: User) -> dict[int, list[dict[str, Any]]]:
    rows = (await session.scalars(select(Transcript).where(Transcript.user_id == user.id))).all()
    return {t.round_id: t.lines for t in rows}


# -- what each person sees ------------------------------------------------------------------------


async def view(session: AsyncSession, room: Room, viewer: User, is_moderator: bool,
               language: str = i18n.SOURCE) -> dict[str, Any]:
    """The room as one person sees it, its sentences in their `language` (read now; the
    sockets share one read per change)."""
    return views.project(await views.read(session, room, "", cards=False), viewer.id, is_moderator,
                         language=language)


async def room_view(session: AsyncSession, room: Room, group_name: str) -> views.RoomView:
    """The room's full view, read now (a page)."""
    return await views.read(session, room, group_name)


async def read_view(session: AsyncSession, room_id: int) -> views.RoomView | None:
    """The room's full view, for every viewer at once; None when the room is gone."""
    found = (await session.execute(select(Room, Group.name).join(Group, Group.id == Room.group_id)
                                   .where(Room.id == room_id))).first()
    return None if found is None else await views.read(session, found[0], found[1])


async def prune(session: AsyncSession, *, days: int) -> int:
    """Forget rooms ended, and rounds practised, more than `days` ago (their feedback and
    saved transcripts go with them). Safe on any process."""
    cutoff = clock.now() - dt.timedelta(days=days)
    rounds = await session.execute(delete(Round).where(Round.created_at < cutoff))
    rooms = await session.execute(delete(Room).where(Room.ended_at < cutoff))
    return sum(getattr(result, "rowcount", 0) or 0 for result in (rounds, rooms))
