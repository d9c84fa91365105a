"""HTML pages for role-play: the live practice room, and opening one from the group's day."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from fastapi import APIRouter, Request
from fastapi.responses import Response

from server import i18n
from server.deps import MAX_ID, SessionDep, SettingsDep
from server.errors import AppError, NotFound
from server.forms import checked_form, submit
from server.groups import pages as group_pages
from server.i18n import N_
from server.models.encouragements import KINDS, Cheer
from server.realtime import fragments
from server.roleplay import machine, views
from server.roleplay import service as roleplay
from server.roleplay.machine import Phase, Role, Roles, Style
from server.web import macros, redirect, render

router = APIRouter(include_in_schema=False)

_NO_ROOM = N_("We could not find that room.")

# The product's words for the room's codes (marked here, said in each reader's language by
# the templates).
PHASE_NAMES: dict[str, str] = {
    Phase.LOBBY: N_("Gathering"), Phase.SETUP: N_("Setting up"), Phase.REHEARSE: N_("Rehearsal"),
    Phase.SCENE: N_("Scene"), Phase.FEEDBACK: N_("Feedback"), Phase.REPLAY: N_("Replay"),
    Phase.SHARING: N_("Sharing"), Phase.PAUSED: N_("Time-out"), Phase.ENDED: N_("Ended"),
}
ROLE_NAMES: dict[str, str] = {Role.PRACTITIONER: N_("Practising"),
                              Role.COUNTERPART: N_("Counterpart"), Role.OBSERVER: N_("Observer")}
STYLE_NAMES: dict[str, str] = {Style.ASSERTIVE: N_("Assertive"), Style.PASSIVE: N_("Passive"),
                               Style.PASSIVE_AGGRESSIVE: N_("Passive-aggressive"),
                               Style.AGGRESSIVE: N_("Aggressive")}
STYLE_HINTS: dict[str, str] = {
    Style.ASSERTIVE: N_("Clear and respectful, of both people."),
    Style.PASSIVE: N_("Gave way, or the boundary was hard to hear."),
    Style.PASSIVE_AGGRESSIVE: N_("Indirect: the no came out sideways."),
    Style.AGGRESSIVE: N_("Held the line, but at the other's expense."),
}
INTENSITY_NAMES = {1: N_("Cooperative"), 2: N_("Pushes back with guilt"), 3: N_("Escalates")}
INTENSITY_HINTS = {
    1: N_("The counterpart listens and accepts the boundary."),
    2: N_("The counterpart guilt-trips you. A good place to start stretching."),
    3: N_("The counterpart gets angry. Choose this when you feel steady."),
}
CONFIDENCE_NAMES = {1: N_("Shaky"), 2: N_("Unsure"), 3: N_("Somewhat steady"), 4: N_("Steady"),
                    5: N_("Very steady")}
EXTEND_CHOICES = ((30, N_("Add 30 seconds")), (60, N_("Add a minute")))


def role_of(frame: dict[str, Any], user_id: int) -> Role:
    roles = frame["roles"]
    return Roles(roles["practitioner"], roles["counterpart"]).role_of(user_id)


def names_of(frame: dict[str, Any]) -> dict[int, str]:
    return {p["user_id"]: p["display_name"] for p in frame["participants"]}


def phase_seen(frame: dict[str, Any]) -> str:
    """The phase whose words and card stay in view: in a time-out, the one it paused (what
    was said and the card do not vanish while everyone takes a breath)."""
    paused = frame.get("paused")
    if frame["phase"] == Phase.PAUSED and paused:
        return str(paused["from"])
    return str(frame["phase"])


def card_shown(frame: dict[str, Any], role: Role) -> bool:
    """The chosen card shows once chosen, also in a time-out, except to the practitioner
    while they are still choosing (they see their choices in the setup form)."""
    phase = phase_seen(frame)
    if not frame["scenario"] or phase in (Phase.LOBBY, Phase.ENDED):
        return False
    return not (phase == Phase.SETUP and role == Role.PRACTITIONER)


def seconds_left(frame: dict[str, Any]) -> int | None:
    deadline, now = machine.parse_time(frame["deadline"]), machine.parse_time(frame["now"])
    if deadline is None or now is None:
        return None
    return max(0, int((deadline - now).total_seconds() + 0.999))


def clock_text(frame: dict[str, Any]) -> str:
    """The clock as the page first draws it: the time left ("1:05"), else a word for the
    templates to say (marked with N_)."""
    left = seconds_left(frame)
    if left is not None:
        return f"{left // 60}:{left % 60:02d}"
    return {"paused": N_("Paused"), "ended": N_("Ended")}.get(frame["phase"], N_("No timer"))


@dataclass(frozen=True)
class RoomPage:
    """The room as one person sees it, as the macros of roleplay/_room.html read it."""

    room: dict[str, Any]  # the room frame (views.project)
    role: Role
    me: int
    gid: int
    group_name: str
    names: dict[int, str]
    card_shown: bool
    clock: str
    seconds_left: int | None
    muted: bool
    cards: tuple[views.Card, ...]
    shown: dict[str, bool]

    phase_names: ClassVar[dict[str, str]] = PHASE_NAMES
    role_names: ClassVar[dict[str, str]] = ROLE_NAMES
    style_names: ClassVar[dict[str, str]] = STYLE_NAMES
    style_hints: ClassVar[dict[str, str]] = STYLE_HINTS
    intensity_names: ClassVar[dict[int, str]] = INTENSITY_NAMES
    intensity_hints: ClassVar[dict[int, str]] = INTENSITY_HINTS
    confidence_names: ClassVar[dict[int, str]] = CONFIDENCE_NAMES
    cheers: ClassVar[dict[Cheer, str]] = KINDS
    extend_choices: ClassVar[tuple[tuple[int, str], ...]] = EXTEND_CHOICES
    boundary_max: ClassVar[int] = machine.BOUNDARY_MAX
    line_max: ClassVar[int] = machine.LINE_MAX
    feedback_max: ClassVar[int] = machine.FEEDBACK_MAX

    @property
    def words_open(self) -> bool:
        """The scene's words are folded away while feedback is given, to keep the page short;
        one tap opens them again."""
        return phase_seen(self.room) != Phase.FEEDBACK

    @property
    def card_folded(self) -> bool:
        """The card's situation and lines fold under its title once the scene has begun for
        the two who speak (their line's box reminds them of their words), and for everyone
        after the scene. The boundary always shows."""
        phase = phase_seen(self.room)
        if phase in (Phase.FEEDBACK, Phase.SHARING):
            return True
        return phase in (Phase.SCENE, Phase.REPLAY) and self.role != Role.OBSERVER


def page_of(view: views.RoomView, viewer: int, is_moderator: bool,
            frame: dict[str, Any] | None = None, *, live: bool = False,
            language: str = i18n.SOURCE) -> RoomPage:
    """live: for a socket's swaps, where the clock is left for room.js to count down (the
    time left differs at every frame; the markup then changes only when the room does).
    language: the reader's (the frame, when given, was projected in it)."""
    frame = (frame if frame is not None
             else views.project(view, viewer, is_moderator, language=language))
    role = role_of(frame, viewer)
    phase = frame["phase"]
    mine = next((p for p in frame["participants"] if p["user_id"] == viewer), None)
    shown = {
        "panel-setup": phase == Phase.SETUP,
        "panel-feedback": phase == Phase.FEEDBACK,
        "panel-mine": role == Role.PRACTITIONER and phase in (Phase.FEEDBACK, Phase.SHARING,
                                                              Phase.ENDED),
        "panel-words": phase_seen(frame) in (Phase.SCENE, Phase.REPLAY, Phase.FEEDBACK,
                                             Phase.SHARING),
    }
    return RoomPage(frame, role, viewer, view.group_id, view.group_name, names_of(frame),
                    card_shown(frame, role),
                    "" if live and frame["deadline"] else clock_text(frame), seconds_left(frame),
                    bool(mine and mine["muted"]),
                    view.cards if role == Role.PRACTITIONER and phase == Phase.SETUP else (),
                    shown)


