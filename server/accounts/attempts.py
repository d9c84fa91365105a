"""Password checks slowed for guessers, never a lock-out for the owner.

Signing in, changing the password, making new recovery codes and deleting the account all
check a password, and signing in with a recovery or reset code checks a code: all go through
here, so one limiter counts every guess at an account, whatever it guesses. Each check is *recorded before* the
password is verified, in its own short transaction, and forgotten if it succeeds: the
counts stay exact however many guesses arrive at once, and argon2 runs outside every
transaction (on SQLite it would otherwise hold the write turn that every other member's
write waits for).

The limits, over the last `login_failure_window_minutes`:
- one account from one address: `login_failures_allowed` failures, then wait;
- one address, over all accounts: ADDRESS_FAILURES_ALLOWED, then wait (guessing many names);
- one account from everywhere: after ACCOUNT_FAILURES_BEFORE_BACKOFF failures, one try per
  backoff period, doubling up to MAX_BACKOFF_SECONDS. Guessers spread over many addresses
  are slowed to about one guess a minute, and the owner, wherever they are, waits at most
  a minute — never a quarter of an hour because someone typed their name five times.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock
from server.accounts import passwords
from server.config import Settings
from server.db import lock, transaction
from server.errors import RateLimited
from server.i18n import N_
from server.models import LoginFailure, User

T = TypeVar("T")

ADDRESS_FAILURES_ALLOWED = 30
ACCOUNT_FAILURES_BEFORE_BACKOFF = 10
MAX_BACKOFF_SECONDS = 60


@dataclass(frozen=True)
class Tally:
    """Failures within the window: this account from this address, this address over all
    accounts, and this account from everywhere (newest first)."""

    pair: list[dt.datetime]
    address: list[dt.datetime]
    account: list[dt.datetime]


def wait_seconds(tally: Tally, now: dt.datetime, settings: Settings) -> int:
    """How long before another check may be made (0: now). Pure."""
    window = dt.timedelta(minutes=settings.login_failure_window_minutes)
    waits = [0.0]
    if len(tally.pair) >= settings.login_failures_allowed:
        waits.append((tally.pair[settings.login_failures_allowed - 1] + window - now).total_seconds())
    if len(tally.address) >= ADDRESS_FAILURES_ALLOWED:
        waits.append((tally.address[ADDRESS_FAILURES_ALLOWED - 1] + window - now).total_seconds())
    beyond = len(tally.account) - ACCOUNT_FAILURES_BEFORE_BACKOFF
    if beyond >= 0:
        backoff = min(MAX_BACKOFF_SECONDS, 2 ** beyond)
        waits.append((tally.account[0] + dt.timedelta(seconds=backoff) - now).total_seconds())
    longest = max(waits)
    return int(longest) + 1 if longest > 0 else 0


@dataclass(frozen=True)
class Check:
    """A password checked: whether it matched, and what the account held when the check began
    (a caller writing on the strength of it makes sure the hash has not changed since)."""

    record_id: int
    user_id: int | None
    password_hash: str | None
    ok: bool
    new_hash: str | None  # the password rehashed, if the stored hash uses old parameters


async def check(session: AsyncSession, settings: Settings, username: str, address: str,
                password: str) -> Check:
    """Check `username`'s password from `address` — or refuse with 429 if it must wait.

    The check is recorded (as pending) and committed before argon2 runs, in a transaction of
    its own (`session` only lends its database), so the caller holds no lock while it runs
    and guesses sent at once count one another. A failure stays recorded; a match is
    forgotten by `succeeded`, in the caller's transaction."""
    record_id, (user_id, stored) = await _record(session, settings, username, address, _password)
    ok, new_hash = await passwords.verify(password, stored)
    ok = ok and user_id is not None
    if not ok:
        await _failed(session, record_id)
    return Check(record_id, user_id, stored, ok, new_hash)


