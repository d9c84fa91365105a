"""A way back in without email: a member's recovery codes, a moderator's one-time reset code,
and signing in with either to set a new password.

Cairn never asks for an email, so a forgotten password has no mailbox to go through. At
sign-up each member is shown a set of recovery codes, once; each lets them set a new password
once. A member without one can ask a moderator of their group, who makes a reset code to give
them in person: it works once, for RESET_MINUTES, and only while the member is still in that
group and its maker still moderates it (a code made by someone who has since left or stepped
back, or for someone who has since left, was made on a trust that no longer holds). Either way
every session of the account ends; after a reset code, the member's next sign-in by password
or recovery code tells them who made it and when it was used, so a reset they did not ask for
does not go unseen.

Guesses at codes count with guesses at passwords (server/accounts/attempts.py), and a wrong
code, an unknown username, a used, expired or void code all answer alike.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from server import clock, formats, i18n
from server.accounts import attempts, passwords
from server.accounts import service as accounts
from server.config import Settings
from server.errors import Forbidden, Invalid, NotSignedIn
from server.i18n import N_
from server.models import Group, Membership, PasswordReset, RecoveryCode, User
from server.models.groups import Role

# No 0/O, 1/I/L: nothing to misread from paper. 31 symbols, 10 of them: ~49.5 bits a code.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
RECOVERY_CODES = 10
RESET_MINUTES = 30
# Checked against every try: the recovery codes and one live reset code.
CANDIDATES = RECOVERY_CODES + 1

RECOVERY, RESET = "recovery", "reset"
MISMATCH = N_("That username and code do not match. Each code works once; a reset code from a "
              "moderator works for %(minutes)s minutes.")


def _mismatch() -> NotSignedIn:
    return NotSignedIn(MISMATCH, code="bad_credentials", params={"minutes": RESET_MINUTES})


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def shown(code: str) -> str:
    """A code as people read it: two groups of five."""
    return f"{code[:5]}-{code[5:]}"


def normalize_code(typed: str) -> str:
    """A code as typed (any case, spaces or dashes between) as it is hashed; Invalid if it
    cannot be one."""
    code = "".join(ch for ch in typed.upper() if ch not in " -\t")
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        raise Invalid(N_("A code has %(count)s letters and digits, like %(example)s. Please check "
                         "it and type it again."), code="invalid_code",
                      params={"count": CODE_LENGTH, "example": shown("ABCDE23456")})
    return code


# -- recovery codes ----------------------------------------------------------------------------

@dataclass(frozen=True)
class NewCodes:
    """A set of recovery codes, as shown to the member once, and their hashes, to keep."""

    shown: list[str]
    hashes: list[str]


async def new_codes() -> NewCodes:
    """A new set, hashed. Made before the caller writes anything: on SQLite hashing while
    holding the write turn would keep every other writer waiting."""
    codes = [new_code() for _ in range(RECOVERY_CODES)]
    return NewCodes([shown(c) for c in codes], await passwords.hash_codes(codes))


async def keep(session: AsyncSession, user: User, codes: NewCodes) -> list[str]:
    """The member's recovery codes are these from now on: the old set stops working."""
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    now = clock.now()
    session.add_all(RecoveryCode(user_id=user.id, code_hash=h, created_at=now) for h in codes.hashes)
    await session.flush()
    return codes.shown


async def register(session: AsyncSession, **fields: Any) -> tuple[User, list[str]]:
    """A new account (server.accounts.service.register's fields) with its recovery codes, to
    show this once."""
    codes = await new_codes()  # before anything is written
    user = await accounts.register(session, **fields)
    return user, await keep(session, user, codes)


async def remaining(session: AsyncSession, user_id: int) -> int:
    return await session.scalar(select(func.count(RecoveryCode.id))
                                .where(RecoveryCode.user_id == user_id)) or 0


async def replace_codes(session: AsyncSession, settings: Settings, user: User, password: str, *,
                        address: str) -> list[str]:
    """A new set of recovery codes, given the member's password (a guess counted like a
    sign-in's); the old set stops working at once."""
    checked = await attempts.check(session, settings, user.username, address, password)
    if not checked.ok:
        raise Forbidden(N_("That password is not right, so no new codes were made. Your codes "
                           "are as they were."), code="bad_credentials")
    codes = await new_codes()
    await attempts.succeeded(session, checked)
    return await keep(session, user, codes)


# -- reset codes -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ResetCode:
    code: str  # as shown
    expires_at: dt.datetime


def _still_good(now: dt.datetime) -> ColumnElement[bool]:
    """A reset code that can still be used: unused, unexpired, its member still in the group
    and its maker still one of the group's moderators."""
    member, maker = aliased(Membership), aliased(Membership)
    return and_(
        PasswordReset.used_at.is_(None), PasswordReset.expires_at > now,
        exists().where(member.group_id == PasswordReset.group_id,
                       member.user_id == PasswordReset.user_id, member.state == "active"),
        exists().where(maker.group_id == PasswordReset.group_id,
                       maker.user_id == PasswordReset.made_by, maker.state == "active",
                       maker.role == Role.MODERATOR),
    )


async def make_reset_code(session: AsyncSession, member: User, group_id: int,
                          moderator: User) -> ResetCode:
    """A reset code for `member`, made by a moderator of `group_id` (the caller checks both
    and audits it). It replaces any unused one made for them before, by anyone."""
    code = new_code()
    [code_hash] = await passwords.hash_codes([code])
    now = clock.now()
    await session.execute(delete(PasswordReset).where(PasswordReset.user_id == member.id,
                                                      PasswordReset.used_at.is_(None)))
    row = PasswordReset(user_id=member.id, group_id=group_id, made_by=moderator.id,
                        code_hash=code_hash, created_at=now,
                        expires_at=now + dt.timedelta(minutes=RESET_MINUTES))
    session.add(row)
    await session.flush()
    return ResetCode(shown(code), row.expires_at)


