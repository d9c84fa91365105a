"""JSON routes for encouragement."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field

from server.deps import MAX_ID, CurrentUser, GroupMember, SessionDep, SettingsDep, signed_in_with
from server.encouragements import service as encouragements
from server.models.encouragements import TEXT_MAX, Cheer

router = APIRouter(prefix="/api/v1", tags=["encouragement"])



class EncouragementIn(BaseModel):
    kind: Cheer
    text: str | None = Field(default=None, max_length=TEXT_MAX)
    commitment_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    to_user_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class Actor(BaseModel):
    id: int | None
    display_name: str


class EventOut(BaseModel):
    type: Literal["event"] = "event"
    seq: int
    kind: str
    group_id: int
    actor: Actor | None
    data: dict[str, Any]
    at: dt.datetime
    support: dict[str, Any] | None = Field(
        default=None, description="Crisis lines for the writer alone, when their words call for it.")


class ReceivedOut(BaseModel):
    id: int
    group_id: int
    kind: Cheer
    text: str | None
    commitment_id: int | None
    from_display_name: str
    at: dt.datetime


@router.post("/groups/{gid}/encouragements", status_code=status.HTTP_201_CREATED,
             response_model=EventOut)
async def encourage(body: EncouragementIn, request: Request, member: GroupMember,
                    session: SessionDep, settings: SettingsDep) -> EventOut:
    """Send encouragement; the same as the socket's `encourage` command."""
    sent = await encouragements.send(
        session, member.user, member.membership, token_hash=signed_in_with(request),
        kind=body.kind, text=body.text,
        commitment_id=body.commitment_id, to_user_id=body.to_user_id,
        per_minute=settings.encouragements_per_minute,
    )
    event = sent.event
    return EventOut(seq=event.seq, kind=event.kind, group_id=event.group_id,
                    actor=Actor(id=member.user.id, display_name=member.user.display_name),
                    data=event.data, at=event.at, support=sent.support)


@router.get("/me/encouragements", response_model=list[ReceivedOut])
async def received(user: CurrentUser, session: SessionDep) -> list[ReceivedOut]:
    """Encouragement sent to me, newest first."""
    return [ReceivedOut(id=r.encouragement.id, group_id=r.encouragement.group_id,
                        kind=Cheer(r.encouragement.kind), text=r.text,
                        commitment_id=r.encouragement.commitment_id,
                        from_display_name=r.from_display_name, at=r.encouragement.created_at)
            for r in await encouragements.received(session, user)]
