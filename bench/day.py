"""A realistic peak hour: how many members one Cairn server holds.

N members in groups of 10 (seeded straight into the database: one precomputed argon2 hash,
a signed-in session and one shared commitment for today each) and, per member in the peak
hour: 1 sign-in in 10 members, 2 page views (the group's day and the progress page, in
turn), each opening the group's socket for 5 minutes as the page does, 1 commitment,
1 check-in, 3 cheers on the socket; and a 5-person practice room per group per week. The
hour's *rates* are held for a measured window after a ramp (not a literal hour), with
open-loop (Poisson) arrivals, so a slow server shows as latency, not as less load:

  sign-ins     N/10 per hour   POST /api/v1/auth/login with the password (argon2 verify)
  page views   2N per hour     GET /groups/{gid} and /me/progress with the session cookie,
                               timed to the last byte; each then opens /ws/groups/{gid}
                               (cookie, Origin, ?fragments=1 and the page's cursors) for
                               300 s, so about N/6 sockets are open; those are opened
                               before the ramp with their remaining lifetimes spread over
                               0-300 s, then the page views churn them
  commitments  N per hour      POST /api/v1/groups/{gid}/commitments
  check-ins    N per hour      POST /api/v1/commitments/{cid}/checkin
  cheers       3N per hour     {"type": "encourage", "ref", "kind", "commitment_id", "text"}
                               on an open socket, as the group's page sends them
  rooms        N/10/168 per hour  a moderator opens a room, 5 members join on the room's
                               socket and play a short round's commands

Live latency is the time from a cheer's send to its arrival on every other socket of its
group that was open for its whole flight; every cheer must be acknowledged and arrive on
each of them once and in order. A level passes with page p95 <= 100 ms, live p99 <= 100 ms,
nothing lost, duplicated, reordered or unacknowledged, and no error. Figures count what was
scheduled in the window (the ramp only warms up). Cairn (`cairn serve`, production
settings; with --processes 2 two processes behind Redis) and its PostgreSQL backends are
pinned to core 0, this load generator to core 1 (its own CPU is reported: a saturated
generator measures itself, not Cairn).

    python -m bench.day --members 20000                  # one level, PostgreSQL
    python -m bench.day --find                           # the largest N that passes
    python -m bench.day --find --processes 2             # two processes behind Redis
    python -m bench.day --members 2000 --window 20 --ramp 10 --db sqlite
    python -m bench.day --smoke                          # 200 members, 5 s, a minute in all

`--speed X` plays the hour X times faster (every rate times X, a socket's life divided by
X), for short checks only; `--json PATH` writes every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import json
import math
import os
import random
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import websockets

from bench import common
from bench.fanout import busy_cpu_seconds, run_async

perf = time.perf_counter
PASSWORD = "a quiet river bend"  # noqa: S105 - the seeded members' password (bench.common.seed)
PER_GROUP = 10
ROOM_SIZE = 5
SOCKET_MINUTES = 5.0
HOUR = 3600.0
PAGE_P95_MS = 100.0
LIVE_P99_MS = 100.0
CHEER_KINDS = ("proud", "rest_counts", "boundary_matters", "worth_it", "with_you")
CATEGORIES = ("rest", "sleep", "play", "water", "movement", "boundary", "closeness")
# Ports a source address can hold at once (of the usual 28,000), leaving room for the rest.
SOCKETS_PER_ADDRESS = 20_000
CURSOR = re.compile(r'data-(last-seq|moderators-seq|epoch)="([^"]*)"')


# -- the model -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """What N members do in the peak hour, per second of the window."""

    members: int
    speed: float = 1.0  # > 1 plays the hour faster (rates x speed, sockets' lives / speed)
    rooms_per_group_week: float = 1.0

    @property
    def groups(self) -> int:
        return self.members // PER_GROUP

    @property
    def socket_life(self) -> float:
        return SOCKET_MINUTES * 60 / self.speed

    def rates(self) -> dict[str, float]:
        n, s = self.members, self.speed / HOUR
        pages = 2 * n * s
        return {"sign-in": n / 10 * s, "page: day": pages / 2, "page: progress": pages / 2,
                "commitment": n * s, "check-in": n * s, "cheer": 3 * n * s,
                "room": self.groups * self.rooms_per_group_week / 168 * s}

    def steady_sockets(self) -> int:
        """Page views times their sockets' life (Little's law): N/6."""
        rates = self.rates()
        return round((rates["page: day"] + rates["page: progress"]) * self.socket_life)


@dataclass(eq=False)
class Member:
    user_id: int
    token: str
    username: str
    group: Group = field(repr=False)

    @property
    def cookie(self) -> str:
        return f"cairn_session={self.token}"


@dataclass(eq=False)
class Group:
    gid: int
    members: list[Member] = field(default_factory=list)
    commitments: list[tuple[int, Member]] = field(default_factory=list)  # seeded: (id, author)
    sockets: set[Sock] = field(default_factory=set)  # open (welcomed) and not being closed


@dataclass(eq=False)
class Sock:
    no: int
    member: Member
    ws: Any = None
    closing: bool = False
    pending: set[int] = field(default_factory=set)  # cheers expected here, not yet arrived
    seen: set[int] = field(default_factory=set)
    last_from: dict[int, int] = field(default_factory=dict)  # sending socket -> its last cheer
    seqs: dict[str, int] = field(default_factory=dict)  # stream -> last seq
    unacked: set[int] = field(default_factory=set)  # cheers sent here, not yet acknowledged
    closer: asyncio.TimerHandle | None = None


@dataclass
class Cheer:
    sent: float
    sender: int  # socket no
    counted: bool  # scheduled in the window
    waiting: int = 0
    acked: bool = False
    orphaned: bool = False  # its socket was closed before the ack could arrive


@dataclass
class Tally:
    scheduled: int = 0
    ok: int = 0
    latencies: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)  # how late the generator started them

    def summary(self, window: float) -> dict[str, Any]:
        lat = sorted(self.latencies)
        return {"scheduled": self.scheduled, "ok": self.ok,
                "offered_per_s": self.scheduled / window, "achieved_per_s": self.ok / window,
                "p50_ms": common.percentile(lat, 50) * 1e3, "p95_ms": common.percentile(lat, 95) * 1e3,
                "p99_ms": common.percentile(lat, 99) * 1e3}


# -- seeding ---------------------------------------------------------------------------------

async def seed_world(database_url: str, members: int) -> list[Group]:
    """bench.common.seed's members, groups and sessions, their usernames, and one shared
    commitment for today each (so the day has cards, and check-ins have something to
    check in on)."""
    from sqlalchemy import insert, text
    from sqlalchemy.ext.asyncio import create_async_engine

    from server.models import Commitment

    seeded = await common.seed(database_url, members // PER_GROUP, PER_GROUP)
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            names = dict((await conn.execute(text("SELECT id, username FROM users"))).all())
            pairs = [(g, m) for g in seeded for m in g.members]
            now = dt.datetime.now(dt.UTC)
            ids = list((await conn.execute(
                insert(Commitment).returning(Commitment.id, sort_by_parameter_order=True),
                [{"group_id": g.group_id, "user_id": m.user_id, "day": now.date(),
                  "category": CATEGORIES[i % len(CATEGORIES)], "text": f"Bench care {i}",
                  "visibility": "group", "created_at": now}
                 for i, (g, m) in enumerate(pairs)])).scalars())
        if database_url.startswith("postgresql"):
            # A database in service has its planner's statistics; a freshly seeded one would get
            # them from autovacuum in the middle of the hour.
            async with engine.connect() as conn:
                await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(
                    text("ANALYZE"))
    finally:
        await engine.dispose()
    groups = []
    at = 0
    for g in seeded:
        group = Group(g.group_id)
        for m in g.members:
            member = Member(m.user_id, m.token, names[m.user_id], group)
            group.members.append(member)
            group.commitments.append((ids[at], member))
            at += 1
        groups.append(group)
    return groups


# -- the load --------------------------------------------------------------------------------

class Peak:
    """One level: the peak hour's rates against running servers, and what came of them."""

    def __init__(self, servers: list[common.Server], groups: list[Group], plan: Plan,
                 args: argparse.Namespace, local_addrs: list[str]) -> None:
        self.servers = servers
        self.groups = groups
        self.members = [m for g in groups for m in g.members]
        self.plan = plan
        self.args = args
        self.local_addrs = local_addrs
        self.tallies: dict[str, Tally] = {k: Tally() for k in (
            *plan.rates(), "socket open", "room: open", "room command")}
        self.errors: Counter[str] = Counter()  # in the window and the drain after it
        self.errors_outside: Counter[str] = Counter()  # while opening and in the ramp
        self.cheers: dict[int, Cheer] = {}
        self.live: list[float] = []
        self.duplicated = self.reordered = self.seq_not_rising = self.excluded = 0
        self.open_socks: list[Sock] = []  # for a random pick in O(1)
        self.where: dict[int, int] = {}  # socket no -> index in open_socks
        self.socks_made = 0
        self.addr_turn = 0
        self.inflight: set[asyncio.Task[None]] = set()
        self.life_tasks: set[asyncio.Task[None]] = set()
        self.window_start = self.window_end = math.inf
        self.socket_samples: list[int] = []
        self.commitment_queue = random.sample(self.members, len(self.members))
        self.checkin_queue = random.sample([c for g in groups for c in g.commitments],
                                           len(self.members))
        self.sessions: list[aiohttp.ClientSession] = []
        self.scenario_id: int | None = None
        self.rooms_open: set[int] = set()  # groups (one room open at a time in each)
        self.me = psutil.Process()

    # -- helpers ---------------------------------------------------------------------------

    def counting(self) -> bool:
        return perf() >= self.window_start

    def error(self, what: str, counted: bool | None = None) -> None:
        if counted is None:
            counted = self.counting()
        (self.errors if counted else self.errors_outside)[what] += 1

    def server(self) -> common.Server:
        return random.choice(self.servers)

    def base(self, server: common.Server) -> str:
        return f"http://127.0.0.1:{server.port}"

    def session(self) -> aiohttp.ClientSession:
        return random.choice(self.sessions)

    def next_addr(self) -> str:
        self.addr_turn += 1
        return self.local_addrs[self.addr_turn % len(self.local_addrs)]

    def load_cpu(self) -> float:
        t = self.me.cpu_times()
        return t.user + t.system

    # -- sockets ---------------------------------------------------------------------------

    async def open_socket(self, member: Member, life: float | None, query: str = "",
                          counted: bool = False) -> None:
        """A group socket as the page opens it (cookie, Origin, fragments), up to its welcome;
        it then lives on its own task for `life` seconds (None: until told, or the end)."""
        server = self.server()
        self.socks_made += 1
        sock = Sock(self.socks_made, member)
        started = perf()
        try:
            sock.ws = await websockets.connect(
                f"{server.ws_url}/ws/groups/{member.group.gid}?fragments=1{query}",
                additional_headers={"Cookie": member.cookie, "Origin": self.base(server)},
                compression=None, open_timeout=30, max_queue=None, ping_interval=None,
                max_size=2**22, local_addr=(self.next_addr(), 0))
            welcome = json.loads(await asyncio.wait_for(sock.ws.recv(), 30))
        except Exception as exc:  # noqa: BLE001 - every failure is counted by its kind
            self.error(f"socket open: {type(exc).__name__} {str(exc)[:60]}", counted)
            if sock.ws is not None:
                with contextlib.suppress(Exception):
                    await sock.ws.close()
            return
        if welcome.get("type") != "welcome":
            self.error(f"socket open: {welcome.get('type')} before the welcome", counted)
            await sock.ws.close()
            return
        if counted:
            tally = self.tallies["socket open"]
            tally.ok += 1
            tally.latencies.append(perf() - started)
        if not query:  # a page's cursors get the events since the page first (a replay)
            sock.seqs["group"] = welcome["last_seq"]
        member.group.sockets.add(sock)
        self.where[sock.no] = len(self.open_socks)
        self.open_socks.append(sock)
        task = asyncio.create_task(self._live(sock, life))
        self.life_tasks.add(task)
        task.add_done_callback(self.life_tasks.discard)

    async def _live(self, sock: Sock, life: float | None) -> None:
        if life is not None:
            self.close_after(sock, life)
        try:
            await self._read(sock)
        finally:
            if sock.closer is not None:
                sock.closer.cancel()
            self._forget(sock)

    def close_after(self, sock: Sock, life: float) -> None:
        sock.closer = asyncio.get_running_loop().call_later(life, self._close_later, sock)

    def _close_later(self, sock: Sock) -> None:
        task = asyncio.create_task(self.close_socket(sock))
        self.life_tasks.add(task)
        task.add_done_callback(self.life_tasks.discard)

    def _forget(self, sock: Sock) -> None:
        """The socket no longer counts as open: cheers it was waiting for were not in flight
        for its whole life, so they are not expected there."""
        sock.member.group.sockets.discard(sock)
        at = self.where.pop(sock.no, None)
        if at is not None:
            last = self.open_socks.pop()
            if last is not sock:
                self.open_socks[at] = last
                self.where[last.no] = at
        for no in sock.pending:
            cheer = self.cheers[no]
            cheer.waiting -= 1
            self.excluded += cheer.counted
        sock.pending.clear()
        for no in sock.unacked:
            self.cheers[no].orphaned = True
        sock.unacked.clear()

    async def close_socket(self, sock: Sock) -> None:
        sock.closing = True
        self._forget(sock)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sock.ws.close(), 10)

    async def _read(self, sock: Sock) -> None:
        try:
            async for raw in sock.ws:
                now = perf()
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "event":
                    self._event(sock, frame, now)
                elif kind == "ack":
                    ref = str(frame.get("ref", ""))
                    cheer = self.cheers.get(int(ref[1:])) if ref.startswith("p") else None
                    if cheer is not None:
                        cheer.acked = True
                        sock.unacked.discard(int(ref[1:]))
                        if cheer.counted:  # a cheer's latency in its row: send to its ack
                            self.tallies["cheer"].latencies.append(now - cheer.sent)
                elif kind == "error":
                    self.error(f"socket refused a command: {frame.get('code')}")
        except websockets.ConnectionClosed as closed:
            if not sock.closing:
                rcvd = closed.rcvd
                self.error(f"socket closed by the server: {rcvd.code if rcvd else 'no close frame'}")
        except Exception as exc:  # noqa: BLE001
            if not sock.closing:
                self.error(f"socket: {type(exc).__name__}")

    def _event(self, sock: Sock, frame: dict[str, Any], now: float) -> None:
        stream = frame.get("stream", "group")
        seq = frame.get("seq", 0)
        last = sock.seqs.get(stream, -1)
        if last >= 0 and seq <= last:
            self.seq_not_rising += self.counting()
        sock.seqs[stream] = max(seq, last)
        if frame.get("kind") != "encouragement.sent":
            return
        words = (frame.get("data") or {}).get("text") or ""
        if not words.startswith("peak#"):
            return
        no = int(words.split("#")[1])
        cheer = self.cheers.get(no)
        if cheer is None or cheer.sender == sock.no:
            return  # its own echo
        if no in sock.seen:
            self.duplicated += cheer.counted
            return
        sock.seen.add(no)
        if sock.last_from.get(cheer.sender, -1) > no:
            self.reordered += cheer.counted
        sock.last_from[cheer.sender] = max(no, sock.last_from.get(cheer.sender, -1))
        if no in sock.pending:
            sock.pending.discard(no)
            cheer.waiting -= 1
            if cheer.counted:
                self.live.append(now - cheer.sent)

    # -- the actions -----------------------------------------------------------------------

    async def _http(self, name: str, method: str, path: str, counted: bool, expect: int,
                    **kwargs: Any) -> str | None:
        tally = self.tallies[name]
        server = self.server()
        started = perf()
        try:
            async with self.session().request(method, self.base(server) + path,
                                              allow_redirects=False, **kwargs) as r:
                body = await r.read()
                took = perf() - started
                status = r.status
        except Exception as exc:  # noqa: BLE001
            self.error(f"{name}: {type(exc).__name__}", counted)
            return None
        if status != expect:
            self.error(f"{name}: HTTP {status} {body[:80].decode(errors='replace')}", counted)
            return None
        if counted:
            tally.ok += 1
            tally.latencies.append(took)
        return body.decode(errors="replace")

    async def sign_in(self, counted: bool) -> None:
        m = random.choice(self.members)
        await self._http("sign-in", "POST", "/api/v1/auth/login", counted, 200,
                         json={"username": m.username, "password": PASSWORD})

    async def page(self, name: str, counted: bool) -> None:
        m = random.choice(self.members)
        path = f"/groups/{m.group.gid}" if name == "page: day" else "/me/progress"
        html = await self._http(name, "GET", path, counted, 200, headers={"Cookie": m.cookie})
        if html is None:
            return
        found = dict(CURSOR.findall(html))
        query = "".join(f"&{k.replace('-', '_')}={v}" for k, v in found.items() if k != "epoch")
        if query and found.get("epoch"):
            query += f"&epoch={found['epoch']}"
        await self.open_socket(m, self.plan.socket_life, query, counted)

    async def commitment(self, counted: bool) -> None:
        m = self.commitment_queue.pop() if self.commitment_queue else random.choice(self.members)
        await self._http("commitment", "POST", f"/api/v1/groups/{m.group.gid}/commitments", counted,
                         201, headers={"Authorization": f"Bearer {m.token}"},
                         json={"category": random.choice(CATEGORIES), "text": "Take a slow walk at lunch"})

    async def check_in(self, counted: bool) -> None:
        cid, m = self.checkin_queue.pop() if self.checkin_queue else random.choice(
            random.choice(self.groups).commitments)
        body: dict[str, Any] = {"status": random.choice(("done", "partly", "not_today")),
                                "feeling": random.randint(1, 5)}
        if random.random() < 0.5:
            body["note"] = "It went gently today."
        await self._http("check-in", "POST", f"/api/v1/commitments/{cid}/checkin", counted, 200,
                         headers={"Authorization": f"Bearer {m.token}"}, json=body)

    async def cheer(self, counted: bool) -> None:
        if not self.open_socks:
            self.error("cheer: no socket open to cheer from", counted)
            return
        sock = random.choice(self.open_socks)
        group = sock.member.group
        cid = random.choice([c for c, author in group.commitments if author is not sock.member])
        no = len(self.cheers) + 1
        cheer = Cheer(perf(), sock.no, counted)
        self.cheers[no] = cheer
        for other in group.sockets:
            if other is not sock:
                other.pending.add(no)
                cheer.waiting += 1
        command = json.dumps({"type": "encourage", "ref": f"p{no}", "kind": random.choice(CHEER_KINDS),
                              "commitment_id": cid, "text": f"peak#{no}# you are doing well"})
        try:
            await sock.ws.send(command)
        except websockets.ConnectionClosed:
            self.error("cheer: its socket closed", counted)
            for other in group.sockets:
                other.pending.discard(no)
            cheer.waiting, cheer.acked = 0, True
            return
        sock.unacked.add(no)
        if counted:
            self.tallies["cheer"].ok += 1

    async def room(self, counted: bool) -> None:
        """A moderator opens a room, five members join and play a short round."""
        free = [g for g in random.sample(self.groups, min(len(self.groups), 50))
                if g.gid not in self.rooms_open]
        if not free:
            self.error("room: every group asked already has a room open", counted)
            return
        group = free[0]
        self.rooms_open.add(group.gid)
        try:
            await self._room(group, counted)
        finally:
            self.rooms_open.discard(group.gid)

    async def _room(self, group: Group, counted: bool) -> None:
        people = group.members[:ROOM_SIZE]  # the first is the group's moderator
        mod, practitioner, counterpart, observer = people[0], people[1], people[2], people[3]
        server = self.server()
        r = await self._http("room: open", "POST", f"/api/v1/groups/{group.gid}/roleplays", counted, 201,
                             headers={"Authorization": f"Bearer {mod.token}"},
                             json={"title": "Evening practice"})
        if r is None:
            return
        rid = json.loads(r)["id"]
        room = Room(self, counted)
        try:
            for m in people:
                await room.connect(m, f"{server.ws_url}/ws/roleplays/{rid}?fragments=1",
                                   self.base(server))
            for m in people:
                await room.do(m, {"type": "join"})
            say = "I hear you, and I am keeping my evening for rest."
            for m, command in [
                (mod, {"type": "assign_role", "user_id": practitioner.user_id, "role": "practitioner"}),
                (mod, {"type": "assign_role", "user_id": counterpart.user_id, "role": "counterpart"}),
                (mod, {"type": "advance"}),
                (practitioner, {"type": "choose_scenario", "scenario_id": self.scenario_id, "intensity": 2}),
                (practitioner, {"type": "state_boundary", "text": "I rest on Sunday evenings."}),
                (mod, {"type": "advance"}), (mod, {"type": "advance"}),
                (counterpart, {"type": "say", "text": "Can you help me move on Sunday evening?"}),
                (practitioner, {"type": "say", "text": say}),
                (observer, {"type": "cheer", "kind": "boundary_matters"}),
                (mod, {"type": "advance"}),
                (counterpart, {"type": "feedback", "style": "assertive", "worked": "Calm and kind."}),
                (observer, {"type": "feedback", "style": "assertive", "worked": "Clear words."}),
                (practitioner, {"type": "self_rate", "confidence": 4}),
                (mod, {"type": "advance"}), (mod, {"type": "end"}),
            ]:
                await asyncio.sleep(random.uniform(0.2, 0.6))  # a person reading and typing
                await room.do(m, command)
            if counted and not room.failed:
                self.tallies["room"].ok += 1
        finally:
            await room.close()

    # -- the run ---------------------------------------------------------------------------

    async def arrivals(self, name: str, rate: float, start: float) -> None:
        """Open loop: Poisson arrivals at `rate`, each started on time whatever the others do."""
        action = {"sign-in": self.sign_in, "commitment": self.commitment, "check-in": self.check_in,
                  "cheer": self.cheer, "room": self.room}.get(name)
        if rate <= 0:
            return
        at = start + random.expovariate(rate)
        while at < self.window_end:
            delay = at - perf()
            if delay > 0:
                await asyncio.sleep(delay)
            counted = self.window_start <= at
            if counted:
                tally = self.tallies[name]
                tally.scheduled += 1
                tally.lags.append(max(0.0, perf() - at))
            coro = action(counted) if action else self.page(name, counted)
            task = asyncio.create_task(self._guard(name, coro, counted), name=name)
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)
            at += random.expovariate(rate)

    async def _guard(self, name: str, coro: Any, counted: bool) -> None:
        try:
            await coro
        except Exception as exc:  # noqa: BLE001 - counted by its kind
            self.error(f"{name}: {type(exc).__name__} {str(exc)[:60]}", counted)

    async def open_steady_sockets(self) -> float:
        """About N/6 sockets, as if their pages had been opened in the last 5 minutes: once
        all are open, each lives on for a part of a socket's life, spread evenly."""
        gate = asyncio.Semaphore(64)
        started = perf()

        async def one() -> None:
            async with gate:
                await self.open_socket(random.choice(self.members), None)

        await asyncio.gather(*(one() for _ in range(self.plan.steady_sockets())))
        for sock in self.open_socks:
            self.close_after(sock, random.uniform(0, self.plan.socket_life))
        return perf() - started

    async def keep_pinning(self) -> None:
        while True:
            for server in self.servers:
                server.pin_helpers()
            await asyncio.sleep(0.5)

    async def sample_sockets(self) -> None:
        while True:
            await asyncio.sleep(1)
            if self.window_start <= perf() < self.window_end:
                self.socket_samples.append(len(self.open_socks))

    async def run(self) -> dict[str, Any]:
        args = self.args
        for addr in self.local_addrs:
            self.sessions.append(aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, local_addr=(addr, 0), keepalive_timeout=4),
                cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=60)))
        helpers = [asyncio.create_task(self.keep_pinning()), asyncio.create_task(self.sample_sockets())]
        try:
            async with self.sessions[0].get(
                    self.base(self.servers[0]) + "/api/v1/scenarios",
                    headers={"Authorization": f"Bearer {self.members[0].token}"}) as r:
                self.scenario_id = (await r.json())[0]["id"]
            took = await self.open_steady_sockets()
            print(f"  {len(self.open_socks):,} sockets open in {took:.1f} s "
                  f"(steady state {self.plan.steady_sockets():,})", flush=True)
            # The generator's own full collections walked every socket it holds and paused it
            # for a third of a second at 25,000 members, which it would have counted as the
            # server's latency: its start-up heap is set aside, and collections wait for the
            # end of the hour (each arrival's start lag, printed, shows what is left).
            gc.collect()
            gc.freeze()
            gc.disable()
            start = perf() + 0.05
            self.window_start = start + args.ramp
            self.window_end = self.window_start + args.window
            loads = [asyncio.create_task(self.arrivals(name, rate, start))
                     for name, rate in self.plan.rates().items()]
            await asyncio.sleep(max(0.0, self.window_start - perf()))
            cpu0 = sum(s.cpu_seconds() for s in self.servers)
            load0, busy0, t0 = self.load_cpu(), busy_cpu_seconds(), perf()
            spies = [common.record_stacks(server, args.profile / f"{self.plan.members}-{server.name}.txt",
                                          duration=args.window)
                     for server in self.servers] if args.profile else []
            await asyncio.sleep(max(0.0, self.window_end - perf()))
            for spy in spies:
                if spy is not None:
                    spy.wait()
            wall = perf() - t0
            server_cpu = (sum(s.cpu_seconds() for s in self.servers) - cpu0) / wall
            load_cpu = (self.load_cpu() - load0) / wall
            other_cpu = max(0.0, (busy_cpu_seconds() - busy0) / wall - server_cpu - load_cpu)
            await asyncio.gather(*loads)
            drained = await self.drain(args.drain)
            return self.summary(server_cpu, load_cpu, other_cpu, drained)
        finally:
            gc.enable()
            for task in helpers:
                task.cancel()
            await self.shut()

    async def drain(self, limit: float) -> float:
        """Wait for what the window started: requests, sockets' first frames, cheers' flights."""
        started = perf()
        deadline = started + limit
        while perf() < deadline:
            flying = any(c.counted and (c.waiting > 0 or not (c.acked or c.orphaned))
                         for c in self.cheers.values())
            if not self.inflight and not flying:
                break
            await asyncio.sleep(0.05)
        return perf() - started

    async def shut(self) -> None:
        for sock in list(self.open_socks):
            sock.closing = True
        socks = list(self.open_socks)
        for i in range(0, len(socks), 500):
            await asyncio.gather(*(self.close_socket(s) for s in socks[i:i + 500]))
        for task in [*self.inflight, *self.life_tasks]:
            task.cancel()
        for task in [*self.inflight, *self.life_tasks]:
            with contextlib.suppress(BaseException):
                await task
        for session in self.sessions:
            await session.close()

    def summary(self, server_cpu: float, load_cpu: float, other_cpu: float,
                drained: float) -> dict[str, Any]:
        window = self.args.window
        counted = [c for c in self.cheers.values() if c.counted]
        lost = sum(max(0, c.waiting) for c in counted)
        unacked = sum(not (c.acked or c.orphaned) for c in counted)
        for name, count in Counter(t.get_name() for t in self.inflight if not t.done()).items():
            self.errors[f"{name}: unfinished after the drain"] += count
        actions = {name: t.summary(window) for name, t in self.tallies.items()}
        for name in ("socket open", "room: open", "room command"):
            actions[name]["offered_per_s"] = float("nan")
        pages = sorted(self.tallies["page: day"].latencies + self.tallies["page: progress"].latencies)
        live = sorted(self.live)
        lags = sorted(x for t in self.tallies.values() for x in t.lags)
        samples = self.socket_samples or [len(self.open_socks)]
        result: dict[str, Any] = {
            "members": self.plan.members, "groups": self.plan.groups, "speed": self.plan.speed,
            "processes": len(self.servers), "window_s": window, "ramp_s": self.args.ramp,
            "rates_per_s": self.plan.rates(), "actions": actions,
            "page_p50_ms": common.percentile(pages, 50) * 1e3,
            "page_p95_ms": common.percentile(pages, 95) * 1e3,
            "page_p99_ms": common.percentile(pages, 99) * 1e3,
            "live_deliveries": len(live),
            "live_p50_ms": common.percentile(live, 50) * 1e3,
            "live_p99_ms": common.percentile(live, 99) * 1e3,
            "live_max_ms": (live[-1] * 1e3) if live else float("nan"),
            "cheer_ack_p99_ms": actions["cheer"]["p99_ms"],
            "cheers": len(counted), "lost": lost, "duplicated": self.duplicated,
            "reordered": self.reordered, "seq_not_rising": self.seq_not_rising,
            "unacked": unacked, "not_expected_closed_in_flight": self.excluded,
            "sockets_steady": self.plan.steady_sockets(),
            "sockets_min": min(samples), "sockets_mean": sum(samples) / len(samples),
            "sockets_max": max(samples), "source_addresses": len(self.local_addrs),
            "server_cpu": server_cpu, "load_cpu": load_cpu, "other_cpu": other_cpu,
            "generator_lag_p99_ms": common.percentile(lags, 99) * 1e3,
            "drain_s": drained,
            "errors": dict(self.errors), "errors_before_window": dict(self.errors_outside),
        }
        result.update(verdict(result))
        return result


