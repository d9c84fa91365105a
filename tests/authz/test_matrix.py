"""The authorization matrix: every route (HTTP and socket) tried by every kind of caller,
each answer held against the one table in matrix.py; then the object-level cases, where
valid credentials name another group's things."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from fastapi import FastAPI, routing
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import Mount, WebSocketRoute
from starlette.routing import Route as PlainRoute

from server.main import create_app
from server.reminders import push
from tests import support
from tests.authz.matrix import (
    HIDDEN_OUTCOMES,
    HTTP_OUTCOMES,
    IGNORED,
    OBJECT_CASES,
    OPEN,
    PUSH_SERVICE,
    SOCKET_OUTCOMES,
    SOCKET_WRITES,
    TABLE,
    A,
    L,
    M,
    Outcome,
    Route,
    SocketWrite,
)
from tests.authz.world import CALLERS, Call, Person, World
from tests.fixtures.clients import Clients, make_settings
from tests.fixtures.servers import LiveServer
from tests.realtime.helpers import next_frame

# -- the route table -----------------------------------------------------------------------------


def app_routes(app: FastAPI) -> tuple[set[Route], list[str]]:
    """Every (method, path) the app answers, sockets as ("WS", path); and anything in the
    route table that is neither a route nor an ignored mount."""
    found: set[Route] = set()
    strange: list[str] = []
    # FastAPI keeps included routers as branches; this walks them to the routes themselves.
    walk = getattr(routing, "iter_route_contexts", None)
    for entry in walk(app.routes) if walk else app.routes:
        route = getattr(entry, "original_route", entry)
        if isinstance(route, Mount):
            if entry.path not in IGNORED:
                strange.append(f"a mount at {entry.path} (serve it from a route, or list it in IGNORED)")
        elif isinstance(route, APIWebSocketRoute | WebSocketRoute):
            found.add(("WS", entry.path_format))
        elif isinstance(route, APIRoute | PlainRoute):
            methods = set(entry.methods or ())
            if "GET" in methods:
                methods.discard("HEAD")  # Starlette answers HEAD wherever it answers GET
            found |= {(method, entry.path_format) for method in methods}
        else:
            strange.append(f"{type(route).__name__} at {getattr(entry, 'path', '?')}")
    return found, strange


def test_every_route_is_in_the_table() -> None:
    app = create_app(make_settings("sqlite+aiosqlite:///:memory:"))
    found, strange = app_routes(app)
    missing = sorted(found - TABLE.keys())
    stale = sorted(TABLE.keys() - found)
    problems = [f"  not in tests/authz/matrix.py: {m} {p}" for m, p in missing]
    problems += [f"  in the table but not a route: {m} {p}" for m, p in stale]
    problems += [f"  unexpected: {s}" for s in strange]
    assert not problems, ("Every route needs a decision about who may call it:\n"
                          + "\n".join(problems))
    for (method, path), row in TABLE.items():
        allowed = SOCKET_OUTCOMES if method == "WS" else HTTP_OUTCOMES
        odd = {kind: v for kind, v in row.expect.items() if v not in allowed}
        assert not odd, f"{method} {path}: outcomes that mean nothing here: {odd}"


# -- running it ----------------------------------------------------------------------------------


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    """As the shared fixture, with room for all the encouragement the cells send."""
    application = create_app(make_settings(database_url, encouragements_per_minute=10_000,
                                           vapid_private_key=push.new_keys()[0],
                                           push_services=[PUSH_SERVICE], reminder_interval_seconds=0))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def live(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A real server on the same database, for the sockets (started by the test)."""
    server = LiveServer(database_url, log_path=tmp_path / "server.log")
    yield server
    server.stop()


@pytest.fixture
def recorder(clients: Clients) -> Iterator[support.Recorder]:
    watcher = support.Recorder(clients.transport.app)
    clients.transport.app = watcher
    yield watcher
    clients.transport.app = watcher.app


