"""JSON routes for reports, hiding, muting, roles, the audit log and crisis resources."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from server.deps import MAX_ID, GroupMember, GroupModerator, Id, SessionDep, SettingsDep
from server.groups.schemas import MemberOut
from server.models import User
from server.moderation import crisis
from server.moderation import service as moderation

router = APIRouter(prefix="/api/v1", tags=["moderation"])

TargetType = Literal["commitment", "checkin", "encouragement", "scenario", "roleplay_line"]


class HideIn(BaseModel):
    target_type: TargetType
    target_id: int = Field(ge=1, le=MAX_ID)
    reason: str = Field(min_length=1, max_length=moderation.REASON_MAX)


class ReportIn(HideIn):
    # A role-play line is named by its room and its id there, while the room shows it.
    room_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class ReportOut(BaseModel):
    id: int
    group_id: int
    target_type: TargetType
    target_id: int
    reason: str
    status: Literal["open", "resolved"]
    reporter: str
    created_at: dt.datetime


class HiddenOut(BaseModel):
    id: int
    group_id: int
    target_type: TargetType
    target_id: int
    reason: str
    at: dt.datetime


class MuteIn(BaseModel):
    minutes: int = Field(ge=1, le=moderation.MUTE_MINUTES_MAX)
    reason: str = Field(min_length=1, max_length=moderation.REASON_MAX)


class MuteOut(BaseModel):
    user_id: int
    muted_until: dt.datetime
    reason: str


class RoleIn(BaseModel):
    role: Literal["moderator", "member"]


class AuditOut(BaseModel):
    at: dt.datetime
    actor: str = Field(description="The moderator's display name; `Cairn` when the server's operator did it; "
                                   "`a former moderator` once the moderator has deleted their account.")
    action: str
    target: str = Field(description="Who or what the action was about; `a former member` once that member "
                                    "has deleted their account.")
    reason: str | None = Field(description="The reason given; null if none, or once the moderator who gave "
                                           "it has deleted their account.")


def _name(user: User | None, fallback: str) -> str:
    return user.display_name if user else fallback


@router.post("/groups/{gid}/reports", status_code=status.HTTP_201_CREATED, response_model=ReportOut)
async def report(body: ReportIn, member: GroupMember, session: SessionDep) -> ReportOut:
    """Report content to the group's moderators (any member)."""
    row = await moderation.report(session, member.user, member.group.id, target_type=body.target_type,
                                  target_id=body.target_id, reason=body.reason,
                                  room_id=body.room_id)
    return ReportOut(id=row.id, group_id=row.group_id, target_type=row.target_type,
                     target_id=row.target_id, reason=row.reason, status=row.status,
                     reporter=member.user.display_name, created_at=row.created_at)


@router.get("/groups/{gid}/reports", response_model=list[ReportOut])
async def reports(moderator: GroupModerator, session: SessionDep,
                  status: Annotated[Literal["open", "resolved"] | None, Query()] = None) -> list[ReportOut]:
    return [ReportOut(id=r.id, group_id=r.group_id, target_type=r.target_type, target_id=r.target_id,
                      reason=r.reason, status=r.status, reporter=_name(u, "a former member"),
                      created_at=r.created_at)
            for r, u in await moderation.reports(session, moderator.group.id, status)]


@router.post("/groups/{gid}/hidden", status_code=status.HTTP_201_CREATED, response_model=HiddenOut)
async def hide(body: HideIn, moderator: GroupModerator, session: SessionDep) -> HiddenOut:
    """Hide content: gone for everyone but its author, live too."""
    row = await moderation.hide(session, moderator.user, moderator.group.id,
                                target_type=body.target_type, target_id=body.target_id,
                                reason=body.reason)
    return HiddenOut(id=row.id, group_id=row.group_id, target_type=row.target_type,
                     target_id=row.target_id, reason=row.reason, at=row.at)


@router.put("/groups/{gid}/members/{uid}/mute", response_model=MuteOut)
async def mute(uid: Id, body: MuteIn, moderator: GroupModerator, session: SessionDep) -> MuteOut:
    membership = await moderation.mute(session, moderator.user, moderator.group.id, uid,
                                       minutes=body.minutes, reason=body.reason)
    assert membership.muted_until is not None and membership.mute_reason is not None
    return MuteOut(user_id=uid, muted_until=membership.muted_until, reason=membership.mute_reason)


@router.delete("/groups/{gid}/members/{uid}/mute", status_code=status.HTTP_204_NO_CONTENT)
async def unmute(uid: Id, moderator: GroupModerator, session: SessionDep) -> Response:
    await moderation.unmute(session, moderator.user, moderator.group.id, uid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.patch("/groups/{gid}/members/{uid}", response_model=MemberOut)
async def set_role(uid: Id, body: RoleIn, moderator: GroupModerator, session: SessionDep) -> MemberOut:
    """Promote a member to moderator, or step a moderator back to member."""
    membership = await moderation.set_role(session, moderator.user, moderator.group.id, uid, body.role)
    user = await session.get(User, uid)
    assert user is not None
    return MemberOut(user_id=uid, display_name=user.display_name, role=membership.role,
                     joined_at=membership.joined_at)


@router.get("/groups/{gid}/audit", response_model=list[AuditOut])
async def audit_log(member: GroupMember, session: SessionDep) -> list[AuditOut]:
    """Every moderator action in the group, for every member to read."""
    return [AuditOut(at=a.at, actor=_name(u, "Cairn" if a.by_cairn else "a former moderator"),
                     action=a.action, target=a.target, reason=a.reason)
            for a, u in await moderation.audit_log(session, member.group.id)]


@router.get("/help/resources")
async def help_resources(
    settings: SettingsDep,
    country: Annotated[str | None, Query(min_length=2, max_length=2, pattern="^[A-Za-z]{2}$")] = None,
) -> dict[str, Any]:
    """Public: crisis lines (by country) and grounding steps."""
    return crisis.resources(country, settings.crisis_resources_file)
