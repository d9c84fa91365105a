"""Account rules: registration, sign-in with throttling, server-side sessions, profile."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock, i18n
from server.accounts import attempts, names, passwords
from server.config import Settings
from server.db import after_commit
from server.errors import Conflict, Invalid, NotSignedIn
from server.i18n import N_
from server.models import AuthSession, Group, LoginFailure, Membership, User

USERNAME_RE = re.compile(r"^[a-z0-9_.-]{3,32}$")


@dataclass(frozen=True)
class SignedIn:
    user: User
    token: str


def normalize_username(username: str) -> str:
    return username.strip().lower()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_timezone(timezone: str) -> str:
    if not clock.is_timezone(timezone):
        raise Invalid(N_("That is not a timezone we know (try one like Europe/Madrid)."),
                      code="invalid_timezone")
    return timezone


def check_language(language: str) -> str:
    """A language Cairn offers (its code, like "es"), or Invalid naming the ones it does."""
    offered = i18n.installed().offered
    if language not in offered:
        raise Invalid(N_("Cairn does not speak that language yet. Choose one of: %(offered)s."),
                      code="invalid_language", params={"offered": ", ".join(offered)},
                      extra={"offered": list(offered)})
    return language


async def register(
    session: AsyncSession, *, username: str, password: str,
    display_name: str | None = None, timezone: str = "UTC", language: str = i18n.SOURCE,
) -> User:
    username = normalize_username(username)
    if not USERNAME_RE.fullmatch(username):
        raise Invalid(N_("A username has 3 to 32 letters, digits, dots, dashes or underscores."),
                      code="invalid_username")
    if weak := await passwords.problem(password, username, display_name or ""):
        raise weak
    user = User(
        username=username,
        display_name=names.clean_display_name(display_name or username),
        password_hash=await passwords.hash_password(password),
        timezone=check_timezone(timezone),
        language=check_language(language),
        receive_only=False,
        created_at=clock.now(),
    )
    if await session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(N_("That username is taken. Try another."), code="username_taken")
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent sign-up took it first
        raise Conflict(N_("That username is taken. Try another."), code="username_taken") from exc
    return user


async def login(
    session: AsyncSession, settings: Settings, *, username: str, password: str, address: str,
) -> SignedIn:
    """Sign in from `address`; the guess is counted before the password is checked, and the
    check holds no transaction (server/accounts/attempts.py)."""
    username = normalize_username(username)[:64]
    if "\x00" in username:  # no account has one, and PostgreSQL cannot even compare it
        raise NotSignedIn(N_("That username and password do not match."), code="bad_credentials")
    checked = await attempts.check(session, settings, username, address, password)
    user = await session.get(User, checked.user_id) if checked.ok else None
    # A password changed while this one was checked: the check was against the old one.
    if user is None or user.password_hash != checked.password_hash:
        raise NotSignedIn(N_("That username and password do not match."), code="bad_credentials")
    await attempts.succeeded(session, checked)
    if checked.new_hash:
        user.password_hash = checked.new_hash
    return SignedIn(user, await start_session(session, settings, user))


async def start_session(session: AsyncSession, settings: Settings, user: User) -> str:
    """A new session with a fresh token: ids are never reused across sign-ins."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(AuthSession(
        token_hash=token_hash(token), user_id=user.id, created_at=now,
        expires_at=now + dt.timedelta(days=settings.session_days),
    ))
    await session.flush()
    return token


# Built once, with its values as parameters: every signed-in request asks (docs/performance.md,
# "Statements built once").
_SIGNED_IN = (
    select(User, AuthSession).join(AuthSession, AuthSession.user_id == User.id)
    .where(AuthSession.token_hash == bindparam("hashed"), AuthSession.expires_at > bindparam("now")))

# The same, with the member's active membership of one group and the group (None, None for
# anyone else): a request about a group reads both in one statement (server/deps.py).
_SIGNED_IN_TO_GROUP = (
    _SIGNED_IN.add_columns(Group, Membership)
    .outerjoin(Membership, (Membership.user_id == User.id)
               & (Membership.group_id == bindparam("group_id")) & (Membership.state == "active"))
    .outerjoin(Group, Group.id == Membership.group_id))


async def authenticate(session: AsyncSession, token: str) -> tuple[User, AuthSession] | None:
    row = (await session.execute(
        _SIGNED_IN, {"hashed": token_hash(token), "now": clock.now()})).first()
    return (row[0], row[1]) if row else None


