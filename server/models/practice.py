"""Planned practice sessions of a group, and each member's calendar feed of them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, Choice, UTCDateTime, utcnow


class PracticePlan(Base):
    """A practice session a moderator planned: at a local time ("HH:MM") in a zone, either
    once (on_date) or every week (weekday, 0 is Monday); exactly one of the two is set."""

    __tablename__ = "practice_plans"
    __table_args__ = (
        CheckConstraint("(on_date IS NULL) <> (weekday IS NULL)", name="once_or_weekly"),
        CheckConstraint("weekday IS NULL OR weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("minutes BETWEEN 5 AND 480", name="minutes_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(80))
    zone: Mapped[str] = mapped_column(String(64))
    starts: Mapped[str] = mapped_column(String(5))
    on_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    weekday: Mapped[int | None] = mapped_column(Integer, nullable=True)
    minutes: Mapped[int] = mapped_column(Integer, default=60)
    planned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    # Its sessions' rooms open in this language: the planner's when it was planned.
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarFeed(Base):
    """A member's calendar link: only the sha256 of its token is kept, so the database alone
    cannot open anyone's calendar. Deleting the row stops the link."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    show_group_names: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Outcome(Choice):
    """What became of one planned session."""

    OPEN = "open"  # its room opened itself; nobody has decided yet
    HELD = "held"  # a moderator took it (joined, or opened or ended the room)
    NOT_HELD = "not_held"  # no moderator joined in time: the room closed itself, gently


class PracticeSession(Base):
    """One session of a plan, from the moment its room opened itself. The unique pair (plan,
    start) lets only one process open it; `seen_at` is when a moderator read why it did not
    happen."""

    __tablename__ = "practice_sessions"
    __table_args__ = (UniqueConstraint("plan_id", "starts_at"),
                      CheckConstraint(Outcome.check("outcome"), name="outcome_known"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("practice_plans.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("roleplay_rooms.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