async def _password(own: AsyncSession, username: str) -> tuple[int | None, str | None]:
    user = (await own.execute(select(User.id, User.password_hash)
                              .where(User.username == username))).first()
    return (user[0], user[1]) if user else (None, None)


@dataclass(frozen=True)
class Candidate:
    """A code that could let someone into an account: which kind, which row, its hash."""

    kind: str
    row_id: int
    code_hash: str


@dataclass(frozen=True)
class CodeCheck:
    """A code checked: the account it was for, and the candidate it matched (None: no match)."""

    record_id: int
    user_id: int | None
    matched: Candidate | None

    @property
    def ok(self) -> bool:
        return self.matched is not None


Candidates = Callable[[AsyncSession, str], Awaitable[tuple[int | None, list[Candidate]]]]


async def check_code(session: AsyncSession, settings: Settings, username: str, address: str,
                     code: str, candidates: Candidates, tries: int) -> CodeCheck:
    """check() for a code instead of a password: counted by the same limiter, recorded the same
    way, verified holding no transaction against the account's `candidates` (always `tries`
    hashes, see passwords.match_code)."""
    record_id, (user_id, found) = await _record(session, settings, username, address, candidates)
    index = await passwords.match_code(code, [c.code_hash for c in found], tries)
    matched = found[index] if index is not None and user_id is not None else None
    if matched is None:
        await _failed(session, record_id)
    return CodeCheck(record_id, user_id, matched)


async def _failed(session: AsyncSession, record_id: int) -> None:
    async with transaction(session.info["db"]) as own:
        await own.execute(update(LoginFailure).where(LoginFailure.id == record_id)
                          .values(pending=False))


async def _record(session: AsyncSession, settings: Settings, username: str, address: str,
                  load: Callable[[AsyncSession, str], Awaitable[T]]) -> tuple[int, T]:
    """Count the check (or refuse it), and `load` what it is checked against, under the lock
    that makes parallel guesses at one account count one another."""
    now = clock.now()
    since = now - dt.timedelta(minutes=settings.login_failure_window_minutes)
    deepest = max(settings.login_failures_allowed, ADDRESS_FAILURES_ALLOWED,
                  ACCOUNT_FAILURES_BEFORE_BACKOFF + 7)

    async def recent(*where: ColumnElement[bool]) -> list[dt.datetime]:
        return list((await own.scalars(
            select(LoginFailure.at).where(LoginFailure.at > since, *where)
            .order_by(LoginFailure.at.desc()).limit(deepest))).all())

    async with transaction(session.info["db"]) as own:
        await lock(own, f"credentials:{username}")  # parallel guesses count one another
        tally = Tally(
            # Checks still running count for the account, so parallel guesses cannot slip
            # past its limits; for the address only failures count (many people share one
            # address, and sign in at once).
            pair=await recent(LoginFailure.username == username, LoginFailure.address == address),
            address=await recent(LoginFailure.address == address, LoginFailure.pending.is_(False)),
            account=await recent(LoginFailure.username == username),
        )
        if wait := wait_seconds(tally, now, settings):
            raise RateLimited(N_("Too many tries that did not match. Please wait a little "
                                 "and try again."), retry_after=wait)
        found = await load(own, username)
        record = LoginFailure(username=username, address=address[:64], at=now, pending=True)
        own.add(record)
        await own.flush()
        return record.id, found


async def succeeded(session: AsyncSession, checked: Check | CodeCheck) -> None:
    """The password or code matched: the check is not a failure (in the caller's transaction)."""
    await session.execute(delete(LoginFailure).where(LoginFailure.id == checked.record_id))


async def forget(session: AsyncSession, checked: CodeCheck) -> None:
    """A code matched, but what came with it was refused (a weak new password): the check is
    no failure, and the caller's transaction, about to roll back, cannot say so."""
    async with transaction(session.info["db"]) as own:
        await own.execute(delete(LoginFailure).where(LoginFailure.id == checked.record_id))