# The parts of the room, each drawn by the macro of the same name, in the page's order.
PARTS = ("status", "moderate", "paused", "lobby", "setup_done", "setup_forms", "setup_waiting",
         "rehearse", "feedback_status", "feedback_giver", "my_feedback", "confidence",
         "confidence_saved", "keep", "words_head", "lines_empty", "say", "cheer", "card",
         "ended", "people_count", "hands", "leave")


# Parts drawn only from the room and the reader's role, moderating, being in the room and
# being muted (never from who they are): drawn once per such reader and version.
SHARED_PARTS = frozenset({"moderate", "lobby", "setup_forms", "rehearse", "confidence",
                          "words_head", "lines_empty", "say", "cheer", "card", "ended",
                          "people_count"})


@dataclass
class Drawn:
    """What one socket's page shows now, as last sent: each part's markup, the shells' being
    shown, each person's row and the lines. The next frame carries only what changed."""

    parts: dict[str, str] = field(default_factory=dict)
    shown: dict[str, bool] = field(default_factory=dict)
    rows: dict[int, tuple[str, ...]] = field(default_factory=dict)  # (tags, role, controls)
    lines: list[str] = field(default_factory=list)


def _target(html: str) -> str:
    """The id of the element a part draws (its first id attribute)."""
    start = html.index(' id="') + 5
    return "#" + html[start:html.index('"', start)]


