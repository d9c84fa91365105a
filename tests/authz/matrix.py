"""Who may call what: the one table of expected outcomes for every route and every caller,
and for each route a request that passes validation and reaches the authorization check.

Every route in the app must be here (tests/authz/test_matrix.py walks the route table and
fails on any route missing from it, and on any entry here with no route), so no endpoint
ships without a decision.

Outcomes:
    A        allowed: 2xx for the API; 2xx or a 3xx that is not to /login for a page
    L        a page's sign-in redirect: 303 to /login?next=<the path>
    M        a write refused to a muted member: 403 with error `muted` (a page: 403)
    401, 403, 404        exactly that status
    OPEN     a socket that opens: its first frame is `welcome` (group) or `room`
    4401, 4403, 4404     a socket closed with that code

The callers, in column order (see world.py): anonymous; outsider, signed in and in no group
here; member, moderator and muted member of group A; other_moderator, the moderator of
group B; removed, a member of A the moderator removed. Every request names group A's
things, so each column says what that caller may do with them. Non-members always get 404
(never 403): a private group's existence is not revealed.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from server.reminders import service as reminders
from tests.authz.world import ANONYMOUS, CALLERS, IN_A, NEW_PASSWORD, Call, Person, World

Route = tuple[str, str]          # (method, path template); method "WS" for sockets
Outcome = str | int
Builder = Callable[[World, Person], Awaitable[Call]]
Prepare = Callable[[World], Awaitable[None]]

A, L, M, OPEN = "allow", "login", "muted", "open"
HTTP_OUTCOMES = frozenset({A, L, M, 401, 403, 404})
SOCKET_OUTCOMES = frozenset({OPEN, 4401, 4403, 4404})

# Mounted file trees and the schema, public by design and not authorization's business.
IGNORED: dict[str, str] = {
    "/static": "CSS, JavaScript and images, public",
    "/static/swagger": "the API docs' assets, public",
}


@dataclass(frozen=True)
class Row:
    expect: dict[str, Outcome]
    build: Builder
    # The request uses up its caller (signs them out, deletes them, makes them join or
    # leave): each cell gets a fresh person of the caller's kind instead.
    fresh: bool = False
    # Something the request needs of the world first (group A has no open room).
    prepare: Prepare | None = None


def row(anonymous: Outcome, outsider: Outcome, member: Outcome, moderator: Outcome,
        other_moderator: Outcome, removed: Outcome, muted: Outcome, build: Builder, *,
        fresh: bool = False, prepare: Prepare | None = None) -> Row:
    values = (anonymous, outsider, member, moderator, other_moderator, removed, muted)
    return Row(dict(zip(CALLERS, values, strict=True)), build, fresh, prepare)


# -- request builders ---------------------------------------------------------------------------

Body = dict[str, Any] | Callable[[World, Person], Any] | None


def _body(body: Body, w: World, who: Person) -> Any:
    return body(w, who) if callable(body) else body


def get(url: str, **params: Any) -> Builder:
    async def build(w: World, who: Person) -> Call:
        return Call("GET", w.url(url), params={k: w.url(str(v)) for k, v in params.items()} or None)
    return build


def api(method: str, url: str, body: Body = None) -> Builder:
    async def build(w: World, who: Person) -> Call:
        return Call(method, w.url(url), json=_body(body, w, who))
    return build


def form(url: str, fields: Body = None) -> Builder:
    """A page form, posted with a valid CSRF token."""
    async def build(w: World, who: Person) -> Call:
        return Call("POST", w.url(url), form=_body(fields, w, who) or {})
    return build


def socket(url: str) -> Builder:
    async def build(w: World, who: Person) -> Call:
        return Call("WS", w.url(url))
    return build


PUSH_SERVICE = "https://push.example"  # the one push service the matrix's Cairn sends to


def push_device(who: Person) -> dict[str, Any]:
    """A browser's push subscription (keys as a browser makes them)."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"endpoint": f"{PUSH_SERVICE}/{who.kind}/{os.urandom(6).hex()}",
            "keys": {"p256dh": base64.urlsafe_b64encode(key).rstrip(b"=").decode(),
                     "auth": base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()}}


def stop_token(w: World, who: Person) -> str:
    person = who if who.id else w.people["spare"]
    return reminders.stop_token(w.app.state.pusher.settings, person.id)


def _credentials(w: World, who: Person) -> dict[str, str]:
    """Sign in as the caller (a visitor signs in to a spare account)."""
    person = who if who.token else w.people["spare"]
    return {"username": person.username, "password": person.password}


async def _recovery_code(w: World) -> dict[str, str]:
    """A way back into a new account made for this cell: its username and a recovery code."""
    name = w.new_username()
    made = await w.ok(ANONYMOUS, "POST", "/api/v1/auth/register",
                      {"username": name, "password": "a long quiet meadow walk"})
    return {"username": name, "code": made["recovery_codes"][0], "new_password": NEW_PASSWORD}


async def recover_api(w: World, who: Person) -> Call:
    return Call("POST", "/api/v1/auth/recover", json=await _recovery_code(w))


async def recover_page(w: World, who: Person) -> Call:
    fields = await _recovery_code(w)
    return Call("POST", "/forgot", form={**fields, "new_password_again": NEW_PASSWORD})


def _own_commitment(w: World, who: Person) -> int:
    """The caller's own commitment in A where they have one; else a member's."""
    return w.own_commitment.get(who.kind, w.own_commitment["member"])


async def checkin_api(w: World, who: Person) -> Call:
    return Call("POST", f"/api/v1/commitments/{_own_commitment(w, who)}/checkin",
                json={"status": "partly", "note": "some of it", "feeling": 3})


