"""Moderation rules: reports, hiding content, muting, roles, worry notices, and the public
audit log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from server import clock, events, i18n
from server.accounts import recovery
from server.errors import AppError, BadRequest, Conflict, Forbidden, Invalid, NotFound, RateLimited
from server.events import Kind
from server.i18n import N_
from server.models import (
    AuditEntry,
    Checkin,
    Commitment,
    Encouragement,
    Hidden,
    Membership,
    Report,
    Room,
    Scenario,
    User,
)
from server.models.groups import Role
from server.models.moderation import ReportedLine, ReportStatus, TargetType, Worry
from server.moderation import crisis
from server.realtime import log
from server.roleplay import machine
from server.text import storable

REASON_MAX = 500
# Reports one member may file in a group in an hour: far above a worried member's need, and
# low enough that the moderators' queue stays readable on a phone.
REPORTS_PER_HOUR = 10
MUTE_MINUTES_MAX = 60 * 24 * 30
HIDDEN_TEXT = "Hidden by a moderator."


class Muted(AppError):
    status, code = 403, "muted"
    detail = N_("A moderator has paused your posting in this group for a while. You can still "
                "read.")


# -- muting -----------------------------------------------------------------------------------


def is_muted(membership: Membership) -> bool:
    return membership.muted_until is not None and membership.muted_until > clock.now()


async def require_unmuted(session: AsyncSession, group_id: int, user_id: int) -> None:
    """Writes by a muted member are refused (403 muted)."""
    membership = await session.scalar(select(Membership).where(
        Membership.group_id == group_id, Membership.user_id == user_id, Membership.state == "active"))
    if membership is not None:
        check_unmuted(membership)


def check_unmuted(membership: Membership) -> None:
    """require_unmuted() for a membership the caller has just loaded."""
    refusal = paused(membership)
    if refusal is not None:
        raise refusal


def paused(membership: Membership) -> Muted | None:
    """The refusal a paused member's writes get, or None while they may write."""
    if not is_muted(membership):
        return None
    until = membership.muted_until.strftime("%Y-%m-%d %H:%M UTC") if membership.muted_until else ""
    return Muted(N_("A moderator has paused your posting in this group until %(until)s. You "
                    "can still read."), params={"until": until})


# -- crisis support ---------------------------------------------------------------------------


async def notice_crisis(session: AsyncSession, user: User, group_id: int, *texts: str | None,
                        shared: bool = True) -> dict[str, Any] | None:
    """If the words suggest danger: the writer's answer carries support (returned, and kept
    for the request's answer: pending_support), and, when the words were shared with the
    group, its moderators are told privately (without the words themselves). Private words
    tell nobody: the writer alone sees the support."""
    if not crisis.detect(*texts):
        return None
    db = session.info.get("db")
    support = {**crisis.support(db.settings.crisis_resources_file if db else None,
                                i18n.spoken(user.language)),
               "moderators_told": shared}
    session.info["support"] = support
    if shared:
        await log.append(session, group_id, events.SupportConcern(
            user_id=user.id, display_name=user.display_name), None)
        await note_worry(session, group_id, user)
    return support


# -- worry notices ----------------------------------------------------------------------------

# How many acknowledged notices the moderation page keeps in view.
ACKNOWLEDGED_SHOWN = 20


async def note_worry(session: AsyncSession, group_id: int, user: User) -> Worry:
    """A notice that waits on the moderation page until a moderator acknowledges it, so no
    worry is lost on a moderator who was not online. One open notice a member: worrying words
    again before anyone acknowledged it add to that one. It keeps no words, only who and when.
    Called after the event is logged, which holds the group's row: notices of one group are
    noted one at a time."""
    now = clock.now()
    row = await session.scalar(select(Worry).where(
        Worry.group_id == group_id, Worry.user_id == user.id, Worry.acknowledged_at.is_(None))
        .order_by(Worry.id).limit(1))
    if row is None:
        row = Worry(group_id=group_id, user_id=user.id, first_noticed_at=now, noticed_at=now, times=1)
        session.add(row)
    else:
        row.noticed_at, row.times = now, row.times + 1
    await session.flush()
    return row