def swaps(r: RoomPage, before: Drawn | None, shared: dict[Any, Any] | None = None,
          language: str = i18n.SOURCE) -> tuple[list[fragments.Swap], Drawn]:
    """The swaps that bring a page drawn as `before` (None: unknown, send everything) to `r`,
    drawn in the reader's `language`. `shared` keeps, for one version of the room, the markup
    that does not depend on who reads it beyond the key it is kept under (another person's
    row, a line), which holds the language."""
    m = macros("roleplay/_room.html", language)
    memo: dict[Any, Any] = shared if shared is not None else {}
    moderator = bool(r.room["me"]["is_moderator"])

    def once(key: Any, draw: Any) -> Any:
        if key not in memo:
            memo[key] = draw()
        return memo[key]

    now = Drawn()
    out: list[fragments.Swap] = []
    reader = (language, r.role, moderator, bool(r.room["me"]["joined"]), r.muted)
    for name in PARTS:
        def draw(name: str = name) -> str:
            return str(getattr(m, name)(r)).strip()
        html = once(("part", name, *reader), draw) if name in SHARED_PARTS else draw()
        now.parts[name] = html
        if before is None or before.parts.get(name) != html:
            out.append(fragments.swap(_target(html), "replace", html))
    for shell, shown in r.shown.items():
        now.shown[shell] = shown
        if before is None or before.shown.get(shell) != shown:
            out.append(fragments.swap("#" + shell, "show" if shown else "hide"))
    # People: rows come and go one by one; a row's tags, role picker and other controls
    # change apart.
    def row_parts(p: dict[str, Any]) -> tuple[str, ...]:
        return tuple(str(draw(r, p)).strip() for draw in (
            m.person_tags, m.person_role, m.person_moderate))

    def row(p: dict[str, Any]) -> str:
        return str(m.person(r, p)).strip()

    # Another person's row reads only the room and whether the reader moderates.
    def mine(p: dict[str, Any]) -> Any:
        return r.me if p["user_id"] == r.me else None

    for p in r.room["participants"]:
        now.rows[p["user_id"]] = once(("row", language, p["user_id"], moderator, mine(p)),
                                      lambda p=p: row_parts(p))
    if before is None:
        out.append(fragments.swap("#participants", "replace", str(m.participants(r)).strip()))
    else:
        for uid in before.rows:
            if uid not in now.rows:
                out.append(fragments.swap(f"#participant-{uid}", "remove"))
        for p in r.room["participants"]:
            uid = p["user_id"]
            if uid not in before.rows:
                out.append(fragments.swap("#participants", "append", once(
                    ("person", language, uid, moderator, mine(p)), lambda p=p: row(p))))
                continue
            for old, new in zip(before.rows[uid], now.rows[uid], strict=True):
                if old != new:
                    out.append(fragments.swap(_target(new), "replace", new))
    # Lines only grow within a round: new ones are appended, anything else redraws the list.
    joined = bool(r.room["me"]["joined"])
    now.lines = [once(("line", language, i, joined, line["by"] == r.me and r.me),
                      lambda line=line: str(m.line(r, line)).strip())
                 for i, line in enumerate(r.room["lines"])]
    if before is not None and now.lines[:len(before.lines)] == before.lines:
        out.extend(fragments.swap("#lines", "append", html) for html in now.lines[len(before.lines):])
    elif before is None or now.lines != before.lines:
        out.append(fragments.swap("#lines", "replace", str(m.lines(r)).strip()))
    return out, now


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
    view = await roleplay.room_view(session, room, member.group.name)
    language = i18n.language_of(request)
    frame = views.project(view, member.user.id, member.is_moderator, language=language)
    if frame["me"]["removed"]:
        return redirect(f"/groups/{member.group.id}", i18n.translate(
            request, N_("A moderator asked you to step out of that practice room.")))
    return render(request, "roleplay/room.html", group=member.group,
                  r=page_of(view, member.user.id, member.is_moderator, frame, language=language))


@router.post("/groups/{gid:int}/rooms")
async def open_room(request: Request, member: group_pages.PageModerator, session: SessionDep,
                    settings: SettingsDep) -> Response:
    """Moderators: open a practice room for the group, then go into it."""
    form = await checked_form(request)
    values = {"title": form.text("title"), "language": form.text("language")[:16]}

    async def act() -> Response:
        # The room's language: the one chosen when opening it, else the opener's own.
        language = roleplay.room_language(values["language"], i18n.language_of(request))
        room = await roleplay.open_room(session, member.user, member.group.id, values["title"],
                                        language=language,
                                        rehearse_seconds=settings.roleplay_rehearse_seconds,
                                        scene_seconds=settings.roleplay_scene_seconds)
        return redirect(f"/groups/{member.group.id}/rooms/{room.id}", i18n.translate(
            request, N_("The practice room is open. Members can join it from the group's page.")))

    async def again(exc: AppError) -> Response:
        return await group_pages.day_page(request, session, member, status=exc.status,
                                          room_form=values, room_error=i18n.say(request, exc))

    return await submit(session, act, again)
