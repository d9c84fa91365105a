"""Encouragement rules: who may cheer whom, about what, and how often."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock, events
from server.commitments import service as commitments
from server.errors import Invalid, NotFound, RateLimited
from server.i18n import N_
from server.models import Encouragement, Event, Hidden, Membership, User
from server.models.encouragements import TEXT_MAX, Cheer
from server.moderation import service as moderation
from server.realtime import log
from server.text import storable


async def send(
    session: AsyncSession, sender: User, membership: Membership, *, kind: str,
    text: str | None = None, commitment_id: int | None = None, to_user_id: int | None = None,
    per_minute: int = 20,
) -> tuple[Encouragement, Event]:
    """`membership` is the sender's active membership of the group, loaded in this session."""
    group_id = membership.group_id
    cheer = Cheer.of(kind)
    if cheer is None:
        raise Invalid(N_("Choose one of the cheers: %(kinds)s."),
                      params={"kinds": ", ".join(Cheer)}, code="invalid_kind")
    text = storable((text or "").strip(), "A note") or None
    if text is not None and len(text) > TEXT_MAX:
        raise Invalid(N_("A note can be at most %(limit)s characters."), params={"limit": TEXT_MAX},
                      code="text_too_long")
    if commitment_id is not None:
        commitment = await commitments.readable(session, sender, commitment_id, lock="share")
        if commitment.group_id != group_id or commitment.visibility != "group":
            raise NotFound(N_("We could not find that commitment."), code="commitment_not_found")
        to_user_id = to_user_id if to_user_id is not None else commitment.user_id
        if to_user_id != commitment.user_id:
            raise Invalid(N_("Encourage the person who made the commitment."), code="wrong_receiver")
    if to_user_id is not None:
        if to_user_id == sender.id:
            raise Invalid(N_("Encouragement goes to someone else; be kind to yourself in your "
                             "commitments."), code="self_encouragement")
        member = await session.scalar(select(Membership.id).where(
            Membership.group_id == group_id, Membership.user_id == to_user_id,
            Membership.state == "active"))
        if member is None:
            raise NotFound(N_("That person is not in this group."), code="member_not_found")
    moderation.check_unmuted(membership)
    # Lock the sender's row (on SQLite: take the write turn): cheers sent at once queue here,
    # so each counts the ones before it.
    await session.execute(select(User.id).where(User.id == sender.id)
                          .with_for_update(key_share=True))
    now = clock.now()
    window_start = now - dt.timedelta(minutes=1)
    recent = (await session.scalars(
        select(Encouragement.created_at)
        .where(Encouragement.from_user_id == sender.id, Encouragement.created_at > window_start)
        .order_by(Encouragement.created_at).limit(per_minute)
    )).all()
    if len(recent) >= per_minute:
        retry = recent[0] + dt.timedelta(minutes=1) - now
        raise RateLimited(N_("That is a lot of encouragement at once. Take a breath and try "
                             "again in a moment."), retry_after=int(retry.total_seconds()) + 1)
    encouragement = Encouragement(group_id=group_id, from_user_id=sender.id, to_user_id=to_user_id,
                                  commitment_id=commitment_id, kind=kind, text=text,
                                  created_at=now)
    session.add(encouragement)
    await session.flush()
    event = await log.append(session, group_id, events.EncouragementSent(
        encouragement_id=encouragement.id, kind=cheer, text=text,
        commitment_id=commitment_id, to_user_id=to_user_id), sender)
    await moderation.notice_crisis(session, sender, group_id, text)
    return encouragement, event


@dataclass(frozen=True)
class Received:
    """Encouragement as its receiver sees it: a note a moderator hid is not shown."""

    encouragement: Encouragement
    sender: User | None
    hidden: bool

    @property
    def text(self) -> str | None:
        return None if self.hidden else self.encouragement.text

    @property
    def from_display_name(self) -> str:
        return self.sender.display_name if self.sender else "a former member"


async def received(session: AsyncSession, user: User, limit: int = 100, *,
                   commitment_ids: Iterable[int] | None = None) -> list[Received]:
    """Newest first; only those about these commitments, if given."""
    query = (
        select(Encouragement, User, Hidden.id).outerjoin(User, User.id == Encouragement.from_user_id)
        .outerjoin(Hidden, (Hidden.target_type == "encouragement") & (Hidden.target_id == Encouragement.id))
        .where(Encouragement.to_user_id == user.id)
    )
    if commitment_ids is not None:
        query = query.where(Encouragement.commitment_id.in_(list(commitment_ids)))
    rows = (await session.execute(
        query.order_by(Encouragement.created_at.desc(), Encouragement.id.desc()).limit(limit)
    )).all()
    return [Received(e, u, hidden_id is not None) for e, u, hidden_id in rows]


async def received_count(session: AsyncSession, user: User) -> int:
    return await session.scalar(
        select(func.count(Encouragement.id)).where(Encouragement.to_user_id == user.id)
    ) or 0