@dataclass(frozen=True)
class WorryNotice:
    """A worry notice as moderators see it: `member` None once that member deleted their
    account; `acknowledged_by` None while open, or once that moderator deleted theirs."""

    worry: Worry
    member: User | None
    acknowledged_by: User | None


async def open_worry_count(session: AsyncSession, group_id: int) -> int:
    return await session.scalar(select(func.count(Worry.id)).where(
        Worry.group_id == group_id, Worry.acknowledged_at.is_(None))) or 0


async def worries(session: AsyncSession, group_id: int, *, acknowledged: bool = False,
                  limit: int | None = None) -> list[WorryNotice]:
    """Open notices, the longest-waiting first; or acknowledged ones, the latest first."""
    writer, moderator = aliased(User), aliased(User)
    query = (select(Worry, writer, moderator)
             .outerjoin(writer, writer.id == Worry.user_id)
             .outerjoin(moderator, moderator.id == Worry.acknowledged_by)
             .where(Worry.group_id == group_id))
    if acknowledged:
        query = query.where(Worry.acknowledged_at.is_not(None)).order_by(
            Worry.acknowledged_at.desc(), Worry.id.desc())
    else:
        query = query.where(Worry.acknowledged_at.is_(None)).order_by(Worry.first_noticed_at, Worry.id)
    if limit is not None:
        query = query.limit(limit)
    return [WorryNotice(w, u, m) for w, u, m in (await session.execute(query)).all()]


async def acknowledge_worry(session: AsyncSession, moderator: User, group_id: int,
                            worry_id: int) -> WorryNotice:
    """A moderator has seen the notice and will look after it. Recorded on the notice alone,
    for the moderators: never in the audit log members read, never in an event. Two
    moderators acknowledging at once both succeed; the first keeps the record."""
    row = await session.scalar(select(Worry).where(Worry.id == worry_id, Worry.group_id == group_id))
    if row is None:
        raise NotFound(N_("We could not find that worry notice."), code="worry_not_found")
    if row.acknowledged_at is None:
        await session.execute(update(Worry).where(
            Worry.id == worry_id, Worry.acknowledged_at.is_(None)).values(
            acknowledged_by=moderator.id, acknowledged_at=clock.now()))
        await session.refresh(row)
    member = await session.get(User, row.user_id) if row.user_id is not None else None
    by = await session.get(User, row.acknowledged_by) if row.acknowledged_by is not None else None
    return WorryNotice(row, member, by)


async def moderators_changed(session: AsyncSession, group_id: int, user_id: int,
                             is_moderator: bool) -> None:
    """Someone starts or stops moderating (a promotion, a demotion, leaving, a removal): said in
    the moderators' own stream, in order with what is said there, so a socket reads that
    stream exactly while its member moderates."""
    await log.append(session, group_id, events.ModeratorChanged(
        user_id=user_id, moderator=is_moderator), None)


def pending_support(session: AsyncSession) -> dict[str, Any] | None:
    """Support for the writer of this request, if their words called for it."""
    return session.info.get("support")


# -- content ----------------------------------------------------------------------------------


async def _content(session: AsyncSession, viewer: User, group_id: int, target_type: str,
                   target_id: int) -> tuple[int | None, str]:
    """(author id, a short label) of content in this group that the viewer can see; 404 if not."""
    if TargetType.of(target_type) is None:
        raise Invalid(N_("target_type is commitment, checkin, encouragement, scenario or "
                      "roleplay_line."), code="invalid_target")
    missing = NotFound(N_("We could not find that in this group."), code="target_not_found")
    if target_type == TargetType.ROLEPLAY_LINE:
        said = await session.scalar(select(ReportedLine).where(
            ReportedLine.id == target_id, ReportedLine.group_id == group_id))
        if said is None:
            raise missing
        return said.speaker_id, f"a line said in a practice room (#{target_id})"
    if target_type in (TargetType.COMMITMENT, TargetType.CHECKIN):
        query = select(Commitment)
        if target_type == TargetType.CHECKIN:
            query = query.join(Checkin, Checkin.commitment_id == Commitment.id).where(Checkin.id == target_id)
        else:
            query = query.where(Commitment.id == target_id)
        # Held (FOR KEY SHARE) until the report or the hide is written: an edit of the words
        # (FOR UPDATE) waits for it, and then sees it; a withdrawal before it leaves nothing here.
        c = await session.scalar(query.where(Commitment.group_id == group_id).with_for_update(
            read=True, key_share=True, of=Commitment))
        if c is None or (c.visibility == "private" and c.user_id != viewer.id):
            raise missing
        return c.user_id, f"{target_type} #{target_id}"
    if target_type == TargetType.ENCOURAGEMENT:
        e = await session.scalar(select(Encouragement).where(
            Encouragement.id == target_id, Encouragement.group_id == group_id))
        if e is None:
            raise missing
        return e.from_user_id, f"encouragement #{target_id}"
    card = await session.scalar(select(Scenario).where(Scenario.id == target_id,
                                                       Scenario.group_id == group_id))
    if card is None:
        raise missing
    return card.created_by, f"scenario card #{target_id}"


