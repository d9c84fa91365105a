"""Soak: a few hundred sockets across two processes (PostgreSQL and Redis) joining, posting,
dropping and resuming at random. At the end every client holds exactly the events committed
for its group (none lost, none twice, in order), memory has stopped growing, and no socket,
task or connection is left behind.

CAIRN_SOAK_SECONDS sets the length of the random part (default 60); CAIRN_SOAK_MEMBERS the
number of members (each has a socket in four groups).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
from typing import Any

import httpx
import psutil
import pytest
import websockets

from tests.fixtures.servers import METRICS_HEADERS
from tests.realtime.helpers import RemoteMember, remote_member
from tests.realtime.test_cluster import committed_seqs

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

SECONDS = float(os.environ.get("CAIRN_SOAK_SECONDS", "60"))
MEMBERS = int(os.environ.get("CAIRN_SOAK_MEMBERS", "75"))
GROUPS_EACH = 4
GROUP_SIZE = 20
KINDS = ["proud", "rest_counts", "boundary_matters", "worth_it", "with_you"]


class SoakClient:
    """One member's socket to one group, as a flaky browser tab would hold it."""

    def __init__(self, member: RemoteMember, gid: int, urls: list[str], seed: int) -> None:
        self.member, self.gid, self.urls = member, gid, urls
        self.rng = random.Random(seed)
        self.start: int | None = None  # the group's last seq when this client first came
        self.seqs: list[int] = []
        self.duplicates = 0
        self.gaps = 0
        self.unrecovered = 0
        self.connects = 0
        self.posted = 0
        self.errors: list[str] = []

    @property
    def last(self) -> int | None:
        if self.seqs:
            return self.seqs[-1]
        return self.start

    def _url(self) -> str:
        url = f"{self.rng.choice(self.urls)}/ws/groups/{self.gid}"
        return url if self.last is None else f"{url}?last_seq={self.last}"

    def _take(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "welcome":
            if self.start is None:
                self.start = frame["last_seq"]
            if not frame["recovered"]:
                self.unrecovered += 1
        elif frame["type"] == "event":
            seq, last = frame["seq"], self.last
            if last is not None and seq <= last:
                self.duplicates += 1
                return
            if last is not None and seq != last + 1:
                self.gaps += 1
            self.seqs.append(seq)
        elif frame["type"] == "error" and frame["code"] != "rate_limited":
            self.errors.append(frame["code"])

    async def _session(self, hold: float, post_rate: float) -> None:
        async with websockets.connect(self._url(), additional_headers=self.member.headers,
                                      open_timeout=20, close_timeout=2) as ws:
            self.connects += 1
            loop = asyncio.get_running_loop()
            until = loop.time() + hold
            next_post = loop.time() + self.rng.expovariate(post_rate) if post_rate else None
            while (now := loop.time()) < until:
                wait = until - now if next_post is None else max(0.0, min(until, next_post) - now)
                try:
                    raw = await asyncio.wait_for(ws.recv(), wait)
                    self._take(json.loads(raw))
                except TimeoutError:
                    pass
                if next_post is not None and loop.time() >= next_post:
                    await ws.send(json.dumps({"type": "encourage", "kind": self.rng.choice(KINDS),
                                              "text": f"{self.member.id}:{self.posted}"}))
                    self.posted += 1
                    next_post = loop.time() + self.rng.expovariate(post_rate)
            if self.rng.random() < 0.4:
                ws.transport.abort()  # the tab dies: no close frame at all

    async def churn(self, deadline: float, post_rate: float) -> None:
        await asyncio.sleep(self.rng.uniform(0, 3))
        loop = asyncio.get_running_loop()
        while loop.time() < deadline:
            hold = min(self.rng.uniform(2, 12), max(0.1, deadline - loop.time()))
            try:
                await self._session(hold, post_rate)
            except (OSError, websockets.ConnectionClosed, websockets.InvalidHandshake,
                    TimeoutError) as exc:
                status = getattr(getattr(exc, "response", None), "status_code", None)
                code = getattr(getattr(exc, "rcvd", None), "code", None)
                self.errors.append(f"{type(exc).__name__} {status or code or ''}".strip())
            await asyncio.sleep(self.rng.uniform(0, 1.5))

    async def catch_up(self, last: int) -> None:
        """Resume once more after the writing stopped and read up to the group's last event;
        told to try later (1013: every client resumes at once), try again as a tab does."""
        for attempt in range(1, 11):
            try:
                async with websockets.connect(self._url(), additional_headers=self.member.headers,
                                              open_timeout=30) as ws:
                    self.connects += 1
                    while self.last is None or self.last < last:
                        self._take(json.loads(await asyncio.wait_for(ws.recv(), 30)))
                    return
            except websockets.ConnectionClosed as closed:
                if closed.rcvd is None or closed.rcvd.code != 1013 or attempt == 10:
                    raise
                self.errors.append("ConnectionClosedError 1013")
                await asyncio.sleep(self.rng.uniform(0.5, 2) * attempt)


async def metric(client: httpx.AsyncClient, base: str, name: str) -> float:
    text = (await client.get(f"{base}/metrics", headers=METRICS_HEADERS)).text
    values = [float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)]
    return sum(values)