def contract_problems(recorder: support.Recorder) -> list[str]:
    """No 500 anywhere; API errors in the contract's shape (pages answer HTML)."""
    api = support.Recorder(recorder.app, [a for a in recorder.answers if a.path.startswith("/api/")])
    pages = [f"{a.method} {a.path} -> {a.status}" for a in recorder.answers
             if not a.path.startswith("/api/") and (a.status >= 500 or a.status == 0)]
    return api.problems() + pages


async def open_socket(live: LiveServer, call: Call, who: Person) -> Outcome:
    """What a socket does: OPEN with its first frame, or the code it closed with."""
    headers = {"Authorization": f"Bearer {who.token}"} if who.token else {}
    try:
        async with websockets.connect(live.ws_url + call.url, additional_headers=headers,
                                      open_timeout=10) as ws:
            frame = await next_frame(ws)
            return OPEN if frame.get("type") in ("welcome", "room") else f"first frame {frame!r:.80}"
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else "closed with no code"
    except websockets.InvalidStatus as refused:
        return f"HTTP {refused.response.status_code}"
    except TimeoutError:
        return "no frame"


async def socket_write(live: LiveServer, world: World, write: SocketWrite) -> str | None:
    """None when the command gets the expected answer; else what came instead."""
    who = world.people[write.who]
    want_type, want = write.expect
    try:
        async with websockets.connect(live.ws_url + world.url(write.url), open_timeout=10,
                                      additional_headers={"Authorization": f"Bearer {who.token}"}) as ws:
            await next_frame(ws)  # welcome, or the room as it is
            await ws.send(json.dumps(write.command))
            while True:
                frame = await next_frame(ws)
                if frame["type"] == "error" or frame["type"] == want_type:
                    break
        got = frame.get("code") if frame["type"] == "error" else frame.get("kind")
        return None if (frame["type"], got) == (want_type, want) else f"{frame!r:.160}"
    except websockets.ConnectionClosed as closed:
        return f"closed {closed.rcvd.code if closed.rcvd else ''}"
    except TimeoutError:
        return "no answer"


def described(r: httpx.Response) -> str:
    text = str(r.status_code)
    if r.headers.get("content-type", "").startswith("application/json"):
        body = r.json()
        if isinstance(body, dict) and "error" in body:
            text += f" {body['error']}"
    if "location" in r.headers:
        text += f" -> {r.headers['location']}"
    return text


def judge(expected: Outcome, call: Call, got: httpx.Response | Outcome) -> str | None:
    """None when the answer is the expected outcome; else what happened instead."""
    if call.method == "WS":
        return None if got == expected else str(got)
    assert isinstance(got, httpx.Response)
    status, location = got.status_code, got.headers.get("location", "")
    is_api = call.url.startswith("/api/")
    if expected == A:
        ok = 200 <= status < 300 if is_api else 200 <= status < 400 and not location.startswith("/login")
    elif expected == L:
        ok = status == 303 and location.startswith("/login?next=/")
    elif expected == M:
        ok = status == 403 and (not is_api or got.json().get("error") == "muted")
    else:
        ok = status == expected
    return None if ok else described(got)


async def attempt(world: World, live: LiveServer, call: Call, who: Person) -> httpx.Response | Outcome:
    if call.method == "WS":
        return await open_socket(live, call, who)
    return await world.send(call, who)