class Room:
    """Five people's room sockets, each command sent by name and waited for."""

    def __init__(self, peak: Peak, counted: bool) -> None:
        self.peak = peak
        self.counted = counted
        self.sockets: dict[int, Any] = {}
        self.readers: list[asyncio.Task[None]] = []
        self.waiting: dict[str, asyncio.Future[bool]] = {}
        self.refs = 0
        self.failed = False

    async def connect(self, m: Member, url: str, origin: str) -> None:
        ws = await websockets.connect(url, additional_headers={"Cookie": m.cookie, "Origin": origin},
                                      compression=None, open_timeout=30, max_queue=None,
                                      ping_interval=None, max_size=2**22,
                                      local_addr=(self.peak.next_addr(), 0))
        self.sockets[m.user_id] = ws
        self.readers.append(asyncio.create_task(self._read(ws)))

    async def _read(self, ws: Any) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") in ("ack", "error") and "ref" in frame:
                    future = self.waiting.pop(str(frame["ref"]), None)
                    if future is not None and not future.done():
                        future.set_result(frame["type"] == "ack")
                    if frame["type"] == "error":
                        self.failed = True
                        self.peak.error(f"room command refused: {frame.get('code')} {frame.get('detail', '')[:60]}",
                                        self.counted)

    async def do(self, m: Member, command: dict[str, Any]) -> None:
        self.refs += 1
        ref = f"r{self.refs}"
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.waiting[ref] = future
        started = perf()
        await self.sockets[m.user_id].send(json.dumps({**command, "ref": ref}))
        try:
            ok = await asyncio.wait_for(future, 30)
        except TimeoutError:
            self.failed = True
            self.peak.error(f"room command unanswered: {command['type']}", self.counted)
            return
        if ok and self.counted:
            tally = self.peak.tallies["room command"]
            tally.ok += 1
            tally.latencies.append(perf() - started)

    async def close(self) -> None:
        for ws in self.sockets.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 10)
        for task in self.readers:
            task.cancel()


