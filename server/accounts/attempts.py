"""Password checks slowed for guessers, never a lock-out for the owner.

Signing in, changing the password and deleting the account all check a password, and all go
through here, so one limiter counts every guess. Each check is *recorded before* the
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
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock
from server.accounts import passwords
from server.config import Settings
from server.db import lock, transaction
from server.errors import RateLimited
from server.models import LoginFailure, User

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
    record_id, user_id, stored = await _record(session, settings, username, address)
    ok, new_hash = await passwords.verify(password, stored)
    ok = ok and user_id is not None
    if not ok:
        async with transaction(session.info["db"]) as own:
            await own.execute(update(LoginFailure).where(LoginFailure.id == record_id)
                              .values(pending=False))
    return Check(record_id, user_id, stored, ok, new_hash)


async def _record(session: AsyncSession, settings: Settings, username: str,
                  address: str) -> tuple[int, int | None, str | None]:
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
            raise RateLimited("Too many tries that did not match. Please wait a little and "
                              "try again.", retry_after=wait)
        user = (await own.execute(select(User.id, User.password_hash)
                                  .where(User.username == username))).first()
        record = LoginFailure(username=username, address=address[:64], at=now, pending=True)
        own.add(record)
        await own.flush()
        return record.id, (user[0] if user else None), (user[1] if user else None)


async def succeeded(session: AsyncSession, checked: Check) -> None:
    """The password matched: the check is not a failure (in the caller's transaction)."""
    await session.execute(delete(LoginFailure).where(LoginFailure.id == checked.record_id))
