"""Password hashing (argon2id) and the rules a new password must meet; the hashing of
recovery and reset codes."""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from anyio import to_thread
from passlib.context import CryptContext
from zxcvbn import zxcvbn

from server.errors import Invalid
from server.i18n import N_

MIN_LENGTH = 10
MAX_LENGTH = 256

T = TypeVar("T")

def _argon2id(memory_kib: int, rounds: int) -> CryptContext:
    return CryptContext(schemes=["argon2"], argon2__type="ID", argon2__memory_cost=memory_kib,
                        argon2__rounds=rounds, argon2__parallelism=1)


# OWASP's minimum for argon2id: 19 MiB of memory, 2 iterations, parallelism 1.
# Raising these makes older hashes "need update", and they are rehashed at sign-in.
context = _argon2id(19 * 1024, 2)

# Verified against when the username is unknown, so both paths cost the same time.
_DUMMY_HASH = context.hash("not-a-real-password-at-all")


# zxcvbn's score (0-4) a new password must reach: 3 is "safely unguessable: moderate
# protection from offline slow-hash attacks" — ours are argon2id.
STRONG_ENOUGH = 3
# zxcvbn judges at most this many characters (its time grows quickly with length); a longer
# password is judged by its start, which must be strong enough on its own.
JUDGED_LENGTH = 72


# What zxcvbn warns of (its own words, in English), each said with ours as one message.
EASY = N_("That password would be easy to guess. Try a few unrelated words together.")
WARNINGS = {
    "Straight rows of keys are easy to guess.": N_(
        "That password would be easy to guess. Straight rows of keys are easy to guess. Try a "
        "few unrelated words together."),
    "Short keyboard patterns are easy to guess.": N_(
        "That password would be easy to guess. Short keyboard patterns are easy to guess. Try "
        "a few unrelated words together."),
    'Repeats like "aaa" are easy to guess.': N_(
        'That password would be easy to guess. Repeats like "aaa" are easy to guess. Try a few '
        'unrelated words together.'),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': N_(
        'That password would be easy to guess. Repeats like "abcabcabc" are only slightly '
        'harder to guess than "abc". Try a few unrelated words together.'),
    'Sequences like "abc" or "6543" are easy to guess.': N_(
        'That password would be easy to guess. Sequences like "abc" or "6543" are easy to '
        'guess. Try a few unrelated words together.'),
    "Recent years are easy to guess.": N_(
        "That password would be easy to guess. Recent years are easy to guess. Try a few "
        "unrelated words together."),
    "Dates are often easy to guess.": N_(
        "That password would be easy to guess. Dates are often easy to guess. Try a few "
        "unrelated words together."),
    "This is a top-10 common password.": N_(
        "That password would be easy to guess. This is a top-10 common password. Try a few "
        "unrelated words together."),
    "This is a top-100 common password.": N_(
        "That password would be easy to guess. This is a top-100 common password. Try a few "
        "unrelated words together."),
    "This is a very common password.": N_(
        "That password would be easy to guess. This is a very common password. Try a few "
        "unrelated words together."),
    "This is similar to a commonly used password.": N_(
        "That password would be easy to guess. This is similar to a commonly used password. "
        "Try a few unrelated words together."),
    "A word by itself is easy to guess.": N_(
        "That password would be easy to guess. A word by itself is easy to guess. Try a few "
        "unrelated words together."),
    "Names and surnames by themselves are easy to guess.": N_(
        "That password would be easy to guess. Names and surnames by themselves are easy to "
        "guess. Try a few unrelated words together."),
    "Common names and surnames are easy to guess.": N_(
        "That password would be easy to guess. Common names and surnames are easy to guess. "
        "Try a few unrelated words together."),
}


def _weak(message: str, **params: Any) -> Invalid:
    return Invalid(message, code="weak_password", params=params)


def _weakness(password: str, words: tuple[str, ...]) -> Invalid | None:
    own = [part for word in words for part in (word, *word.split()) if part]
    verdict = zxcvbn(password[:JUDGED_LENGTH], user_inputs=[*own, "cairn"])
    if verdict["score"] >= STRONG_ENOUGH:
        return None
    warning = (verdict["feedback"].get("warning") or "").strip()
    return _weak(WARNINGS.get(warning, EASY))


def length_problem(password: str) -> Invalid | None:
    """What problem() says first, at no cost: the password is too short or too long (an
    Invalid `weak_password` to raise)."""
    if len(password) < MIN_LENGTH:
        return _weak(N_("Use at least %(count)s characters."), count=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _weak(N_("Use at most %(count)s characters."), count=MAX_LENGTH)
    return None


async def problem(password: str, *words: str) -> Invalid | None:
    """Why a new password is refused (an Invalid `weak_password` to raise), or None if it is
    fine. `words`: the member's own (username first, then display name), which a password
    should not lean on. Judged by zxcvbn, in a worker thread under the same cap as hashing (it
    can take a few hundred milliseconds)."""
    if reason := length_problem(password):
        return reason
    if words and words[0] and words[0].lower() in password.lower():
        return _weak(N_("Your password should not contain your username."))
    return await _hashing(_weakness, password, words)


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


# Recovery and reset codes (server/accounts/recovery.py) are argon2id hashes too, but lighter:
# 2 MiB and one pass, about 1.5 ms each against 35 ms for a password. A password may be a
# guessable phrase, and its hash must make each offline guess dear; a code is ~49 bits drawn
# at random, so even at this cost a stolen database yields a code only after about 2**48
# guesses of 1.5 ms (thousands of CPU-years) per account. The full cost would make every
# sign-up spend ten password hashes on its codes, and every try of a code eleven. A fast
# unkeyed hash (the sha256 kept of 256-bit session tokens) would give a stolen database the
# codes in hours; a hash keyed with CAIRN_SECRET_KEY would lock everyone out of their codes
# the day the secret is changed.
code_context = _argon2id(2 * 1024, 1)
_DUMMY_CODE_HASH = code_context.hash("NOTACODE00")


def _hash_all(codes: list[str]) -> list[str]:
    return [code_context.hash(code) for code in codes]


def _first_match(code: str, hashes: list[str]) -> int | None:
    found = None
    for i, stored in enumerate(hashes):  # all of them: the time says nothing of where it was
        if code_context.verify(code, stored) and found is None:
            found = i
    return found


async def hash_codes(codes: list[str]) -> list[str]:
    """The codes' hashes, made in one worker thread under the hashing cap."""
    return await _hashing(_hash_all, codes)


async def match_code(code: str, hashes: list[str], tries: int) -> int | None:
    """Which of `hashes` the code matches (its index), or None. Always `tries` checks, the
    missing ones against a dummy hash, so how long it takes says nothing about whether the
    account exists or how many codes it has."""
    padded = [*hashes[:tries], *[_DUMMY_CODE_HASH] * max(0, tries - len(hashes))]
    return await _hashing(_first_match, code, padded)
