"""Gentle reminders: what each member chose, the devices their pushes go to, and which
reminders have gone (so each goes once, whatever the number of processes)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, Choice, UTCDateTime, utcnow


class Nudge(Choice):
    """What a reminder is for."""

    MORNING = "morning"  # choosing the day's small act of care
    EVENING = "evening"  # checking in on it
    PRACTICE = "practice"  # a planned practice session starts soon


# The reminders of each day, at times a member chooses (a practice reminder goes before each
# planned session instead).
DAILY = (Nudge.MORNING, Nudge.EVENING)


class Delivery(Choice):
    """Where a reminder's push is: taken by a process, or gone."""

    CLAIMED = "claimed"
    SENT = "sent"


class ReminderHabits(Base):
    """A member's own reminder choices. Local times as "HH:MM" in the member's zone; None is
    off. No row: no reminders (all are off until chosen)."""

    __tablename__ = "reminder_habits"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    morning: Mapped[str | None] = mapped_column(String(5), nullable=True)
    evening: Mapped[str | None] = mapped_column(String(5), nullable=True)
    quiet_from: Mapped[str | None] = mapped_column(String(5), nullable=True)
    quiet_until: Mapped[str | None] = mapped_column(String(5), nullable=True)
    # Before each planned practice session of the member's groups.
    practice: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    snoozed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupReminder(Base):
    """For one group, a reminder at another time than the member's usual one ("HH:MM"), or
    off (None). No row: as usual. The practice reminder has no time of its own: ON or off."""

    __tablename__ = "group_reminders"
    __table_args__ = (CheckConstraint(Nudge.check("nudge"), name="nudge_known"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    nudge: Mapped[str] = mapped_column(String(16), primary_key=True)
    at: Mapped[str | None] = mapped_column(String(5), nullable=True)

    ON = "on"  # `at` of a practice reminder a group keeps on while the usual one is off


class PushDevice(Base):
    """A browser that asked for the member's reminders: its push endpoint and the keys that
    encrypt what is sent to it. Removed when the push service says it is gone."""

    __tablename__ = "push_devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(Text, unique=True)
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReminderSent(Base):
    """One reminder of one member's local day: claimed by the process that sends it (the
    primary key lets only one claim it), then marked sent. A claim left by a process that
    stopped is taken over after a while."""

    __tablename__ = "reminders_sent"
    __table_args__ = (CheckConstraint(Nudge.check("nudge"), name="nudge_known"),
                      CheckConstraint(Delivery.check("state"), name="state_known"))

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    nudge: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    at: Mapped[str] = mapped_column(String(5), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
