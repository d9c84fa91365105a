"""Commitment, check-in and progress shapes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from server.commitments.service import NOTE_MAX, TEXT_MAX, Entry
from server.models import Checkin, Commitment
from server.models.commitments import Category, CheckinStatus, Step, Visibility


class CommitmentIn(BaseModel):
    category: Category
    text: str = Field(min_length=1, max_length=TEXT_MAX, examples=["Drink water with each meal"])
    day: dt.date | None = Field(default=None, description="Your local date; default today.")
    visibility: Visibility = Visibility.GROUP


class CommitmentEdit(BaseModel):
    text: str = Field(min_length=1, max_length=TEXT_MAX, examples=["Drink water with each meal"],
                      description="The new words. They can change until someone has cheered the "
                                  "commitment, reported it, or a moderator hid it.")


class CheckinIn(BaseModel):
    status: CheckinStatus
    note: str | None = Field(default=None, max_length=NOTE_MAX)
    feeling: int | None = Field(default=None, ge=1, le=5)


class CheckinOut(BaseModel):
    id: int
    status: CheckinStatus
    note: str | None
    feeling: int | None = Field(description="Only shown to the person who checked in.")
    at: dt.datetime


class CommitmentOut(BaseModel):
    id: int
    user_id: int
    display_name: str
    group_id: int
    day: dt.date = Field(description="Its writer's own local date: the day it is for.")
    category: Category
    step: Step
    text: str | None = Field(description="null when a moderator hid it (except for its author).")
    visibility: Visibility
    created_at: dt.datetime
    checkin: CheckinOut | None
    hidden: bool = False
    hidden_reason: str | None = Field(default=None, description="Why it was hidden; its author only.")
    support: dict[str, Any] | None = Field(
        default=None, description="Crisis lines and grounding steps, for the writer alone, when "
        "their words suggest they may be in danger.")


def checkin_out(checkin: Checkin | None, *, own: bool) -> CheckinOut | None:
    if checkin is None:
        return None
    return CheckinOut(id=checkin.id, status=CheckinStatus(checkin.status), note=checkin.note,
                      feeling=checkin.feeling if own else None, at=checkin.at)


def commitment_out(c: Commitment, display_name: str, checkin: Checkin | None,
                   viewer_id: int) -> CommitmentOut:
    return CommitmentOut(
        id=c.id, user_id=c.user_id, display_name=display_name, group_id=c.group_id, day=c.day,
        category=Category(c.category), step=c.step, text=c.text,
        visibility=Visibility(c.visibility),
        created_at=c.created_at, checkin=checkin_out(checkin, own=c.user_id == viewer_id),
    )


def entry_out(entry: Entry, viewer_id: int) -> CommitmentOut:
    out = commitment_out(entry.commitment, entry.author.display_name, entry.checkin, viewer_id)
    out.text = entry.text
    if out.checkin is not None:
        out.checkin.note = entry.note
    out.hidden = entry.hidden is not None or entry.checkin_hidden is not None
    out.hidden_reason = entry.hidden_reason
    return out


class DayOut(BaseModel):
    day: dt.date
    done: int
    partly: int
    not_today: int


class ByStep(BaseModel):
    care: int
    protect: int
    connect: int


class ProgressOut(BaseModel):
    today: dt.date = Field(description="Your own local date; each day is a day of your own.")
    streak: int = Field(description="Days in a row with at least one done or partly check-in.")
    rate_14d: float = Field(description="Share of the last 14 days with some practice (0 to 1).")
    days: list[DayOut]
    by_step: ByStep