def _reason(reason: str) -> str:
    reason = storable(" ".join(reason.split()), "A reason")
    if not 1 <= len(reason) <= REASON_MAX:
        raise Invalid(N_("Give a reason of 1 to %(high)s characters."), code="invalid_reason",
                      params={"high": REASON_MAX})
    return reason


async def _reported_line(session: AsyncSession, reporter: User, group_id: int, room_id: int | None,
                         line_id: int) -> ReportedLine:
    """Keep the words of a line the room shows now, as said, for the moderators; the same line
    reported again keeps the one copy."""
    if room_id is None:
        raise Invalid(N_("Say which room the line was said in (room_id)."), code="invalid_target")
    room = await session.scalar(select(Room).where(Room.id == room_id, Room.group_id == group_id))
    if room is None:
        raise NotFound(N_("We could not find that room."), code="room_not_found")
    state = machine.load(room.state)
    if reporter.id not in state.participants:
        raise Forbidden(N_("Join the room to report what is said in it."), code="not_in_room")
    line = machine.shown_line(state, line_id)
    if line is None:
        raise NotFound(N_("That line is no longer shown in the room."), code="target_not_found")
    said = await session.scalar(select(ReportedLine).where(ReportedLine.room_id == room_id,
                                                           ReportedLine.line_id == line_id))
    if said is None:
        said = ReportedLine(group_id=group_id, room_id=room_id, line_id=line_id,
                            speaker_id=line.by, role=str(line.role), text=line.text,
                            said_at=line.at)
        session.add(said)
        await session.flush()
    return said


async def report(session: AsyncSession, reporter: User, group_id: int, *, target_type: str,
                 target_id: int, reason: str, room_id: int | None = None) -> Report:
    """Report content in the group. A `roleplay_line` is named by the room and the line's id
    in it while the room shows it; the report then names the copy of its words kept here."""
    await _within_report_limit(session, reporter, group_id)
    if target_type == TargetType.ROLEPLAY_LINE:
        target_id = (await _reported_line(session, reporter, group_id, room_id, target_id)).id
    author_id, _ = await _content(session, reporter, group_id, target_type, target_id)
    # The words as the group reads them now, kept with the report: whatever their author does
    # with them later, the moderators read what was reported. Private words are never kept.
    shown = (await previews(session, group_id, [(target_type, target_id)])).get((target_type, target_id))
    row = Report(group_id=group_id, reporter_id=reporter.id, target_type=target_type,
                 target_id=target_id, reason=_reason(reason), status=ReportStatus.OPEN,
                 reported_words=shown.text if shown else None, author_id=author_id,
                 created_at=clock.now())
    session.add(row)
    await session.flush()
    await log.append(session, group_id, events.ReportCreated(
        report_id=row.id, target_type=TargetType(target_type), target_id=target_id,
        reason=row.reason), reporter)
    return row


