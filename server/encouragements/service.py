"""Encouragement rules: who may cheer whom, about what, and how often."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock, events
from server.errors import AppError, Invalid, NotFound, RateLimited
from server.i18n import N_
from server.models import Commitment, Encouragement, Event, Hidden, Membership, User
from server.models.encouragements import TEXT_MAX, Cheer
from server.moderation import service as moderation
from server.realtime import log
from server.text import storable


@dataclass(frozen=True)
class Cheering:
    """One cheer to write: `membership` is the sender's active membership of the group,
    loaded in the writing transaction."""

    sender: User
    membership: Membership
    kind: str
    text: str | None = None
    commitment_id: int | None = None
    to_user_id: int | None = None


@dataclass(frozen=True)
class Sent:
    encouragement_id: int
    event: Event
    support: dict[str, Any] | None  # crisis lines for the sender alone, when their words call for it


async def send(session: AsyncSession, sender: User, membership: Membership, *, kind: str,
               text: str | None = None, commitment_id: int | None = None,
               to_user_id: int | None = None, per_minute: int = 20) -> Sent:
    """One cheer (a form's, the REST route's); AppError when a rule refuses it."""
    [outcome] = await send_many(session, [Cheering(sender, membership, kind, text, commitment_id,
                                                   to_user_id)], per_minute=per_minute)
    if isinstance(outcome, AppError):
        raise outcome
    return outcome


async def send_many(session: AsyncSession, cheers: Sequence[Cheering], *,
                    per_minute: int = 20, senders_held: bool = False) -> list[Sent | AppError]:
    """Write the cheers that keep the rules, in order, in the caller's transaction: a read per
    rule and a multi-row insert per table for all of them, however many there are. Each gets
    its own outcome, the cheer sent or the rule it broke; one refused never stops another.
    `senders_held`: the caller's transaction already holds the senders' rows, locked in id
    order (authenticate_in_groups(lock=True)), so the rate check need not take them."""
    outcomes: list[Sent | AppError | None] = [None] * len(cheers)
    shaped: dict[int, tuple[Cheer, str | None, int | None]] = {}
    for i, cheer in enumerate(cheers):
        try:
            shaped[i] = _shaped(cheer)
        except AppError as exc:
            outcomes[i] = exc
    about = await _commitments_about(session, [cheers[i] for i in shaped])
    for i in list(shaped):
        try:
            shaped[i] = _addressed(cheers[i], *shaped[i], about)
        except AppError as exc:
            outcomes[i] = exc
            del shaped[i]
    receivers = await _receivers(session, [(cheers[i].membership.group_id, to)
                                           for i, (_, _, to) in shaped.items() if to is not None])
    for i, (_, _, to_user_id) in list(shaped.items()):
        try:
            if to_user_id is not None and (cheers[i].membership.group_id, to_user_id) not in receivers:
                raise NotFound(N_("That person is not in this group."), code="member_not_found")
            moderation.check_unmuted(cheers[i].membership)
        except AppError as exc:
            outcomes[i] = exc
            del shaped[i]
    now = clock.now()
    allowed = await _within_rate(session, {i: cheers[i].sender.id for i in shaped}, now,
                                 per_minute, held=senders_held)
    for i, refusal in allowed.items():
        if refusal is not None:
            outcomes[i] = refusal
            del shaped[i]
    if shaped:
        order = list(shaped)
        rows = [{"group_id": cheers[i].membership.group_id, "from_user_id": cheers[i].sender.id,
                 "to_user_id": shaped[i][2], "commitment_id": cheers[i].commitment_id,
                 "kind": shaped[i][0].value, "text": shaped[i][1], "created_at": now}
                for i in order]
        ids = (await session.execute(
            insert(Encouragement).returning(Encouragement.id, sort_by_parameter_order=True),
            rows)).scalars().all()
        written = await log.append_many(session, [
            (cheers[i].membership.group_id, events.EncouragementSent(
                encouragement_id=eid, kind=shaped[i][0], text=shaped[i][1],
                commitment_id=cheers[i].commitment_id, to_user_id=shaped[i][2]),
             cheers[i].sender)
            for i, eid in zip(order, ids, strict=True)])
        for i, eid, event in zip(order, ids, written, strict=True):
            # Crisis support for the sender alone when their note calls for it (the moderators
            # are told); each cheer's own, however many the transaction writes.
            support = await moderation.notice_crisis(session, cheers[i].sender,
                                                     cheers[i].membership.group_id, shaped[i][1])
            outcomes[i] = Sent(eid, event, support)
    return [outcome for outcome in outcomes if outcome is not None]


def _shaped(cheer: Cheering) -> tuple[Cheer, str | None, int | None]:
    """(kind, the note as kept, whom it is for) once the cheer's own words keep the rules."""
    kind = Cheer.of(cheer.kind)
    if kind is None:
        raise Invalid(N_("Choose one of the cheers: %(kinds)s."),
                      params={"kinds": ", ".join(Cheer)}, code="invalid_kind")
    text = storable((cheer.text or "").strip(), "A note") or None
    if text is not None and len(text) > TEXT_MAX:
        raise Invalid(N_("A note can be at most %(limit)s characters."), params={"limit": TEXT_MAX},
                      code="text_too_long")
    return kind, text, cheer.to_user_id


