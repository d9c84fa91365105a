"""JSON routes for reports, hiding, muting, roles, worry notices, the audit log and crisis
resources."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, Field

from server import i18n
from server.deps import MAX_ID, GroupMember, GroupModerator, Id, SessionDep, SettingsDep
from server.groups.schemas import MemberOut
from server.models import User
from server.models.groups import Role
from server.models.moderation import ReportStatus, TargetType
from server.moderation import crisis
from server.moderation import service as moderation

router = APIRouter(prefix="/api/v1", tags=["moderation"])


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
    reported_words: str | None = Field(description=(
        "The words it was about as they were when it was reported (a commitment's, a check-in "
        "note, an encouragement note, a scenario card, a line said in a room), kept whatever their "
        "author did with them since; null when there were none to keep (a private thing, a check-in "
        "without a note) and once their author deleted their account."))
    status: ReportStatus
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
    role: Role


class AuditOut(BaseModel):
    at: dt.datetime
    actor: str = Field(description="The moderator's display name; `Cairn` when the server's operator did it; "
                                   "`a former moderator` once the moderator has deleted their account.")
    action: str
    target: str = Field(description="Who or what the action was about; `a former member` once that member "
                                    "has deleted their account.")
    reason: str | None = Field(description="The reason given; null if none, or once the moderator who gave "
                                           "it has deleted their account.")


class WorryAcknowledgementOut(BaseModel):
    at: dt.datetime
    by: str = Field(description="The moderator's display name; `a former moderator` once they have "
                                "deleted their account.")


class WorryOut(BaseModel):
    id: int
    group_id: int
    member: str = Field(description="Whose words worried Cairn: their display name; `a former member` "
                                    "once they have deleted their account. Never the words.")
    user_id: int | None = Field(description="Their id; null once they have deleted their account.")
    first_noticed_at: dt.datetime
    noticed_at: dt.datetime = Field(description="The latest time their words worried Cairn.")
    times: int = Field(description="How many times their words worried Cairn before a moderator "
                                   "acknowledged the notice.")
    acknowledged: WorryAcknowledgementOut | None = Field(
        description="Who acknowledged the notice and when; null while it waits.")


def _name(user: User | None, fallback: str) -> str:
    return user.display_name if user else fallback


@router.post("/groups/{gid}/reports", status_code=status.HTTP_201_CREATED, response_model=ReportOut)
async def report(body: ReportIn, member: GroupMember, session: SessionDep) -> ReportOut:
    """Report content to the group's moderators (any member)."""
    row = await moderation.report(session, member.user, member.group.id, target_type=body.target_type,
                                  target_id=body.target_id, reason=body.reason,
                                  room_id=body.room_id)
    return ReportOut(id=row.id, group_id=row.group_id, target_type=TargetType(row.target_type),
                     target_id=row.target_id, reason=row.reason, reported_words=row.reported_words,
                     status=ReportStatus(row.status), reporter=member.user.display_name,
                     created_at=row.created_at)


REPORTS_LINK = {"Link": {
    "description": 'The next page back, when there is one: `</api/v1/groups/{gid}/reports?before=...>; '
                   'rel="next"` (with the same `status`).',
    "schema": {"type": "string"}}}


@router.get("/groups/{gid}/reports", response_model=list[ReportOut],
            responses={200: {"headers": REPORTS_LINK}})
async def reports(
    moderator: GroupModerator, session: SessionDep, response: Response,
    status: Annotated[ReportStatus | None, Query()] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description=(
        "A report's id: the page starts with the report filed just before it."))] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = moderation.REPORTS_PER_PAGE,
) -> list[ReportOut]:
    """The group's reports a page at a time, newest first (moderators). The `Link` header
    names the next page back; the last page has none."""
    page = await moderation.reports(session, moderator.group.id, status, before=before, limit=limit)
    if page.older is not None:
        query = urlencode({k: v for k, v in (("status", status), ("before", page.older),
                                             ("limit", limit)) if v is not None})
        response.headers["Link"] = f'</api/v1/groups/{moderator.group.id}/reports?{query}>; rel="next"'
    return [ReportOut(id=r.id, group_id=r.group_id, target_type=TargetType(r.target_type),
                      target_id=r.target_id, reason=r.reason, reported_words=r.reported_words,
                      status=ReportStatus(r.status), reporter=_name(u, "a former member"),
                      created_at=r.created_at)
            for r, u in page.reports]