def verdict(r: dict[str, Any]) -> dict[str, Any]:
    """PASS or FAIL per limit; a saturated generator makes the level say so."""
    limits = {
        "page p95 <= 100 ms": r["page_p95_ms"] <= PAGE_P95_MS,
        "live p99 <= 100 ms": not r["live_deliveries"] or r["live_p99_ms"] <= LIVE_P99_MS,
        "nothing lost": not (r["lost"] or r["duplicated"] or r["reordered"] or r["seq_not_rising"]
                             or r["unacked"]),
        "no errors": not r["errors"],
    }
    return {"limits": limits, "passed": all(limits.values()), "load_bound": r["load_cpu"] >= 0.9,
            "load_late": r["generator_lag_p99_ms"] > 50}


# -- one level -------------------------------------------------------------------------------

def source_addresses(plan: Plan, asked: list[str] | None) -> list[str]:
    if asked:
        return asked
    need = math.ceil(plan.steady_sockets() * 1.5 / SOCKETS_PER_ADDRESS) or 1
    return [f"127.0.0.{i}" for i in range(1, need + 1)]


def start_servers(db: common.BenchDatabase, processes: int, workdir: Path,
                  open_files: int, checkout: Path = common.ROOT) -> list[common.Server]:
    servers: list[common.Server] = []
    prefix = f"cairn-day-{uuid.uuid4().hex[:8]}"
    try:
        for i in range(processes):
            server = common.cairn_server(db.url, workdir, checkout=checkout)
            server.name += f"-{i + 1}"
            server.log_path = workdir / f"{server.name}.log"
            server.open_files = open_files
            if processes > 1:
                server.env["CAIRN_REDIS_URL"] = redis_url()
                server.env["CAIRN_REDIS_PREFIX"] = prefix  # apart from anyone else's Cairn
            servers.append(server.start())
    except Exception:
        for server in servers:
            server.stop()
        raise
    return servers


