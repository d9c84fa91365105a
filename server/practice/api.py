"""JSON routes for a group's planned practice sessions: members read them, moderators plan
and delete them."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from server import clock, i18n
from server.deps import GroupMember, GroupModerator, Id, SessionDep
from server.errors import Invalid
from server.i18n import N_
from server.models.practice import PracticePlan
from server.practice import schedule
from server.practice import service as practice

router = APIRouter(prefix="/api/v1", tags=["practice"])

TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class PlanIn(BaseModel):
    """Once on `on_date`, or every week on `weekday` (0 is Monday); the time is local to
    `zone` (the moderator's own when left out)."""

    title: str | None = Field(default=None, max_length=80, description='"Practice session" when left out')
    zone: str | None = Field(default=None, max_length=64, description="An IANA zone, like Europe/Berlin")
    starts: str = Field(pattern=TIME, description="Local start, HH:MM")
    on_date: dt.date | None = None
    weekday: int | None = Field(default=None, ge=0, le=6, strict=True)
    minutes: int = Field(default=practice.MINUTES_DEFAULT, ge=practice.MINUTES_MIN,
                         le=practice.MINUTES_MAX, strict=True)


class PlanOut(BaseModel):
    id: int
    group_id: int
    title: str
    zone: str
    starts: str
    on_date: dt.date | None
    weekday: int | None
    minutes: int
    # The next session's start (UTC), or null when a one-off session has passed.
    next_start: dt.datetime | None


def plan_out(plan: PracticePlan, now: dt.datetime) -> PlanOut:
    upcoming = schedule.occurrences(plan, now)
    return PlanOut(id=plan.id, group_id=plan.group_id, title=plan.title, zone=plan.zone,
                   starts=plan.starts, on_date=plan.on_date, weekday=plan.weekday,
                   minutes=plan.minutes, next_start=upcoming[0] if upcoming else None)


@router.get("/groups/{gid:int}/practice-plans", response_model=list[PlanOut])
async def list_plans(member: GroupMember, session: SessionDep) -> list[PlanOut]:
    """The group's planned practice sessions; members only."""
    now = clock.now()
    return [plan_out(p, now) for p in await practice.plans_of(session, member.group.id)]


@router.post("/groups/{gid:int}/practice-plans", status_code=status.HTTP_201_CREATED,
             response_model=PlanOut)
async def create_plan(request: Request, body: PlanIn, member: GroupModerator,
                      session: SessionDep) -> PlanOut:
    """Moderators: plan a session. Exactly one of `on_date` and `weekday` (`invalid_repeat`);
    a date not already past (`date_passed`); a known zone (`invalid_timezone`). Its rooms
    open in the planner's language."""
    if (body.on_date is None) == (body.weekday is None):
        raise Invalid(N_("Give either a date (once) or a weekday (every week)."),
                      code="invalid_repeat")
    values = practice.check_plan(
        title=body.title, zone=body.zone, starts=body.starts,
        repeat="once" if body.on_date is not None else "weekly",
        on_date=body.on_date.isoformat() if body.on_date else None, weekday=body.weekday,
        minutes=body.minutes, default_zone=member.user.timezone,
        language=i18n.language_of(request))
    plan = await practice.create_plan(session, member.user, member.group.id, values)
    return plan_out(plan, clock.now())


@router.delete("/groups/{gid:int}/practice-plans/{pid:int}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_plan(pid: Id, member: GroupModerator, session: SessionDep) -> Response:
    """Moderators: delete a planned session."""
    await practice.delete_plan(session, member.user, member.group.id, pid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
