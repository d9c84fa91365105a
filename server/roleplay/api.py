"""JSON routes for scenario cards, rooms and my role-play history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field

from server import i18n
from server.deps import MAX_ID, CurrentUser, GroupMember, GroupModerator, Id, SessionDep, SettingsDep
from server.groups import service as groups
from server.models import Scenario
from server.roleplay import service as roleplay
from server.roleplay.views import card_of

router = APIRouter(prefix="/api/v1", tags=["role-play"])


class ScenarioIn(BaseModel):
    title: str = Field(min_length=1, max_length=80)
    situation: str = Field(min_length=1, max_length=1000)
    opening_line: str = Field(min_length=1, max_length=500)
    intensities: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        min_length=3, max_length=3,
        description="The counterpart's answer when cooperative, guilt-tripping, escalating.")


class ScenarioOut(BaseModel):
    id: int
    group_id: int | None
    builtin: bool
    title: str
    situation: str
    opening_line: str
    intensities: list[str]


class RoomIn(BaseModel):
    title: str | None = Field(default=None, max_length=80)
    language: str | None = Field(
        default=None, max_length=16,
        description="The room's language (its cards read in it, for everyone in the room): one "
                    "Cairn offers; the opener's own when left out.")


class RoomOut(BaseModel):
    """The room as the caller sees it (the same document the room socket sends)."""

    model_config = {"extra": "allow"}

    type: Literal["room"] = "room"
    room_id: int
    id: int
    group_id: int
    title: str
    version: int
    phase: str
    round: int


class FeedbackOut(BaseModel):
    attempt: int
    role: str
    style: str
    worked: str
    try_next: str | None
    from_display_name: str


class RoundOut(BaseModel):
    round_id: int
    room_id: int
    group_id: int
    number: int
    at: dt.datetime
    scenario_title: str | None
    intensity: int
    boundary: str
    confidence_before: int | None
    confidence_after: int | None
    feedback: list[FeedbackOut]
    transcript: list[dict[str, Any]] | None


def scenario_out(row: Scenario, language: str = i18n.SOURCE) -> ScenarioOut:
    """A card as a reader of `language` reads it (Cairn's own cards in that language)."""
    card = card_of(row, language)
    return ScenarioOut(id=card.id, group_id=row.group_id, builtin=card.builtin,
                       title=card.title, situation=card.situation, opening_line=card.opening_line,
                       intensities=list(card.intensities))


@router.get("/scenarios", response_model=list[ScenarioOut])
async def list_scenarios(
    request: Request, user: CurrentUser, session: SessionDep,
    group_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[ScenarioOut]:
    """The built-in cards (in your language), and a group's own cards when you are a member
    of it."""
    if group_id is not None:
        await groups.membership_of(session, group_id, user.id)
    language = i18n.language_of(request)
    return [scenario_out(c, language) for c in await roleplay.scenarios_for(session, group_id)]


@router.post("/groups/{gid}/scenarios", status_code=status.HTTP_201_CREATED,
             response_model=ScenarioOut)
async def create_scenario(body: ScenarioIn, moderator: GroupModerator,
                          session: SessionDep) -> ScenarioOut:
    card = await roleplay.create_scenario(session, moderator.user, moderator.group.id,
                                          title=body.title, situation=body.situation,
                                          opening_line=body.opening_line,
                                          intensities=body.intensities)
    return scenario_out(card)


@router.post("/groups/{gid}/roleplays", status_code=status.HTTP_201_CREATED,
             response_model=RoomOut)
async def open_room(request: Request, body: RoomIn, moderator: GroupModerator,
                    session: SessionDep, settings: SettingsDep) -> RoomOut:
    """Open a practice room (moderators), in a language (`invalid_language` for one Cairn does
    not offer; yours when left out); members join it from the group page."""
    reader = i18n.language_of(request)
    room = await roleplay.open_room(session, moderator.user, moderator.group.id, body.title,
                                    language=roleplay.room_language(body.language, reader),
                                    rehearse_seconds=settings.roleplay_rehearse_seconds,
                                    scene_seconds=settings.roleplay_scene_seconds)
    return RoomOut(id=room.id, **await roleplay.view(session, room, moderator.user, True, reader))


@router.get("/groups/{gid}/roleplays", response_model=list[RoomOut])
async def open_rooms(request: Request, member: GroupMember, session: SessionDep) -> list[RoomOut]:
    """The group's rooms that have not ended."""
    reader = i18n.language_of(request)
    return [RoomOut(id=r.id, **await roleplay.view(session, r, member.user, member.is_moderator,
                                                   reader))
            for r in await roleplay.open_rooms(session, member.group.id)]


@router.get("/roleplays/{rid}", response_model=RoomOut)
async def get_room(request: Request, rid: Id, user: CurrentUser, session: SessionDep) -> RoomOut:
    room, membership = await roleplay.room_for(session, user, rid)
    return RoomOut(id=room.id, **await roleplay.view(session, room, user,
                                                     membership.role == "moderator",
                                                     i18n.language_of(request)))


@router.get("/me/roleplay-history", response_model=list[RoundOut])
async def my_history(user: CurrentUser, session: SessionDep) -> list[RoundOut]:
    """My rounds as practitioner, with the feedback I received (only I can see it)."""
    saved = await roleplay.transcripts(session, user)
    return [RoundOut(
        round_id=rnd.id, room_id=rnd.room_id, group_id=rnd.group_id, number=rnd.number,
        at=rnd.created_at, scenario_title=card.title if card else None, intensity=rnd.intensity,
        boundary=rnd.boundary, confidence_before=rnd.confidence_before,
        confidence_after=rnd.confidence_after,
        feedback=[FeedbackOut(attempt=f.attempt, role=f.role, style=f.style, worked=f.worked,
                              try_next=f.try_next,
                              from_display_name=u.display_name if u else "a former member")
                  for f, u in feedback],
        transcript=saved.get(rnd.id),
    ) for rnd, card, feedback in await roleplay.history(session, user)]


