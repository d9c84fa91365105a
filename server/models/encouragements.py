"""Encouragement: a cheer, and maybe a short note, from one member to the group or a member."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, Choice, UTCDateTime, utcnow
from server.i18n import N_


class Cheer(Choice):
    """The kinds of encouragement (the protocol's `kind` of an encouragement)."""

    PROUD = "proud"
    REST_COUNTS = "rest_counts"
    BOUNDARY_MATTERS = "boundary_matters"
    WORTH_IT = "worth_it"
    WITH_YOU = "with_you"


# What each says, as the pages show it: marked here, said in the reader's language where shown.
KINDS: dict[Cheer, str] = {
    Cheer.PROUD: N_("Proud of you"),
    Cheer.REST_COUNTS: N_("Rest counts"),
    Cheer.BOUNDARY_MATTERS: N_("Your boundary matters"),
    Cheer.WORTH_IT: N_("You're worth this"),
    Cheer.WITH_YOU: N_("With you"),
}
TEXT_MAX = 280


class Encouragement(Base):
    __tablename__ = "encouragements"
    __table_args__ = (Index("ix_encouragements_to_user", "to_user_id", "created_at"),
                      Index("ix_encouragements_from_user", "from_user_id", "created_at"),
                      Index("ix_encouragements_commitment", "commitment_id"))

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
