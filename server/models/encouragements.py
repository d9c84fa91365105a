"""Encouragement: a cheer, and maybe a short note, from one member to the group or a member."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, utcnow

KINDS = {
    "proud": "Proud of you",
    "rest_counts": "Rest counts",
    "boundary_matters": "Your boundary matters",
    "worth_it": "You're worth this",
    "with_you": "With you",
}
TEXT_MAX = 280


class Encouragement(Base):
    __tablename__ = "encouragements"
    __table_args__ = (Index("ix_encouragements_to_user", "to_user_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    from_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    commitment_id: Mapped[int | None] = mapped_column(
        ForeignKey("commitments.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
