"""A way back in without email, over the API on both databases: recovery codes (shown once at
sign-up, each used once, a new set from Settings), a moderator's one-time reset code and its
misuse, the notice the member gets, and guesses counted with sign-in's."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select

from server.models import PasswordReset, RecoveryCode
from tests import support
from tests.fixtures.clients import PASSWORD, Clients, Member

pytestmark = pytest.mark.usefixtures("contract_kept")

NEW = "a slow boat up the river"
NEWER = "seven green kites at dawn"
CODE_RE = re.compile(r"^[A-HJKMNP-Z2-9]{5}-[A-HJKMNP-Z2-9]{5}$")


@dataclass
class Person:
    member: Member
    codes: list[str]

    @property
    def name(self) -> str:
        return self.member.user["username"]


async def person(clients: Clients, name: str, display_name: str | None = None) -> Person:
    """A signed-in member (bearer) and the recovery codes their sign-up showed."""
    c = clients.anonymous()
    r = await c.post("/api/v1/auth/register", json={
        "username": name, "password": PASSWORD, "display_name": display_name or name.title()})
    assert r.status_code == 201, r.text
    codes = r.json()["recovery_codes"]
    r = await c.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.cookies.clear()
    c.headers["Authorization"] = f"Bearer {r.json()['token']}"
    return Person(Member(c, r.json()["user"], r.json()["token"]), codes)


async def recover(clients: Clients, username: str, code: str, new_password: str = NEW,
                  client: httpx.AsyncClient | None = None) -> httpx.Response:
    return await (client or clients.anonymous()).post("/api/v1/auth/recover", json={
        "username": username, "code": code, "new_password": new_password})


async def sign_in(clients: Clients, username: str, password: str) -> httpx.Response:
    return await clients.anonymous().post("/api/v1/auth/login",
                                          json={"username": username, "password": password})


async def still_signed_in(m: Member) -> bool:
    return (await m.get("/api/v1/me")).status_code == 200


async def remaining(m: Member) -> int:
    r = await m.get("/api/v1/me/recovery-codes")
    assert r.status_code == 200, r.text
    return r.json()["remaining"]


# --- recovery codes ---------------------------------------------------------------------------


async def test_sign_up_shows_ten_codes_and_each_lets_the_member_in_once(clients, app):
    robin = await person(clients, "robin")
    assert len(robin.codes) == 10 and len(set(robin.codes)) == 10
    assert all(CODE_RE.match(code) for code in robin.codes), robin.codes
    assert await remaining(robin.member) == 10
    async with app.state.db.session() as session:  # only hashes are kept
        stored = (await session.scalars(select(RecoveryCode.code_hash))).all()
    assert len(stored) == 10 and all(h.startswith("$argon2id$") for h in stored)
    assert not any(code.replace("-", "") in h or code in h for code in robin.codes for h in stored)
    elsewhere = (await person(clients, "other_device")).member  # someone else: untouched
    laptop = clients.anonymous()
    laptop.headers["Authorization"] = "Bearer " + (await sign_in(clients, "robin", PASSWORD)).json()["token"]

    r = await recover(clients, "Robin", robin.codes[0])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["username"] == "robin" and body["token"] and body["password_reset"] is None
    assert "cairn_session" in r.headers["set-cookie"]
    # Every earlier session ended; the new token works; the password is the new one.
    assert not await still_signed_in(robin.member)
    assert (await laptop.get("/api/v1/me")).status_code == 401
    assert await still_signed_in(elsewhere)
    fresh = clients.anonymous()
    fresh.headers["Authorization"] = f"Bearer {body['token']}"
    assert (await fresh.get("/api/v1/me")).status_code == 200
    support.assert_error(await sign_in(clients, "robin", PASSWORD), 401)
    assert (await sign_in(clients, "robin", NEW)).status_code == 200
    # The code is spent; the others work, typed in any case with spaces for the dash.
    support.assert_error(await recover(clients, "robin", robin.codes[0], NEWER), 401, "bad_credentials")
    assert await remaining(fresh) == 9
    typed = robin.codes[1].lower().replace("-", " ")
    assert (await recover(clients, "robin", typed, NEWER)).status_code == 200
    assert (await sign_in(clients, "robin", NEWER)).status_code == 200


async def test_a_wrong_code_and_an_unknown_username_answer_alike(clients):
    sam = await person(clients, "sam")
    wrong = await recover(clients, "sam", "ABCDE-FGHJK")
    nobody = await recover(clients, "nobody_here", sam.codes[0])
    support.assert_error(wrong, 401, "bad_credentials")
    assert (nobody.status_code, nobody.json()) == (wrong.status_code, wrong.json())
    # What cannot be a code is said plainly, and counts as no guess at anyone's account.
    for typed in ("1234", "ABCDE-FGHJKL", "ABCDE-FGHJ0", "ABCDE-FGHJ!", "ABCDE\x00FGHJ"):
        support.assert_error(await recover(clients, "sam", typed), 422, "invalid_code")
    support.assert_error(await recover(clients, "sam", sam.codes[0], "short"), 422, "weak_password")
    assert await still_signed_in(sam.member)
    assert await remaining(sam.member) == 10
    # Had those counted as guesses, the limiter would now hold Sam's own sign-in back.
    assert (await sign_in(clients, "sam", PASSWORD)).status_code == 200


async def test_a_weak_new_password_keeps_the_code_and_counts_no_failure(clients):
    noor = await person(clients, "noor", display_name="Noor Quietwater")
    for _ in range(4):
        support.assert_error(await sign_in(clients, "noor", "not it at all"), 401)
    # Judged once the code matched, by the member's own names too.
    r = await recover(clients, "noor", noor.codes[0], "Noor Quietwater")
    support.assert_error(r, 422, "weak_password")
    assert await remaining(noor.member) == 10 and await still_signed_in(noor.member)
    # Four failures, not five: the right password still gets in, and so does the code.
    assert (await sign_in(clients, "noor", PASSWORD)).status_code == 200
    assert (await recover(clients, "noor", noor.codes[0])).status_code == 200


async def test_code_guesses_count_with_sign_in_failures(clients, travel):
    await person(clients, "kim")
    lockout = None
    for i in range(5):
        guess = recover if i % 2 else (lambda c, u, _: sign_in(c, u, "a wrong guess here"))
        support.assert_error(await guess(clients, "kim", "ABCDE-FGHJK"), 401)
    for attempt in (sign_in(clients, "kim", PASSWORD), recover(clients, "kim", "ABCDE-FGHJK")):
        r = await attempt
        body = support.assert_error(r, 429, "rate_limited")
        assert 1 <= int(r.headers["Retry-After"]) <= 15 * 60 + 1
        lockout = lockout or body["detail"]
        assert body["detail"] == lockout  # the same words either way
    support.travel_on(dt.timedelta(minutes=15, seconds=1))
    assert (await sign_in(clients, "kim", PASSWORD)).status_code == 200


async def test_a_new_set_from_settings_replaces_the_old_one(clients):
    ari = await person(clients, "ari")
    r = await ari.member.post("/api/v1/me/recovery-codes", {"password": "not my password"})
    support.assert_error(r, 403, "bad_credentials")
    assert await remaining(ari.member) == 10
    r = await ari.member.post("/api/v1/me/recovery-codes", {"password": PASSWORD})
    assert r.status_code == 201, r.text
    new_codes = r.json()["recovery_codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(ari.codes)
    assert await remaining(ari.member) == 10
    support.assert_error(await recover(clients, "ari", ari.codes[0]), 401, "bad_credentials")
    assert (await recover(clients, "ari", new_codes[0])).status_code == 200


async def test_wrong_passwords_for_a_new_set_count_with_sign_ins(clients):
    jo = await person(clients, "joss")
    for _ in range(5):
        support.assert_error(await jo.member.post("/api/v1/me/recovery-codes", {"password": "nope nope"}),
                             403)
    support.assert_error(await jo.member.post("/api/v1/me/recovery-codes", {"password": PASSWORD}), 429)
    support.assert_error(await sign_in(clients, "joss", PASSWORD), 429)


async def test_the_export_counts_the_codes_and_deleting_the_account_deletes_them(clients, app):
    mo = await person(clients, "moss")
    assert (await recover(clients, "moss", mo.codes[0])).status_code == 200
    mo.member.client.headers["Authorization"] = "Bearer " + (await sign_in(clients, "moss", NEW)).json()["token"]
    r = await mo.member.get("/api/v1/me/export")
    assert r.json()["recovery_codes_remaining"] == 9
    assert not any(code in r.text or code.replace("-", "") in r.text for code in mo.codes)
    r = await mo.member.client.request("DELETE", "/api/v1/me", json={"password": NEW})
    assert r.status_code == 204, r.text
    async with app.state.db.session() as session:
        assert await session.scalar(select(func.count(RecoveryCode.id))) == 0


# --- a moderator's reset code -----------------------------------------------------------------


async def circle(clients: Clients, *names: str) -> tuple[Person, dict, list[Person]]:
    """A moderator (Sam) and members in one group."""
    mod = await person(clients, f"mod_{names[0]}", display_name="Sam")
    people = [await person(clients, n) for n in names]
    group = await clients.group(mod.member, *(p.member for p in people), name="Circle")
    return mod, group, people


async def reset_code(mod: Person, gid: int, member: Person | int) -> httpx.Response:
    uid = member if isinstance(member, int) else member.member.id
    return await mod.member.post(f"/api/v1/groups/{gid}/members/{uid}/reset-code")


async def test_a_moderators_reset_code_lets_the_member_back_in_and_they_are_told(clients, app):
    mod, group, [lee] = await circle(clients, "lee")
    gid = group["id"]
    phone = clients.anonymous()
    phone.headers["Authorization"] = "Bearer " + (await sign_in(clients, "lee", PASSWORD)).json()["token"]

    r = await reset_code(mod, gid, lee)
    assert r.status_code == 201, r.text
    made = r.json()
    assert CODE_RE.match(made["code"])
    expires = support.parse_time(made["expires_at"])
    assert dt.timedelta(minutes=29) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=30)
    # The log says a moderator made one, never for whom.
    audit = (await lee.member.get(f"/api/v1/groups/{gid}/audit")).json()
    assert [(a["actor"], a["action"], a["target"], a["reason"]) for a in audit] == [
        ("Sam", "reset_code", "a member", None)]
    assert "Lee" not in str(audit)

    r = await recover(clients, "lee", made["code"])
    assert r.status_code == 200, r.text
    assert r.json()["password_reset"] is None  # told at a sign-in of their own, not this one
    assert not await still_signed_in(lee.member) and (await phone.get("/api/v1/me")).status_code == 401
    support.assert_error(await recover(clients, "lee", made["code"], NEWER), 401, "bad_credentials")

    # Their next sign-in says who made the code and when it was used; only that one.
    r = await sign_in(clients, "lee", NEW)
    assert r.status_code == 200, r.text
    notice = r.json()["password_reset"]
    assert notice["by"] == "Sam" and notice["group"] == "Circle"
    assert abs(support.parse_time(notice["at"]) - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    assert (await sign_in(clients, "lee", NEW)).json()["password_reset"] is None
    # Their recovery codes were not touched.
    assert (await recover(clients, "lee", lee.codes[0], NEWER)).status_code == 200
    async with app.state.db.session() as session:
        assert await session.scalar(select(func.count(PasswordReset.id))) == 0


async def test_a_recovery_code_sign_in_tells_of_a_reset_the_member_did_not_make(clients):
    mod, group, [pat] = await circle(clients, "pat")
    code = (await reset_code(mod, group["id"], pat)).json()["code"]
    # Someone who is not Pat uses the code; Pat's password no longer works, Pat uses a code.
    assert (await recover(clients, "pat", code, "somebody else's choice here")).status_code == 200
    support.assert_error(await sign_in(clients, "pat", PASSWORD), 401)
    r = await recover(clients, "pat", pat.codes[0])
    assert r.status_code == 200, r.text
    assert r.json()["password_reset"]["by"] == "Sam"
    support.assert_error(await sign_in(clients, "pat", "somebody else's choice here"), 401)


async def test_a_reset_code_expires_and_a_new_one_replaces_the_old(clients, travel):
    mod, group, [ash, bo] = await circle(clients, "ash", "bob")
    gid = group["id"]
    first = (await reset_code(mod, gid, ash)).json()["code"]
    second = (await reset_code(mod, gid, ash)).json()["code"]
    support.assert_error(await recover(clients, "ash", first), 401, "bad_credentials")
    # A code made for one member is nothing for another.
    support.assert_error(await recover(clients, "bob", second), 401, "bad_credentials")
    support.travel_on(dt.timedelta(minutes=30, seconds=5))
    support.assert_error(await recover(clients, "ash", second), 401, "bad_credentials")
    assert (await sign_in(clients, "ash", PASSWORD)).status_code == 200
    assert (await sign_in(clients, "bob", PASSWORD)).status_code == 200


async def test_a_code_stops_working_when_its_trust_ends(clients):
    """Made, then the member leaves, or the moderator steps back or leaves: the code is void."""
    mod, group, [cy, di, ed] = await circle(clients, "cyd", "dina", "eddy")
    gid = group["id"]
    other = await person(clients, "other_mod", display_name="Ola")
    # Ola joins and moderates too, so Sam can step back and leave.
    invite = (await mod.member.post(f"/api/v1/groups/{gid}/invites", {})).json()["code"]
    assert (await other.member.post("/api/v1/groups/join", {"invite_code": invite,
                                                            "accept_agreement": True})).status_code == 200
    assert (await mod.member.patch(f"/api/v1/groups/{gid}/members/{other.member.id}",
                                   {"role": "moderator"})).status_code == 200

    # The member left the group after the code was made.
    left = (await reset_code(mod, gid, cy)).json()["code"]
    assert (await cy.member.post(f"/api/v1/groups/{gid}/leave")).status_code == 204
    support.assert_error(await recover(clients, "cyd", left), 401, "bad_credentials")

    # The moderator who made it stepped back to member.
    demoted = (await reset_code(mod, gid, di)).json()["code"]
    assert (await other.member.patch(f"/api/v1/groups/{gid}/members/{mod.member.id}",
                                     {"role": "member"})).status_code == 200
    support.assert_error(await recover(clients, "dina", demoted), 401, "bad_credentials")
    # ... and can make no more.
    support.assert_error(await reset_code(mod, gid, ed), 403, "not_moderator")

    # The moderator who made it left the group.
    gone = (await reset_code(other, gid, ed)).json()["code"]
    assert (await other.member.patch(f"/api/v1/groups/{gid}/members/{mod.member.id}",
                                     {"role": "moderator"})).status_code == 200
    assert (await other.member.post(f"/api/v1/groups/{gid}/leave")).status_code == 204
    support.assert_error(await recover(clients, "eddy", gone), 401, "bad_credentials")
    support.assert_error(await reset_code(other, gid, ed), 404)

    # None of it signed anyone out or changed a password.
    for p in (cy, di, ed):
        assert await still_signed_in(p.member)
        assert (await sign_in(clients, p.name, PASSWORD)).status_code == 200


async def test_a_moderator_makes_codes_only_for_members_of_their_own_group(clients):
    mod, group, [fay] = await circle(clients, "fay")
    gid = group["id"]
    other_mod, other_group, [gil] = await circle(clients, "gil")
    # Another group's member, under this group or under theirs: nothing there.
    support.assert_error(await reset_code(mod, gid, gil), 404, "member_not_found")
    support.assert_error(await reset_code(mod, other_group["id"], gil), 404)
    support.assert_error(await reset_code(mod, gid, 999_999), 404, "member_not_found")
    # Not for themselves, not by a plain member.
    support.assert_error(await reset_code(mod, gid, mod.member.id), 400, "reset_self")
    support.assert_error(await reset_code(fay, gid, mod), 403, "not_moderator")
    # A removed member.
    assert (await mod.member.delete(f"/api/v1/groups/{gid}/members/{fay.member.id}")).status_code == 204
    support.assert_error(await reset_code(mod, gid, fay), 404, "member_not_found")
    assert (await mod.member.get(f"/api/v1/groups/{gid}/audit")).json()[0]["action"] == "remove"