async def b_untouched(world: World) -> list[str]:
    """After the object-level cases: nothing of group B changed, and A shows none of it."""
    w, ids, problems = world, world.ids, []
    other, b = w.people["other_moderator"], ids["b"]
    audit = await w.ok(other, "GET", f"/api/v1/groups/{b}/audit")
    if audit:
        problems.append(f"B's audit log has entries: {[(x['action'], x['target']) for x in audit]}")
    codes = [i["code"] for i in await w.ok(other, "GET", f"/api/v1/groups/{b}/invites")]
    if ids["b_code"] not in codes:
        problems.append("B's invite code was revoked")
    roles = {m["user_id"]: m["role"] for m in await w.ok(other, "GET", f"/api/v1/groups/{b}/members")}
    if roles.get(ids["b_member"]) != "member" or roles.get(ids["b_moderator"]) != "moderator":
        problems.append(f"B's members changed: {roles}")
    mine = await w.ok(w.people["b_member"], "GET", "/api/v1/me/encouragements")
    if len(mine) != 1:
        problems.append(f"B's member received {len(mine)} encouragements, not 1")
    r = await w.send(Call("GET", f"/api/v1/groups/{b}/commitments",
                          params={"day": world.yesterday}), other)
    entries = {c["id"]: c for c in r.json()}
    b_entry, bridge_entry = entries.get(ids["b_cid"]), entries.get(ids["bridge_b_cid"])
    if not b_entry or b_entry["hidden"] or (b_entry["checkin"] or {}).get("status") != "done":
        problems.append(f"B's commitment changed: {b_entry}")
    if not bridge_entry or bridge_entry["checkin"] is not None:
        problems.append(f"the bridge's commitment in B was checked in on: {bridge_entry}")
    b_reports = await w.ok(other, "GET", f"/api/v1/groups/{b}/reports")
    if [x["id"] for x in b_reports] != [ids["b_report"]]:
        problems.append(f"B's reports changed: {b_reports}")
    b_things = {(kind, ids[key]) for kind, key in (("commitment", "b_cid"), ("checkin", "b_checkin"),
                                                   ("encouragement", "b_encouragement"),
                                                   ("scenario", "b_scenario"))}
    a_reports = await w.ok(w.people["moderator"], "GET", f"/api/v1/groups/{ids['a']}/reports")
    leaked = [x for x in a_reports if x["id"] == ids["b_report"]
              or (x["target_type"], x["target_id"]) in b_things]
    if leaked:
        problems.append(f"A's reports show B's: {leaked}")
    return problems


@pytest.mark.slow
async def test_authorization_matrix(clients: Clients, live: LiveServer, recorder: support.Recorder,
                                    database_url: str) -> None:
    started = time.monotonic()
    world = World(clients.app, clients.transport)
    failures: list[str] = []
    objects = [c for c in OBJECT_CASES if c.expect in HIDDEN_OUTCOMES]
    cells = 0
    try:
        await asyncio.gather(asyncio.to_thread(live.start), world.build())

        # Object-level first, while the world is as built.
        for case in OBJECT_CASES:
            who = world.people[case.who]
            call = await case.build(world, who)
            if (wrong := judge(case.expect, call, await attempt(world, live, call, who))) is not None:
                failures.append(f"object  {case.label} as {case.who} [{call}]: expected {case.expect}, got {wrong}")
        failures += [f"object  side effect: {p}" for p in await b_untouched(world)]
        for write in SOCKET_WRITES:
            if (wrong := await socket_write(live, world, write)) is not None:
                failures.append(f"socket  {write.label} as {write.who}: expected {write.expect}, got {wrong}")

        # Then every route as every caller; sockets first, while group A's room is open.
        for key, row in sorted(TABLE.items(), key=lambda item: item[0][0] != "WS"):
            for kind in CALLERS:
                who = await world.fresh(kind) if row.fresh else world.people[kind]
                if row.prepare:
                    await row.prepare(world)
                call = await row.build(world, who)
                got = await attempt(world, live, call, who)
                await world.tidy()
                cells += 1
                if (wrong := judge(row.expect[kind], call, got)) is not None:
                    failures.append(f"matrix  {key[0]} {key[1]} as {kind} [{call}]: "
                                    f"expected {row.expect[kind]}, got {wrong}")
    finally:
        await world.close()

    failures += [f"contract {p}" for p in contract_problems(recorder)]
    database = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    summary = (f"authz on {database}: {len(TABLE)} routes x {len(CALLERS)} callers = {cells} cells, "
               f"{len(objects)} object-level cases (+{len(OBJECT_CASES) - len(objects)} controls), "
               f"{len(SOCKET_WRITES)} socket writes, "
               f"{time.monotonic() - started:.1f}s")
    print(f"\n{summary}")
    assert not failures, f"{summary}; {len(failures)} wrong:\n" + "\n".join(failures)