def established(pid: int, port: int) -> int:
    """TCP connections the server process holds to clients on its listening port."""
    return sum(1 for c in psutil.Process(pid).net_connections(kind="tcp")
               if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port)


async def test_soak(cluster):
    servers = cluster.servers
    bases, ws_urls = [s.url for s in servers], [s.ws_url for s in servers]
    members = list(await asyncio.gather(*(remote_member(bases[i % 2]) for i in range(MEMBERS))))
    n_groups = -(-MEMBERS * GROUPS_EACH // GROUP_SIZE)
    step = max(1, n_groups // GROUPS_EACH)
    chosen = [{(i + k * step) % n_groups for k in range(GROUPS_EACH)} for i in range(MEMBERS)]
    sizes = [sum(g in c for c in chosen) for g in range(n_groups)]
    assert max(sizes) <= GROUP_SIZE and all(len(c) == GROUPS_EACH for c in chosen), sizes
    group_ids: list[int] = []
    invite: list[str] = []
    async with httpx.AsyncClient(timeout=30) as http:
        for g in range(n_groups):
            owner = members[next(i for i in range(len(members)) if g in chosen[i])]
            r = await http.post(f"{bases[g % 2]}/api/v1/groups", headers=owner.headers,
                                json={"name": f"Soak circle {g}", "capacity": GROUP_SIZE})
            assert r.status_code == 201, r.text
            group_ids.append(r.json()["id"])
            invite.append(r.json()["invite_code"])
            joiners = [(i, m) for i, m in enumerate(members) if g in chosen[i] and m is not owner]
            answers = await asyncio.gather(*(http.post(
                f"{bases[i % 2]}/api/v1/groups/join", headers=m.headers,
                json={"invite_code": invite[g], "accept_agreement": True}) for i, m in joiners))
            assert all(r.status_code == 200 for r in answers), [r.text for r in answers]

        procs = [psutil.Process(s.process.pid) for s in servers]
        await asyncio.sleep(1)
        base_tasks = [await metric(http, b, "cairn_asyncio_tasks") for b in bases]
        base_conns = [established(s.process.pid, s.port) for s in servers]

        clients = [SoakClient(m, group_ids[g], ws_urls, seed=i * 31 + g)
                   for i, m in enumerate(members) for g in sorted(chosen[i])]
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + SECONDS
        post_rate = 15 / len(clients)  # about 15 events a second in all
        rss: list[tuple[float, int]] = []

        async def sample() -> None:
            while loop.time() < deadline:
                rss.append((loop.time() - started, sum(p.memory_info().rss for p in procs)))
                await asyncio.sleep(1)

        peak_sockets = 0

        async def watch_sockets() -> None:
            nonlocal peak_sockets
            while loop.time() < deadline:
                await asyncio.sleep(5)
                open_now = sum([await metric(http, b, "cairn_open_sockets") for b in bases])
                peak_sockets = max(peak_sockets, int(open_now))

        await asyncio.gather(sample(), watch_sockets(),
                             *(c.churn(deadline, post_rate) for c in clients))
        churn_took = loop.time() - started

        # A command sent just before its socket closed may still commit after this read: the
        # check covers what had committed by now, and a later event is neither lost nor extra.
        committed = {gid: await committed_seqs(cluster.database_url, gid) for gid in group_ids}
        await asyncio.gather(*(c.catch_up(committed[c.gid][-1]) for c in clients))

        lost = duplicated = disordered = 0
        for c in clients:
            expected = [s for s in committed[c.gid] if s > c.start]
            got = [s for s in c.seqs if s <= committed[c.gid][-1]]
            lost += len(set(expected) - set(got))
            duplicated += c.duplicates + (len(got) - len(set(got)))
            disordered += sum(1 for a, b in zip(got, got[1:], strict=False) if b <= a)
            assert got == expected, (c.gid, c.member.id, len(expected), len(got))

        # Every client has closed: sockets, tasks and connections come back to where they were.
        async def settled() -> bool:
            sockets = sum([await metric(http, b, "cairn_open_sockets") for b in bases])
            tasks = [await metric(http, b, "cairn_asyncio_tasks") for b in bases]
            conns = [established(s.process.pid, s.port) for s in servers]
            settled.last = (sockets, tasks, conns)  # type: ignore[attr-defined]
            return sockets == 0 and all(t <= b + 2 for t, b in zip(tasks, base_tasks, strict=True)) \
                and all(n <= 1 for n in conns)

        for _ in range(120):  # closing is the event; 60 s is only a last guard
            if await settled():
                break
            await asyncio.sleep(0.5)
        sockets_after, tasks_after, conns_after = settled.last  # type: ignore[attr-defined]

    first = {}
    for c in clients:
        first[c.gid] = min(first.get(c.gid, c.start), c.start)
    events = sum(len([s for s in seqs if s > first[gid]]) for gid, seqs in committed.items())
    posted = sum(c.posted for c in clients)
    connects = sum(c.connects for c in clients)
    n = len(rss)
    middle = [v for _, v in rss[n * 2 // 5: n * 3 // 5]]
    end = [v for _, v in rss[n * 4 // 5:]]
    mib = 1024 * 1024
    rss_start, rss_mid, rss_end = rss[0][1] / mib, sum(middle) / len(middle) / mib, sum(end) / len(end) / mib
    # 1013 ("try again later") is Cairn's own answer when its database pool is busy, which a
    # starved machine makes it at connect storms: the tab tries again, and what matters is
    # that nothing is lost. It may not be the usual answer, though; anything else is an error.
    every = [e for c in clients for e in c.errors]
    later = [e for e in every if e.endswith(" 1013")]
    errors = [e for e in every if not e.endswith(" 1013")]
    print(f"\nsoak: {churn_took:.0f}s, {len(members)} members, {len(clients)} sockets across 2 "
          f"processes (peak {peak_sockets} open), {connects} connects, {posted} commands sent, "
          f"{events} events committed in {len(group_ids)} groups; lost {lost}, duplicated "
          f"{duplicated}, out of order {disordered}, gaps filled late "
          f"{sum(c.gaps for c in clients)}, not recovered {sum(c.unrecovered for c in clients)}; "
          f"RSS (both processes) start {rss_start:.0f} MiB, middle {rss_mid:.0f} MiB, end "
          f"{rss_end:.0f} MiB; after close: open sockets {sockets_after:.0f}, asyncio tasks "
          f"{base_tasks} -> {tasks_after}, client connections {base_conns} -> {conns_after}; "
          f"told to try later {len(later)}, client errors {len(errors)}")
    assert lost == duplicated == disordered == 0
    assert sum(c.unrecovered for c in clients) == 0
    assert len(errors) <= len(clients) // 20, errors[:10]
    assert len(later) <= connects // 4, (len(later), connects)
    # Enough happened to mean something, even on a starved machine (at a load average of 5-7,
    # 269 and 286 events in the 60 s).
    assert events > SECONDS * 2 and connects > len(clients) * 2
    assert rss_end <= rss_mid * 1.10 + 8, (rss_start, rss_mid, rss_end)
    assert sockets_after == 0
    assert all(t <= b + 2 for t, b in zip(tasks_after, base_tasks, strict=True)), (base_tasks, tasks_after)
    assert all(n <= 1 for n in conns_after), (base_conns, conns_after)  # 1: this /metrics request
    for s in servers:
        assert s.process.poll() is None