@router.post("/groups/{gid}/hidden", status_code=status.HTTP_201_CREATED, response_model=HiddenOut)
async def hide(body: HideIn, moderator: GroupModerator, session: SessionDep) -> HiddenOut:
    """Hide content: gone for everyone but its author, live too."""
    row = await moderation.hide(session, moderator.user, moderator.group.id,
                                target_type=body.target_type, target_id=body.target_id,
                                reason=body.reason)
    return HiddenOut(id=row.id, group_id=row.group_id, target_type=TargetType(row.target_type),
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
    return MemberOut(user_id=uid, display_name=user.display_name, role=Role(membership.role),
                     joined_at=membership.joined_at)


class ResetCodeOut(BaseModel):
    code: str = Field(description="The one-time code, shown this once: give it to the member in "
                                  "person. With their username and a new password, it signs them in "
                                  "(POST /api/v1/auth/recover).")
    expires_at: dt.datetime = Field(description="It works until then, once, while the member is in the "
                                                "group and you moderate it.")


@router.post("/groups/{gid}/members/{uid}/reset-code", status_code=status.HTTP_201_CREATED,
             response_model=ResetCodeOut)
async def make_reset_code(uid: Id, moderator: GroupModerator, session: SessionDep) -> ResetCodeOut:
    """Make a one-time password reset code for a member of the group who cannot sign in
    (moderators; not for themselves). Using it ends every session of the member, and their
    next sign-in tells them who made it. It replaces an unused one made for them before. The
    audit log records that a moderator made one, without naming the member."""
    made = await moderation.make_reset_code(session, moderator.user, moderator.group.id, uid)
    return ResetCodeOut(code=made.code, expires_at=made.expires_at)


def _worry_out(notice: moderation.WorryNotice) -> WorryOut:
    w = notice.worry
    acknowledged = None
    if w.acknowledged_at is not None:
        acknowledged = WorryAcknowledgementOut(
            at=w.acknowledged_at, by=_name(notice.acknowledged_by, "a former moderator"))
    return WorryOut(id=w.id, group_id=w.group_id, member=_name(notice.member, "a former member"),
                    user_id=notice.member.id if notice.member else None,
                    first_noticed_at=w.first_noticed_at, noticed_at=w.noticed_at, times=w.times,
                    acknowledged=acknowledged)


@router.get("/groups/{gid}/worries", response_model=list[WorryOut])
async def worries(
    moderator: GroupModerator, session: SessionDep,
    state: Annotated[Literal["open", "acknowledged"], Query(description=(
        "`open`: waiting for a moderator, the longest-waiting first; `acknowledged`: the latest "
        f"{moderation.ACKNOWLEDGED_SHOWN}, the latest first."))] = "open",
) -> list[WorryOut]:
    """Worry notices (moderators): members whose shared words suggested they may be in danger.
    Never the words; private words make no notice."""
    if state == "open":
        found = await moderation.worries(session, moderator.group.id)
    else:
        found = await moderation.worries(session, moderator.group.id, acknowledged=True,
                                         limit=moderation.ACKNOWLEDGED_SHOWN)
    return [_worry_out(n) for n in found]


@router.post("/groups/{gid}/worries/{wid}/acknowledge", response_model=WorryOut)
async def acknowledge_worry(wid: Id, moderator: GroupModerator, session: SessionDep) -> WorryOut:
    """A moderator has seen the notice and will look after the member (moderators). Who and when
    are kept for the moderators alone: not in the audit log, not in any event. A notice already
    acknowledged answers as it is, keeping the first acknowledgement."""
    return _worry_out(await moderation.acknowledge_worry(session, moderator.user, moderator.group.id, wid))


@router.get("/groups/{gid}/audit", response_model=list[AuditOut])
async def audit_log(member: GroupMember, session: SessionDep) -> list[AuditOut]:
    """Every moderator action in the group, for every member to read."""
    return [AuditOut(at=a.at, actor=_name(u, "Cairn" if a.by_cairn else "a former moderator"),
                     action=a.action, target=a.target, reason=a.reason)
            for a, u in await moderation.audit_log(session, member.group.id)]


@router.get("/help/resources")
async def help_resources(
    request: Request, settings: SettingsDep,
    country: Annotated[str | None, Query(min_length=2, max_length=2, pattern="^[A-Za-z]{2}$")] = None,
) -> dict[str, Any]:
    """Public: crisis lines (by country) and grounding steps, in the reader's language's
    wording where there is one (the member's own language, else Accept-Language)."""
    return crisis.resources(country, settings.crisis_resources_file, i18n.language_of(request))
