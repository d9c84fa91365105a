"""Group request and answer shapes."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from server.groups.service import CAPACITY_DEFAULT, CAPACITY_MAX, CAPACITY_MIN
from server.models.groups import Role


class GroupIn(BaseModel):
    name: str = Field(min_length=1, max_length=80, examples=["Tuesday evening circle"])
    description: str = Field(default="", max_length=1000)
    capacity: int = Field(default=CAPACITY_DEFAULT, ge=CAPACITY_MIN, le=CAPACITY_MAX)


class GroupOut(BaseModel):
    id: int
    name: str
    description: str
    capacity: int
    member_count: int
    role: Role
    created_at: dt.datetime
    invite_code: str | None = Field(
        default=None, description="The newest active invite code (moderators only)."
    )
    agreement: list[str]


class JoinIn(BaseModel):
    invite_code: str = Field(min_length=1, max_length=64)
    accept_agreement: bool = False
    display_name: str | None = Field(
        default=None, max_length=200, examples=["Sam R."],
        description="A new display name to join under (it becomes your name in every group), "
                    "for when someone in the group already goes by yours.")


class MemberOut(BaseModel):
    user_id: int
    display_name: str
    role: Role
    joined_at: dt.datetime


class InviteIn(BaseModel):
    expires_in_days: int = Field(default=10, ge=1, le=90)
    max_uses: int | None = Field(default=None, ge=1, le=100)


class InviteOut(BaseModel):
    code: str
    expires_at: dt.datetime
    max_uses: int | None
    uses: int