async def authenticate_in_group_of_path(
    session: AsyncSession, token: str, group_id: int,
) -> tuple[User, AuthSession, Group | None, Membership | None] | None:
    """authenticate(), and the member's active membership of group `group_id` with the group
    (None, None when they are not an active member of it), in one statement."""
    row = (await session.execute(
        _SIGNED_IN_TO_GROUP,
        {"hashed": token_hash(token), "now": clock.now(), "group_id": group_id})).first()
    return (row[0], row[1], row[2], row[3]) if row else None


async def authenticate_in_group(session: AsyncSession, hashed: str,
                                group_id: int) -> tuple[User, Membership | None] | None:
    """authenticate() by the token's hash, and the member's active membership of one group, in
    one query (a live socket asks this on every command)."""
    return (await authenticate_in_groups(session, [(hashed, group_id)])).get((hashed, group_id))


async def authenticate_in_groups(
    session: AsyncSession, wanted: Sequence[tuple[str, int]],
) -> dict[tuple[str, int], tuple[User, Membership | None]]:
    """authenticate_in_group() for many (token hash, group) pairs in one query: a pair whose
    session has ended is absent."""
    groups = {group_id for _, group_id in wanted}
    query = (
        select(AuthSession.token_hash, User, Membership)
        .join(AuthSession, AuthSession.user_id == User.id)
        .outerjoin(Membership, (Membership.user_id == User.id) & Membership.group_id.in_(groups)
                   & (Membership.state == "active"))
        .where(AuthSession.token_hash.in_({hashed for hashed, _ in wanted}),
               AuthSession.expires_at > clock.now()))
    rows = await session.execute(query)
    users: dict[str, User] = {}
    memberships: dict[tuple[str, int], Membership] = {}
    for hashed, user, membership in rows:
        users[hashed] = user
        if membership is not None:
            memberships[(hashed, membership.group_id)] = membership
    return {(hashed, group_id): (users[hashed], memberships.get((hashed, group_id)))
            for hashed, group_id in wanted if hashed in users}


async def end_sessions(session: AsyncSession, user_id: int, *, keep: AuthSession | None = None) -> None:
    """End a member's sessions (all but `keep`); once that commits, every socket they opened
    closes, on every process."""
    query = select(AuthSession.token_hash).where(AuthSession.user_id == user_id)
    if keep is not None:
        query = query.where(AuthSession.id != keep.id)
    await _ended(session, user_id, list((await session.scalars(query)).all()))


async def _ended(session: AsyncSession, user_id: int, hashes: list[str]) -> None:
    if not hashes:
        return
    await session.execute(delete(AuthSession).where(AuthSession.token_hash.in_(hashes)))
    db = session.info.get("db")
    if db is not None and db.sessions_ended is not None:
        after_commit(session, lambda: db.sessions_ended(user_id, hashes))


async def end_session(session: AsyncSession, auth: AuthSession) -> None:
    """Sign out: this session, and the sockets it opened."""
    await _ended(session, auth.user_id, [auth.token_hash])


async def update_profile(
    session: AsyncSession, user: User, *, display_name: str | None = None,
    timezone: str | None = None, receive_only: bool | None = None, language: str | None = None,
) -> User:
    if display_name is not None:
        name = names.clean_display_name(display_name)
        await names.refuse_taken_in_my_groups(session, user, name)
        user.display_name = name
    if timezone is not None:
        user.timezone = check_timezone(timezone)
    if receive_only is not None:
        user.receive_only = receive_only
    if language is not None:
        user.language = check_language(language)
    await session.flush()
    return user


async def change_password(
    session: AsyncSession, settings: Settings, user: User, current: AuthSession | None, *,
    current_password: str, new_password: str, address: str,
) -> None:
    """Change the password and end every other session of this member. The current password
    is a guess like a sign-in's: counted by the same limiter, checked holding no transaction."""
    # A weak new password is refused whatever the current one: the answer never tells a
    # guesser whether the current password was right unless the change goes through.
    if weak := await passwords.problem(new_password, user.username, user.display_name):
        raise weak
    checked = await attempts.check(session, settings, user.username, address, current_password)
    if not checked.ok:
        raise Invalid(N_("Your current password is not right."), code="bad_credentials")
    new_hash = await passwords.hash_password(new_password)
    await attempts.succeeded(session, checked)
    user.password_hash = new_hash
    await end_sessions(session, user.id, keep=current)


async def prune_sessions(session: AsyncSession, settings: Settings) -> int:
    now = clock.now()
    expired = await session.execute(delete(AuthSession).where(AuthSession.expires_at <= now))
    old = now - dt.timedelta(minutes=settings.login_failure_window_minutes)
    await session.execute(delete(LoginFailure).where(LoginFailure.at <= old))
    return expired.rowcount or 0  # type: ignore[attr-defined]


async def count_users(session: AsyncSession) -> int:
    return await session.scalar(select(func.count(User.id))) or 0