async def checkin_page(w: World, who: Person) -> Call:
    return Call("POST", w.url(f"/groups/{{a}}/commitments/{_own_commitment(w, who)}/checkin"),
                form={"status": "done", "feeling": "4"})


async def _fresh_commitment(w: World, who: Person) -> int:
    """A new shared commitment in A that nobody has responded to: the caller's own where they
    are (or were) in A, written straight into the database (a muted or removed member cannot
    post), else a member's. A cell that edits or withdraws it uses up nothing another needs."""
    import datetime as dt

    from server import clock
    from server.db import transaction
    from server.models import Commitment

    owner = who if who.kind in IN_A else w.people["member"]
    async with transaction(w.app.state.db) as session:
        made = Commitment(group_id=w.ids["a"], user_id=owner.id, day=dt.date.fromisoformat(w.yesterday),
                          category="rest", text=f"rest a while ({owner.username})", visibility="group",
                          created_at=clock.now())
        session.add(made)
        await session.flush()
        return made.id


async def edit_api(w: World, who: Person) -> Call:
    return Call("PATCH", f"/api/v1/commitments/{await _fresh_commitment(w, who)}",
                json={"text": "rest a little longer"})


async def withdraw_api(w: World, who: Person) -> Call:
    return Call("DELETE", f"/api/v1/commitments/{await _fresh_commitment(w, who)}")


async def edit_page(w: World, who: Person) -> Call:
    return Call("POST", w.url(f"/groups/{{a}}/commitments/{await _fresh_commitment(w, who)}/edit"),
                form={"text": "rest a little longer"})


async def withdraw_page(w: World, who: Person) -> Call:
    return Call("POST", w.url(f"/groups/{{a}}/commitments/{await _fresh_commitment(w, who)}/withdraw"),
                form={})


async def revoke_api(w: World, who: Person) -> Call:
    return Call("DELETE", w.url(f"/api/v1/groups/{{a}}/invites/{await w.fresh_code()}"))


async def revoke_page(w: World, who: Person) -> Call:
    return Call("POST", w.url(f"/groups/{{a}}/invites/{await w.fresh_code()}/revoke"), form={})


async def invite_link(w: World, who: Person) -> Call:
    return Call("GET", w.url(f"/invite/{await w.fresh_code()}"))


async def remove_api(w: World, who: Person) -> Call:
    return Call("DELETE", w.url(f"/api/v1/groups/{{a}}/members/{await w.victim()}"))


async def remove_page(w: World, who: Person) -> Call:
    return Call("POST", w.url(f"/groups/{{a}}/members/{await w.victim()}/remove"), form={})


async def hide_api(w: World, who: Person) -> Call:
    return Call("POST", w.url("/api/v1/groups/{a}/hidden"), json={
        "target_type": "encouragement", "target_id": await w.fresh_encouragement(),
        "reason": "Not kind."})


async def report_page(w: World, who: Person) -> Call:
    return Call("POST", w.url("/groups/{a}/reports"), form={
        "target_type": "commitment", "target_id": str(w.someone_elses_commitment(who)),
        "reason": "This worried me.", "back": "day"})


async def hide_page(w: World, who: Person) -> Call:
    return Call("POST", w.url("/groups/{a}/hidden"), form={
        "target_type": "encouragement", "target_id": str(await w.fresh_encouragement()),
        "reason": "Not kind.", "back": "moderation"})


async def dismiss_page(w: World, who: Person) -> Call:
    """An open report in A, made for this cell."""
    made = await w.ok(w.people["member"], "POST", w.url("/api/v1/groups/{a}/reports"), {
        "target_type": "commitment", "target_id": w.own_commitment["moderator"], "reason": "Please look."})
    return Call("POST", w.url(f"/groups/{{a}}/reports/{made['id']}/dismiss"), form={"note": "It is fine."})


async def _open_worry(w: World, group: str = "a", member: int | None = None) -> int:
    """An open worry notice, as a member's worrying shared words leave one."""
    from server.db import transaction
    from server.models import User
    from server.moderation import service as moderation

    async with transaction(w.app.state.db) as session:
        writer = await session.get(User, member or w.people["member"].id)
        assert writer is not None
        return (await moderation.note_worry(session, w.ids[group], writer)).id


async def acknowledge_api(w: World, who: Person) -> Call:
    return Call("POST", w.url(f"/api/v1/groups/{{a}}/worries/{await _open_worry(w)}/acknowledge"))


async def acknowledge_page(w: World, who: Person) -> Call:
    return Call("POST", w.url(f"/groups/{{a}}/worries/{await _open_worry(w)}/acknowledge"), form={})


async def acknowledge_b_worry(w: World, who: Person) -> Call:
    wid = await _open_worry(w, "b", w.ids["b_member"])
    return Call("POST", w.url(f"/api/v1/groups/{{a}}/worries/{wid}/acknowledge"))


async def end_open_rooms(w: World) -> None:
    await w.end_open_rooms()


async def _a_plan(w: World) -> int:
    """A planned session in group A, made by its moderator for this cell."""
    made = await w.ok(w.people["moderator"], "POST", w.url("/api/v1/groups/{a}/practice-plans"),
                      {"starts": "18:30", "weekday": 3, "zone": "Europe/Berlin"})
    return int(made["id"])


async def delete_plan_api(w: World, who: Person) -> Call:
    return Call("DELETE", w.url(f"/api/v1/groups/{{a}}/practice-plans/{await _a_plan(w)}"))


async def delete_plan_page(w: World, who: Person) -> Call:
    return Call("POST", w.url(f"/groups/{{a}}/practice/{await _a_plan(w)}/delete"), form={})


