"""HTML pages for role-play: the live practice room, and opening one from the group's day."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from server.accounts import pages as account_pages
from server.deps import MAX_ID, SessionDep, SettingsDep
from server.errors import AppError, NotFound
from server.groups import pages as group_pages
from server.models.encouragements import KINDS
from server.roleplay import machine
from server.roleplay import service as roleplay
from server.roleplay.machine import Phase, Role, Roles, Style
from server.web import redirect, render

router = APIRouter(include_in_schema=False)

_NO_ROOM = "We could not find that room."

# The product's words for the room's codes; the live script reads the same words.
PHASE_NAMES: dict[str, str] = {
    Phase.LOBBY: "Gathering", Phase.SETUP: "Setting up", Phase.REHEARSE: "Rehearsal",
    Phase.SCENE: "Scene", Phase.FEEDBACK: "Feedback", Phase.REPLAY: "Replay",
    Phase.SHARING: "Sharing", Phase.PAUSED: "Time-out", Phase.ENDED: "Ended",
}
ROLE_NAMES: dict[str, str] = {Role.PRACTITIONER: "Practising", Role.COUNTERPART: "Counterpart",
                              Role.OBSERVER: "Observer"}
STYLE_NAMES: dict[str, str] = {Style.ASSERTIVE: "Assertive", Style.PASSIVE: "Passive",
                               Style.PASSIVE_AGGRESSIVE: "Passive-aggressive",
                               Style.AGGRESSIVE: "Aggressive"}
STYLE_HINTS: dict[str, str] = {
    Style.ASSERTIVE: "Clear and respectful, of both people.",
    Style.PASSIVE: "Gave way, or the boundary was hard to hear.",
    Style.PASSIVE_AGGRESSIVE: "Indirect: the no came out sideways.",
    Style.AGGRESSIVE: "Held the line, but at the other's expense.",
}
INTENSITY_NAMES = {1: "Cooperative", 2: "Pushes back with guilt", 3: "Escalates"}
INTENSITY_HINTS = {
    1: "The counterpart listens and accepts the boundary.",
    2: "The counterpart guilt-trips you. A good place to start stretching.",
    3: "The counterpart gets angry. Choose this when you feel steady.",
}
CONFIDENCE_NAMES = {1: "Shaky", 2: "Unsure", 3: "Somewhat steady", 4: "Steady", 5: "Very steady"}
EXTEND_CHOICES = ((30, "30 seconds"), (60, "a minute"))


def role_of(frame: dict[str, Any], user_id: int) -> Role:
    roles = frame["roles"]
    return Roles(roles["practitioner"], roles["counterpart"]).role_of(user_id)


def names_of(frame: dict[str, Any]) -> dict[int, str]:
    return {p["user_id"]: p["display_name"] for p in frame["participants"]}


def card_shown(frame: dict[str, Any], role: Role) -> bool:
    """The chosen card shows once chosen, except in a time-out, and except to the practitioner
    while they are still choosing (they see their choices in the setup form)."""
    if not frame["scenario"] or frame["phase"] in (Phase.LOBBY, Phase.PAUSED, Phase.ENDED):
        return False
    return not (frame["phase"] == Phase.SETUP and role == Role.PRACTITIONER)


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
        my_role=role, names=names_of(frame), turn=frame["turn"], card_shown=card_shown(frame, role),
        clock=clock_text(frame), seconds_left=seconds_left(frame), words=words(),
        phase_names=PHASE_NAMES, role_names=ROLE_NAMES, style_names=STYLE_NAMES,
        style_hints=STYLE_HINTS, intensity_names=INTENSITY_NAMES,
        intensity_hints=INTENSITY_HINTS, confidence_names=CONFIDENCE_NAMES, cheers=KINDS,
        extend_choices=EXTEND_CHOICES, boundary_max=machine.BOUNDARY_MAX,
        line_max=machine.LINE_MAX, feedback_max=machine.FEEDBACK_MAX,
    )


@router.post("/groups/{gid:int}/rooms")
async def open_room(request: Request, member: group_pages.PageMember, session: SessionDep,
                    settings: SettingsDep) -> Response:
    """Moderators: open a practice room for the group, then go into it."""
    form = await account_pages.checked_form(request)
    group_pages.require_moderator(member)
    values = {"title": form.text("title")}
    try:
        room = await roleplay.open_room(session, member.user, member.group.id, values["title"],
                                        rehearse_seconds=settings.roleplay_rehearse_seconds,
                                        scene_seconds=settings.roleplay_scene_seconds)
    except AppError as exc:
        await account_pages.undo(session, exc, member.user, member.group, member.membership)
        response = await group_pages.day_page(request, session, member, status=exc.status,
                                              room_form=values, room_error=exc.detail)
        return response
    return redirect(f"/groups/{member.group.id}/rooms/{room.id}",
                    "The practice room is open. Members can join it from the group's page.")