async def prune(session: AsyncSession) -> None:
    """Reset codes that expired unused tell nobody anything: they go."""
    await session.execute(delete(PasswordReset).where(PasswordReset.used_at.is_(None),
                                                      PasswordReset.expires_at <= clock.now()))


# -- signing in with a code --------------------------------------------------------------------

@dataclass(frozen=True)
class Recovered:
    user: User
    token: str
    notice: ResetNotice | None  # a reset the member had not been told of


async def _candidates(own: AsyncSession, username: str) -> tuple[int | None, list[attempts.Candidate]]:
    user_id = await own.scalar(select(User.id).where(User.username == username))
    if user_id is None:
        return None, []
    codes = (await own.execute(select(RecoveryCode.id, RecoveryCode.code_hash).where(
        RecoveryCode.user_id == user_id).order_by(RecoveryCode.id).limit(RECOVERY_CODES))).all()
    reset = (await own.execute(select(PasswordReset.id, PasswordReset.code_hash).where(
        PasswordReset.user_id == user_id, _still_good(clock.now()))
        .order_by(PasswordReset.id.desc()).limit(1))).all()
    return user_id, [*(attempts.Candidate(RECOVERY, i, h) for i, h in codes),
                     *(attempts.Candidate(RESET, i, h) for i, h in reset)]


async def recover(session: AsyncSession, settings: Settings, *, username: str, code: str,
                  new_password: str, address: str) -> Recovered:
    """Set a new password with a recovery code or a reset code, and sign in: the code is spent
    and every earlier session of the account ends."""
    username = accounts.normalize_username(username)[:64]
    code = normalize_code(code)
    if weak := passwords.length_problem(new_password):
        raise weak
    if "\x00" in username:  # no account has one, and PostgreSQL cannot even compare it
        raise _mismatch()
    checked = await attempts.check_code(session, settings, username, address, code, _candidates,
                                        CANDIDATES)
    user = await session.get(User, checked.user_id) if checked.ok else None
    if user is None or checked.matched is None:  # no match, or the account went meanwhile
        raise _mismatch()
    # Judged only now that the code matched: how it is judged (by the member's own names)
    # would otherwise tell whether the username exists.
    if weak := await passwords.problem(new_password, user.username, user.display_name):
        await attempts.forget(session, checked)
        raise weak
    new_hash = await passwords.hash_password(new_password)
    if not await _spend(session, checked.matched):  # someone else used it meanwhile: no guess
        await attempts.forget(session, checked)
        raise _mismatch()
    await attempts.succeeded(session, checked)
    user.password_hash = new_hash
    await accounts.end_sessions(session, user.id)
    token = await accounts.start_session(session, settings, user)
    # A reset code's user may not be the member: only their own ways in take the notice.
    notice = await take_notice(session, user) if checked.matched.kind == RECOVERY else None
    return Recovered(user, token, notice)


async def _spend(session: AsyncSession, matched: attempts.Candidate) -> bool:
    """Use the code up, if it is still there to use (the first of two at once wins)."""
    if matched.kind == RECOVERY:
        spent = await session.execute(delete(RecoveryCode).where(RecoveryCode.id == matched.row_id))
    else:
        now = clock.now()
        spent = await session.execute(update(PasswordReset).where(
            PasswordReset.id == matched.row_id, _still_good(now)).values(used_at=now))
    return bool(spent.rowcount)  # type: ignore[attr-defined]


# -- telling the member ------------------------------------------------------------------------

@dataclass(frozen=True)
class ResetNotice:
    """A reset the member has not been told of: who made the code, in which group, when it was
    used. `by` and `group` are None once that moderator or group is gone."""

    by: str | None
    group: str | None
    at: dt.datetime

    def words(self, timezone: str, language: str = i18n.SOURCE) -> str:
        """The notice in a language (a flash message: at most ~300 characters)."""
        when = formats.moment(self.at, timezone, language)
        if self.by and self.group:
            message = N_("Your password was reset on %(when)s with a one-time code made for you "
                         "by %(name)s, a moderator of %(group)s. If that was not you, please "
                         "talk with your group.")
        elif self.by:
            message = N_("Your password was reset on %(when)s with a one-time code made for you "
                         "by %(name)s. If that was not you, please talk with your group.")
        elif self.group:
            message = N_("Your password was reset on %(when)s with a one-time code made for you "
                         "by a former moderator of %(group)s. If that was not you, please talk "
                         "with your group.")
        else:
            message = N_("Your password was reset on %(when)s with a one-time code made for you "
                         "by a former moderator. If that was not you, please talk with your "
                         "group.")
        return i18n.gettext(language, message, when=when, name=self.by, group=self.group)


async def take_notice(session: AsyncSession, user: User) -> ResetNotice | None:
    """The latest reset of this member's password they have not been told of, once: the caller
    is signing them in by password or recovery code (never by the reset code itself, whose
    user may not be them)."""
    row = (await session.execute(
        select(PasswordReset, User.display_name, Group.name)
        .outerjoin(User, User.id == PasswordReset.made_by)
        .outerjoin(Group, Group.id == PasswordReset.group_id)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_not(None))
        .order_by(PasswordReset.used_at.desc(), PasswordReset.id.desc()).limit(1))).first()
    if row is None:
        return None
    reset, by, group = row
    assert reset.used_at is not None
    await session.execute(delete(PasswordReset).where(PasswordReset.user_id == user.id,
                                                      PasswordReset.used_at.is_not(None)))
    return ResetNotice(by, group, reset.used_at)
