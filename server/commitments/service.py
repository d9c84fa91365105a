"""Commitment rules: posting up to three a day per group, checking in, changing the words until
someone has responded to them, withdrawing, the group's day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Integer, bindparam, case, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from server import clock, events
from server.commitments import days
from server.errors import Conflict, Forbidden, Invalid, NotFound
from server.events import Kind
from server.i18n import N_
from server.models import Checkin, Commitment, Encouragement, Hidden, Membership, Report, User
from server.models.commitments import PER_DAY, Category, CheckinStatus, Visibility
from server.models.moderation import TargetType
from server.moderation import service as moderation
from server.realtime import log
from server.text import storable

TEXT_MAX = 280
NOTE_MAX = 500


@dataclass(frozen=True)
class Entry:
    """A commitment as one reader sees it: with its author and check-in, and whatever a
    moderator hid shown as hidden to everyone but the author."""

    commitment: Commitment
    author: User
    checkin: Checkin | None
    viewer_id: int = 0
    hidden: Hidden | None = None
    checkin_hidden: Hidden | None = None
    # The reader's own commitment keeps its words (_words_kept); False for anyone else's.
    locked: bool = False

    @property
    def own(self) -> bool:
        return self.commitment.user_id == self.viewer_id

    @property
    def text(self) -> str | None:
        return self.commitment.text if self.own or self.hidden is None else None

    @property
    def note(self) -> str | None:
        if self.checkin is None:
            return None
        if self.own or (self.hidden is None and self.checkin_hidden is None):
            return self.checkin.note
        return None

    @property
    def hidden_reason(self) -> str | None:
        """Why it was hidden, for its author alone."""
        hidden = self.hidden or self.checkin_hidden
        return hidden.reason if hidden is not None and self.own else None


# What is too long, each said whole: "A commitment can be at most 280 characters."
_TOO_LONG = {"A commitment": N_("A commitment can be at most %(limit)s characters."),
             "A note": N_("A note can be at most %(limit)s characters.")}


def _clean_text(text: str | None, limit: int, what: str) -> str:
    cleaned = storable((text or "").strip(), what)
    if len(cleaned) > limit:
        raise Invalid(_TOO_LONG[what], params={"limit": limit}, code="text_too_long")
    return cleaned


def created_event(c: Commitment, days_from_today: int) -> events.CommitmentCreated:
    return events.CommitmentCreated(
        commitment_id=c.id, user_id=c.user_id, day=c.day.isoformat(),
        days_from_today=days_from_today, category=Category(c.category), step=c.step, text=c.text)


def checked_in_event(c: Commitment, checkin: Checkin) -> events.CommitmentCheckedIn:
    return events.CommitmentCheckedIn(
        commitment_id=c.id, user_id=c.user_id, day=c.day.isoformat(),
        category=Category(c.category), step=c.step, text=c.text,
        checkin_id=checkin.id, status=checkin.status, note=checkin.note)


async def create(
    session: AsyncSession, user: User, group_id: int, *, category: str, text: str,
    day: dt.date | None = None, visibility: str = "group",
) -> Commitment:
    if Category.of(category) is None:
        raise Invalid(N_("Choose one of the categories of the three steps."), code="invalid_category")
    if Visibility.of(visibility) is None:
        raise Invalid(N_("Visibility is 'group' or 'private'."), code="invalid_visibility")
    text = _clean_text(text, TEXT_MAX, "A commitment")
    if not text:
        raise Invalid(N_("Write a few words about what you will do."), code="text_required")
    await moderation.require_unmuted(session, group_id, user.id)
    today = clock.local_today(user.timezone)
    day = day or today
    if abs((day - today).days) > 1:
        raise Invalid(N_("Commitments are for yesterday, today or tomorrow."), code="invalid_day")
    # Lock the member's row: posts sent at once queue here, so each counts the ones before it.
    await session.execute(select(User.id).where(User.id == user.id).with_for_update(key_share=True))
    posted = await session.scalar(
        select(func.count(Commitment.id))
        .where(Commitment.user_id == user.id, Commitment.group_id == group_id, Commitment.day == day)
    ) or 0
    if posted >= PER_DAY:
        raise Conflict(N_("You already have %(count)s commitments for that day here. "
                          "Three is plenty: be gentle with yourself."), params={"count": PER_DAY},
                       code="daily_limit")
    commitment = Commitment(group_id=group_id, user_id=user.id, day=day, category=category,
                            text=text, visibility=visibility, created_at=clock.now())
    session.add(commitment)
    await session.flush()
    if visibility == "group":
        await log.append(session, group_id, created_event(commitment, (day - today).days), user)
    await moderation.notice_crisis(session, user, group_id, text, shared=visibility == "group")
    return commitment


async def check_in(
    session: AsyncSession, user: User, commitment_id: int, *, status: str,
    note: str | None = None, feeling: int | None = None,
) -> tuple[Commitment, Checkin]:
    if CheckinStatus.of(status) is None:
        raise Invalid(N_("Status is done, partly or not_today."), code="invalid_status")
    if feeling is not None and not 1 <= feeling <= 5:
        raise Invalid(N_("Feeling is a number from 1 to 5."), code="invalid_feeling")
    note = _clean_text(note, NOTE_MAX, "A note") or None
    commitment = await readable(session, user, commitment_id, lock="share")
    if commitment.user_id != user.id:
        raise Forbidden(N_("Only the person who made a commitment can check in on it."),
                        code="not_author")
    await moderation.require_unmuted(session, commitment.group_id, user.id)
    checkin = await session.scalar(select(Checkin).where(Checkin.commitment_id == commitment.id))
    if checkin is None:
        checkin = Checkin(commitment_id=commitment.id)
        session.add(checkin)
    checkin.status, checkin.note, checkin.feeling, checkin.at = status, note, feeling, clock.now()
    await session.flush()
    shared = commitment.visibility == "group"
    if shared:
        # Hidden stays hidden: a new check-in on a hidden commitment (or a new note on a
        # hidden check-in) does not carry the words back.
        await log.append(session, commitment.group_id, await moderation.hidden_of(
            session, checked_in_event(commitment, checkin)), user)
    await moderation.notice_crisis(session, user, commitment.group_id, note, shared=shared)
    return commitment, checkin


async def readable(session: AsyncSession, user: User, commitment_id: int, *,
                   lock: Literal["share", "update"] | None = None) -> Commitment:
    """A commitment the member may see: in one of their groups, shared or their own.

    `lock` "share" holds it (FOR KEY SHARE) until the caller's transaction ends, for what is
    written about it: a withdrawal waits for that, or came first and leaves a 404 here, never
    a row that refers to nothing. "update" holds it against everything written about it (FOR
    UPDATE), to change or withdraw it. SQLite's writers take turns anyway."""
    query = (select(Commitment).join(Membership, Membership.group_id == Commitment.group_id)
             .where(Commitment.id == commitment_id, Membership.user_id == user.id,
                    Membership.state == "active",
                    or_(Commitment.visibility == "group", Commitment.user_id == user.id)))
    if lock is not None:
        query = query.with_for_update(read=lock == "share", key_share=lock == "share", of=Commitment)
    commitment = await session.scalar(query)
    if commitment is None:
        raise NotFound(N_("We could not find that commitment."), code="commitment_not_found")
    return commitment


