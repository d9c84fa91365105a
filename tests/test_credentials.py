"""Password checks: one limiter for sign-in, password change and deletion, keyed by account
and address, that slows guessers without locking the owner out; checks that hold no write
turn; strength judged by zxcvbn."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest

from server.accounts import attempts, passwords
from server.config import Settings
from tests import support
from tests.fixtures.clients import PASSWORD, Clients

SETTINGS = Settings(database_url="sqlite+aiosqlite://", env="test", secret_key="t" * 40)
NOW = support.utc(2026, 3, 7, 12, 0)


def from_address(clients: Clients, address: str) -> httpx.AsyncClient:
    """A client whose requests come from `address` (as a trusted proxy would name it)."""
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=clients.app, client=(address, 4000)),
                               base_url="http://testserver")
    clients._open.append(client)
    return client


async def sign_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"username": username, "password": password})


async def register(clients: Clients, username: str) -> None:
    r = await clients.anonymous().post("/api/v1/auth/register",
                                       json={"username": username, "password": PASSWORD})
    assert r.status_code == 201, r.text


def ago(*seconds: float) -> list[dt.datetime]:
    return [NOW - dt.timedelta(seconds=s) for s in seconds]


@pytest.mark.parametrize(("pair", "address", "account", "wait"), [
    ([], [], [], 0),
    (ago(10, 20, 30, 40), ago(10, 20, 30, 40), ago(10, 20, 30, 40), 0),  # four: not yet
    (ago(10, 20, 30, 40, 50), ago(10, 20, 30, 40, 50), ago(10, 20, 30, 40, 50), 15 * 60 - 50 + 1),
    ([], ago(*range(1, 31)), [], 15 * 60 - 30 + 1),  # one address, thirty accounts
    ([], [], ago(*range(1, 10)), 0),  # nine from everywhere: no wait
    ([], [], ago(0.5, *range(1, 10)), 1),  # ten: a second after the last
    ([], [], ago(*range(1, 14)), 8 - 1 + 1),  # thirteen: 8 s after the last (1 s ago)
    ([], [], ago(*range(1, 40)), 60 - 1 + 1),  # never more than a minute
    ([], [], ago(*range(70, 110)), 0),  # a minute after the last, always a try
])
def test_how_long_a_check_waits(pair, address, account, wait):
    tally = attempts.Tally(pair=pair, address=address, account=account)
    assert attempts.wait_seconds(tally, NOW, SETTINGS) == wait


async def test_guesses_from_one_address_do_not_lock_the_owner_out(clients, travel):
    travel(NOW)
    await register(clients, "owner")
    guesser, owner = from_address(clients, "203.0.113.9"), from_address(clients, "198.51.100.4")
    for _ in range(5):
        support.assert_error(await sign_in(guesser, "owner", "guess guess guess"), 401)
    # The guesser waits, even with the right password ...
    r = await sign_in(guesser, "owner")
    support.assert_error(r, 429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 15 * 60 + 1
    # ... and the owner, elsewhere, signs in as ever.
    assert (await sign_in(owner, "owner")).status_code == 200


async def test_one_address_guessing_many_accounts_waits(clients, travel):
    travel(NOW)
    guesser = from_address(clients, "203.0.113.10")
    for i in range(30):  # thirty names, one guess each (no account needs to exist)
        support.assert_error(await sign_in(guesser, f"name{i}", "guess guess guess"), 401)
    await register(clients, "thirty_first")
    support.assert_error(await sign_in(guesser, "thirty_first"), 429, "rate_limited")
    assert (await sign_in(from_address(clients, "198.51.100.5"), "thirty_first")).status_code == 200


async def test_guesses_from_everywhere_slow_to_one_a_minute_and_the_owner_still_gets_in(
        clients, travel):
    travel(NOW)
    await register(clients, "popular")
    for i in range(12):
        r = await sign_in(from_address(clients, f"203.0.113.{100 + i}"), "popular", "guess guess guess")
        if r.status_code == 429:
            break
        support.assert_error(r, 401)
    assert i >= 10  # ten failures before any wait
    r = await sign_in(from_address(clients, "198.51.100.6"), "popular")
    support.assert_error(r, 429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    support.travel_on(dt.timedelta(seconds=61))
    assert (await sign_in(from_address(clients, "198.51.100.6"), "popular")).status_code == 200


async def test_password_change_and_deletion_count_with_sign_ins(clients):
    member = await clients.member("careful")
    for _ in range(3):
        r = await member.post("/api/v1/me/password", {"current_password": "not it at all",
                                                      "new_password": "a brand new long phrase"})
        support.assert_error(r, 422, "bad_credentials")
    for _ in range(2):
        r = await member.client.request("DELETE", "/api/v1/me", json={"password": "not it either"})
        support.assert_error(r, 403, "bad_credentials")
    # Five wrong from this address: the sixth check of any kind waits, the right one too.
    r = await member.post("/api/v1/me/password", {"current_password": PASSWORD,
                                                  "new_password": "a brand new long phrase"})
    support.assert_error(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1
    support.assert_error(await sign_in(clients.anonymous(), "careful"), 429, "rate_limited")
    r = await member.client.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
    support.assert_error(r, 429, "rate_limited")
    assert (await member.get("/api/v1/me")).status_code == 200  # still here


async def test_a_right_password_is_not_counted(clients):
    await register(clients, "regular")
    c = clients.anonymous()
    for _ in range(12):  # many sign-ins in a row: none of them a failure
        assert (await sign_in(c, "regular")).status_code == 200


async def test_parallel_guesses_from_one_address_get_exactly_five_checks(clients):
    await register(clients, "parallel")
    answers = await asyncio.gather(*(sign_in(from_address(clients, "203.0.113.50"), "parallel",
                                             f"guess number {i}") for i in range(20)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [401] * 5 + [429] * 15, statuses


async def test_a_password_check_holds_no_write_turn(clients, monkeypatch):
    """While one sign-in's password is being verified, another member's write goes through
    (on SQLite the write turn was held across argon2: every write in the process waited)."""
    writer = await clients.member("writer")
    group = await clients.group(writer)
    await register(clients, "slow_signer")
    verifying, release = asyncio.Event(), asyncio.Event()
    real_verify = passwords.verify

    async def held_verify(password, password_hash):
        verifying.set()
        await release.wait()
        return await real_verify(password, password_hash)

    monkeypatch.setattr(passwords, "verify", held_verify)
    signing_in = asyncio.create_task(sign_in(clients.anonymous(), "slow_signer"))
    await verifying.wait()
    r = await asyncio.wait_for(writer.post(f"/api/v1/groups/{group['id']}/commitments", {
        "category": "rest", "text": "Drink water", "visibility": "group"}), 60)
    assert r.status_code == 201, r.text
    assert not signing_in.done()
    release.set()
    assert (await signing_in).status_code == 200


@pytest.mark.parametrize("weak", ["abcabcabca", "Passw0rd!!", "qwertyuiop1", "1234567890",
                                  "aaaaaaaaaaaaaaaa", "password123", "iloveyou2026"])
async def test_easy_passwords_are_refused(clients, weak):
    r = await clients.anonymous().post("/api/v1/auth/register",
                                       json={"username": "newcomer", "password": weak})
    body = support.assert_error(r, 422, "weak_password")
    assert "easy to guess" in body["detail"]


@pytest.mark.parametrize("leaning", ["Marisol Quintana", "QuintanaQuintana", "quintana1234"])
async def test_a_password_leaning_on_ones_own_name_is_refused(clients, leaning):
    r = await clients.anonymous().post("/api/v1/auth/register", json={
        "username": "mq_member", "display_name": "Marisol Quintana", "password": leaning})
    support.assert_error(r, 422, "weak_password")


async def test_many_people_behind_one_address_sign_in_at_once(clients):
    """Checks still running count for their account only: forty people behind one office's
    address signing in together are all let in."""
    names = [f"colleague{i}" for i in range(40)]
    for name in names:
        await register(clients, name)
    office = "192.0.2.77"
    answers = await asyncio.gather(*(sign_in(from_address(clients, office), n) for n in names))
    assert [r.status_code for r in answers] == [200] * 40
