"""Account request and answer shapes."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class RegisterIn(BaseModel):
    username: str = Field(min_length=1, max_length=64, examples=["robin"])
    password: str = Field(min_length=1, max_length=1024, examples=["a long quiet river"])
    display_name: str | None = Field(default=None, max_length=80, examples=["Robin"])
    timezone: str = Field(default="UTC", max_length=64, examples=["Europe/Madrid"])
    language: str | None = Field(default=None, max_length=16, examples=["es"], description=(
        "The language Cairn speaks to the member in (pages, errors, reminders): one of the "
        "offered languages' codes. At sign-up it defaults to the one the request reads in "
        "(the language switch's choice, else Accept-Language)."))


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    timezone: str
    receive_only: bool
    language: str = Field(description="The code of the language Cairn speaks to the member in.",
                          examples=["es"])
    created_at: dt.datetime


class RegisteredOut(UserOut):
    recovery_codes: list[str] = Field(description=(
        "The member's recovery codes, shown this once: Cairn keeps only their hashes. Each "
        "lets them set a new password once (POST /api/v1/auth/recover) if they forget it."),
        examples=[["ABCDE-23456", "FGHJK-78923"]])


class ResetNoticeOut(BaseModel):
    """A password reset the member is told of once, at the first sign-in after it."""

    by: str = Field(description="Who made the reset code: a moderator's display name, or `a former "
                                "moderator` once they have deleted their account.")
    group: str | None = Field(description="The group they made it in; null once it is deleted.")
    at: dt.datetime = Field(description="When the code was used to set a new password.")


class LoginOut(BaseModel):
    token: str
    user: UserOut
    password_reset: ResetNoticeOut | None = Field(default=None, description=(
        "Set once, at the first sign-in by password or recovery code after a moderator's reset "
        "code was used on this account: who made it and when. Null otherwise."))


class RecoverIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    code: str = Field(min_length=1, max_length=64, description=(
        "One of the member's recovery codes, or a reset code a moderator of their group made; "
        "case, spaces and dashes do not matter."), examples=["ABCDE-23456"])
    new_password: str = Field(min_length=1, max_length=1024)


class RecoveryCodesOut(BaseModel):
    remaining: int = Field(description="How many of the member's recovery codes are still unused.")


class NewRecoveryCodesIn(BaseModel):
    password: str = Field(min_length=1, max_length=1024)


class NewRecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(description=(
        "The new set, shown this once; the old set no longer works."))


class ProfileIn(BaseModel):
    display_name: str | None = Field(default=None, max_length=80)
    timezone: str | None = Field(default=None, max_length=64)
    receive_only: bool | None = None
    language: str | None = Field(default=None, max_length=16, examples=["es"], description=(
        "One of the offered languages' codes (422 `invalid_language` for any other)."))


class PasswordIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)