async def calendar_feed(w: World, who: Person) -> Call:
    """The feed of the caller's own link (a visitor's: the spare account's): the token is what
    opens it, never a sign-in."""
    from server.db import transaction
    from server.models import User
    from server.practice import service as practice

    person = who if who.id else w.people["spare"]
    async with transaction(w.app.state.db) as session:
        user = await session.get(User, person.id)
        assert user is not None
        token = await practice.make_feed(session, user, False)
    return Call("GET", f"/calendar/{token}.ics")


REPORT = {"target_type": "commitment", "reason": "This worried me."}

# -- the table ----------------------------------------------------------------------------------

TABLE: dict[Route, Row] = {
    #                                                   anon  outsdr member  mod  othmod removed muted
    # operations and docs: public
    ("GET", "/healthz"):                            row(A,    A,     A,     A,    A,    A,    A, get("/healthz")),
    ("GET", "/readyz"):                             row(A,    A,     A,     A,    A,    A,    A, get("/readyz")),
    ("GET", "/openapi.json"):                       row(A,    A,     A,     A,    A,    A,    A, get("/openapi.json")),
    ("GET", "/docs"):                               row(A,    A,     A,     A,    A,    A,    A, get("/docs")),
    # Only for the metrics token (tests/hardening/test_small_things.py); none is set here.
    ("GET", "/metrics"):                            row(404,  404,   404,   404,  404,  404,  404, get("/metrics")),

    # accounts
    ("POST", "/api/v1/auth/register"):              row(A,    A,     A,     A,    A,    A,    A, api(
        "POST", "/api/v1/auth/register",
        lambda w, who: {"username": w.new_username(), "password": "a long quiet meadow walk"})),
    ("POST", "/api/v1/auth/login"):                 row(A,    A,     A,     A,    A,    A,    A, api(
        "POST", "/api/v1/auth/login", _credentials)),
    ("POST", "/api/v1/auth/logout"):                row(401,  A,     A,     A,    A,    A,    A, api(
        "POST", "/api/v1/auth/logout"), fresh=True),
    # A forgotten password: a recovery code of an account made for the cell, whoever sends it.
    ("POST", "/api/v1/auth/recover"):               row(A,    A,     A,     A,    A,    A,    A, recover_api),
    ("GET", "/api/v1/me"):                          row(401,  A,     A,     A,    A,    A,    A, get("/api/v1/me")),
    ("PATCH", "/api/v1/me"):                        row(401,  A,     A,     A,    A,    A,    A, api(
        "PATCH", "/api/v1/me", lambda w, who: {"display_name": f"{who.kind} again"})),
    ("POST", "/api/v1/me/password"):                row(401,  A,     A,     A,    A,    A,    A, api(
        "POST", "/api/v1/me/password",
        lambda w, who: {"current_password": who.password, "new_password": NEW_PASSWORD}), fresh=True),
    ("GET", "/api/v1/me/export"):                   row(401,  A,     A,     A,    A,    A,    A,
                                                        get("/api/v1/me/export")),
    ("GET", "/api/v1/me/recovery-codes"):           row(401,  A,     A,     A,    A,    A,    A,
                                                        get("/api/v1/me/recovery-codes")),
    ("POST", "/api/v1/me/recovery-codes"):          row(401,  A,     A,     A,    A,    A,    A, api(
        "POST", "/api/v1/me/recovery-codes", lambda w, who: {"password": who.password})),
    ("DELETE", "/api/v1/me"):                       row(401,  A,     A,     A,    A,    A,    A, api(
        "DELETE", "/api/v1/me", lambda w, who: {"password": who.password}), fresh=True),

    # reminders: a member's own; the stop link works without signing in, with its token.
    ("GET", "/api/v1/me/reminders"):                row(401,  A,     A,     A,    A,    A,    A,
                                                        get("/api/v1/me/reminders")),
    ("PUT", "/api/v1/me/reminders"):                row(401,  A,     A,     A,    A,    A,    A, api(
        "PUT", "/api/v1/me/reminders", {"morning": "08:00", "evening": "20:30"})),
    ("PUT", "/api/v1/me/reminders/groups/{gid}"):   row(401,  404,   A,     A,    404,  404,  A, api(
        "PUT", "/api/v1/me/reminders/groups/{a}", {"morning": "off", "evening": "21:00"})),
    ("POST", "/api/v1/me/reminders/snooze"):        row(401,  A,     A,     A,    A,    A,    A, api(
        "POST", "/api/v1/me/reminders/snooze", {"days": 1})),
    ("POST", "/api/v1/me/push-devices"):            row(401,  A,     A,     A,    A,    A,    A, api(
        "POST", "/api/v1/me/push-devices", lambda w, who: push_device(who))),
    ("POST", "/api/v1/me/push-devices/remove"):     row(401,  A,     A,     A,    A,    A,    A, api(
        "POST", "/api/v1/me/push-devices/remove", lambda w, who: {"endpoint": push_device(who)["endpoint"]})),
    ("POST", "/api/v1/reminders/stop"):             row(A,    A,     A,     A,    A,    A,    A, api(
        "POST", "/api/v1/reminders/stop", lambda w, who: {"token": stop_token(w, who)})),

    # planned practice: members read, moderators plan and delete
    ("GET", "/api/v1/groups/{gid}/practice-plans"): row(401,  404,   A,     A,    404,  404,  A,
                                                        get("/api/v1/groups/{a}/practice-plans")),
    ("POST", "/api/v1/groups/{gid}/practice-plans"): row(401, 404,   403,   A,    404,  404,  403, api(
        "POST", "/api/v1/groups/{a}/practice-plans", {"starts": "19:00", "weekday": 1})),
    ("DELETE", "/api/v1/groups/{gid}/practice-plans/{pid}"): row(401, 404, 403, A, 404, 404,  403,
                                                                 delete_plan_api),

    # groups: a removed member who comes back with a valid code is told why (403 `removed`);
    # a member joining again gets the same answer as the first time.
    ("POST", "/api/v1/groups"):                     row(401,  A,     A,     A,    A,    A,    A, api(
        "POST", "/api/v1/groups", {"name": "A new circle", "capacity": 5})),
    ("GET", "/api/v1/groups"):                      row(401,  A,     A,     A,    A,    A,    A, get("/api/v1/groups")),
    ("POST", "/api/v1/groups/join"):                row(401,  A,     A,     A,    A,    403,  A, api(
        "POST", "/api/v1/groups/join",
        lambda w, who: {"invite_code": w.ids["a_code"], "accept_agreement": True}), fresh=True),
    ("GET", "/api/v1/groups/{gid}"):                row(401,  404,   A,     A,    404,  404,  A,
                                                        get("/api/v1/groups/{a}")),
    ("GET", "/api/v1/groups/{gid}/members"):        row(401,  404,   A,     A,    404,  404,  A,
                                                        get("/api/v1/groups/{a}/members")),
    ("GET", "/api/v1/groups/{gid}/invites"):        row(401,  404,   403,   A,    404,  404,  403,
                                                        get("/api/v1/groups/{a}/invites")),
    ("POST", "/api/v1/groups/{gid}/invites"):       row(401,  404,   403,   A,    404,  404,  403, api(
        "POST", "/api/v1/groups/{a}/invites", {"expires_in_days": 3, "max_uses": 2})),
    ("DELETE", "/api/v1/groups/{gid}/invites/{code}"): row(401, 404, 403,   A,    404,  404,  403, revoke_api),
    # Leaving is never refused to a member, muted or not.
    ("POST", "/api/v1/groups/{gid}/leave"):         row(401,  404,   A,     A,    404,  404,  A, api(
        "POST", "/api/v1/groups/{a}/leave"), fresh=True),
    ("DELETE", "/api/v1/groups/{gid}/members/{uid}"): row(401, 404,  403,   A,    404,  404,  403, remove_api),

    # commitments and encouragement: members write, muted members read only
    ("POST", "/api/v1/groups/{gid}/commitments"):   row(401,  404,   A,     A,    404,  404,  M, api(
        "POST", "/api/v1/groups/{a}/commitments", {"category": "water", "text": "Drink water."})),
    ("GET", "/api/v1/groups/{gid}/commitments"):    row(401,  404,   A,     A,    404,  404,  A,
                                                        get("/api/v1/groups/{a}/commitments")),
    # On the caller's own commitment in A where they have one (the removed member too).
    ("POST", "/api/v1/commitments/{cid}/checkin"):  row(401,  404,   A,     A,    404,  404,  M, checkin_api),
    # On a new commitment of the caller's own in A where they have one; withdrawing is never
    # refused to its author while they are in the group, muted or not.
    ("PATCH", "/api/v1/commitments/{cid}"):         row(401,  404,   A,     A,    404,  404,  M, edit_api),
    ("DELETE", "/api/v1/commitments/{cid}"):        row(401,  404,   A,     A,    404,  404,  A, withdraw_api),
    ("GET", "/api/v1/me/progress"):                 row(401,  A,     A,     A,    A,    A,    A,
                                                        get("/api/v1/me/progress", days=14)),
    ("POST", "/api/v1/groups/{gid}/encouragements"): row(401, 404,   A,     A,    404,  404,  M, api(
        "POST", "/api/v1/groups/{a}/encouragements",
        lambda w, who: {"kind": "proud", "commitment_id": w.someone_elses_commitment(who)})),
    ("GET", "/api/v1/me/encouragements"):           row(401,  A,     A,     A,    A,    A,    A,
                                                        get("/api/v1/me/encouragements")),

    # role-play
    ("GET", "/api/v1/scenarios"):                   row(401,  404,   A,     A,    404,  404,  A,
                                                        get("/api/v1/scenarios", group_id="{a}")),
    ("POST", "/api/v1/groups/{gid}/scenarios"):     row(401,  404,   403,   A,    404,  404,  403, api(
        "POST", "/api/v1/groups/{a}/scenarios", {
            "title": "Borrowing the car", "situation": "Your sibling wants the car again.",
            "opening_line": "Can I take it tonight?", "intensities": ["Okay.", "After all I do?", "Unbelievable!"]})),
    ("POST", "/api/v1/groups/{gid}/roleplays"):     row(401,  404,   403,   A,    404,  404,  403, api(
        "POST", "/api/v1/groups/{a}/roleplays", {"title": "Practice"}), prepare=end_open_rooms),
    ("GET", "/api/v1/groups/{gid}/roleplays"):      row(401,  404,   A,     A,    404,  404,  A,
                                                        get("/api/v1/groups/{a}/roleplays")),
    ("GET", "/api/v1/roleplays/{rid}"):             row(401,  404,   A,     A,    404,  404,  A,
                                                        get("/api/v1/roleplays/{a_room}")),
    ("GET", "/api/v1/me/roleplay-history"):         row(401,  A,     A,     A,    A,    A,    A,
                                                        get("/api/v1/me/roleplay-history")),

    # moderation. A muted member may still report: a report reaches only the moderators,
    # and being muted must not stop anyone asking for help with what they see.
    ("POST", "/api/v1/groups/{gid}/reports"):       row(401,  404,   A,     A,    404,  404,  A, api(
        "POST", "/api/v1/groups/{a}/reports",
        lambda w, who: {**REPORT, "target_id": w.someone_elses_commitment(who)})),
    ("GET", "/api/v1/groups/{gid}/reports"):        row(401,  404,   403,   A,    404,  404,  403,
                                                        get("/api/v1/groups/{a}/reports", status="open")),
    ("POST", "/api/v1/groups/{gid}/hidden"):        row(401,  404,   403,   A,    404,  404,  403, hide_api),
    ("PUT", "/api/v1/groups/{gid}/members/{uid}/mute"): row(401, 404, 403,  A,    404,  404,  403, api(
        "PUT", "/api/v1/groups/{a}/members/{target}/mute", {"minutes": 5, "reason": "Cool down."})),
    ("DELETE", "/api/v1/groups/{gid}/members/{uid}/mute"): row(401, 404, 403, A,  404,  404,  403, api(
        "DELETE", "/api/v1/groups/{a}/members/{target}/mute")),
    ("PATCH", "/api/v1/groups/{gid}/members/{uid}"): row(401, 404,   403,   A,    404,  404,  403, api(
        "PATCH", "/api/v1/groups/{a}/members/{target}", {"role": "member"})),
    ("POST", "/api/v1/groups/{gid}/members/{uid}/reset-code"): row(401, 404, 403, A, 404, 404, 403, api(
        "POST", "/api/v1/groups/{a}/members/{target}/reset-code")),
    ("GET", "/api/v1/groups/{gid}/worries"):        row(401,  404,   403,   A,    404,  404,  403,
                                                        get("/api/v1/groups/{a}/worries")),
    ("POST", "/api/v1/groups/{gid}/worries/{wid}/acknowledge"): row(401, 404, 403, A, 404, 404, 403,
                                                                    acknowledge_api),
    ("GET", "/api/v1/groups/{gid}/audit"):          row(401,  404,   A,     A,    404,  404,  A,
                                                        get("/api/v1/groups/{a}/audit")),
    ("GET", "/api/v1/help/resources"):              row(A,    A,     A,     A,    A,    A,    A,
                                                        get("/api/v1/help/resources", country="GB")),

    # pages: public
    ("GET", "/"):                                   row(A,    A,     A,     A,    A,    A,    A, get("/")),
    ("GET", "/help"):                               row(A,    A,     A,     A,    A,    A,    A, get("/help")),
    # the installable app: the same for everyone, whoever asks (tests/test_app_shell.py)
    ("GET", "/offline"):                            row(A,    A,     A,     A,    A,    A,    A, get("/offline")),
    ("GET", "/manifest.webmanifest"):               row(A,    A,     A,     A,    A,    A,    A,
                                                        get("/manifest.webmanifest")),
    ("GET", "/sw.js"):                              row(A,    A,     A,     A,    A,    A,    A, get("/sw.js")),
    ("GET", "/signup"):                             row(A,    A,     A,     A,    A,    A,    A, get("/signup")),
    ("POST", "/signup"):                            row(A,    A,     A,     A,    A,    A,    A, form(
        "/signup", lambda w, who: {"username": w.new_username(), "display_name": "Newcomer",
                                   "password": "a long quiet meadow walk",
                                   "password_again": "a long quiet meadow walk", "timezone": "UTC"})),
    ("GET", "/login"):                              row(A,    A,     A,     A,    A,    A,    A, get("/login")),
    # An invite link: a visitor is asked to sign up or in, anyone else sees the group's name and
    # agreement to join (its members are taken to it); whoever holds the code may.
    ("GET", "/invite/{code}"):                      row(A,    A,     A,     A,    A,    A,    A, invite_link),
    # Signing in ends the browser's earlier session: a fresh caller.
    ("POST", "/login"):                             row(A,    A,     A,     A,    A,    A,    A, form(
        "/login", _credentials), fresh=True),
    ("POST", "/logout"):                            row(A,    A,     A,     A,    A,    A,    A, form(
        "/logout"), fresh=True),
    # The language switch: anyone, on any page (a member's choice is also their setting).
    ("POST", "/language"):                          row(A,    A,     A,     A,    A,    A,    A, form(
        "/language", {"language": "en", "next": "/"})),
    # A forgotten password: a recovery code of an account made for the cell; it signs the
    # browser in to that account, ending the caller's session there.
    ("GET", "/forgot"):                             row(A,    A,     A,     A,    A,    A,    A, get("/forgot")),
    ("POST", "/forgot"):                            row(A,    A,     A,     A,    A,    A,    A, recover_page,
                                                        fresh=True),

    # pages: signed in
    ("GET", "/settings"):                           row(L,    A,     A,     A,    A,    A,    A, get("/settings")),
    ("POST", "/settings"):                          row(L,    A,     A,     A,    A,    A,    A, form(
        "/settings", lambda w, who: {"display_name": f"{who.kind} renamed", "timezone": "UTC"})),
    ("POST", "/settings/password"):                 row(L,    A,     A,     A,    A,    A,    A, form(
        "/settings/password", lambda w, who: {"current_password": who.password, "new_password": NEW_PASSWORD,
                                              "new_password_again": NEW_PASSWORD}), fresh=True),
    ("POST", "/settings/recovery-codes"):           row(L,    A,     A,     A,    A,    A,    A, form(
        "/settings/recovery-codes", lambda w, who: {"password": who.password})),
    ("GET", "/groups"):                             row(L,    A,     A,     A,    A,    A,    A, get("/groups")),
    ("POST", "/groups"):                            row(L,    A,     A,     A,    A,    A,    A, form(
        "/groups", {"name": "A page circle", "description": "", "capacity": "5"})),
    ("POST", "/groups/join"):                       row(L,    A,     A,     A,    A,    403,  A, form(
        "/groups/join", lambda w, who: {"code": w.ids["a_code"], "accept_agreement": "on"}), fresh=True),
    ("GET", "/me/progress"):                        row(L,    A,     A,     A,    A,    A,    A, get("/me/progress")),
    # Deleting the account answers a farewell page (200) and uses up its caller.
    ("POST", "/settings/delete"):                   row(L,    A,     A,     A,    A,    A,    A, form(
        "/settings/delete", lambda w, who: {"password": who.password}), fresh=True),
    ("GET", "/settings/reminders"):                 row(L,    A,     A,     A,    A,    A,    A,
                                                        get("/settings/reminders")),
    ("POST", "/settings/reminders"):                row(L,    A,     A,     A,    A,    A,    A, form(
        "/settings/reminders", {"morning": "07:45", "evening": "", "quiet_from": "", "quiet_until": ""})),
    ("POST", "/settings/reminders/snooze"):         row(L,    A,     A,     A,    A,    A,    A, form(
        "/settings/reminders/snooze", {"days": "3"})),
    ("POST", "/settings/reminders/groups/{gid}"):   row(L,    404,   A,     A,    404,  404,  A, form(
        "/settings/reminders/groups/{a}", {"morning": "off", "evening": "usual"})),
    ("POST", "/settings/reminders/off"):            row(L,    A,     A,     A,    A,    A,    A, form(
        "/settings/reminders/off")),

    # calendar links: a member's own; the feed opens with its token alone (calendar apps
    # cannot sign in), whoever asks.
    ("POST", "/settings/calendar"):                 row(L,    A,     A,     A,    A,    A,    A, form(
        "/settings/calendar", {"show_group_names": "yes"})),
    ("POST", "/settings/calendar/stop"):            row(L,    A,     A,     A,    A,    A,    A, form(
        "/settings/calendar/stop")),
    ("GET", "/calendar/{token}.ics"):               row(A,    A,     A,     A,    A,    A,    A, calendar_feed),

    # pages: group A
    ("GET", "/groups/{gid}"):                       row(L,    404,   A,     A,    404,  404,  A, get("/groups/{a}")),
    ("GET", "/groups/{gid}/commitments/{cid}"):     row(L,    404,   A,     A,    404,  404,  A,
                                                        get("/groups/{a}/commitments/{a_member_cid}", open="report")),
    ("POST", "/groups/{gid}/invites"):              row(L,    404,   403,   A,    404,  404,  403, form(
        "/groups/{a}/invites", {"expires_in_days": "3", "max_uses": "2"})),
    ("POST", "/groups/{gid}/invites/{code}/revoke"): row(L,   404,   403,   A,    404,  404,  403, revoke_page),
    ("POST", "/groups/{gid}/members/{uid}/remove"): row(L,    404,   403,   A,    404,  404,  403, remove_page),
    ("POST", "/groups/{gid}/leave"):                row(L,    404,   A,     A,    404,  404,  A, form(
        "/groups/{a}/leave"), fresh=True),
    ("POST", "/groups/{gid}/commitments"):          row(L,    404,   A,     A,    404,  404,  M, form(
        "/groups/{a}/commitments", {"category": "sleep", "text": "In bed by eleven.", "visibility": "group"})),
    ("POST", "/groups/{gid}/commitments/{cid}/checkin"): row(L, 404, A,     A,    404,  404,  M, checkin_page),
    ("POST", "/groups/{gid}/commitments/{cid}/edit"): row(L,  404,   A,     A,    404,  404,  M, edit_page),
    ("POST", "/groups/{gid}/commitments/{cid}/withdraw"): row(L, 404, A,    A,    404,  404,  A, withdraw_page),
    ("POST", "/groups/{gid}/encourage"):            row(L,    404,   A,     A,    404,  404,  M, form(
        "/groups/{a}/encourage",
        lambda w, who: {"kind": "worth_it", "commitment_id": str(w.someone_elses_commitment(who))})),
    ("GET", "/groups/{gid}/rooms/{rid}"):           row(L,    404,   A,     A,    404,  404,  A,
                                                        get("/groups/{a}/rooms/{a_room}")),
    ("POST", "/groups/{gid}/rooms"):                row(L,    404,   403,   A,    404,  404,  403, form(
        "/groups/{a}/rooms", {"title": "Page practice"}), prepare=end_open_rooms),

    ("GET", "/groups/{gid}/practice"):              row(L,    404,   A,     A,    404,  404,  A,
                                                        get("/groups/{a}/practice")),
    ("POST", "/groups/{gid}/practice"):             row(L,    404,   403,   A,    404,  404,  403, form(
        "/groups/{a}/practice", {"repeat": "weekly", "weekday": "2", "starts": "18:00", "zone": "UTC"})),
    ("POST", "/groups/{gid}/practice/{pid}/delete"): row(L,   404,   403,   A,    404,  404,  403, delete_plan_page),
    # Why a planned session did not happen: read by the moderators who were told (for anyone
    # else, and for a session not theirs to read, it changes nothing).
    ("POST", "/groups/{gid}/practice/sessions/{sid}/seen"): row(L, 404, 403, A,  404,  404,  403, form(
        "/groups/{a}/practice/sessions/1/seen", {})),

    # pages: moderation in group A. Every member reads the log and may report (muted too);
    # the rest is the moderators'.
    ("GET", "/groups/{gid}/audit"):                 row(L,    404,   A,     A,    404,  404,  A,
                                                        get("/groups/{a}/audit")),
    ("GET", "/groups/{gid}/moderation"):            row(L,    404,   403,   A,    404,  404,  403,
                                                        get("/groups/{a}/moderation")),
    ("POST", "/groups/{gid}/reports"):              row(L,    404,   A,     A,    404,  404,  A, report_page),
    ("POST", "/groups/{gid}/hidden"):               row(L,    404,   403,   A,    404,  404,  403, hide_page),
    ("POST", "/groups/{gid}/reports/{rid}/dismiss"): row(L,   404,   403,   A,    404,  404,  403, dismiss_page),
    ("POST", "/groups/{gid}/worries/{wid}/acknowledge"): row(L, 404,  403,   A,    404,  404,  403, acknowledge_page),
    ("POST", "/groups/{gid}/members/{uid}/mute"):   row(L,    404,   403,   A,    404,  404,  403, form(
        "/groups/{a}/members/{target}/mute", {"minutes": "5", "reason": "Cool down."})),
    ("POST", "/groups/{gid}/members/{uid}/unmute"): row(L,    404,   403,   A,    404,  404,  403, form(
        "/groups/{a}/members/{target}/unmute")),
    ("POST", "/groups/{gid}/members/{uid}/role"):   row(L,    404,   403,   A,    404,  404,  403, form(
        "/groups/{a}/members/{target}/role", {"role": "member"})),
    ("POST", "/groups/{gid}/members/{uid}/reset-code"): row(L, 404,  403,   A,    404,  404,  403, form(
        "/groups/{a}/members/{target}/reset-code")),

    # sockets: a muted member still reads; a removed member is no longer a member
    ("WS", "/ws/groups/{gid}"):                     row(4401, 4404,  OPEN,  OPEN, 4404, 4404, OPEN,
                                                        socket("/ws/groups/{a}")),
    ("WS", "/ws/roleplays/{rid}"):                  row(4401, 4404,  OPEN,  OPEN, 4404, 4404, OPEN,
                                                        socket("/ws/roleplays/{a_room}")),
}