def redis_url() -> str:
    return os.environ.get("CAIRN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def run_level(members: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """One level on a fresh database and fresh server processes."""
    plan = Plan(members, args.speed, args.rooms_per_group_week)
    addrs = source_addresses(plan, args.local_addrs)
    sockets = plan.steady_sockets()
    open_files = max(65536, 2 * sockets + 4096)
    raise_hard_open_files(open_files + sockets)
    common.raise_open_files(open_files + sockets)
    rates = plan.rates()
    print(f"\n-- {members:,} members ({plan.groups:,} groups of {PER_GROUP}) on {args.db}, "
          f"{args.processes} process{'es' if args.processes > 1 else ''}"
          + (f", the hour played {args.speed:g}x faster" if args.speed != 1 else "") + ": "
          + ", ".join(f"{k} {v:.2f}/s" for k, v in rates.items())
          + f"; ~{sockets:,} sockets open; source addresses {', '.join(addrs)}", flush=True)
    started = perf()
    db = common.create_database(args.db, args.checkout)
    try:
        groups = asyncio.run(seed_world(db.url, members))
        print(f"  seeded in {perf() - started:.1f} s", flush=True)
        servers = start_servers(db, args.processes, workdir, open_files, args.checkout)
        try:
            result = run_async(Peak(servers, groups, plan, args, addrs).run())
        finally:
            for server in servers:
                server.stop()
    finally:
        db.drop()
    result["db"] = args.db
    print(report(result), flush=True)
    return result


def raise_hard_open_files(wanted: int) -> None:
    """Root may raise the hard limit too (the servers, started from here, inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, wanted))


