"""Daily self-care commitments in the three steps, and the check-ins on them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, Choice, UTCDateTime, utcnow


class Step(Choice):
    """The three steps of self-care practice."""

    CARE = "care"
    PROTECT = "protect"
    CONNECT = "connect"


class Category(Choice):
    """What kind of care a commitment is; each belongs to one step."""

    REST = "rest"
    SLEEP = "sleep"
    PLAY = "play"
    WATER = "water"
    MOVEMENT = "movement"
    NOURISHING_FOOD = "nourishing_food"
    SELF_SOOTHING = "self_soothing"
    BOUNDARY = "boundary"
    ASSERTIVE_COMMUNICATION = "assertive_communication"
    CLOSENESS = "closeness"


STEPS: dict[Step, tuple[Category, ...]] = {
    Step.CARE: (Category.REST, Category.SLEEP, Category.PLAY, Category.WATER, Category.MOVEMENT,
                Category.NOURISHING_FOOD, Category.SELF_SOOTHING),
    Step.PROTECT: (Category.BOUNDARY,),
    Step.CONNECT: (Category.ASSERTIVE_COMMUNICATION, Category.CLOSENESS),
}
CATEGORY_STEP = {category: step for step, cats in STEPS.items() for category in cats}


class Visibility(Choice):
    """Who sees a commitment: the group, or its author alone."""

    GROUP = "group"
    PRIVATE = "private"


class CheckinStatus(Choice):
    """How a commitment went."""

    DONE = "done"
    PARTLY = "partly"
    NOT_TODAY = "not_today"


PER_DAY = 3


class Commitment(Base):
    __tablename__ = "commitments"
    __table_args__ = (
        Index("ix_commitments_group_day", "group_id", "day"),
        Index("ix_commitments_user_day", "user_id", "day"),
        CheckConstraint(Visibility.check("visibility"), name="visibility_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    category: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(16), default="group")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def step(self) -> Step:
        return CATEGORY_STEP[Category(self.category)]


class Checkin(Base):
    """How a commitment went; one per commitment, updated if the member checks in again."""

    __tablename__ = "checkins"
    __table_args__ = (
        CheckConstraint(CheckinStatus.check("status"), name="status_known"),
        CheckConstraint("feeling IS NULL OR feeling BETWEEN 1 AND 5", name="feeling_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment_id: Mapped[int] = mapped_column(
        ForeignKey("commitments.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    feeling: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