async def _within_report_limit(session: AsyncSession, reporter: User, group_id: int) -> None:
    # Reports sent at once queue on the reporter's row, so each counts the ones before it.
    await session.execute(select(User.id).where(User.id == reporter.id)
                          .with_for_update(key_share=True))
    hour_ago = clock.now() - dt.timedelta(hours=1)
    recent = (await session.scalars(select(Report.created_at).where(
        Report.group_id == group_id, Report.reporter_id == reporter.id, Report.created_at > hour_ago)
        .order_by(Report.created_at).limit(REPORTS_PER_HOUR))).all()
    if len(recent) >= REPORTS_PER_HOUR:
        raise RateLimited(
            N_("Thank you for looking out for the group. The moderators have your reports; you can "
            "send more in a little while."),
            retry_after=int((recent[0] + dt.timedelta(hours=1) - clock.now()).total_seconds()) + 1)


async def open_report_count(session: AsyncSession, group_id: int) -> int:
    return await session.scalar(select(func.count(Report.id)).where(
        Report.group_id == group_id, Report.status == ReportStatus.OPEN)) or 0


# Reports a page of the moderation queue lists: ~500 reports never make one huge page.
REPORTS_PER_PAGE = 20


@dataclass(frozen=True)
class ReportPage:
    """One page of reports, newest first. `older`: the `before` of the next page back, None on
    the last page. `newer`: whether newer reports are on another page, and `newer_before` the
    `before` of that page (None: it is the first page)."""

    reports: list[tuple[Report, User | None]]
    older: int | None = None
    newer: bool = False
    newer_before: int | None = None


async def reports(session: AsyncSession, group_id: int, status: str | None, *,
                  before: int | None = None, limit: int = REPORTS_PER_PAGE) -> ReportPage:
    """A page of the group's reports, newest first; `before` (a report id) starts the page
    just after that report. Ids only grow, so newest first is highest id first, and a report
    filed while a moderator pages back never shifts what the next page holds."""
    query = select(Report, User).outerjoin(User, User.id == Report.reporter_id).where(
        Report.group_id == group_id)
    ids = select(Report.id).where(Report.group_id == group_id)
    if status is not None:
        query, ids = query.where(Report.status == status), ids.where(Report.status == status)
    page = query.where(Report.id < before) if before is not None else query
    rows: list[tuple[Report, User | None]] = [(r, u) for r, u in (await session.execute(
        page.order_by(Report.id.desc()).limit(limit + 1))).all()]
    older = rows[limit - 1][0].id if len(rows) > limit else None
    if before is None:
        return ReportPage(rows[:limit], older)
    # The page of newer ones holds the `limit` reports just above this one.
    above = (await session.scalars(ids.where(Report.id >= before).order_by(Report.id)
                                   .limit(limit + 1))).all()
    return ReportPage(rows[:limit], older, bool(above), above[limit] if len(above) > limit else None)


async def dismiss(session: AsyncSession, moderator: User, group_id: int, report_id: int,
                  note: str | None = None) -> Report:
    """Close a report without hiding anything; like every moderator action, it is audited."""
    row = await session.scalar(select(Report).where(Report.id == report_id,
                                                    Report.group_id == group_id))
    if row is None:
        raise NotFound(N_("We could not find that report."), code="report_not_found")
    if row.status != ReportStatus.OPEN:
        raise Conflict(N_("That report has already been dealt with."), code="report_resolved")
    note = _reason(note) if note and note.strip() else None
    row.status, row.resolved_by, row.resolved_at = ReportStatus.RESOLVED, moderator.id, clock.now()
    names: dict[str, str] = {TargetType.SCENARIO: "scenario card",
                             TargetType.ROLEPLAY_LINE: "room line"}
    label = names.get(row.target_type, row.target_type)
    await audit(session, group_id, moderator, "dismiss", f"a report about {label} #{row.target_id}",
                note)
    await session.flush()
    return row


@dataclass(frozen=True)
class Preview:
    """Reported content as the moderation page shows it to moderators."""

    author: str
    text: str | None
    day: dt.date | None = None  # a commitment's (or its check-in's): its author's own date
    zone: str | None = None  # its author's time zone, to find that day on a reader's page


