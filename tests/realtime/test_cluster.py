"""Two processes on PostgreSQL and Redis: delivery across processes, concurrent writers,
a process killed mid-stream, and the Redis listener's connection killed."""

from __future__ import annotations

import asyncio
import json
import random

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
import websockets
from sqlalchemy.engine import make_url

from tests.fixtures.databases import REDIS_URL
from tests.realtime.helpers import RemoteMember, next_frame, remote_group, remote_member, until_closed

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


class Reader:
    """A member's socket that records every event and resumes with last_seq on any
    server still alive, as the browser does."""

    def __init__(self, member: RemoteMember, group_id: int, ws_urls: list[str]) -> None:
        self.member, self.group_id, self.ws_urls = member, group_id, list(ws_urls)
        self.seqs: list[int] = []
        self.frames: dict[int, dict] = {}
        self.reconnects = 0
        self.connected = asyncio.Event()
        self._stop = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    @property
    def last_seq(self) -> int:
        return self.seqs[-1] if self.seqs else 0

    async def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            url = self.ws_urls[attempt % len(self.ws_urls)]
            try:
                async with self.member.socket(url, self.group_id,
                                              last_seq=self.last_seq if self.seqs else None) as ws:
                    welcome = await next_frame(ws)
                    assert welcome["type"] == "welcome" and welcome["recovered"], welcome
                    self.connected.set()
                    while not self._stop.is_set():
                        try:
                            raw = await asyncio.wait_for(ws.recv(), 0.2)
                        except TimeoutError:
                            continue
                        frame = json.loads(raw)
                        if frame["type"] == "event":
                            self.seqs.append(frame["seq"])
                            self.frames[frame["seq"]] = frame
            except (OSError, websockets.ConnectionClosed, websockets.InvalidHandshake, TimeoutError):
                self.reconnects += 1
                attempt += 1
                await asyncio.sleep(0.05 + random.random() * 0.1)

    async def stop(self) -> None:
        self._stop.set()
        await self.task


async def committed_seqs(database_url: str, group_id: int) -> list[int]:
    u = make_url(database_url)
    conn = await asyncpg.connect(host=u.host, port=u.port or 5432, user=u.username,
                                 database=u.database)
    try:
        rows = await conn.fetch("SELECT seq FROM events WHERE group_id = $1 ORDER BY seq", group_id)
        return [r["seq"] for r in rows]
    finally:
        await conn.close()


async def wait_until(predicate, timeout: float = 20) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)


async def post_encouragements(member: RemoteMember, gid: int, bases: list[str], count: int,
                              sent: list[str]) -> None:
    """Post count encouragements, moving to another server when one fails."""
    i = 0
    async with httpx.AsyncClient(timeout=10) as client:
        while i < count:
            base = bases[i % len(bases)]
            try:
                r = await client.post(f"{base}/api/v1/groups/{gid}/encouragements",
                                      json={"kind": "with_you", "text": f"{member.id}-{i}"},
                                      headers=member.headers)
                if r.status_code == 201:
                    sent.append(r.json()["data"]["text"])
                    i += 1
                    continue
            except httpx.HTTPError:
                pass
            bases = [b for b in bases if b != base] or bases
            await asyncio.sleep(0.05)


async def listening(client: aioredis.Redis, processes: int) -> None:
    """Until that many processes have a pub/sub connection (polled: Redis tells no one)."""
    async def count() -> int:
        return len(await client.client_list(_type="pubsub"))

    async def wait() -> None:
        while await count() < processes:  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), 60)


def assert_exact(reader: Reader, committed: list[int]) -> None:
    assert reader.seqs == committed, (
        f"lost {sorted(set(committed) - set(reader.seqs))[:10]}, "
        f"extra/duplicated {len(reader.seqs) - len(set(reader.seqs))}")


async def test_a_client_on_one_process_sees_what_the_other_does(cluster):
    a_srv, b_srv = cluster.servers
    a = await remote_member(a_srv.url)
    b = await remote_member(a_srv.url)
    group = await remote_group(a, b)
    gid = group["id"]
    async with a.socket(a_srv.ws_url, gid) as wa, b.socket(b_srv.ws_url, gid) as wb:
        await next_frame(wa)
        await next_frame(wb)
        # Presence crosses processes: a (on one) sees b (on the other) come online.
        for _ in range(20):
            presence = json.loads(await asyncio.wait_for(wa.recv(), 30))
            if presence["type"] == "presence" and presence["online"] == sorted([a.id, b.id]):
                break
        else:
            raise AssertionError("presence never showed both members")
        r = await b.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "nap"},
                         base_url=b_srv.url)
        assert (await next_frame(wa))["data"]["commitment_id"] == r.json()["id"]
        await wb.send(json.dumps({"type": "encourage", "kind": "proud", "to_user_id": a.id}))
        frame = await next_frame(wa)
        if frame["kind"] == "commitment.created":
            frame = await next_frame(wa)
        assert frame["kind"] == "encouragement.sent" and frame["data"]["to_user_id"] == a.id


