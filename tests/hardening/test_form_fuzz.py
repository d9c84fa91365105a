"""Every form route fuzzed on a live server, as the JSON API is by test_api_fuzz.py: the routes
come from the app's route table (every POST outside /api/), their fields from the forms on
the pages and from what the handlers read, and each is posted, signed in, with a valid CSRF
pair taken from a page the way a browser takes it, so the posts reach the handlers. Missing,
empty, very long, non-ASCII, NUL, surrogate and invalid UTF-8 fields, numbers out of range,
repeated and unknown fields, other groups' and impossible ids in the path, other content
types and multipart: never a 5xx, and no traceback in the server's log. Wrong, missing and
non-ASCII tokens are refused with 403 and write nothing.

Reproduce a run with the same seed: CAIRN_FORM_FUZZ_SEED; CAIRN_FORM_FUZZ_CASES sets the
random cases per route (besides the fixed ones and one case per field and sharp value).
Inputs known to fail still are listed in form_cases.PENDING and left out;
CAIRN_FORM_FUZZ_PENDING=1 tries them too.
"""

from __future__ import annotations

import collections
import datetime as dt
import html
import itertools
import os
import random
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.main import create_app
from tests.fixtures.clients import PASSWORD, make_settings
from tests.fixtures.servers import LiveServer
from tests.hardening.common import changed, sqlite_snapshot
from tests.hardening.form_cases import (
    INT_PATHS,
    NUMERIC_SHARP,
    ODD_MODES,
    PENDING,
    POOL,
    SHARP_ROTATION,
    STR_PATHS,
    TEXT_SHARP,
    FormRoute,
    Pairs,
    Raw,
    body_for,
    fields_read,
    form_routes,
    forms_on,
    page_templates,
)

pytestmark = [pytest.mark.slow]

SEED = int(os.environ.get("CAIRN_FORM_FUZZ_SEED", "20261129"))
CASES = int(os.environ.get("CAIRN_FORM_FUZZ_CASES", "6"))
SKIP = set() if os.environ.get("CAIRN_FORM_FUZZ_PENDING") == "1" else set(PENDING)
MAX_BODY = 65536
NEW_PASSWORD = "a different quiet shore"
TOKEN_RES = [re.compile(r'name="csrf_token"\s+value="([^"]*)"'),
             re.compile(r'name="csrf-token"\s+content="([^"]*)"')]
# What a refused token says: the JSON code, or the page's sentence.
REFUSED = ("csrf_failed", "This form has expired.")
_tag = uuid.uuid4().hex[:6]
_names = iter(range(1, 1_000_000))


# --- people and their browsers ---------------------------------------------------------------

def _api(base: str, token: str | None, method: str, path: str, body: Any = None,
         expect: tuple[int, ...] = (200, 201, 204)) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = httpx.request(method, base + path, json=body, headers=headers, timeout=30)
    assert r.status_code in expect, (method, path, r.status_code, r.text)
    return r.json() if r.content else None


def register(base: str, name: str | None = None) -> tuple[str, str, int]:
    """A new account through the API: (username, session token, id)."""
    name = name or f"fz{_tag}{next(_names)}"
    user = _api(base, None, "POST", "/api/v1/auth/register",
                {"username": name, "password": PASSWORD, "display_name": name.title()})
    token = _api(base, None, "POST", "/api/v1/auth/login", {"username": name, "password": PASSWORD})
    return name, token["token"], user["id"]


class Browser:
    """One browser: a cookie jar, and the CSRF token of the last page it saw."""

    def __init__(self, base: str, session_token: str | None = None) -> None:
        self.base = base
        self.client = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
        if session_token:
            self.client.cookies.set("cairn_session", session_token)
        self.token = ""
        self.refetches = 0

    def page(self, path: str) -> httpx.Response:
        r = self.client.get(path)
        for pattern in TOKEN_RES:
            if found := pattern.search(r.text):
                self.token = html.unescape(found.group(1))
                break
        return r

    def fetch_token(self) -> str:
        """A page's token, as a browser has it: after signing in, from the page it shows."""
        r = self.page("/help")
        assert r.status_code == 200 and self.token, (r.status_code, r.text[:300])
        return self.token

    def reconnect(self) -> None:
        """A new connection, the same cookies: after a connection the server broke off."""
        jar = self.client.cookies
        self.client.close()
        self.client = httpx.Client(base_url=self.base, timeout=30,
                                   follow_redirects=False, cookies=jar)

    def alive(self) -> bool:
        return self.client.get("/api/v1/me").status_code == 200

    def close(self) -> None:
        self.client.close()