async def previews(session: AsyncSession, group_id: int,
                   targets: Iterable[tuple[str, int]]) -> dict[tuple[str, int], Preview]:
    """The words and author of each (target_type, target_id) still in this group."""
    wanted: dict[str, set[int]] = {}
    for target_type, target_id in targets:
        wanted.setdefault(target_type, set()).add(target_id)
    found: dict[tuple[str, int], Preview] = {}

    def name(user: User | None) -> str:
        return user.display_name if user else "a former member"

    if ids := wanted.get(TargetType.COMMITMENT):
        rows = await session.execute(select(Commitment, User).outerjoin(
            User, User.id == Commitment.user_id).where(
            Commitment.id.in_(ids), Commitment.group_id == group_id,
            Commitment.visibility == "group"))
        for c, u in rows.all():
            found[(TargetType.COMMITMENT, c.id)] = Preview(name(u), c.text, c.day,
                                                           u.timezone if u else None)
    if ids := wanted.get(TargetType.CHECKIN):
        checkins = await session.execute(select(Checkin, Commitment, User).join(
            Commitment, Commitment.id == Checkin.commitment_id).outerjoin(
            User, User.id == Commitment.user_id).where(
            Checkin.id.in_(ids), Commitment.group_id == group_id,
            Commitment.visibility == "group"))
        for ch, c, u in checkins.all():
            found[(TargetType.CHECKIN, ch.id)] = Preview(name(u), ch.note, c.day,
                                                         u.timezone if u else None)
    if ids := wanted.get(TargetType.ENCOURAGEMENT):
        cheers = await session.execute(select(Encouragement, User).outerjoin(
            User, User.id == Encouragement.from_user_id).where(
            Encouragement.id.in_(ids), Encouragement.group_id == group_id))
        for e, u in cheers.all():
            found[(TargetType.ENCOURAGEMENT, e.id)] = Preview(name(u), e.text)
    if ids := wanted.get(TargetType.SCENARIO):
        cards = await session.execute(select(Scenario, User).outerjoin(
            User, User.id == Scenario.created_by).where(
            Scenario.id.in_(ids), Scenario.group_id == group_id))
        for card, u in cards.all():
            found[(TargetType.SCENARIO, card.id)] = Preview(name(u), f"{card.title}: {card.situation}")
    if ids := wanted.get(TargetType.ROLEPLAY_LINE):
        rows = await session.execute(select(ReportedLine, User).outerjoin(
            User, User.id == ReportedLine.speaker_id).where(
            ReportedLine.id.in_(ids), ReportedLine.group_id == group_id))
        for said, u in rows.all():
            found[(TargetType.ROLEPLAY_LINE, said.id)] = Preview(name(u), said.text)
    return found


@dataclass(frozen=True)
class Reported:
    """What a report is about, as moderators read it: the words as they were reported (kept on
    the report), whose they are, and the thing as it is now (None once it is gone: withdrawn by
    its author, or gone with their account)."""

    words: str | None
    author: str | None
    now: Preview | None

    @property
    def changed(self) -> bool:
        """It reads otherwise now (a check-in's note written again)."""
        return (self.now is not None and self.now.text is not None and self.words is not None
                and self.now.text != self.words)


async def reported(session: AsyncSession, group_id: int,
                   rows: Iterable[Report]) -> dict[int, Reported]:
    """Each report's words as reported and its thing as it is now, by report id."""
    rows = list(rows)
    now = await previews(session, group_id, [(r.target_type, r.target_id) for r in rows])
    gone = {r.author_id for r in rows if (r.target_type, r.target_id) not in now and r.author_id}
    names: dict[int, str] = {uid: name for uid, name in (await session.execute(
        select(User.id, User.display_name).where(User.id.in_(gone)))).all()} if gone else {}
    out = {}
    for r in rows:
        p = now.get((r.target_type, r.target_id))
        author = p.author if p else names.get(r.author_id) if r.author_id else None
        out[r.id] = Reported(r.reported_words, author, p)
    return out


