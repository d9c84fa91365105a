"""A member's own data: export all of it as JSON, or delete the account for good.

Deletion happens in one transaction. What is personal goes: the account, sessions, recovery
and reset codes, memberships, commitments and check-ins, rounds practised, transcripts. What the member
shared with others stays only without them: encouragement keeps its kind but loses its
words, feedback and reports say "a former member" (a report about their words keeps none of
them), the event log forgets their name
and words, so a replay never sends them again, and the group's audit log keeps what was
done but names them "a former member" or "a former moderator", without the reasons they gave.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock
from server.accounts import attempts, recovery
from server.accounts import service as accounts
from server.config import Settings
from server.db import after_commit
from server.errors import Forbidden
from server.events import Kind
from server.groups import service as groups
from server.i18n import N_
from server.models import (
    AuditEntry,
    AuthSession,
    Checkin,
    Commitment,
    Encouragement,
    Event,
    Feedback,
    Group,
    GroupReminder,
    Hidden,
    LoginFailure,
    Membership,
    PasswordReset,
    PushDevice,
    RecoveryCode,
    ReminderHabits,
    Report,
    Round,
    Scenario,
    Transcript,
    User,
)
from server.models.practice import CalendarFeed
from server.observability import log_event
from server.roleplay import service as roleplay

PERSONAL_KEYS = ("text", "note", "display_name", "title", "boundary", "reason")
FORMER_REPORTER = "The member who reported this has since deleted their account."
FORMER_MODERATOR_HID = "A moderator hid this."


def _iso(value: Any) -> Any:
    return value.isoformat().replace("+00:00", "Z") if hasattr(value, "isoformat") else value


def _row(obj: Any, *fields: str) -> dict[str, Any]:
    return {f: _iso(getattr(obj, f)) for f in fields}


async def export(session: AsyncSession, user: User) -> dict[str, Any]:
    """Everything this member wrote or holds, and nothing private of anyone else."""
    uid = user.id

    async def rows(query: Any) -> list[Any]:
        return list((await session.execute(query)).all())

    memberships = await rows(select(Membership, Group.name).join(Group, Group.id == Membership.group_id)
                             .where(Membership.user_id == uid))
    commitments = await rows(select(Commitment, Checkin).outerjoin(
        Checkin, Checkin.commitment_id == Commitment.id).where(Commitment.user_id == uid)
        .order_by(Commitment.day, Commitment.id))
    sent = (await session.scalars(select(Encouragement).where(Encouragement.from_user_id == uid)
                                  .order_by(Encouragement.id))).all()
    received = await rows(select(Encouragement, User.display_name, Hidden.id).outerjoin(
        User, User.id == Encouragement.from_user_id).outerjoin(
        Hidden, (Hidden.target_type == "encouragement") & (Hidden.target_id == Encouragement.id))
        .where(Encouragement.to_user_id == uid).order_by(Encouragement.id))
    given = (await session.scalars(select(Feedback).where(Feedback.from_user_id == uid))).all()
    reports = (await session.scalars(select(Report).where(Report.reporter_id == uid))).all()
    cards = (await session.scalars(select(Scenario).where(Scenario.created_by == uid))).all()
    actions = (await session.scalars(select(AuditEntry).where(AuditEntry.actor_id == uid))).all()
    sessions = (await session.scalars(select(AuthSession).where(AuthSession.user_id == uid))).all()
    saved = await roleplay.transcripts(session, user)
    habits = await session.get(ReminderHabits, uid)
    group_reminders = (await session.scalars(
        select(GroupReminder).where(GroupReminder.user_id == uid))).all()
    devices = (await session.scalars(select(PushDevice).where(PushDevice.user_id == uid))).all()
    feed = await session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == uid))
    return {
        "exported_at": _iso(clock.now()),
        "account": _row(user, "id", "username", "display_name", "timezone", "receive_only", "created_at"),
        "sessions": [_row(s, "created_at", "expires_at") for s in sessions],
        # Only hashes of the codes are kept, and only how many are left is theirs to know.
        "recovery_codes_remaining": await recovery.remaining(session, uid),
        "memberships": [{**_row(m, "group_id", "role", "state", "joined_at", "ended_at", "muted_until"),
                         "group_name": name} for m, name in memberships],
        "commitments": [{**_row(c, "id", "group_id", "day", "category", "text", "visibility",
                                "created_at"),
                         "checkin": _row(ch, "id", "status", "note", "feeling", "at") if ch else None}
                        for c, ch in commitments],
        "encouragement_sent": [_row(e, "id", "group_id", "kind", "text", "commitment_id",
                                    "to_user_id", "created_at") for e in sent],
        "encouragement_received": [{**_row(e, "id", "group_id", "kind", "commitment_id", "created_at"),
                                    "text": None if hidden else e.text,
                                    "from": name or "a former member"}
                                   for e, name, hidden in received],
        "roleplay_rounds": [{
            **_row(rnd, "id", "room_id", "group_id", "number", "intensity", "boundary",
                   "confidence_before", "confidence_after", "created_at"),
            "scenario": card.title if card else None,
            "feedback_received": [_row(f, "attempt", "role", "style", "worked", "try_next")
                                  for f, _ in feedback],
            "transcript": saved.get(rnd.id),
        } for rnd, card, feedback in await roleplay.history(session, user)],
        "feedback_given": [_row(f, "round_id", "attempt", "role", "style", "worked", "try_next",
                                "created_at") for f in given],
        "reports_filed": [_row(r, "id", "group_id", "target_type", "target_id", "reason", "status",
                               "created_at") for r in reports],
        "scenario_cards": [_row(c, "id", "group_id", "title", "situation", "opening_line",
                                "intensities", "created_at") for c in cards],
        "moderator_actions": [_row(a, "group_id", "action", "target", "reason", "at") for a in actions],
        "reminders": {
            **(_row(habits, "morning", "evening", "quiet_from", "quiet_until", "practice", "snoozed_until")
               if habits else {"morning": None, "evening": None, "practice": False}),
            "groups": [_row(g, "group_id", "nudge", "at") for g in group_reminders],
            "devices": [_row(d, "endpoint", "created_at") for d in devices],
            # The link itself is never kept, only its hash: whether there is one, and how it reads.
            "calendar_link": _row(feed, "show_group_names", "created_at") if feed else None,
        },
    }


async def delete_account(session: AsyncSession, settings: Settings, user: User, password: str,
                         *, address: str) -> None:
    """Delete the account and its personal data, given its password (a guess counted like a
    sign-in's, checked holding no transaction)."""
    checked = await attempts.check(session, settings, user.username, address, password)
    if not checked.ok:
        raise Forbidden(N_("That password is not right; your account was not deleted."),
                        code="bad_credentials")
    await attempts.succeeded(session, checked)
    await erase(session, user)


async def erase(session: AsyncSession, user: User) -> None:
    """The deletion itself (also `cairn delete-account`, to delete again after a restore what
    the backup still held). One log line says it happened, by id only: what an operator needs
    to do it again."""
    uid = user.id
    after_commit(session, lambda: log_event("account.deleted", user_id=uid))
    for group, membership in await groups.my_groups(session, user):
        await groups.leave(session, user, group, membership)
    # The event log forgets their name and words.
    events = (await session.scalars(select(Event).where(Event.actor_id == uid))).all()
    for event in events:
        event.data = {k: (None if k in PERSONAL_KEYS else v) for k, v in event.data.items()}
        event.actor_id = None
    # Events that name them without being theirs: a join, a worry the moderators were told of.
    named = (await session.scalars(select(Event).where(
        Event.kind.in_((Kind.MEMBER_JOINED, Kind.SUPPORT_CONCERN))))).all()
    for event in named:
        if event.data.get("user_id") == uid:
            event.data = {**event.data, "display_name": None}
    # Reports they filed stay for the moderators, and moderators' reasons for hiding stay for
    # the authors, without their words.
    await session.execute(update(Report).where(Report.reporter_id == uid).values(
        reason=FORMER_REPORTER, reporter_id=None))
    # Reports about their words stay for the moderators, without the words.
    await session.execute(update(Report).where(Report.author_id == uid).values(
        reported_words=None, author_id=None))
    await session.execute(update(Hidden).where(Hidden.hidden_by == uid).values(
        reason=FORMER_MODERATOR_HID, hidden_by=None))
    await roleplay.forget_member(session, uid)
    # The audit log stays, as the group's record; who they were and what they wrote go. An
    # entry with no actor that Cairn did not make reads "a former moderator".
    await session.execute(update(AuditEntry).where(AuditEntry.target_user_id == uid)
                          .values(target="a former member", target_user_id=None))
    await session.execute(update(AuditEntry).where(AuditEntry.actor_id == uid)
                          .values(actor_id=None, reason=None))
    await session.execute(update(Encouragement).where(Encouragement.from_user_id == uid)
                          .values(text=None, from_user_id=None))
    await session.execute(delete(LoginFailure).where(LoginFailure.username == user.username))
    await accounts.end_sessions(session, uid)
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == uid))
    await session.execute(delete(PasswordReset).where(PasswordReset.user_id == uid))
    await session.execute(delete(Transcript).where(Transcript.user_id == uid))
    await session.execute(delete(Round).where(Round.practitioner_id == uid))
    await session.execute(delete(Commitment).where(Commitment.user_id == uid))
    await session.execute(delete(Membership).where(Membership.user_id == uid))
    await session.execute(delete(User).where(User.id == uid))
    await session.flush()
