"""The small world the authorization matrix runs in: group A with one person of each kind,
group B with its own moderator and content, and fresh copies of whatever a cell consumes."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from server.db import transaction
from server.deps import SESSION_COOKIE
from server.models import User
from server.roleplay import service as roleplay
from server.roleplay.machine import command_of
from server.web import CSRF_COOKIE, CSRF_FIELD
from tests.fixtures.clients import PASSWORD

# The callers every route is tried with, in the table's column order.
CALLERS = ("anonymous", "outsider", "member", "moderator", "other_moderator", "removed", "muted")
# Kinds of people who are (or were) in group A.
IN_A = ("member", "moderator", "removed", "muted")

TOKEN_RE = re.compile(r'name="csrf_token" value="([A-Za-z0-9_-]+)"')
NEW_PASSWORD = "another slow mountain path"
_names = itertools.count(1)


@dataclass
class Person:
    kind: str
    id: int = 0
    username: str = ""
    token: str | None = None
    password: str = PASSWORD


ANONYMOUS = Person("anonymous")


@dataclass
class Call:
    """One request: an API call (`json`), a page form (`form`; the CSRF token is added), a
    plain GET (`params`), or a socket (method WS)."""

    method: str
    url: str
    json: Any = None
    form: dict[str, str] | None = None
    params: dict[str, Any] | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


class SetupFailed(AssertionError):
    pass


@dataclass
class World:
    app: FastAPI
    transport: httpx.ASGITransport
    http: httpx.AsyncClient = field(init=False)
    people: dict[str, Person] = field(default_factory=dict)
    ids: dict[str, Any] = field(default_factory=dict)
    # Own shared commitment in group A (posted yesterday), by kind of person.
    own_commitment: dict[str, int] = field(default_factory=dict)
    # The day the world's commitments are for (fixed once, should midnight pass mid-run).
    yesterday: str = field(
        default_factory=lambda: (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat())
    csrf_nonce: str = ""
    # A form's token is bound to the session cookie it is posted with: one per session.
    csrf_tokens: dict[str | None, str] = field(default_factory=dict)
    _fresh_in_a: list[Person] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.http = httpx.AsyncClient(transport=self.transport, base_url="http://testserver")

    async def close(self) -> None:
        await self.http.aclose()

    # -- requests ---------------------------------------------------------------------------

    def url(self, template: str) -> str:
        return template.format(**self.ids)

    async def send(self, call: Call, who: Person) -> httpx.Response:
        """The API is called with the bearer token, pages with the session cookie, as a
        browser would; nothing a response sets is kept (a sign-up must not change who the
        next caller is)."""
        headers: dict[str, str] = {}
        cookies: dict[str, str] = {}
        if who.token:
            if call.url.startswith("/api/"):
                headers["Authorization"] = f"Bearer {who.token}"
            else:
                cookies[SESSION_COOKIE] = who.token
        data = None
        if call.form is not None:
            cookies[CSRF_COOKIE] = self.csrf_nonce
            data = {CSRF_FIELD: await self._csrf_token(cookies.get(SESSION_COOKIE)), **call.form}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        self.http.cookies.clear()
        try:
            return await self.http.request(call.method, call.url, params=call.params,
                                           json=call.json, data=data, headers=headers)
        finally:
            self.http.cookies.clear()

    async def ok(self, who: Person, method: str, url: str, json: Any = None) -> Any:
        """A setup step that must succeed."""
        r = await self.send(Call(method, url, json=json), who)
        if r.status_code >= 300:
            raise SetupFailed(f"setup {method} {url} as {who.kind}: {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None

    # -- people -----------------------------------------------------------------------------

    async def person(self, kind: str) -> Person:
        name = f"{kind.replace('_', '')[:10]}{next(_names)}"
        await self.ok(ANONYMOUS, "POST", "/api/v1/auth/register", {
            "username": name, "password": PASSWORD, "display_name": name.title(), "timezone": "UTC"})
        signed_in = await self.ok(ANONYMOUS, "POST", "/api/v1/auth/login",
                                  {"username": name, "password": PASSWORD})
        return Person(kind, signed_in["user"]["id"], name, signed_in["token"])

    async def join(self, who: Person, code: str) -> None:
        await self.ok(who, "POST", "/api/v1/groups/join", {"invite_code": code, "accept_agreement": True})

    def new_username(self) -> str:
        return f"newcomer{next(_names)}"

    async def commit(self, who: Person, gid: int, visibility: str = "group") -> int:
        """A commitment for yesterday, so the cells that post for today stay under the
        three-a-day limit."""
        made = await self.ok(who, "POST", f"/api/v1/groups/{gid}/commitments", {
            "category": "rest", "text": f"rest a little ({who.username})", "day": self.yesterday,
            "visibility": visibility})
        return made["id"]

    async def fresh(self, kind: str) -> Person:
        """A new person of this kind, for cells that use up their caller (sign out, change the
        password, delete the account, join, leave)."""
        if kind == "anonymous":
            return ANONYMOUS
        who = await self.person(kind)
        moderator, a = self.people["moderator"], self.ids["a"]
        if kind == "other_moderator":
            await self.ok(who, "POST", "/api/v1/groups", {"name": "Another circle", "capacity": 5})
        elif kind in IN_A:
            await self.join(who, self.ids["a_code"])
            self._fresh_in_a.append(who)
            if kind == "moderator":
                await self.ok(moderator, "PATCH", f"/api/v1/groups/{a}/members/{who.id}",
                              {"role": "moderator"})
            elif kind == "removed":
                await self.ok(moderator, "DELETE", f"/api/v1/groups/{a}/members/{who.id}")
            elif kind == "muted":
                await self.ok(moderator, "PUT", f"/api/v1/groups/{a}/members/{who.id}/mute",
                              {"minutes": 600, "reason": "A pause."})
        return who

    async def victim(self) -> int:
        """A new member of group A for a moderator to remove."""
        who = await self.person("victim")
        await self.join(who, self.ids["a_code"])
        self._fresh_in_a.append(who)
        return who.id

    async def tidy(self) -> None:
        """Take fresh people out of group A again, so it never fills up (capacity 20)."""
        moderator, a = self.people["moderator"], self.ids["a"]
        for who in self._fresh_in_a:
            r = await self.send(Call("DELETE", f"/api/v1/groups/{a}/members/{who.id}"), moderator)
            if r.status_code not in (204, 404):
                raise SetupFailed(f"tidy: removing {who.username}: {r.status_code} {r.text[:200]}")
        self._fresh_in_a.clear()

    # -- things a cell uses up --------------------------------------------------------------

    async def fresh_code(self) -> str:
        invite = await self.ok(self.people["moderator"], "POST",
                               f"/api/v1/groups/{self.ids['a']}/invites", {"max_uses": 5})
        return invite["code"]

    async def fresh_encouragement(self) -> int:
        """Something a moderator can hide once."""
        event = await self.ok(self.people["member"], "POST",
                              f"/api/v1/groups/{self.ids['a']}/encouragements", {"kind": "with_you"})
        return event["data"]["encouragement_id"]

    async def end_open_rooms(self) -> None:
        """A group has one open practice room at a time: end A's so a moderator can open one."""
        async with transaction(self.app.state.db) as session:
            moderator = await session.get(User, self.people["moderator"].id)
            assert moderator is not None
            for room in await roleplay.open_rooms(session, self.ids["a"]):
                await roleplay.command(session, moderator, room.id, command_of({"type": "end"}))

    def someone_elses_commitment(self, who: Person) -> int:
        """A shared commitment in A that the caller did not write."""
        return self.own_commitment["moderator" if who.kind == "member" else "member"]

    # -- the world --------------------------------------------------------------------------

    async def build(self) -> World:
        await self._csrf()
        p = self.people
        p["anonymous"] = ANONYMOUS
        for kind in ("moderator", "member", "muted", "removed", "outsider", "other_moderator"):
            p[kind] = await self.person(kind)
        for kind in ("target", "bridge", "b_member", "spare"):
            p[kind] = await self.person(kind)

        # Group A: a moderator, a member, one to be muted, one to be removed, a target for
        # moderator actions, and a bridge (moderator here, plain member of B).
        group = await self.ok(p["moderator"], "POST", "/api/v1/groups", {"name": "Group A", "capacity": 20})
        a, a_code = group["id"], group["invite_code"]
        self.ids.update(a=a, a_code=a_code)
        for kind in ("member", "muted", "removed", "target", "bridge"):
            await self.join(p[kind], a_code)
        await self.ok(p["moderator"], "PATCH", f"/api/v1/groups/{a}/members/{p['bridge'].id}",
                      {"role": "moderator"})
        for kind in IN_A:
            self.own_commitment[kind] = await self.commit(p[kind], a)
        self.ids["a_member_cid"] = self.own_commitment["member"]
        self.ids["a_private"] = await self.commit(p["member"], a, visibility="private")
        await self.ok(p["moderator"], "PUT", f"/api/v1/groups/{a}/members/{p['muted'].id}/mute",
                      {"minutes": 600, "reason": "A pause."})
        await self.ok(p["moderator"], "DELETE", f"/api/v1/groups/{a}/members/{p['removed'].id}")
        room = await self.ok(p["moderator"], "POST", f"/api/v1/groups/{a}/roleplays", {"title": "A room"})
        self.ids["a_room"] = room["id"]

        # Group B: its own moderator, a member, the bridge, and one of everything.
        group = await self.ok(p["other_moderator"], "POST", "/api/v1/groups", {"name": "Group B", "capacity": 20})
        b, b_code = group["id"], group["invite_code"]
        self.ids.update(b=b, b_code=b_code)
        for kind in ("b_member", "bridge"):
            await self.join(p[kind], b_code)
        b_cid = await self.commit(p["b_member"], b)
        made = await self.ok(p["b_member"], "POST", f"/api/v1/commitments/{b_cid}/checkin", {"status": "done"})
        event = await self.ok(p["other_moderator"], "POST", f"/api/v1/groups/{b}/encouragements",
                              {"kind": "proud", "commitment_id": b_cid})
        card = await self.ok(p["other_moderator"], "POST", f"/api/v1/groups/{b}/scenarios", {
            "title": "B's card", "situation": "A friend asks again.", "opening_line": "Just this once?",
            "intensities": ["Fine.", "After all I did?", "You always do this!"]})
        report = await self.ok(p["b_member"], "POST", f"/api/v1/groups/{b}/reports", {
            "target_type": "encouragement", "target_id": event["data"]["encouragement_id"],
            "reason": "Felt pushy."})
        room = await self.ok(p["other_moderator"], "POST", f"/api/v1/groups/{b}/roleplays", {"title": "B room"})
        self.ids.update(
            b_cid=b_cid, b_checkin=made["checkin"]["id"], b_encouragement=event["data"]["encouragement_id"],
            b_scenario=card["id"], b_report=report["id"], b_room=room["id"],
            b_member=p["b_member"].id, b_moderator=p["other_moderator"].id,
            bridge_b_cid=await self.commit(p["bridge"], b),
            target=p["target"].id,
        )
        return self

    async def _csrf(self) -> None:
        """The token a page form carries and the cookie it is paired with, as a browser gets
        them: from a page."""
        self.http.cookies.clear()
        r = await self.http.get("/login")
        found = TOKEN_RE.search(r.text)
        if r.status_code != 200 or not found or CSRF_COOKIE not in r.cookies:
            raise SetupFailed(f"no CSRF token on /login: {r.status_code}")
        self.csrf_nonce, self.csrf_tokens[None] = r.cookies[CSRF_COOKIE], found.group(1)
        self.http.cookies.clear()

    async def _csrf_token(self, session: str | None) -> str:
        """The token a page shown with this session cookie (and the world's nonce) carries."""
        if session not in self.csrf_tokens:
            self.http.cookies.clear()
            cookies = {CSRF_COOKIE: self.csrf_nonce, SESSION_COOKIE: session}
            r = await self.http.get("/help", headers={
                "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
            found = TOKEN_RE.search(r.text)
            if r.status_code != 200 or not found:
                raise SetupFailed(f"no CSRF token on /help: {r.status_code}")
            self.csrf_tokens[session] = found.group(1)
            self.http.cookies.clear()
        return self.csrf_tokens[session]