async def hide(session: AsyncSession, moderator: User, group_id: int, *, target_type: str,
               target_id: int, reason: str) -> Hidden:
    author_id, label = await _content(session, moderator, group_id, target_type, target_id)
    reason = _reason(reason)
    if await session.scalar(select(Hidden.id).where(Hidden.target_type == target_type,
                                                    Hidden.target_id == target_id)):
        raise Conflict(N_("That is already hidden."), code="already_hidden")
    now = clock.now()
    row = Hidden(group_id=group_id, target_type=target_type, target_id=target_id, reason=reason,
                 hidden_by=moderator.id, at=now)
    session.add(row)
    await session.execute(update(Report).where(
        Report.group_id == group_id, Report.target_type == target_type,
        Report.target_id == target_id, Report.status == ReportStatus.OPEN,
    ).values(status=ReportStatus.RESOLVED, resolved_by=moderator.id, resolved_at=now))
    await _scrub_events(session, group_id, target_type, target_id)
    if target_type == TargetType.ROLEPLAY_LINE:
        await _take_out_of_room(session, target_id)
    await audit(session, group_id, moderator, "hide", label, reason)
    await log.append(session, group_id, events.ContentHidden(
        target_type=TargetType(target_type), target_id=target_id, author_id=author_id), moderator)
    await session.flush()
    return row


async def _take_out_of_room(session: AsyncSession, reported_line_id: int) -> None:
    """A hidden line leaves everyone's view of the room at once, if the room still shows it."""
    from server.roleplay import service as roleplay  # the rooms use moderation too

    said = await session.get(ReportedLine, reported_line_id)
    if said is not None and said.room_id is not None:
        await roleplay.hide_line(session, said.room_id, said.line_id)


# The words of each kind of thing that hiding takes out of every event about it.
WITHHELD = {TargetType.COMMITMENT: ("text", "note"), TargetType.CHECKIN: ("note",),
            TargetType.ENCOURAGEMENT: ("text",)}
# Which field names the thing, in which events' data.
_ABOUT = {TargetType.COMMITMENT: ("commitment_id", (Kind.COMMITMENT_CREATED,
                                                    Kind.COMMITMENT_CHECKED_IN,
                                                    Kind.COMMITMENT_EDITED)),
          TargetType.CHECKIN: ("checkin_id", (Kind.COMMITMENT_CHECKED_IN,)),
          TargetType.ENCOURAGEMENT: ("encouragement_id", (Kind.ENCOURAGEMENT_SENT,))}
E = TypeVar("E", bound=events.GroupEvent)


def withhold(data: dict[str, Any], target_type: str) -> dict[str, Any]:
    """Event data without the words of a hidden thing: the one rule for every event about it,
    those already logged (when it is hidden) and those still to come (a later check-in)."""
    return {**data, **dict.fromkeys(WITHHELD[TargetType(target_type)]), "hidden": True}


async def hidden_of(session: AsyncSession, event: E) -> E:
    """An event as it may be shown, given what is hidden now of the things it is about."""
    kind, data = event.KIND, event.data()
    about = [(t, data[key]) for t, (key, kinds) in _ABOUT.items()
             if kind in kinds and isinstance(data.get(key), int)]
    if not about:
        return event
    hidden = (await session.execute(select(Hidden.target_type).where(
        or_(*((Hidden.target_type == t) & (Hidden.target_id == i) for t, i in about))))).scalars().all()
    for target_type in hidden:
        data = withhold(data, target_type)
    return type(event)(**data)


async def _scrub_events(session: AsyncSession, group_id: int, target_type: str, target_id: int) -> None:
    """A replayed event honours what happened since: hidden words are not sent again."""
    if TargetType.of(target_type) not in WITHHELD:
        return
    key, kinds = _ABOUT[TargetType(target_type)]
    for event in await log.about(session, group_id, kinds, key, target_id):
        event.data = withhold(event.data, target_type)


async def hidden_in(session: AsyncSession, group_id: int) -> dict[tuple[str, int], Hidden]:
    rows = (await session.scalars(select(Hidden).where(Hidden.group_id == group_id))).all()
    return {(h.target_type, h.target_id): h for h in rows}


# -- members ----------------------------------------------------------------------------------


async def _active(session: AsyncSession, group_id: int, user_id: int) -> tuple[Membership, User]:
    row = (await session.execute(select(Membership, User).join(User, User.id == Membership.user_id).where(
        Membership.group_id == group_id, Membership.user_id == user_id,
        Membership.state == "active"))).first()
    if row is None:
        raise NotFound(N_("That person is not a member of this group."), code="member_not_found")
    return row[0], row[1]


