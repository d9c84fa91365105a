"""Peer groups, their members and the invite codes that let people in."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, Choice, UTCDateTime, utcnow


class Role(Choice):
    """A member's role in a group."""

    MODERATOR = "moderator"
    MEMBER = "member"

MEMBERSHIP_STATES = ("active", "left", "removed")


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (CheckConstraint("capacity BETWEEN 3 AND 20", name="capacity_range"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int] = mapped_column(Integer, default=12)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The group's last event sequence number; bumping it locks the row, which is
    # what keeps event seqs gapless and visible in commit order.
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    # The same for the moderators' own stream (reports, worries, who moderates): a sequence
    # of its own, so nothing about it shows in the shared one.
    moderators_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("group_id", "user_id"),
        CheckConstraint(Role.check("role"), name="role_known"),
        CheckConstraint("state IN ('active', 'left', 'removed')", name="state_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default=Role.MEMBER.value)
    state: Mapped[str] = mapped_column(String(16), default="active")
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    agreed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Muted members read but do not post, encourage or speak in rooms until this time.
    muted_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    mute_reason: Mapped[str | None] = mapped_column(Text)


class Invite(Base):
    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