def short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} characters)"


def refused_for_csrf(r: httpx.Response) -> bool:
    return r.status_code == 403 and any(mark in r.text for mark in REFUSED)


# --- the world ---------------------------------------------------------------------------------

@dataclass
class World:
    base: str
    gid: int = 0
    other_gid: int = 0
    # Real things by the path segment that names them: in the fuzzer's group, and elsewhere.
    ids: dict[str, list[Any]] = field(default_factory=dict)
    foreign: dict[str, list[Any]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    signin: str = ""
    restored: collections.Counter = field(default_factory=collections.Counter)

    def keeper(self, method: str, path: str, body: Any = None,
               expect: tuple[int, ...] = (200, 201, 204)) -> Any:
        return _api(self.base, self.tokens["keeper"], method, path, body, expect)

    def restore(self) -> None:
        """Undo what the fuzzer's own successful posts did to the group's shape: the fuzzer
        and the member are in it, the fuzzer a moderator. The keeper (another
        moderator) does it; no fuzzed id ever names the keeper."""
        gid = self.gid
        members = {m["user_id"]: m["role"] for m in self.keeper("GET", f"/api/v1/groups/{gid}/members")}
        for who in ("fuzzer", "member"):
            if self.users[who] not in members:
                if who == "member":
                    # A removed member cannot come back: a new one takes their place (the
                    # removed one's id stays among the ids the fuzzer tries).
                    self.names[who], self.tokens[who], self.users[who] = register(self.base)
                    self.ids["members"].insert(1, self.users[who])
                code = self.keeper("POST", f"/api/v1/groups/{gid}/invites", {"max_uses": 1})["code"]
                _api(self.base, self.tokens[who], "POST", "/api/v1/groups/join",
                     {"invite_code": code, "accept_agreement": True})
                self.restored[f"{who} back in the group"] += 1
                members[self.users[who]] = "member"
        if members[self.users["fuzzer"]] != "moderator":
            self.keeper("PATCH", f"/api/v1/groups/{gid}/members/{self.users['fuzzer']}",
                        {"role": "moderator"})
            self.restored["fuzzer promoted"] += 1
        # (A moderator cannot be muted, so the fuzzer never is.)


def build_world(base: str) -> World:
    """Two members and a keeper in a group (one of everything in it: commitments, a check-in,
    encouragement, a scenario card, a practice room, reports, a worry, an invite), and an
    outsider's group with the same, whose ids the fuzzer must not reach."""
    w = World(base)
    for who in ("fuzzer", "member", "keeper", "outsider", "stranger"):
        w.names[who], w.tokens[who], w.users[who] = register(base)
    w.signin = register(base)[0]
    t = w.tokens

    def world_of(owner: str, joiners: tuple[str, ...]) -> dict[str, list[Any]]:
        g = _api(base, t[owner], "POST", "/api/v1/groups",
                 {"name": f"{owner} circle", "description": "Fuzzed", "capacity": 20})
        gid = g["id"]
        for who in joiners:
            _api(base, t[who], "POST", "/api/v1/groups/join",
                 {"invite_code": g["invite_code"], "accept_agreement": True})
        other = joiners[0] if joiners else owner
        mine = _api(base, t[owner], "POST", f"/api/v1/groups/{gid}/commitments",
                    {"category": "rest", "text": "Nap after lunch"})
        theirs = _api(base, t[other], "POST", f"/api/v1/groups/{gid}/commitments",
                      {"category": "boundary", "text": "I want to end it all some days"})
        _api(base, t[other], "POST", f"/api/v1/commitments/{theirs['id']}/checkin",
             {"status": "partly", "note": "Twenty minutes", "feeling": 4})
        _api(base, t[owner], "POST", f"/api/v1/groups/{gid}/encouragements",
             {"kind": "proud", "text": "Well said", "commitment_id": theirs["id"]})
        _api(base, t[owner], "POST", f"/api/v1/groups/{gid}/scenarios",
             {"title": "Extra shift", "situation": "Your manager asks again.",
              "opening_line": "Can you cover Saturday?",
              "intensities": ["Fine, thanks.", "After all I did?", "Then don't come Monday."]})
        room = _api(base, t[owner], "POST", f"/api/v1/groups/{gid}/roleplays", {"title": "Practice"})
        reports = [_api(base, t[other], "POST", f"/api/v1/groups/{gid}/reports",
                        {"target_type": "commitment", "target_id": mine["id"], "reason": "Unkind"}),
                   _api(base, t[owner], "POST", f"/api/v1/groups/{gid}/reports",
                        {"target_type": "commitment", "target_id": theirs["id"], "reason": "Worried"})]
        invite = _api(base, t[owner], "POST", f"/api/v1/groups/{gid}/invites", {"max_uses": 50})
        worries = _api(base, t[owner], "GET", f"/api/v1/groups/{gid}/worries", expect=(200, 404))
        return {"groups": [gid], "commitments": [mine["id"], theirs["id"]],
                "rooms": [room["id"]], "reports": [r["id"] for r in reports],
                "invites": [invite["code"], g["invite_code"]],
                "worries": [x["id"] for x in worries] if isinstance(worries, list) else [],
                "members": [w.users[owner], *(w.users[j] for j in joiners if j != "keeper")]}

    w.ids = world_of("fuzzer", ("member", "keeper"))
    w.gid = w.ids["groups"][0]
    _api(base, t["fuzzer"], "PATCH", f"/api/v1/groups/{w.gid}/members/{w.users['keeper']}",
         {"role": "moderator"})
    w.foreign = world_of("outsider", ("stranger",))
    w.other_gid = w.foreign["groups"][0]
    return w


# --- what the fuzzer knows of each route -------------------------------------------------------

@dataclass
class Knowledge:
    """A route's valid forms (as its pages fill them), its fields, and each field's choices."""

    forms: list[dict[str, str]] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    choices: dict[str, set[str]] = field(default_factory=dict)

    @property
    def fields(self) -> list[str]:
        return sorted(self.kinds)

    def has_password(self) -> bool:
        return "password" in self.kinds.values()


def _default(name: str, kind: str, values: list[str]) -> str:
    """What a person would send: their password, the first real choice, the page's value."""
    if kind == "password":
        return NEW_PASSWORD if "new" in name else PASSWORD
    if kind == "hidden":
        return values[0] if values else ""
    chosen = [v for v in values if v.strip()]
    return chosen[0] if chosen else "Kind words"


def learn(world: World, routes: list[FormRoute], browsers: list[Browser]) -> dict[str, Knowledge]:
    """Crawl every page (with real ids) as each browser and read its forms."""
    app = create_app(make_settings("sqlite+aiosqlite:///:memory:"))
    known = {r.template: Knowledge() for r in routes}
    pages = []
    for template, params in page_templates(app):
        values = {p.name: (world.ids.get(p.key) or [1])[0] for p in params}
        pages.append(FormRoute(template, params, "", None).url(values))
    for browser in browsers:
        for path in pages:
            r = browser.page(path)
            if r.status_code != 200:
                continue
            for form in forms_on(r.text):
                action = form["action"].split("?")[0].split("#")[0]
                route = next((x for x in routes if x.matches(action)), None)
                if route is None:
                    continue
                k = known[route.template]
                filled = {}
                for name, f in form["fields"].items():
                    if name == "csrf_token":
                        continue
                    k.kinds.setdefault(name, f.kind)
                    k.choices.setdefault(name, set()).update(v for v in f.values if v)
                    filled[name] = _default(name, f.kind, f.values)
                if filled not in k.forms:
                    k.forms.append(filled)
    for route in routes:
        k = known[route.template]
        for name in fields_read(route.handler):
            k.kinds.setdefault(name, "text")
        if not k.forms:
            k.forms.append({name: "Kind words" for name in k.kinds})
    return known


# --- cases -------------------------------------------------------------------------------------

@dataclass
class Case:
    label: str
    pairs: Pairs
    path: dict[str, Any]
    mode: str = "form"

    @property
    def reaches_handler(self) -> bool:
        return self.mode in ("form", "multipart", "multipart-file")


def _path(world: World, route: FormRoute, rng: random.Random, real: bool) -> dict[str, Any]:
    values = {}
    for p in route.params:
        mine = world.ids.get(p.key) or [1]
        if real:
            values[p.name] = rng.choice(mine)
        else:
            nasty = [v for v in [*world.foreign.get(p.key, []), *(INT_PATHS if p.kind == "int" else STR_PATHS)]
                     if not (isinstance(v, str) and v in SKIP)]
            values[p.name] = rng.choice(nasty)
    return values


def cases_for(world: World, route: FormRoute, k: Knowledge, salt: int) -> list[Case]:
    rng = random.Random(f"{SEED}:{route.template}")
    today = dt.date.today()
    ids = [str(x) for v in (*world.ids.values(), *world.foreign.values()) for x in v]
    dates = [(today + dt.timedelta(days=d)).isoformat() for d in (-2, -1, 0, 1, 2)]
    fields = k.fields or ["text"]

    def base() -> dict[str, str]:
        form = dict(rng.choice(k.forms))
        if "username" in form:
            form["username"] = rng.choice([world.signin, f"fz{_tag}n{next(_names)}"])
        return form

    def pool(name: str) -> list[str]:
        return [v for v in (*POOL, *sorted(k.choices.get(name, ())), *ids, *dates) if v not in SKIP]

    real = lambda: _path(world, route, rng, True)  # noqa: E731
    out = [
        Case("the form as its page fills it", list(base().items()), real()),
        Case("no fields", [], real()),
        Case("every field empty", [(n, "") for n in fields], real()),
        Case("multipart", list(base().items()), real(), "multipart"),
        Case("multipart, a field as a file", list(base().items()), real(), "multipart-file"),
        Case("unknown fields", [*base().items(), ("role", "moderator"), ("user_id", "1"),
                                ("is_admin", "true"), ("__proto__", "x")], real()),
        Case("every field twice", [*base().items(), *base().items()], real()),
    ]
    turn = iter(range(salt * 3, 1_000_000))

    def rotate(values: list[Any], n: int) -> list[Any]:
        return [values[next(turn) % len(values)] for _ in range(n)] if values else []

    def allowed(values: list[Any]) -> list[Any]:
        return [v for v in values if not (isinstance(v, str) and v in SKIP)]

    # Other ways to send the form, in turn: each route two of them, every one across routes.
    out += [Case(mode, list(base().items()), real(), mode) for mode in rotate(ODD_MODES, 2)]
    for p in route.params:
        nasty = allowed(INT_PATHS if p.kind == "int" else STR_PATHS)
        for value in [*world.foreign.get(p.key, [])[:1], *rotate(nasty, 3)]:
            path = real()
            path[p.name] = value
            out.append(Case(f"{p.name}={short(value)}", list(base().items()), path))
    for name in fields:
        text = k.kinds.get(name) in ("text", "textarea", "password", "search")
        for value in allowed([*(TEXT_SHARP if text else NUMERIC_SHARP), *rotate(SHARP_ROTATION, 2)]):
            form = base()
            form[name] = value
            out.append(Case(f"{name}={short(value)}", list(form.items()), real()))
    for i in range(CASES):
        form = base()
        touched = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            name = rng.choice(fields)
            values = pool(name)
            form[name] = values[(i * 7 + salt) % len(values)] if rng.random() < 0.5 else rng.choice(values)
            touched.append(name)
        pairs = list(form.items())
        roll = rng.random()
        if roll < 0.2 and pairs:
            del pairs[rng.randrange(len(pairs))]
        elif roll < 0.4 and pairs:
            name, _ = rng.choice(pairs)
            pairs.append((name, rng.choice(pool(name))))  # the same field twice
        elif roll < 0.5:
            pairs.append((f"unknown_{i}", rng.choice(POOL)))
        mode = "multipart" if rng.random() < 0.15 else "form"
        out.append(Case(f"random {i}: {', '.join(touched)}", pairs,
                        _path(world, route, rng, rng.random() < 0.8), mode))
    return out


BAD_TOKENS: list[tuple[str, Any]] = [
    ("no token", None), ("empty token", ""), ("another browser's token", "OTHER"),
    ("a non-ASCII token", "é"), ("the token with a non-ASCII tail", "TOKEN+é"),
    ("a surrogate token", Raw("%ED%A0%80")), ("an invalid UTF-8 token", Raw("%FF%FE")),
    ("a very long token", "a" * 5000), ("no CSRF cookie", "NO_COOKIE"),
    ("the token as a file", "FILE"),
]


# --- the test ----------------------------------------------------------------------------------

@pytest.fixture
def form_server(sqlite_database_url: str, tmp_path: Path):
    server = LiveServer(sqlite_database_url, log_path=tmp_path / "server.log",
                        env={"CAIRN_ENCOURAGEMENTS_PER_MINUTE": "100000",
                             "CAIRN_MAX_BODY_BYTES": str(MAX_BODY)}).start()
    yield server
    server.stop()


class Fuzzer:
    """Sends cases as the right person and keeps the world in shape."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.knowledge: dict[str, Knowledge] = {}
        self.base = world.base
        self.fuzzer = Browser(self.base, world.tokens["fuzzer"])
        self.fuzzer.fetch_token()
        self.throwaway: Browser | None = None
        self.anonymous: Browser | None = None
        self._sent = itertools.count(1)
        self.sent = 0
        self.statuses: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.reached: collections.Counter = collections.Counter()
        self.seconds: collections.Counter = collections.Counter()
        self.failures: list[str] = []
        self.throwaways = 0

    def signed_in_throwaway(self) -> Browser:
        if self.throwaway is None:
            self.throwaway = Browser(self.base, register(self.base)[1])
            self.throwaway.fetch_token()
            self.throwaways += 1
        return self.throwaway

    def anonymous_browser(self) -> Browser:
        if self.anonymous is None:
            self.anonymous = Browser(self.base)
            self.anonymous.fetch_token()
        return self.anonymous

    def who(self, route: FormRoute, n: int) -> Browser:
        if route.access == "group":
            return self.fuzzer
        if route.access == "public" and n % 2 == 0:
            return self.anonymous_browser()
        return self.signed_in_throwaway()

    def post(self, browser: Browser, route: FormRoute, case: Case, token: Any) -> httpx.Response:
        pairs = list(case.pairs)
        if token is not None:
            pairs.insert(0, ("csrf_token", token))
        body, headers = body_for(case.mode, pairs, MAX_BODY)
        if case.mode == "oversize":
            headers["Connection"] = "close"  # the server closes it: no later post may reuse it
        self.sent = next(self._sent)  # (two streams post at once: count() is thread-safe)
        return browser.client.post(route.url(case.path), content=body, headers=headers)

    def run(self, route: FormRoute, case: Case, n: int) -> None:
        browser = self.who(route, n)
        try:
            r = self.post(browser, route, case, browser.token)
        except httpx.TransportError as exc:
            # An oversized body is refused before it is read: the server answers 413 and
            # closes, and the client may still be writing when the connection goes.
            self.statuses[route.path]["reset"] += 1
            browser.reconnect()
            if case.mode != "oversize":
                self.failures.append(f"{route.path} [{case.label}, {case.mode}]: {exc!r}")
            return
        if r.status_code >= 500:
            browser.reconnect()  # the server may close a connection after an error
        if refused_for_csrf(r) and case.reaches_handler:
            # The pair may be bound to a session that changed: take the page's token again.
            browser.fetch_token()
            browser.refetches += 1
            r = self.post(browser, route, case, browser.token)
            if refused_for_csrf(r):
                self.failures.append(f"{route.path} [{case.label}]: a valid CSRF pair was refused")
        self.statuses[route.path][r.status_code] += 1
        if case.reaches_handler and not refused_for_csrf(r):
            self.reached[route.path] += 1
        if r.status_code >= 500:
            self.failures.append(f"{route.path} [{case.label}, {case.mode}, path "
                                 f"{short(case.path)}]: {r.status_code} {r.text[:100]!r}")
        if case.mode == "oversize" and r.status_code != 413:
            self.failures.append(f"{route.path} [oversize]: {r.status_code}, not 413")
        if 200 <= r.status_code < 400:
            self.after_success(route, browser)

    def after_success(self, route: FormRoute, browser: Browser) -> None:
        if browser is self.fuzzer:
            self.world.restore()
            if not self.fuzzer.alive():
                self.failures.append(f"{route.path} ended the fuzzer's session")
                signed_in = _api(self.base, None, "POST", "/api/v1/auth/login",
                                 {"username": self.world.names["fuzzer"], "password": PASSWORD})
                self.fuzzer = Browser(self.base, signed_in["token"])
                self.fuzzer.fetch_token()
            return
        # A sign-up, sign-in, sign-out, new password or deletion changes who this browser
        # is: the next case gets a fresh one.
        if browser is self.anonymous or not browser.alive() \
                or self.knowledge[route.template].has_password():
            browser.close()
            if browser is self.anonymous:
                self.anonymous = None
            else:
                self.throwaway = None

    def close(self) -> None:
        for browser in (self.fuzzer, self.throwaway, self.anonymous):
            if browser is not None:
                browser.close()


def test_every_form_route_survives_the_fuzzer(form_server, sqlite_database_url):
    base = form_server.url
    started = time.monotonic()
    world = build_world(base)
    app = create_app(make_settings("sqlite+aiosqlite:///:memory:"))
    routes = form_routes(app)
    assert len(routes) >= 20, [r.template for r in routes]
    fuzz = Fuzzer(world)
    known = fuzz.knowledge = learn(world, routes, [fuzz.fuzzer, fuzz.anonymous_browser()])
    fuzz.signed_in_throwaway()
    # The pages themselves offer a form for almost every route.
    unseen = [r.path for r in routes if not known[r.template].choices and known[r.template].fields]
    print(f"\nform fuzz: {len(routes)} form routes; without a form on any page: {unseen}")

    # 1. Wrong, missing and non-ASCII tokens: 403, before anything is written.
    before = sqlite_snapshot(sqlite_database_url)
    other = Browser(base)
    other_token = other.fetch_token()
    wrong = collections.Counter()
    for i, route in enumerate(routes):
        browser = fuzz.who(route, 0)
        form = list(known[route.template].forms[0].items())
        path = _path(world, route, random.Random(i), True)
        for label, token in [BAD_TOKENS[(3 * i + j) % len(BAD_TOKENS)] for j in range(3)]:
            case = Case(label, form, path)
            if token == "OTHER":
                token = other_token
            elif isinstance(token, str) and token.startswith("TOKEN"):
                token = browser.token + token[5:]
            if token == "NO_COOKIE":
                bare = Browser(base)
                bare.client.cookies.set("cairn_session", browser.client.cookies.get("cairn_session") or "")
                r = fuzz.post(bare, route, case, browser.token)
                bare.close()
            elif token == "FILE":
                case.mode = "multipart, the token as a file"
                case.pairs = [("csrf_token", browser.token), *form]
                r = fuzz.post(browser, route, case, None)
            else:
                r = fuzz.post(browser, route, case, token)
            if not refused_for_csrf(r):
                wrong[f"{route.path} [{label}]: {r.status_code}"] += 1
    other.close()
    after = sqlite_snapshot(sqlite_database_url)
    assert not wrong, sorted(wrong)
    assert not changed(before, after), changed(before, after)

    refused = fuzz.sent
    setup = time.monotonic() - started

    # 2. Every route, signed in with a valid pair.
    per_route = collections.Counter()

    def stream(names: list[tuple[int, FormRoute]]) -> None:
        for salt, route in names:
            began = time.monotonic()
            for n, case in enumerate(cases_for(world, route, known[route.template], salt)):
                fuzz.run(route, case, n)
                per_route[route.path] += 1
            fuzz.seconds[route.path] = time.monotonic() - began

    # Two streams at once: the group's routes as the fuzzer, and the account and public
    # routes as throwaway members and visitors (whose password hashing the server does in
    # threads). They share no person.
    numbered = list(enumerate(routes))
    with ThreadPoolExecutor(2) as pool:
        done = [pool.submit(stream, [(i, r) for i, r in numbered if r.access == "group"]),
                pool.submit(stream, [(i, r) for i, r in numbered if r.access != "group"])]
        for future in done:
            future.result()
    cases = sum(per_route.values())
    took = time.monotonic() - started
    fuzz.close()
    log = form_server.log_path.read_text(errors="replace")
    print(f"form fuzz: seed {SEED}, {refused} posts with a bad token, then {cases} cases; "
          f"{fuzz.sent} posts in all, {took:.0f}s ({setup:.0f}s before the cases); "
          f"{fuzz.throwaways} throwaway members; token re-fetched "
          f"{fuzz.fuzzer.refetches} times; restored {dict(world.restored)}")
    for route in routes:
        print(f"  {route.path} ({fuzz.seconds[route.path]:.1f}s): "
              f"{dict(sorted(fuzz.statuses[route.path].items(), key=str))}")
    assert not fuzz.failures, f"{len(fuzz.failures)} failures:\n" + "\n".join(fuzz.failures[:60])
    errors = [line[:300] for line in log.splitlines()
              if "Traceback" in line or "Exception in ASGI" in line or '"level": "error"' in line]
    assert not errors, "\n".join(errors[:40])
    # Every route was reached past its CSRF check, and the fuzz reached real successes too.
    assert all(fuzz.reached[r.path] > 0 for r in routes), fuzz.reached
    ok = sum(n for counts in fuzz.statuses.values() for s, n in counts.items() if s < 400)
    assert ok > len(routes), fuzz.statuses
    assert httpx.get(f"{base}/healthz").status_code == 200
