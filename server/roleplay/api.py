"""JSON routes for scenario cards, rooms and my role-play history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from server.deps import MAX_ID, CurrentUser, GroupMember, GroupModerator, Id, SessionDep, SettingsDep
from server.groups import service as groups
from server.models import Scenario
from server.roleplay import service as roleplay

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


def scenario_out(card: Scenario) -> ScenarioOut:
    return ScenarioOut(id=card.id, group_id=card.group_id, builtin=card.group_id is None,
                       title=card.title, situation=card.situation, opening_line=card.opening_line,
                       intensities=list(card.intensities))


@router.get("/scenarios", response_model=list[ScenarioOut])
async def list_scenarios(
    user: CurrentUser, session: SessionDep,
    group_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[ScenarioOut]:
    """The built-in cards, and a group's own cards when you are a member of it."""
    if group_id is not None:
        await groups.membership_of(session, group_id, user.id)
    return [scenario_out(c) for c in await roleplay.scenarios_for(session, group_id)]


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
async def open_room(body: RoomIn, moderator: GroupModerator, session: SessionDep,
                    settings: SettingsDep) -> RoomOut:
    """Open a practice room (moderators); members join it from the group page."""
    room = await roleplay.open_room(session, moderator.user, moderator.group.id, body.title,
                                    rehearse_seconds=settings.roleplay_rehearse_seconds,
                                    scene_seconds=settings.roleplay_scene_seconds)
    return RoomOut(id=room.id, **await roleplay.view(session, room, moderator.user, True))


@router.get("/groups/{gid}/roleplays", response_model=list[RoomOut])
async def open_rooms(member: GroupMember, session: SessionDep) -> list[RoomOut]:
    """The group's rooms that have not ended."""
    return [RoomOut(id=r.id, **await roleplay.view(session, r, member.user, member.is_moderator))
            for r in await roleplay.open_rooms(session, member.group.id)]


@router.get("/roleplays/{rid}", response_model=RoomOut)
async def get_room(rid: Id, user: CurrentUser, session: SessionDep) -> RoomOut:
    room, membership = await roleplay.room_for(session, user, rid)
    return RoomOut(id=room.id, **await roleplay.view(session, room, user,
                                                     membership.role == "moderator"))


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


