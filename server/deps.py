"""Annotated dependencies that chain: SessionDep -> CurrentUser -> GroupMember -> GroupModerator."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.convertors import IntegerConvertor, register_url_convertor
from starlette.formparsers import MultiPartException

from server import csrf
from server import db as database
from server.accounts import service as accounts
from server.config import Settings
from server.csrf import SAFE_METHODS, SESSION_COOKIE
from server.errors import Forbidden, NotSignedIn, Unavailable
from server.groups import service as groups
from server.models import AuthSession, Group, Membership, User
from server.models.groups import Role

MAX_ID = 2**31 - 1
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

# Every id in a path: a positive 32-bit integer, so no database ever sees an overflow.
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


def _whole_numbers_up_to(high: int) -> str:
    """A regular expression for the whole numbers 1..high, written without leading zeros."""
    digits = str(high)
    choices = [f"[1-9][0-9]{{0,{len(digits) - 2}}}"]  # fewer digits than high
    for i, d in enumerate(map(int, digits)):
        low = 1 if i == 0 else 0
        if d > low:  # the same first i digits as high, then a smaller one, then anything
            smaller = f"[{low}-{d - 1}]" if d - 1 > low else str(low)
            rest = len(digits) - i - 1
            choices.append(digits[:i] + smaller + (f"[0-9]{{{rest}}}" if rest else ""))
    return "(?:" + "|".join([*choices, digits]) + ")"


class PathId(IntegerConvertor):
    """`{x:int}` in a path: an id from 1 to MAX_ID, or the path names nothing (a 404). A
    5,000-digit id, a 0 or 2**31 never reach a route, a database or int() (which refuses
    5,000 digits: a 500). Registered here, before any route module is imported (they all
    import this one first)."""

    regex = _whole_numbers_up_to(MAX_ID)


register_url_convertor("int", PathId())


# Dependencies are `async def` even when they await nothing: FastAPI runs a plain `def` one on
# a worker thread, a round trip to another thread on every request.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> database.Database:
    db: database.Database = request.app.state.db
    return db


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[database.Database, Depends(get_db)]


async def get_session(request: Request, db: DatabaseDep) -> AsyncIterator[AsyncSession]:
    """One session per request: commits when the route returns, rolls back if it raises."""
    async with db.session(write=request.method not in SAFE_METHODS) as session:
        try:
            yield session
            await database.commit(session)
        except (OperationalError, DBAPIError, OSError) as exc:
            await session.rollback()
            raise Unavailable() from exc
        except BaseException:
            await session.rollback()
            raise


# scope="function": the commit happens before the response is sent, so a failed
# commit becomes an error answer instead of a success that did not stick.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def client_address(request: Request) -> str:
    """Where a request came from: the peer, or the client a trusted proxy names (uvicorn
    believes forwarded headers only from CAIRN_TRUSTED_PROXIES)."""
    return request.client.host if request.client else "unknown"


def request_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(SESSION_COOKIE) or None


_AN_ID = re.compile(PathId.regex)


def group_of_path(request: Request) -> int | None:
    """The group a request's path names (`gid`: an int by `{gid:int}`, digits in the API's
    paths), if it is a valid id."""
    gid = request.path_params.get("gid")
    if isinstance(gid, str) and _AN_ID.fullmatch(gid):
        return int(gid)
    return gid if isinstance(gid, int) else None


async def get_optional_user(request: Request, session: SessionDep) -> User | None:
    """The signed-in member, or None for a visitor. A request about a group with nothing more
    to wait for reads the member's membership of it in the same statement, for
    member_of_path(); a form the cookie signed reads it after its CSRF check, which waits for
    the whole body (the member may have left or been removed meanwhile)."""
    token = request_token(request)
    if not token:
        return None
    checks_csrf = request.method not in SAFE_METHODS and not request.headers.get("authorization")
    gid = None if checks_csrf else group_of_path(request)
    if gid is None:
        found = await accounts.authenticate(session, token)
    elif in_group := await accounts.authenticate_in_group_of_path(session, token, gid):
        user, auth_session, group, membership = in_group
        request.state.membership_of_path = (gid, user.id, group, membership)
        found = user, auth_session
    else:
        found = None
    if found is None:
        return None
    if checks_csrf:
        await _check_csrf(request)  # the cookie signed it: prove it came from Cairn's page
    user, request.state.auth_session = found
    request.state.member_language = user.language  # server/i18n.py: their pages, their errors
    return user


async def _check_csrf(request: Request) -> None:
    """The page's token, from the `X-CSRF-Token` header or the posted form's field."""
    submitted = request.headers.get(csrf.HEADER)
    content_type = request.headers.get("content-type", "")
    if submitted is None and content_type.startswith(FORM_TYPES):
        try:
            value = (await request.form()).get(csrf.FIELD)
        except MultiPartException:
            value = None
        submitted = value if isinstance(value, str) else None
    csrf.check(request, submitted)


OptionalUser = Annotated[User | None, Depends(get_optional_user)]


async def get_current_user(user: OptionalUser) -> User:
    if user is None:
        raise NotSignedIn()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def current_auth_session(request: Request) -> AuthSession | None:
    return getattr(request.state, "auth_session", None)


def signed_in_with(request: Request) -> str:
    """The token hash of the session this request was signed in with."""
    auth = current_auth_session(request)
    if auth is None:
        raise NotSignedIn()
    return auth.token_hash


@dataclass(frozen=True)
class Member:
    """A signed-in member acting inside one of their groups."""

    user: User
    group: Group
    membership: Membership

    @property
    def is_moderator(self) -> bool:
        return self.membership.role == Role.MODERATOR


async def member_of_path(request: Request, session: AsyncSession, gid: int, user: User) -> Member:
    """The signed-in `user` as a member of group `gid`, the group their request's path names:
    read with their session (get_optional_user), else now; 404 for everyone else."""
    read = getattr(request.state, "membership_of_path", None)
    if read is not None and read[:2] == (gid, user.id):
        return Member(user, *groups.as_member(*read[2:]))
    return Member(user, *await groups.membership_of(session, gid, user.id))


async def get_group_member(request: Request, gid: Id, user: CurrentUser,
                           session: SessionDep) -> Member:
    return await member_of_path(request, session, gid, user)


GroupMember = Annotated[Member, Depends(get_group_member)]


async def get_group_moderator(member: GroupMember) -> Member:
    if not member.is_moderator:
        raise Forbidden("Only the group's moderators can do that.", code="not_moderator")
    return member


GroupModerator = Annotated[Member, Depends(get_group_moderator)]
