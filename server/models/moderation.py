"""Moderation: reports of content, content hidden by a moderator, and the group's audit log."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, Choice, UTCDateTime, utcnow


class TargetType(Choice):
    """What a member can report and a moderator can hide."""

    COMMITMENT = "commitment"
    CHECKIN = "checkin"
    ENCOURAGEMENT = "encouragement"
    SCENARIO = "scenario"
    ROLEPLAY_LINE = "roleplay_line"


# The product's words for what can be reported or hidden.
TARGET_NAMES = {TargetType.COMMITMENT: "commitment", TargetType.CHECKIN: "check-in note",
                TargetType.ENCOURAGEMENT: "encouragement note",
                TargetType.SCENARIO: "scenario card",
                TargetType.ROLEPLAY_LINE: "line said in a practice room"}



class ReportStatus(Choice):
    """A report waits for a moderator (open) or has been dealt with (resolved)."""

    OPEN = "open"
    RESOLVED = "resolved"


class Report(Base):
    """A member's report of something in the group, for its moderators, with the words it was
    about as they were then."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_group_status", "group_id", "status"),
        CheckConstraint(ReportStatus.check("status"), name="status_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    # The words as they were when reported, kept for the moderators: a later edit or withdrawal
    # cannot change what was reported. None when there were none to keep (a private thing, a
    # check-in without a note), and once their author deletes their account.
    reported_words: Mapped[str | None] = mapped_column(Text)
    # Whose words they are (None once that member deletes their account).
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.OPEN.value)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Hidden(Base):
    """A piece of content a moderator hid: everyone but its author sees that it was hidden."""

    __tablename__ = "hidden_content"
    __table_args__ = (UniqueConstraint("target_type", "target_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    hidden_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """One moderator action, readable by every member: moderation here is transparent.

    The entry outlives the people in it. When one of them deletes their account it names
    them "a former member" (as target) or "a former moderator" (as actor) and keeps none of
    their words; `by_cairn` is what still tells the server's operator (no actor, by design)
    from a moderator who has since gone (no actor any more)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_group_at", "group_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    by_cairn: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    action: Mapped[str] = mapped_column(String(32))
    # The display name (or content label) as it was; target_user_id says whose name it is.
    target: Mapped[str] = mapped_column(String(200))
    target_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportedLine(Base):
    """A line said in a practice room, as it was when someone reported it: the room forgets
    its lines when the round ends, and the moderators still need to read what was said.
    A report of a `roleplay_line` names one of these. It goes with the speaker's account."""

    __tablename__ = "reported_lines"
    __table_args__ = (UniqueConstraint("room_id", "line_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    # The report outlives the room (rooms are pruned); a pruned room's id is never matched again.
    room_id: Mapped[int | None] = mapped_column(ForeignKey("roleplay_rooms.id", ondelete="SET NULL"))
    line_id: Mapped[int] = mapped_column(Integer)
    speaker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    said_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Worry(Base):
    """A worry notice: a member's shared words suggested they may be in danger. It stays on the
    group's moderation page until a moderator acknowledges it, so a moderator who signs in later
    still sees it. It keeps none of the words, only who and when: private words make none.

    The member is named by `user_id` alone, so a deleted account leaves "a former member"
    (SET NULL). The acknowledgement (who, when) is the moderators' own record: it never goes
    into the audit log members read, nor into any event."""

    __tablename__ = "worries"
    __table_args__ = (Index("ix_worries_group_acknowledged", "group_id", "acknowledged_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # Worrying words again before anyone acknowledged the notice add to it: one notice a member.
    first_noticed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    noticed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    times: Mapped[int] = mapped_column(Integer, default=1)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
