"""HTML pages for role-play: the live practice room, and opening one from the group's day."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from server.deps import MAX_ID, SessionDep, SettingsDep
from server.errors import AppError, NotFound
from server.forms import checked_form, submit
from server.groups import pages as group_pages
from server.models.encouragements import KINDS
from server.roleplay import machine
from server.roleplay import service as roleplay
from server.web import redirect, render

router = APIRouter(include_in_schema=False)

_NO_ROOM = "We could not find that room."

# The product's words for the room's codes; the live script reads the same words.
PHASE_NAMES = {
    "lobby": "Gathering", "setup": "Setting up", "rehearse": "Rehearsal", "scene": "Scene",
    "feedback": "Feedback", "replay": "Replay", "sharing": "Sharing", "paused": "Time-out",
    "ended": "Ended",
}
ROLE_NAMES = {"practitioner": "Practising", "counterpart": "Counterpart", "observer": "Observer"}
STYLE_NAMES = {"assertive": "Assertive", "passive": "Passive",
               "passive_aggressive": "Passive-aggressive", "aggressive": "Aggressive"}
STYLE_HINTS = {
    "assertive": "Clear and respectful, of both people.",
    "passive": "Gave way, or the boundary was hard to hear.",
    "passive_aggressive": "Indirect: the no came out sideways.",
    "aggressive": "Held the line, but at the other's expense.",
}
INTENSITY_NAMES = {1: "Cooperative", 2: "Pushes back with guilt", 3: "Escalates"}
INTENSITY_HINTS = {
    1: "The counterpart listens and accepts the boundary.",
    2: "The counterpart guilt-trips you. A good place to start stretching.",
    3: "The counterpart gets angry. Choose this when you feel steady.",
}
CONFIDENCE_NAMES = {1: "Shaky", 2: "Unsure", 3: "Somewhat steady", 4: "Steady", 5: "Very steady"}
EXTEND_CHOICES = ((30, "30 seconds"), (60, "a minute"))


def role_of(frame: dict[str, Any], user_id: int) -> str:
    roles = frame["roles"]
    if roles["practitioner"] == user_id:
        return "practitioner"
    if roles["counterpart"] == user_id:
        return "counterpart"
    return "observer"


def names_of(frame: dict[str, Any]) -> dict[int, str]:
    return {p["user_id"]: p["display_name"] for p in frame["participants"]}


def turn(frame: dict[str, Any]) -> str:
    """Whose turn it is, in a sentence (room.js says the same; keep them in step)."""
    names = names_of(frame)
    me = frame["me"]["user_id"]

    def who(user_id: int | None) -> str:
        if user_id is None:
            return "Nobody yet"
        return "You" if user_id == me else names.get(user_id, "Someone who left")

    def says(user_id: int | None, doing: str) -> str:
        return f"{who(user_id)} {'are' if user_id == me else 'is'} {doing}"

    roles, phase = frame["roles"], frame["phase"]
    practitioner, counterpart = roles["practitioner"], roles["counterpart"]
    if phase == "lobby":
        if practitioner and counterpart:
            return "The moderator starts the round when everyone is ready."
        return "The moderator is choosing who practises and who plays the counterpart."
    if phase == "setup":
        if frame["scenario"] and frame["boundary"]:
            return "The moderator starts the rehearsal when the practitioner is ready."
        return says(practitioner, "choosing a card and a boundary.")
    if phase == "rehearse":
        return "Everyone has a quiet moment to prepare."
    if phase in ("scene", "replay"):
        pair = [who(counterpart), who(practitioner)]
        if pair[0] == "You":
            pair.reverse()
        return f"{pair[0]} and {'you' if pair[1] == 'You' else pair[1]} are speaking."
    if phase == "feedback":
        if counterpart not in frame["feedback_in"]:
            return says(counterpart, "giving feedback first.")
        observers = [p["user_id"] for p in frame["participants"]
                     if p["user_id"] not in (practitioner, counterpart)]
        if any(uid not in frame["feedback_in"] for uid in observers):
            return "The observers are giving feedback."
        return "The moderator chooses what comes next."
    if phase == "sharing":
        return "Anyone can share what came up for them."
    if phase == "paused":
        return "Take the time you need. A moderator resumes when everyone is ready."
    return "This room has ended."


def card_shown(frame: dict[str, Any], role: str) -> bool:
    """The chosen card shows once chosen, except in a time-out, and except to the practitioner
    while they are still choosing (they see their choices in the setup form)."""
    if not frame["scenario"] or frame["phase"] in ("lobby", "paused", "ended"):
        return False
    return not (frame["phase"] == "setup" and role == "practitioner")


def seconds_left(frame: dict[str, Any]) -> int | None:
    deadline, now = machine.parse_time(frame["deadline"]), machine.parse_time(frame["now"])
    if deadline is None or now is None:
        return None
    return max(0, int((deadline - now).total_seconds() + 0.999))


def clock_text(frame: dict[str, Any]) -> str:
    left = seconds_left(frame)
    if left is not None:
        return f"{left // 60}:{left % 60:02d}"
    return {"paused": "Paused", "ended": "Ended"}.get(frame["phase"], "No timer")


def words() -> dict[str, Any]:
    """What the live script needs to say things the way the page does."""
    return {"phase": PHASE_NAMES, "role": ROLE_NAMES, "style": STYLE_NAMES,
            "intensity": INTENSITY_NAMES, "cheer": KINDS, "confidence": CONFIDENCE_NAMES}


@router.get("/groups/{gid:int}/rooms/{rid:int}")
async def room_page(rid: int, request: Request, member: group_pages.PageMember,
                    session: SessionDep) -> Response:
    """A live practice room, for the members of its group. The page shows the room as it is;
    room.js keeps it live over /ws/roleplays/{rid}."""
    if not 1 <= rid <= MAX_ID:
        raise NotFound(_NO_ROOM, code="room_not_found")
    room, _ = await roleplay.room_for(session, member.user, rid)
    if room.group_id != member.group.id:
        raise NotFound(_NO_ROOM, code="room_not_found")
    frame = await roleplay.view(session, room, member.user, member.is_moderator)
    if frame["me"]["removed"]:
        return redirect(f"/groups/{member.group.id}",
                        "A moderator asked you to step out of that practice room.")
    role = role_of(frame, member.user.id)
    return render(
        request, "roleplay/room.html", group=member.group, member=member, room=frame,
        my_role=role, names=names_of(frame), turn=turn(frame), card_shown=card_shown(frame, role),
        clock=clock_text(frame), seconds_left=seconds_left(frame), words=words(),
        phase_names=PHASE_NAMES, role_names=ROLE_NAMES, style_names=STYLE_NAMES,
        style_hints=STYLE_HINTS, intensity_names=INTENSITY_NAMES,
        intensity_hints=INTENSITY_HINTS, confidence_names=CONFIDENCE_NAMES, cheers=KINDS,
        extend_choices=EXTEND_CHOICES, boundary_max=machine.BOUNDARY_MAX,
        line_max=machine.LINE_MAX, feedback_max=machine.FEEDBACK_MAX,
    )


@router.post("/groups/{gid:int}/rooms")
async def open_room(request: Request, member: group_pages.PageModerator, session: SessionDep,
                    settings: SettingsDep) -> Response:
    """Moderators: open a practice room for the group, then go into it."""
    form = await checked_form(request)
    values = {"title": form.text("title")}

    async def act() -> Response:
        room = await roleplay.open_room(session, member.user, member.group.id, values["title"],
                                        rehearse_seconds=settings.roleplay_rehearse_seconds,
                                        scene_seconds=settings.roleplay_scene_seconds)
        return redirect(f"/groups/{member.group.id}/rooms/{room.id}",
                        "The practice room is open. Members can join it from the group's page.")

    async def again(exc: AppError) -> Response:
        return await group_pages.day_page(request, session, member, status=exc.status,
                                          room_form=values, room_error=exc.detail)

    return await submit(session, act, again)
