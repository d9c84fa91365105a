"""Account request and answer shapes."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class RegisterIn(BaseModel):
    username: str = Field(min_length=1, max_length=64, examples=["robin"])
    password: str = Field(min_length=1, max_length=1024, examples=["a long quiet river"])
    display_name: str | None = Field(default=None, max_length=80, examples=["Robin"])
    timezone: str = Field(default="UTC", max_length=64, examples=["Europe/Madrid"])


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
    created_at: dt.datetime


class LoginOut(BaseModel):
    token: str
    user: UserOut


class ProfileIn(BaseModel):
    display_name: str | None = Field(default=None, max_length=80)
    timezone: str | None = Field(default=None, max_length=64)
    receive_only: bool | None = None


class PasswordIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)