# -- object level: valid credentials, another group's ids ---------------------------------------

@dataclass(frozen=True)
class Case:
    """Someone with every right in group A names a thing of group B (or a thing they cannot
    see) in an otherwise valid request: it must look like it does not exist."""

    label: str
    who: str          # member / moderator of A, or bridge: A's moderator who is also in B
    build: Builder
    expect: Outcome = 404


def _target(kind: str, key: str) -> Callable[[World, Person], dict[str, Any]]:
    return lambda w, who: {"target_type": kind, "target_id": w.ids[key], "reason": "r"}


def _page_target(kind: str, key: str) -> Callable[[World, Person], dict[str, Any]]:
    return lambda w, who: {"target_type": kind, "target_id": str(w.ids[key]), "reason": "r"}


_B_CONTENT = (("commitment", "b_cid"), ("checkin", "b_checkin"), ("encouragement", "b_encouragement"),
              ("scenario", "b_scenario"))


def _object_cases() -> list[Case]:
    cases: list[Case] = []
    for who in ("member", "bridge"):
        cases += [
            # The bridge can see B's commitment (it is in B), so it is there but not theirs.
            Case("check in on B's commitment" if who == "member"
                 else "check in on B's commitment (control: the bridge sees it, not theirs)", who,
                 api("POST", "/api/v1/commitments/{b_cid}/checkin", {"status": "not_today"}),
                 expect=404 if who == "member" else 403),
            *[Case(f"{label} B's commitment" if who == "member"
                   else f"{label} B's commitment (control: the bridge sees it, not theirs)", who,
                   api(method, "/api/v1/commitments/{b_cid}", body), expect=404 if who == "member" else 403)
              for label, method, body in (("edit", "PATCH", {"text": "Other words"}), ("withdraw", "DELETE", None))],
            Case("encourage B's commitment under A", who, api(
                "POST", "/api/v1/groups/{a}/encouragements", lambda w, _: {
                    "kind": "proud", "commitment_id": w.ids["b_cid"]})),
            Case("encourage B's member under A", who, api(
                "POST", "/api/v1/groups/{a}/encouragements", lambda w, _: {
                    "kind": "proud", "to_user_id": w.ids["b_member"]})),
            *[Case(f"report B's {kind} under A", who, api(
                "POST", "/api/v1/groups/{a}/reports", _target(kind, key))) for kind, key in _B_CONTENT],
            # For the bridge, a member of B, B's room is there: the ids are real.
            Case("B's room" if who == "member" else "B's room (control: the bridge is in B)", who,
                 get("/api/v1/roleplays/{b_room}"), expect=404 if who == "member" else A),
            Case("B's room page under A", who, get("/groups/{a}/rooms/{b_room}")),
            Case("check in on B's commitment on A's page", who, form(
                "/groups/{a}/commitments/{b_cid}/checkin", {"status": "not_today"})),
            Case("edit B's commitment on A's page", who, form(
                "/groups/{a}/commitments/{b_cid}/edit", {"text": "Other words"})),
            Case("withdraw B's commitment on A's page", who, form("/groups/{a}/commitments/{b_cid}/withdraw")),
            Case("encourage B's commitment on A's page", who, form(
                "/groups/{a}/encourage", lambda w, _: {"kind": "proud", "commitment_id": str(w.ids["b_cid"])})),
            *[Case(f"report B's {kind} on A's page", who, form(
                "/groups/{a}/reports", _page_target(kind, key))) for kind, key in _B_CONTENT],
        ]
    cases += [
        Case("B's cards", "member", get("/api/v1/scenarios", group_id="{b}")),
        Case("B's room socket", "member", socket("/ws/roleplays/{b_room}"), expect=4404),
        Case("B's group socket", "member", socket("/ws/groups/{b}"), expect=4404),
        Case("check in on own B commitment on A's page", "bridge", form(
            "/groups/{a}/commitments/{bridge_b_cid}/checkin", {"status": "done"})),
        Case("edit own B commitment on A's page", "bridge", form(
            "/groups/{a}/commitments/{bridge_b_cid}/edit", {"text": "Other words"})),
        Case("withdraw own B commitment on A's page", "bridge", form(
            "/groups/{a}/commitments/{bridge_b_cid}/withdraw")),
        # Same group, someone else's or a private thing.
        Case("check in on a member's private commitment", "moderator", api(
            "POST", "/api/v1/commitments/{a_private}/checkin", {"status": "done"})),
        Case("check in on someone else's shared commitment (control: visible, not theirs)", "moderator", api(
            "POST", "/api/v1/commitments/{a_member_cid}/checkin", {"status": "done"}), expect=403),
        Case("edit a member's private commitment", "moderator", api(
            "PATCH", "/api/v1/commitments/{a_private}", {"text": "Other words"})),
        Case("withdraw a member's private commitment", "moderator", api("DELETE", "/api/v1/commitments/{a_private}")),
        Case("edit someone else's shared commitment (control: visible, not theirs)", "moderator", api(
            "PATCH", "/api/v1/commitments/{a_member_cid}", {"text": "Other words"}), expect=403),
        Case("withdraw someone else's shared commitment (control: visible, not theirs)", "moderator", api(
            "DELETE", "/api/v1/commitments/{a_member_cid}"), expect=403),
        Case("withdraw a member's private commitment on A's page", "moderator", form(
            "/groups/{a}/commitments/{a_private}/withdraw")),
        Case("report a private commitment", "moderator", api(
            "POST", "/api/v1/groups/{a}/reports", _target("commitment", "a_private"))),
        Case("hide a private commitment", "moderator", api(
            "POST", "/api/v1/groups/{a}/hidden", _target("commitment", "a_private"))),
        Case("encourage a private commitment", "moderator", api(
            "POST", "/api/v1/groups/{a}/encouragements", lambda w, _: {
                "kind": "proud", "commitment_id": w.ids["a_private"]})),
    ]
    for who in ("moderator", "bridge"):
        cases += [
            *[Case(f"hide B's {kind} under A", who, api(
                "POST", "/api/v1/groups/{a}/hidden", _target(kind, key))) for kind, key in _B_CONTENT],
            *[Case(f"hide B's {kind} on A's page", who, form(
                "/groups/{a}/hidden", _page_target(kind, key))) for kind, key in _B_CONTENT],
            Case("dismiss B's report on A's page", who, form("/groups/{a}/reports/{b_report}/dismiss")),
            Case("acknowledge B's worry notice under A", who, acknowledge_b_worry),
            Case("revoke B's invite under A", who, api("DELETE", "/api/v1/groups/{a}/invites/{b_code}")),
            Case("revoke B's invite on A's page", who, form("/groups/{a}/invites/{b_code}/revoke")),
        ]
        for person in ("b_member", "b_moderator"):
            cases += [
                Case(f"remove {person} from A", who, api("DELETE", f"/api/v1/groups/{{a}}/members/{{{person}}}")),
                Case(f"remove {person} on A's page", who, form(f"/groups/{{a}}/members/{{{person}}}/remove")),
                Case(f"mute {person} in A", who, api(
                    "PUT", f"/api/v1/groups/{{a}}/members/{{{person}}}/mute", {"minutes": 5, "reason": "r"})),
                Case(f"unmute {person} in A", who, api("DELETE", f"/api/v1/groups/{{a}}/members/{{{person}}}/mute")),
                Case(f"make {person} a moderator of A", who, api(
                    "PATCH", f"/api/v1/groups/{{a}}/members/{{{person}}}", {"role": "moderator"})),
                Case(f"mute {person} on A's page", who, form(
                    f"/groups/{{a}}/members/{{{person}}}/mute", {"minutes": "5", "reason": "r"})),
                Case(f"unmute {person} on A's page", who, form(f"/groups/{{a}}/members/{{{person}}}/unmute")),
                Case(f"make {person} a moderator on A's page", who, form(
                    f"/groups/{{a}}/members/{{{person}}}/role", {"role": "moderator"})),
                Case(f"make a reset code for {person} under A", who, api(
                    "POST", f"/api/v1/groups/{{a}}/members/{{{person}}}/reset-code")),
                Case(f"make a reset code for {person} on A's page", who, form(
                    f"/groups/{{a}}/members/{{{person}}}/reset-code")),
            ]
    cases.append(Case("B's room socket", "moderator", socket("/ws/roleplays/{b_room}"), expect=4404))
    return cases


OBJECT_CASES = _object_cases()
# The cases that must look like nothing is there; the rest are controls showing the ids are real.
HIDDEN_OUTCOMES = (404, 4404)


# -- writes over the sockets: a muted member reads, but does not speak -------------------------

@dataclass(frozen=True)
class SocketWrite:
    label: str
    who: str
    url: str
    command: dict[str, Any]
    expect: tuple[str, str | None]   # ("event", kind), ("room", None) or ("error", code)


SOCKET_WRITES = [
    SocketWrite("encourage on the group socket", "member", "/ws/groups/{a}",
                {"type": "encourage", "kind": "with_you"}, ("event", "encouragement.sent")),
    SocketWrite("encourage on the group socket", "muted", "/ws/groups/{a}",
                {"type": "encourage", "kind": "with_you"}, ("error", "muted")),
    SocketWrite("join the room", "member", "/ws/roleplays/{a_room}", {"type": "join"}, ("room", None)),
    SocketWrite("raise a hand in the room", "muted", "/ws/roleplays/{a_room}",
                {"type": "raise_hand"}, ("error", "muted")),
]