def report(r: dict[str, Any]) -> str:
    def ms(v: float) -> str:
        return "       -" if math.isnan(v) else f"{v:8.1f}"

    lines = [f"  {'action':<16} {'offered/s':>10} {'achieved/s':>10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"]
    for name, a in r["actions"].items():
        offered = "" if math.isnan(a["offered_per_s"]) else f"{a['offered_per_s']:10.2f}"
        lines.append(f"  {name:<16} {offered:>10} {a['achieved_per_s']:10.2f} {ms(a['p50_ms'])} "
                     f"{ms(a['p95_ms'])} {ms(a['p99_ms'])}")
    lines += [
        f"  pages: p50 {r['page_p50_ms']:.1f} ms, p95 {r['page_p95_ms']:.1f} ms, p99 {r['page_p99_ms']:.1f} ms",
        f"  live: {r['cheers']:,} cheers, {r['live_deliveries']:,} deliveries, p50 {r['live_p50_ms']:.1f} ms, "
        f"p99 {r['live_p99_ms']:.1f} ms, max {r['live_max_ms']:.1f} ms; ack p99 {r['cheer_ack_p99_ms']:.1f} ms; "
        f"lost {r['lost']}, duplicated {r['duplicated']}, reordered {r['reordered']}, "
        f"seq not rising {r['seq_not_rising']}, unacknowledged {r['unacked']} "
        f"(not expected: {r['not_expected_closed_in_flight']}, sockets closed in flight)",
        f"  sockets open: {r['sockets_min']:,}-{r['sockets_max']:,} (mean {r['sockets_mean']:,.0f}; "
        f"steady state {r['sockets_steady']:,})",
        f"  CPU: server {r['server_cpu']:.0%} of its core ({r['processes']} process(es)"
        + (" and their PostgreSQL backends" if r.get("db") == "postgres" else "")
        + f"), load generator {r['load_cpu']:.0%} (start lag p99 {r['generator_lag_p99_ms']:.1f} ms), "
        f"others on the machine {r['other_cpu']:.0%}",
    ]
    if r["errors"]:
        lines.append("  errors: " + "; ".join(f"{k} x{v}" for k, v in sorted(r["errors"].items())))
    if r["errors_before_window"]:
        lines.append("  errors before the window (not judged): "
                     + "; ".join(f"{k} x{v}" for k, v in sorted(r["errors_before_window"].items())))
    lines.append("  " + ", ".join(f"{k}: {'PASS' if ok else 'FAIL'}" for k, ok in r["limits"].items())
                 + f"  => {'PASS' if r['passed'] else 'FAIL'}")
    if r["load_bound"]:
        lines.append("  NOTE: the load generator's core was full: these figures are its limit, not Cairn's")
    elif r["load_late"]:
        lines.append(f"  NOTE: the load generator started arrivals late (p99 {r['generator_lag_p99_ms']:.0f} ms) "
                     "with its core not full: other work on the machine took its core")
    return "\n".join(lines)


