"""Password hashing (argon2id) and the rules a new password must meet."""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Callable
from functools import lru_cache
from importlib.resources import files
from typing import Any, TypeVar

from anyio import to_thread
from passlib.context import CryptContext

MIN_LENGTH = 10
MAX_LENGTH = 256

T = TypeVar("T")

# OWASP's minimum for argon2id: 19 MiB of memory, 2 iterations, parallelism 1.
# Raising these makes older hashes "need update", and they are rehashed at sign-in.
context = CryptContext(
    schemes=["argon2"],
    argon2__type="ID",
    argon2__memory_cost=19 * 1024,
    argon2__rounds=2,
    argon2__parallelism=1,
)

# Verified against when the username is unknown, so both paths cost the same time.
_DUMMY_HASH = context.hash("not-a-real-password-at-all")


@lru_cache
def common_passwords() -> frozenset[str]:
    text = files("server.data").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line and not line.startswith("#")
    )


def problem(password: str, username: str) -> str | None:
    """Why a new password is refused, or None if it is fine."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) <= 2:
        return "That password is too common. Try a few unrelated words together."
    if username and username.lower() in lowered:
        return "Your password should not contain your username."
    return None


# Each hash holds 19 MiB while it runs. Without a cap, a burst of sign-ins (anyone can send
# one) runs one per worker thread, 40 at once, and the process keeps the ~760 MiB it grew
# to; hashing is bound by the CPU anyway, so more at once than cores only costs memory.
HASHING_SLOTS = max(2, os.cpu_count() or 2)
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary())


async def _hashing(fn: Callable[..., T], *args: Any) -> T:
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(HASHING_SLOTS)
    async with gate:
        return await to_thread.run_sync(fn, *args)


async def hash_password(password: str) -> str:
    return await _hashing(context.hash, password)


async def verify(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """(matches, new hash if the stored one uses old parameters)."""
    if password_hash is None:
        await _hashing(context.verify, password, _DUMMY_HASH)
        return False, None
    return await _hashing(context.verify_and_update, password, password_hash)