def _addressed(cheer: Cheering, kind: Cheer, text: str | None, to_user_id: int | None,
               about: dict[int, Commitment]) -> tuple[Cheer, str | None, int | None]:
    """Whom the cheer is for: the author of the commitment it is about, which must be shared
    with the sender's group, or the member it names; never the sender."""
    if cheer.commitment_id is not None:
        commitment = about.get(cheer.commitment_id)
        if (commitment is None or commitment.group_id != cheer.membership.group_id
                or commitment.visibility != "group"):
            raise NotFound(N_("We could not find that commitment."), code="commitment_not_found")
        to_user_id = to_user_id if to_user_id is not None else commitment.user_id
        if to_user_id != commitment.user_id:
            raise Invalid(N_("Encourage the person who made the commitment."), code="wrong_receiver")
    if to_user_id is not None and to_user_id == cheer.sender.id:
        raise Invalid(N_("Encouragement goes to someone else; be kind to yourself in your "
                         "commitments."), code="self_encouragement")
    return kind, text, to_user_id


async def _commitments_about(session: AsyncSession,
                             cheers: Sequence[Cheering]) -> dict[int, Commitment]:
    """The commitments these cheers are about, held (FOR KEY SHARE) until the transaction
    ends: a withdrawal waits for the cheer, or came first and leaves a 404, never a cheer about
    nothing. Whether the sender may see each is the caller's to weigh."""
    ids = sorted({c.commitment_id for c in cheers if c.commitment_id is not None})
    if not ids:
        return {}
    found = await session.scalars(select(Commitment).where(Commitment.id.in_(ids))
                                  .order_by(Commitment.id)
                                  .with_for_update(read=True, key_share=True))
    return {c.id: c for c in found}


async def _receivers(session: AsyncSession, wanted: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which (group, member) pairs are active memberships."""
    if not wanted:
        return set()
    rows = await session.execute(select(Membership.group_id, Membership.user_id).where(
        Membership.group_id.in_({g for g, _ in wanted}),
        Membership.user_id.in_({u for _, u in wanted}), Membership.state == "active"))
    return {(g, u) for g, u in rows}


async def _within_rate(session: AsyncSession, senders: dict[int, int], now: dt.datetime,
                       per_minute: int, *, held: bool = False) -> dict[int, AppError | None]:
    """For each cheer (by its index), None if its sender is within `per_minute` cheers in the
    last minute counting the ones before it, else the refusal. The senders' rows are locked (on
    SQLite: the write turn taken) first, unless `held` says the transaction already holds them,
    so cheers sent at once on any process queue here and each counts the ones before it."""
    if not senders:
        return {}
    ids = sorted(set(senders.values()))
    if not held:
        await session.execute(select(User.id).where(User.id.in_(ids)).order_by(User.id)
                              .with_for_update(key_share=True))
    window_start = now - dt.timedelta(minutes=1)
    recent = {sender: (count, oldest) for sender, count, oldest in await session.execute(
        select(Encouragement.from_user_id, func.count(), func.min(Encouragement.created_at))
        .where(Encouragement.from_user_id.in_(ids), Encouragement.created_at > window_start)
        .group_by(Encouragement.from_user_id))}
    outcome: dict[int, AppError | None] = {}
    for i, sender in senders.items():
        count, oldest = recent.get(sender, (0, now))
        if count >= per_minute:
            retry = oldest + dt.timedelta(minutes=1) - now
            outcome[i] = RateLimited(N_("That is a lot of encouragement at once. Take a breath and "
                                        "try again in a moment."),
                                     retry_after=int(retry.total_seconds()) + 1)
        else:
            outcome[i] = None
            recent[sender] = (count + 1, oldest)
    return outcome



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