# -- changing the words, withdrawing ------------------------------------------------------------

LOCKED = N_("Others in the group have already responded to this commitment, so its words stay "
            "as they are. You can still withdraw it, and post new words if you like.")


def _words_kept(commitment: Any) -> Any:
    """Whether a commitment keeps its words: someone has cheered it, reported it, or a
    moderator hid it. The one rule, said the same way whichever it was: whether a report was
    made is the moderators' to know."""
    cheered = select(Encouragement.id).where(Encouragement.to_user_id == commitment.user_id,
                                             Encouragement.commitment_id == commitment.id)
    reported = select(Report.id).where(Report.group_id == commitment.group_id,
                                       Report.target_type == TargetType.COMMITMENT,
                                       Report.target_id == commitment.id)
    hidden = select(Hidden.id).where(Hidden.target_type == TargetType.COMMITMENT,
                                     Hidden.target_id == commitment.id)
    return or_(cheered.exists(), reported.exists(), hidden.exists())


_KEPT = select(Commitment.id).where(Commitment.id == bindparam("commitment_id"),
                                    _words_kept(Commitment))


async def keeps_its_words(session: AsyncSession, commitment: Commitment) -> bool:
    """Whether the commitment keeps its words (_words_kept); the group's day reads the same
    for the reader's own commitments with them (Entry.locked)."""
    return await session.scalar(_KEPT, {"commitment_id": commitment.id}) is not None


async def _own(session: AsyncSession, user: User, commitment_id: int) -> Commitment:
    """The member's own commitment, held against a cheer, a report or a hide until this
    transaction ends (their inserts take FOR KEY SHARE, which FOR UPDATE waits for and
    blocks): whatever comes first is seen by the other."""
    commitment = await readable(session, user, commitment_id, lock="update")
    if commitment.user_id != user.id:
        raise Forbidden(N_("Only the person who made a commitment can change or withdraw it."),
                        code="not_author")
    return commitment


# The events whose words a replay would send again, and which change with the commitment's.
_ABOUT_IT = (Kind.COMMITMENT_CREATED, Kind.COMMITMENT_CHECKED_IN, Kind.COMMITMENT_EDITED)