async def mute(session: AsyncSession, moderator: User, group_id: int, user_id: int, *,
               minutes: int, reason: str) -> Membership:
    if user_id == moderator.id:
        raise BadRequest(N_("You cannot mute yourself."), code="mute_self")
    if not 1 <= minutes <= MUTE_MINUTES_MAX:
        raise Invalid(N_("Mute for 1 minute to 30 days."), code="invalid_minutes")
    membership, user = await _active(session, group_id, user_id)
    if membership.role == Role.MODERATOR:
        raise Forbidden(N_("Moderators are not muted; change their role first."), code="mute_moderator")
    reason = _reason(reason)
    membership.muted_until = clock.now() + dt.timedelta(minutes=minutes)
    membership.mute_reason = reason
    await audit(session, group_id, moderator, "mute", user, reason)
    await log.append(session, group_id, events.MemberMuted(
        user_id=user_id, until=membership.muted_until.isoformat().replace("+00:00", "Z")),
        moderator)
    return membership


async def unmute(session: AsyncSession, moderator: User, group_id: int, user_id: int) -> None:
    membership, user = await _active(session, group_id, user_id)
    if membership.muted_until is None:
        return
    membership.muted_until = membership.mute_reason = None
    await audit(session, group_id, moderator, "unmute", user, None)
    await log.append(session, group_id, events.MemberUnmuted(user_id=user_id), moderator)


async def set_role(session: AsyncSession, moderator: User | None, group_id: int, user_id: int,
                   role: str) -> Membership:
    """Promote or demote; `moderator` is None when the server's operator does it (the CLI)."""
    if Role.of(role) is None:
        raise Invalid(N_("role is moderator or member."), code="invalid_role")
    membership, user = await _active(session, group_id, user_id)
    if membership.role == role:
        return membership
    if role == Role.MEMBER:
        others = await session.scalar(select(Membership.id).where(
            Membership.group_id == group_id, Membership.state == "active",
            Membership.role == Role.MODERATOR, Membership.user_id != user_id).limit(1))
        if not others:
            raise Conflict(N_("A group always has a moderator; promote someone else first."),
                           code="last_moderator")
    membership.role = role
    if role == Role.MODERATOR:
        membership.muted_until = membership.mute_reason = None
    await audit(session, group_id, moderator, "promote" if role == Role.MODERATOR else "demote",
                user, None)
    await log.append(session, group_id, events.MemberRoleChanged(
        user_id=user_id, role=Role(role), reason=None), moderator)
    await moderators_changed(session, group_id, user_id, role == Role.MODERATOR)
    return membership


async def make_reset_code(session: AsyncSession, moderator: User, group_id: int,
                          user_id: int) -> recovery.ResetCode:
    """A one-time code for a member of the group to set a new password with, shown once to the
    moderator to give them in person (server/accounts/recovery.py). The audit log says a
    moderator made one, and never for whom: a forgotten password is nobody else's business."""
    if user_id == moderator.id:
        raise BadRequest(N_("This is for a member who cannot sign in. To change your own password, "
                         "use Settings."), code="reset_self")
    _, member = await _active(session, group_id, user_id)
    made = await recovery.make_reset_code(session, member, group_id, moderator)
    await audit(session, group_id, moderator, "reset_code", "a member", None)
    return made


# -- the audit log ----------------------------------------------------------------------------


async def audit(session: AsyncSession, group_id: int, actor: User | None, action: str,
                target: User | str, reason: str | None) -> None:
    """Record an action: `actor` None is Cairn (the operator); a member as `target` is named by
    their display name and linked, so deleting their account can unname them."""
    name, about = (target.display_name, target.id) if isinstance(target, User) else (target, None)
    session.add(AuditEntry(group_id=group_id, actor_id=actor.id if actor else None, by_cairn=actor is None,
                           action=action, target=name[:200], target_user_id=about, reason=reason,
                           at=clock.now()))


async def audit_log(session: AsyncSession, group_id: int) -> list[tuple[AuditEntry, User | None]]:
    rows = await session.execute(
        select(AuditEntry, User).outerjoin(User, User.id == AuditEntry.actor_id)
        .where(AuditEntry.group_id == group_id).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()))
    return [(a, u) for a, u in rows.all()]
