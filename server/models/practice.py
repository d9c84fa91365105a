"""Planned practice sessions of a group, and each member's calendar feed of them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, utcnow


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
