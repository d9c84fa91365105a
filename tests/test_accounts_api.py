"""Accounts over the public API: sign-up rules, sign-in and its throttle, sessions, profile, hashing."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import argon2
import pytest
from sqlalchemy import select, update

from server.models import User
from tests import support
from tests.fixtures.clients import PASSWORD

pytestmark = pytest.mark.usefixtures("contract_kept")

USER_KEYS = {"id", "username", "display_name", "timezone", "created_at"}
SECRET_WORDS = ("password", "hash", "token")


async def register(client, username, password=PASSWORD, **extra):
    return await client.post("/api/v1/auth/register",
                              json={"username": username, "password": password, **extra})


async def login(client, username, password=PASSWORD):
    return await client.post("/api/v1/auth/login", json={"username": username, "password": password})


def bearer(clients, token):
    client = clients.anonymous()
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def with_cookie(clients, token):
    client = clients.anonymous()
    client.cookies.set("cairn_session", token)
    return client


async def stored_hash(app, username: str) -> str:
    async with app.state.db.session() as session:
        return await session.scalar(select(User.password_hash).where(User.username == username))


def assert_user_shape(user: dict) -> None:
    assert set(user) >= USER_KEYS, user
    assert isinstance(user["id"], int)
    support.parse_time(user["created_at"])
    for key in user:
        assert not any(word in key for word in SECRET_WORDS), f"secret-looking field {key}"


# --- registration -------------------------------------------------------------------------


async def test_register_answers_201_with_the_user(clients):
    c = clients.anonymous()
    r = await register(c, "Robin_1", display_name="  Robin   of the woods ", timezone="Europe/Madrid")
    assert r.status_code == 201, r.text
    user = r.json()
    assert_user_shape(user)
    assert user["username"] == "robin_1"
    assert user["display_name"] == "Robin of the woods"
    assert user["timezone"] == "Europe/Madrid"
    # Registering does not sign anyone in.
    assert "cairn_session" not in r.headers.get("set-cookie", "")
    assert (await c.get("/api/v1/me")).status_code == 401


async def test_display_name_defaults_and_timezone_defaults_to_utc(clients):
    r = await register(clients.anonymous(), "quietfern")
    assert r.status_code == 201, r.text
    assert r.json()["display_name"]
    assert r.json()["timezone"] == "UTC"


async def test_duplicate_username_is_409_whatever_the_case(clients):
    c = clients.anonymous()
    assert (await register(c, "sam.k")).status_code == 201
    for again in ("sam.k", "SAM.K", " Sam.K "):
        support.assert_error(await register(c, again, password="another fine password"), 409,
                             "username_taken")


async def test_weak_passwords_are_refused_with_a_clear_code(clients):
    c = clients.anonymous()
    body = support.assert_error(await register(c, "shorty", "nine char"), 422, "weak_password")
    assert "10" in body["detail"]
    for common in ("password123", "PASSWORD123", "qwertyuiop"):
        support.assert_error(await register(c, "commoner", common), 422, "weak_password")
    support.assert_error(await register(c, "repeater", "abababababab"), 422, "weak_password")
    support.assert_error(await register(c, "robin", "robin is my name ok"), 422, "weak_password")
    support.assert_error(await register(c, "longer", "x1" * 129), 422)
    support.assert_error(await register(c, "hugepass", "y" * 5000), 422)
    # Nobody got an account from any of that.
    support.assert_error(await login(c, "shorty", "nine char"), 401)
    # Exactly ten characters is enough.
    assert (await register(c, "tenner", "mild otter")).status_code == 201


async def test_unknown_timezones_are_refused(clients):
    c = clients.anonymous()
    for tz in ("Mars/Olympus_Mons", "", "../../../etc/passwd", "utc+5", "Europe/Madrid\x00"):
        support.assert_error(await register(c, "wanderer", timezone=tz), 422)
    r = await register(c, "wanderer", timezone="Pacific/Auckland")
    assert r.status_code == 201, r.text
    assert r.json()["timezone"] == "Pacific/Auckland"


async def test_username_rules(clients):
    c = clients.anonymous()
    for bad in ("ab", "a" * 33, "with space", "rob!n", "röbin", "<script>", "a/b"):
        support.assert_error(await register(c, bad), 422)
    support.assert_error(await register(c, ""), 422)
    for bad in ("ab", "with space", "rob!n"):
        support.assert_error(await register(c, bad), 422, "invalid_username")
    assert (await register(c, "a.b-c_9")).status_code == 201
    assert (await register(c, "z" * 32)).status_code == 201


async def test_display_name_rules(clients):
    c = clients.anonymous()
    support.assert_error(await register(c, "longname", display_name="n" * 41), 422)
    support.assert_error(await register(c, "blankname", display_name="   "), 422)
    support.assert_error(await register(c, "hugename", display_name="n" * 500), 422)


# --- sign-in ---------------------------------------------------------------------------------


async def test_login_answers_token_user_and_a_safe_cookie(clients):
    c = clients.anonymous()
    assert (await register(c, "brook")).status_code == 201
    r = await login(c, "Brook")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"token", "user"}
    assert isinstance(body["token"], str) and len(body["token"]) >= 32
    assert_user_shape(body["user"])
    assert body["user"]["username"] == "brook"

    cookie = r.headers["set-cookie"]
    assert cookie.startswith("cairn_session="), cookie
    attrs = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")}
    assert "httponly" in attrs
    assert attrs["samesite"].lower() == "samesite=lax"
    assert attrs["path"] == "Path=/"

    # The cookie alone signs the browser in; the token alone signs any client in.
    assert (await c.get("/api/v1/me")).json()["username"] == "brook"
    me = await bearer(clients, body["token"]).get("/api/v1/me")
    assert me.status_code == 200 and me.json()["id"] == body["user"]["id"]


async def test_every_login_makes_a_new_token(clients):
    c = clients.anonymous()
    assert (await register(c, "twice")).status_code == 201
    first = (await login(c, "twice")).json()["token"]
    second = (await login(c, "twice")).json()["token"]
    assert first != second
    for token in (first, second):
        assert (await bearer(clients, token).get("/api/v1/me")).status_code == 200


async def test_wrong_password_and_unknown_user_look_the_same(clients):
    c = clients.anonymous()
    assert (await register(c, "known")).status_code == 201
    wrong = support.assert_error(await login(c, "known", "not the right one"), 401)
    unknown = support.assert_error(await login(c, "nobody-here", "not the right one"), 401)
    assert wrong == unknown
    assert "set-cookie" not in (await login(c, "known", "still not it")).headers


async def test_bad_tokens_are_401(clients):
    for header in ("Bearer nonsense", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer " + "a" * 5000):
        c = clients.anonymous()
        c.headers["Authorization"] = header
        support.assert_error(await c.get("/api/v1/me"), 401, "not_signed_in")
    support.assert_error(await with_cookie(clients, "forged").get("/api/v1/me"), 401)


async def test_five_failures_lock_the_username_for_every_try(clients, travel):
    travel(support.utc(2026, 3, 7, 12, 0))
    c = clients.anonymous()
    assert (await register(c, "alice")).status_code == 201
    assert (await register(c, "bob")).status_code == 201
    for _ in range(5):
        support.assert_error(await login(c, "alice", "guess guess guess"), 401)
    for password in ("guess guess guess", PASSWORD):
        support.assert_error(await login(c, "alice", password), 429, "rate_limited")
    for name in ("alice", "ALICE", " Alice "):
        r = await login(clients.anonymous(), name, PASSWORD)
        support.assert_error(r, 429)
        assert 1 <= int(r.headers["Retry-After"]) <= 15 * 60 + 1
        assert "set-cookie" not in r.headers
    # Someone else is not slowed down by it.
    assert (await login(c, "bob")).status_code == 200
    # Fifteen minutes after the failures, the right password works again.
    support.travel_on(dt.timedelta(minutes=15, seconds=1))
    assert (await login(c, "alice")).status_code == 200


async def test_parallel_guesses_cannot_beat_the_limit(clients):
    c = clients.anonymous()
    assert (await register(c, "target")).status_code == 201
    answers = await asyncio.gather(*(login(clients.anonymous(), "target", f"guess number {i}")
                                     for i in range(12)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses.count(401) <= 5, statuses
    assert set(statuses) <= {401, 429}, statuses
    support.assert_error(await login(c, "target"), 429)


async def test_a_session_expires(clients, travel):
    c = clients.anonymous()
    assert (await register(c, "fleeting")).status_code == 201
    token = (await login(c, "fleeting")).json()["token"]
    travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=31))
    support.assert_error(await bearer(clients, token).get("/api/v1/me"), 401)


# --- sign-out --------------------------------------------------------------------------------


async def test_logout_ends_the_token_and_the_cookie_at_once(clients):
    browser = clients.anonymous()
    assert (await register(browser, "leaver")).status_code == 201
    token = (await login(browser, "leaver")).json()["token"]
    other = (await login(clients.anonymous(), "leaver")).json()["token"]
    cookie = browser.cookies["cairn_session"]

    # The cookie alone does not sign anyone out: a page of Cairn's must have sent it.
    support.assert_error(await browser.post("/api/v1/auth/logout"), 403, "csrf_failed")
    assert (await browser.get("/api/v1/me")).status_code == 200
    r = await browser.post("/api/v1/auth/logout",
                           headers={"X-CSRF-Token": await support.page_csrf(browser)})
    assert r.status_code == 204, r.text
    assert "cairn_session" in r.headers.get("set-cookie", "")
    assert "cairn_session" not in browser.cookies
    # Replaying what the browser held does not work any more, as cookie or as token.
    support.assert_error(await with_cookie(clients, cookie).get("/api/v1/me"), 401)
    support.assert_error(await bearer(clients, token).get("/api/v1/me"), 401)
    support.assert_error(await bearer(clients, token).post("/api/v1/auth/logout"), 401)
    # Only that session ended.
    api = bearer(clients, other)
    assert (await api.get("/api/v1/me")).status_code == 200
    assert (await api.post("/api/v1/auth/logout")).status_code == 204
    support.assert_error(await api.get("/api/v1/me"), 401)
    support.assert_error(await with_cookie(clients, other).get("/api/v1/me"), 401)


async def test_logout_needs_a_session(clients):
    support.assert_error(await clients.anonymous().post("/api/v1/auth/logout"), 401)


# --- profile ---------------------------------------------------------------------------------


async def test_me_and_profile_changes(clients):
    m = await clients.member("fern", timezone="Europe/Madrid", display_name="Fern")
    r = await m.get("/api/v1/me")
    assert r.status_code == 200
    assert_user_shape(r.json())
    assert r.json() == m.user

    r = await m.patch("/api/v1/me", {"display_name": "  Fern  G ", "timezone": "Asia/Kolkata"})
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == "Fern G" and r.json()["timezone"] == "Asia/Kolkata"
    assert (await m.patch("/api/v1/me", {})).json()["display_name"] == "Fern G"

    support.assert_error(await m.patch("/api/v1/me", {"timezone": "Nowhere/Land"}), 422,
                         "invalid_timezone")
    support.assert_error(await m.patch("/api/v1/me", {"display_name": "x" * 41}), 422)
    support.assert_error(await m.patch("/api/v1/me", {"display_name": " "}), 422)
    # A refused change changes nothing.
    me = (await m.get("/api/v1/me")).json()
    assert (me["display_name"], me["timezone"]) == ("Fern G", "Asia/Kolkata")
    # Nobody can rename their username or id this way.
    await m.patch("/api/v1/me", {"username": "someone", "id": 999})
    me = (await m.get("/api/v1/me")).json()
    assert (me["username"], me["id"]) == ("fern", m.id)


async def test_me_needs_a_session(clients):
    c = clients.anonymous()
    support.assert_error(await c.get("/api/v1/me"), 401, "not_signed_in")
    support.assert_error(await c.patch("/api/v1/me", json={"display_name": "x"}), 401)
    support.assert_error(await c.post("/api/v1/me/password", json={
        "current_password": PASSWORD, "new_password": "a brand new phrase"}), 401)


# --- passwords -------------------------------------------------------------------------------


async def test_password_change_ends_the_other_sessions(clients):
    m = await clients.member("changer")
    elsewhere = bearer(clients, (await login(clients.anonymous(), "changer")).json()["token"])
    assert (await elsewhere.get("/api/v1/me")).status_code == 200

    support.assert_error(await m.post("/api/v1/me/password", {
        "current_password": "not my password", "new_password": "a brand new phrase"}), 422)
    support.assert_error(await m.post("/api/v1/me/password", {
        "current_password": PASSWORD, "new_password": "password123"}), 422, "weak_password")
    # A weak new password gets the same answer whether the current one was right or not.
    support.assert_error(await m.post("/api/v1/me/password", {
        "current_password": "a wrong guess", "new_password": "password123"}), 422, "weak_password")
    assert (await elsewhere.get("/api/v1/me")).status_code == 200  # refused changes end nothing

    r = await m.post("/api/v1/me/password", {"current_password": PASSWORD,
                                             "new_password": "a brand new phrase"})
    assert r.status_code == 204, r.text
    assert (await m.get("/api/v1/me")).status_code == 200
    support.assert_error(await elsewhere.get("/api/v1/me"), 401)
    c = clients.anonymous()
    support.assert_error(await login(c, "changer", PASSWORD), 401)
    assert (await login(c, "changer", "a brand new phrase")).status_code == 200


@pytest.mark.real_hashing
async def test_argon2id_parameters_meet_owasp_minimum(clients, app):
    assert (await register(clients.anonymous(), "hashed")).status_code == 201
    stored = await stored_hash(app, "hashed")
    match = re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[^$]+\$[^$]+", stored)
    assert match, stored
    m, t, p = map(int, match.groups())
    assert m >= 19456 and t >= 2 and p == 1, stored
    assert PASSWORD not in stored


@pytest.mark.real_hashing
async def test_an_old_hash_is_upgraded_at_sign_in(clients, app):
    c = clients.anonymous()
    assert (await register(c, "oldtimer")).status_code == 201
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    async with app.state.db.session(write=True) as session:
        await session.execute(update(User).where(User.username == "oldtimer")
                              .values(password_hash=weak))
        await session.commit()
    assert await stored_hash(app, "oldtimer") == weak

    support.assert_error(await login(c, "oldtimer", "not the password"), 401)
    assert await stored_hash(app, "oldtimer") == weak  # a wrong password rewrites nothing

    assert (await login(c, "oldtimer")).status_code == 200
    upgraded = await stored_hash(app, "oldtimer")
    assert upgraded.startswith("$argon2id$v=19$m=19456,t=2,p=1$"), upgraded
    assert (await login(c, "oldtimer")).status_code == 200
    assert await stored_hash(app, "oldtimer") == upgraded  # nothing to upgrade the second time
