"""JSON routes for commitments, check-ins and progress."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from server import clock
from server.commitments import progress as progress_service
from server.commitments import service as commitments
from server.commitments.schemas import (
    CheckinIn,
    CommitmentEdit,
    CommitmentIn,
    CommitmentOut,
    DayOut,
    ProgressOut,
    commitment_out,
    entry_out,
)
from server.deps import CurrentUser, GroupMember, Id, SessionDep
from server.moderation import service as moderation

router = APIRouter(prefix="/api/v1", tags=["commitments"])


@router.post("/groups/{gid}/commitments", status_code=status.HTTP_201_CREATED,
             response_model=CommitmentOut)
async def create_commitment(body: CommitmentIn, member: GroupMember,
                            session: SessionDep) -> CommitmentOut:
    c = await commitments.create(session, member.user, member.group.id, category=body.category,
                                 text=body.text, day=body.day, visibility=body.visibility)
    out = commitment_out(c, member.user.display_name, None, member.user.id)
    out.support = moderation.pending_support(session)
    return out


@router.get("/groups/{gid}/commitments", response_model=list[CommitmentOut])
async def list_commitments(
    member: GroupMember, session: SessionDep,
    day: Annotated[dt.date | None, Query(description=(
        "A date in your own calendar; default your today. It is N days from your today, and "
        "the list holds each member's commitments of their own day N days from their own "
        "today."))] = None,
) -> list[CommitmentOut]:
    """The group's day: everyone's *own* today by default, wherever they are.

    Each commitment belongs to its writer's own local date (`day`), which may be another
    date than yours: someone ahead of you in a zone east of yours already has tomorrow's
    date. Asking for an earlier `day` goes back the same number of days for everyone.
    """
    now = clock.now()
    day = day or clock.local_today(member.user.timezone, now)
    entries = await commitments.group_day(session, member.user, member.group.id, day, now)
    return [entry_out(e, member.user.id) for e in entries]


@router.post("/commitments/{cid}/checkin", response_model=CommitmentOut)
async def check_in(cid: Id, body: CheckinIn, user: CurrentUser,
                   session: SessionDep) -> CommitmentOut:
    """Check in on your own commitment: done, partly or not today."""
    c, checkin = await commitments.check_in(session, user, cid, status=body.status,
                                            note=body.note, feeling=body.feeling)
    out = commitment_out(c, user.display_name, checkin, user.id)
    out.support = moderation.pending_support(session)
    return out


@router.patch("/commitments/{cid}", response_model=CommitmentOut)
async def edit_commitment(cid: Id, body: CommitmentEdit, user: CurrentUser,
                          session: SessionDep) -> CommitmentOut:
    """Change the words of your own commitment, until someone has responded to it: once
    anyone has cheered it, reported it or a moderator hid it, its words stay as they are
    (409 `commitment_locked`; you can still withdraw it). The group sees the new words live
    (`commitment.edited`)."""
    c = await commitments.edit(session, user, cid, text=body.text)
    out = commitment_out(c, user.display_name, await commitments.checkin_for(session, c.id), user.id)
    out.support = moderation.pending_support(session)
    return out


@router.delete("/commitments/{cid}", status_code=status.HTTP_204_NO_CONTENT)
async def withdraw_commitment(cid: Id, user: CurrentUser, session: SessionDep) -> Response:
    """Withdraw your own commitment, at any time: it goes from every view with its check-in
    (`commitment.withdrawn`). Encouragement you received about it stays yours; a report about it
    keeps, for the moderators, the words that were reported."""
    await commitments.withdraw(session, user, cid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me/progress", response_model=ProgressOut)
async def my_progress(
    user: CurrentUser, session: SessionDep,
    days: Annotated[int, Query(ge=1, le=progress_service.DAYS_MAX)] = 28,
) -> ProgressOut:
    p = await progress_service.progress(session, user, days)
    return ProgressOut(
        today=p.today, streak=p.streak, rate_14d=p.rate_14d,
        days=[DayOut(day=d.day, done=d.done, partly=d.partly, not_today=d.not_today)
              for d in p.days],
        by_step=p.by_step,
    )