async def edit(session: AsyncSession, user: User, commitment_id: int, *, text: str) -> Commitment:
    """New words for the member's own commitment, until someone has responded to it (409
    commitment_locked). The events already logged about it take the new words, so a replay
    tells what it says now."""
    text = _clean_text(text, TEXT_MAX, "A commitment")
    if not text:
        raise Invalid(N_("Write a few words about what you will do."), code="text_required")
    commitment = await _own(session, user, commitment_id)
    await moderation.require_unmuted(session, commitment.group_id, user.id)
    if await keeps_its_words(session, commitment):
        raise Conflict(LOCKED, code="commitment_locked")
    if text == commitment.text:
        return commitment
    commitment.text = text
    await session.flush()
    shared = commitment.visibility == "group"
    if shared:
        for event in await log.about(session, commitment.group_id, _ABOUT_IT, "commitment_id",
                                     commitment.id):
            event.data = {**event.data, "text": text}
        await log.append(session, commitment.group_id, events.CommitmentEdited(
            commitment_id=commitment.id, user_id=user.id, text=text), user)
    await moderation.notice_crisis(session, user, commitment.group_id, text, shared=shared)
    return commitment


async def withdraw(session: AsyncSession, user: User, commitment_id: int) -> None:
    """The member takes back their own commitment, at any time (muted too): it goes, with its
    check-in, from every view. Encouragement about it stays with its receiver; the events
    already logged about it keep no words (a replay does not bring it back); a report about it
    keeps the words it was about, for the moderators."""
    commitment = await _own(session, user, commitment_id)
    group_id, shared = commitment.group_id, commitment.visibility == "group"
    if shared:
        for event in await log.about(session, group_id, _ABOUT_IT, "commitment_id", commitment.id):
            event.data = {**event.data, "text": None, "withdrawn": True,
                          **({"note": None} if "note" in event.data else {})}
    # The database takes its check-in along and lets encouragement about it stay (the keys say so).
    await session.delete(commitment)
    await session.flush()
    if shared:
        await log.append(session, group_id, events.CommitmentWithdrawn(
            commitment_id=commitment_id, user_id=user.id), user)


_HiddenCommitment, _HiddenCheckin = aliased(Hidden), aliased(Hidden)


def _entries_where(*where: Any) -> Any:
    """The group's commitments the viewer may read, with their authors and check-ins, and
    what a moderator hid of them (a commitment or a check-in is hidden at most once), and
    whether the viewer's own keep their words. Built
    once per shape, with its values as parameters (docs/performance.md, "Statements built
    once"): "group_id", "viewer_id" and those `where` names."""
    group_id = bindparam("group_id", type_=Integer)
    viewer_id = bindparam("viewer_id", type_=Integer)
    locked = case((Commitment.user_id == viewer_id, _words_kept(Commitment)), else_=false())
    return (
        select(Commitment, User, Checkin, _HiddenCommitment, _HiddenCheckin, locked)
        .join(User, User.id == Commitment.user_id)
        .outerjoin(Checkin, Checkin.commitment_id == Commitment.id)
        .outerjoin(_HiddenCommitment, (_HiddenCommitment.group_id == group_id)
                   & (_HiddenCommitment.target_type == TargetType.COMMITMENT)
                   & (_HiddenCommitment.target_id == Commitment.id))
        .outerjoin(_HiddenCheckin, (_HiddenCheckin.group_id == group_id)
                   & (_HiddenCheckin.target_type == TargetType.CHECKIN)
                   & (_HiddenCheckin.target_id == Checkin.id))
        .where(Commitment.group_id == group_id, *where,
               or_(Commitment.visibility == "group", Commitment.user_id == viewer_id))
        .order_by(Commitment.created_at, Commitment.id))


_DAYS_ENTRIES = _entries_where(Commitment.day >= bindparam("first"),
                               Commitment.day <= bindparam("last"))
_ONE_ENTRY = _entries_where(Commitment.id == bindparam("commitment_id"))


async def _entries(session: AsyncSession, viewer: User, group_id: int, statement: Any,
                   **values: Any) -> list[Entry]:
    rows = await session.execute(statement, {"group_id": group_id, "viewer_id": viewer.id,
                                             **values})
    return [Entry(c, u, ch, viewer.id, hidden, checkin_hidden, bool(locked))
            for c, u, ch, hidden, checkin_hidden, locked in rows.all()]


async def group_day(session: AsyncSession, viewer: User, group_id: int, day: dt.date,
                    at: dt.datetime) -> list[Entry]:
    """The group's day `day`, a date in the viewer's calendar: each member's commitments of
    their own day as many days from their own today (server/commitments/days.py)."""
    n = days.distance(viewer.timezone, day, at)
    first, last = days.around(day)
    entries = await _entries(session, viewer, group_id, _DAYS_ENTRIES, first=first, last=last)
    return [e for e in entries if days.distance(e.author.timezone, e.commitment.day, at) == n]


async def entry(session: AsyncSession, viewer: User, group_id: int, commitment_id: int) -> Entry:
    """One commitment of the group's, as the group's day shows it to this reader."""
    found = await _entries(session, viewer, group_id, _ONE_ENTRY, commitment_id=commitment_id)
    if not found:
        raise NotFound(N_("We could not find that commitment."), code="commitment_not_found")
    return found[0]


async def checkin_for(session: AsyncSession, commitment_id: int) -> Checkin | None:
    return await session.scalar(select(Checkin).where(Checkin.commitment_id == commitment_id))