async def test_concurrent_writers_no_gap_no_reordering(cluster):
    servers = cluster.servers
    people = [await remote_member(servers[0].url) for _ in range(6)]
    group = await remote_group(*people)
    gid = group["id"]
    readers = [Reader(p, gid, [servers[i % 2].ws_url]) for i, p in enumerate(people)]
    for r in readers:
        await asyncio.wait_for(r.connected.wait(), 10)
    sent: list[str] = []
    bases = [s.url for s in servers]
    await asyncio.gather(*(post_encouragements(p, gid, bases[i % 2:] + bases[:i % 2], 25, sent)
                           for i, p in enumerate(people)))
    committed = await committed_seqs(cluster.database_url, gid)
    await wait_until(lambda: all(r.last_seq >= committed[-1] for r in readers))
    for r in readers:
        await r.stop()
    assert len(sent) == 150
    for r in readers:
        assert_exact(r, [s for s in committed if s > r.seqs[0] - 1])


async def test_sigkill_one_process_while_posting_loses_nothing(cluster):
    a_srv, b_srv = cluster.servers
    people = [await remote_member(b_srv.url) for _ in range(4)]
    group = await remote_group(*people)
    gid = group["id"]
    start_seq = (await committed_seqs(cluster.database_url, gid))[-1]
    on_a = [Reader(p, gid, [a_srv.ws_url, b_srv.ws_url]) for p in people[:2]]
    on_b = [Reader(p, gid, [b_srv.ws_url]) for p in people[2:]]
    readers = on_a + on_b
    for r in readers:
        await asyncio.wait_for(r.connected.wait(), 10)
    sent: list[str] = []
    writers = asyncio.gather(*(post_encouragements(p, gid, [a_srv.url, b_srv.url], 40, sent)
                               for p in people))
    await wait_until(lambda: len(sent) >= 30)
    a_srv.kill()
    await writers
    committed = await committed_seqs(cluster.database_url, gid)
    await wait_until(lambda: all(r.last_seq >= committed[-1] for r in readers))
    for r in readers:
        await r.stop()
    assert all(r.reconnects >= 1 for r in on_a)
    expected = [s for s in committed if s > start_seq]
    for r in readers:
        assert_exact(r, expected)


async def test_redis_listener_killed_mid_stream_loses_nothing(cluster):
    a_srv, b_srv = cluster.servers
    people = [await remote_member(a_srv.url) for _ in range(4)]
    group = await remote_group(*people)
    gid = group["id"]
    start_seq = (await committed_seqs(cluster.database_url, gid))[-1]
    readers = [Reader(p, gid, [cluster.servers[i % 2].ws_url]) for i, p in enumerate(people)]
    for r in readers:
        await asyncio.wait_for(r.connected.wait(), 10)
    sent: list[str] = []
    writers = asyncio.gather(*(post_encouragements(p, gid, [a_srv.url, b_srv.url], 40, sent)
                               for p in people))
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        for _ in range(3):
            # Each time both processes are listening again (they reconnect by themselves),
            # while the writers write.
            await listening(client, 2)
            killed = await client.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            assert killed >= 1
    finally:
        await client.aclose()
    await writers
    committed = await committed_seqs(cluster.database_url, gid)
    await wait_until(lambda: all(r.last_seq >= committed[-1] for r in readers))
    for r in readers:
        await r.stop()
    assert len(sent) == 160
    expected = [s for s in committed if s > start_seq]
    for r in readers:
        assert_exact(r, expected)


async def test_signing_out_on_one_process_closes_the_sockets_on_the_other(cluster):
    a_srv, b_srv = cluster.servers
    a, b, c = [await remote_member(a_srv.url) for _ in range(3)]
    gid = (await remote_group(a, b, c))["id"]
    async with a.socket(b_srv.ws_url, gid) as quiet, b.socket(b_srv.ws_url, gid) as busy:
        await next_frame(quiet)
        await next_frame(busy)
        # Nothing else happens in the group: the word travels over Redis on its own.
        assert (await a.post("/api/v1/auth/logout", None)).status_code == 204
        frames, code = await until_closed(quiet)
        assert code == 4401 and [f for f in frames if f["type"] == "event"] == []
        # A post on the first process right after a sign-out there never reaches the
        # signed-out socket on the second.
        assert (await b.post("/api/v1/auth/logout", None)).status_code == 204
        r = await c.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "nap"})
        assert r.status_code == 201
        frames, code = await until_closed(busy)
        assert code == 4401 and [f for f in frames if f["type"] == "event"] == []