# -- the search ------------------------------------------------------------------------------

def find(args: argparse.Namespace, workdir: Path) -> tuple[int, list[dict[str, Any]]]:
    """Double from --start until a level fails, then bisect between the best and the failure."""
    results: list[dict[str, Any]] = []

    def attempt(n: int) -> bool:
        r = run_level(n, args, workdir)
        results.append(r)
        return bool(r["passed"])

    good, bad, n = 0, 0, _round(args.start)
    while n <= args.max_members:
        if attempt(n):
            good, n = n, n * 2
        else:
            bad = n
            break
    if bad:
        for _ in range(args.bisect):
            mid = _round((good + bad) / 2) if good else _round(bad / 2)
            if mid in (good, bad) or mid < PER_GROUP * 10:
                break
            if attempt(mid):
                good = mid
            else:
                bad = mid
    return good, results


def _round(n: float) -> int:
    """To whole groups, and to a round hundred above a thousand."""
    step = 100 if n >= 1000 else PER_GROUP
    return max(PER_GROUP, int(round(n / step)) * step)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000, help="N, for one level")
    parser.add_argument("--find", action="store_true", help="search the largest N that passes")
    parser.add_argument("--start", type=int, default=12_500, help="--find's first N")
    parser.add_argument("--max-members", type=int, default=800_000, help="--find goes no higher")
    parser.add_argument("--bisect", type=int, default=3, help="--find's bisection steps")
    parser.add_argument("--processes", type=int, default=1, choices=(1, 2, 3, 4),
                        help="Cairn processes (more than one: behind Redis, PostgreSQL only)")
    parser.add_argument("--db", default="postgres", choices=("postgres", "sqlite"))
    parser.add_argument("--window", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--ramp", type=float, default=30.0, help="seconds at full rate before the window")
    parser.add_argument("--drain", type=float, default=15.0,
                        help="seconds allowed after the window for what it started to finish")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="play the hour this many times faster (rates x, sockets' lives /)")
    parser.add_argument("--rooms-per-group-week", type=float, default=1.0)
    parser.add_argument("--local-addrs", type=lambda s: s.split(","), default=None,
                        help="source addresses for the load (default: as many of 127.0.0.x as the "
                             "sockets need)")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--profile", type=Path,
                        help="py-spy stacks of each server through the window, into this folder")
    parser.add_argument("--checkout", type=Path, default=common.ROOT,
                        help="the checkout of Cairn whose code serves (and migrates): another "
                             "one to measure an earlier version with the same load")
    parser.add_argument("--smoke", action="store_true",
                        help="200 members for 5 s (the hour 60x faster): checks the bench runs")
    args = parser.parse_args(argv)
    args.checkout = args.checkout.resolve()
    if args.smoke:
        args.members, args.find, args.window, args.ramp, args.drain = 200, False, 5.0, 2.0, 10.0
        args.speed, args.rooms_per_group_week = 60.0, 200.0
    args.members = max(PER_GROUP, args.members // PER_GROUP * PER_GROUP)  # whole groups
    if args.processes > 1 and args.db != "postgres":
        parser.error("more than one process needs PostgreSQL (and Redis)")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    common.pin_to(common.LOAD_CORE)
    print(f"machine: {common.machine()}")
    print(f"Cairn on core {common.SERVER_CORE}, the load on core {common.LOAD_CORE}; "
          f"limits: page p95 <= {PAGE_P95_MS:.0f} ms, live p99 <= {LIVE_P99_MS:.0f} ms, nothing lost",
          flush=True)
    if args.db == "postgres" and not common.postgres_available():
        if not args.smoke:
            print(f"PostgreSQL is not reachable at {common.POSTGRES_ADMIN_URL} (CAIRN_BENCH_POSTGRES_URL)")
            return 2
        print("PostgreSQL is not reachable: the smoke run uses SQLite")
        args.db = "sqlite"
    workdir = Path(tempfile.mkdtemp(prefix="cairn-day-"))
    try:
        if args.find:
            best, results = find(args, workdir)
            print(f"\n== the largest N that passed on {args.db} with {args.processes} process(es): "
                  f"{best:,} members" + (" (none passed)" if not best else ""))
            if any(r["load_bound"] for r in results):
                print("   (at least one level was bound by the load generator: see its NOTE)")
        else:
            results = [run_level(args.members, args, workdir)]
        if args.json:
            args.json.write_text(json.dumps({"machine": common.machine(), "args": {
                k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                "levels": results}, indent=1, default=str))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
