"""Dependencies failing under a live Cairn: its own PostgreSQL stopped mid-use and started
again, and its own Redis stopped under two processes and started again."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import websockets
from sqlalchemy.engine import make_url

from server.db import PING_AFTER_REST
from tests.fixtures.databases import (
    create_postgres_database,
    drop_postgres_database,
    migrate,
    need_postgres,
)
from tests.fixtures.servers import LiveServer
from tests.hardening.services import PrivatePostgres, wait_for
from tests.realtime.helpers import RemoteMember, next_frame, remote_group, remote_member
from tests.realtime.test_cluster import Reader, committed_seqs

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

FAST_WRITES = {"CAIRN_ENCOURAGEMENTS_PER_MINUTE": "100000"}


async def db_fetch(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    u = make_url(database_url)
    conn = await asyncpg.connect(host=u.host, port=u.port or 5432, user=u.username,
                                 database=u.database)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


class Writers:
    """Members posting encouragements without pause; every answer is kept by its text."""

    def __init__(self, members: list[RemoteMember], gid: int, bases: list[str]) -> None:
        self.answers: dict[str, int] = {}
        self.failures: list[str] = []
        self.bodies: list[tuple[int, Any]] = []
        self._stop = asyncio.Event()
        self._n = itertools.count()
        self.tasks = [asyncio.create_task(self._run(m, gid, bases[i % len(bases)]))
                      for i, m in enumerate(members)]

    async def _run(self, member: RemoteMember, gid: int, base: str) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30, headers=member.headers) as c:
            while not self._stop.is_set():
                text = f"note {member.id}-{next(self._n)}"
                try:
                    r = await c.post(f"/api/v1/groups/{gid}/encouragements",
                                     json={"kind": "with_you", "text": text})
                except httpx.HTTPError as exc:
                    self.failures.append(f"{text}: {exc!r}")
                    await asyncio.sleep(0.1)
                    continue
                self.answers[text] = r.status_code
                if r.status_code != 201:
                    self.bodies.append((r.status_code, r.json() if r.content else None))
                    await asyncio.sleep(0.05)

    def count(self, status: int) -> int:
        return sum(1 for s in self.answers.values() if s == status)

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self.tasks)


def assert_contract_503(r: httpx.Response) -> None:
    assert r.status_code == 503, (r.status_code, r.text[:300])
    body = r.json()
    assert body["error"] == "unavailable" and "database" in body["detail"], body
    assert int(r.headers["retry-after"]) >= 1


async def serving(pg: PrivatePostgres, tmp_path: Path) -> tuple[str, LiveServer]:
    """A migrated database of its own on `pg`, and Cairn serving it."""
    url = pg.create_database("cairn")
    await asyncio.to_thread(migrate, url)
    return url, LiveServer(url, env=FAST_WRITES, log_path=tmp_path / "server.log").start()


async def four_in_a_group(server: LiveServer) -> tuple[list[RemoteMember], int]:
    people = [await remote_member(server.url) for _ in range(4)]
    return people, (await remote_group(*people))["id"]


async def test_postgres_stopped_mid_use_answers_503_then_recovers(private_postgres, tmp_path):
    pg = private_postgres
    url, server = await serving(pg, tmp_path)
    try:
        people, gid = await four_in_a_group(server)
        reader = Reader(people[0], gid, [server.ws_url])
        await asyncio.wait_for(reader.connected.wait(), 10)
        writers = Writers(people, gid, [server.url])
        await wait_for(lambda: writers.count(201) >= 40, 20)

        pg.stop("immediate")
        stopped = time.monotonic()
        async with httpx.AsyncClient(base_url=server.url, timeout=30,
                                     headers=people[1].headers) as c:
            await wait_for(lambda: writers.count(503) >= 10, 20)
            await asyncio.sleep(2)  # a real outage, not a blip
            assert_contract_503(await c.get("/api/v1/groups"))
            assert_contract_503(await c.get(f"/api/v1/groups/{gid}/commitments"))
            assert_contract_503(await c.post(f"/api/v1/groups/{gid}/commitments",
                                             json={"category": "rest", "text": "Nap"}))
            assert_contract_503(await c.post("/api/v1/auth/login",
                                             json={"username": "nobody", "password": "x" * 12}))
            page = await c.get("/groups")
            assert page.status_code == 503 and "text/html" in page.headers["content-type"]
            assert "cannot reach its database" in page.text
            ready = await c.get("/readyz")
            assert ready.status_code == 503
            assert ready.json() == {"status": "unavailable", "checks": {"database": "down"}}
            assert (await c.get("/healthz")).status_code == 200
            # A new socket is told to come back later, not left hanging or crashed.
            async with websockets.connect(f"{server.ws_url}/ws/groups/{gid}",
                                          additional_headers=people[2].headers,
                                          open_timeout=10) as ws:
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013

            pg.start()
            restarted = time.monotonic()
            ok_before = writers.count(201)
            await wait_for(lambda: _status(c.get("/readyz"), 200), 30)
            ready_after = time.monotonic() - restarted
            await wait_for(lambda: writers.count(201) > ok_before, 30)
            writes_after = time.monotonic() - restarted
            await wait_for(lambda: writers.count(201) >= ok_before + 20, 30)
        await writers.stop()
        committed = await committed_seqs(url, gid)
        await wait_for(lambda: reader.last_seq >= committed[-1], 30)
        await reader.stop()
        outage = restarted - stopped

        statuses = {s for s in writers.answers.values()}
        assert statuses <= {201, 503}, writers.bodies[:5]
        assert not writers.failures, writers.failures[:5]
        assert all(b == (503, {"error": "unavailable", "detail": b[1]["detail"]})
                   for b in writers.bodies), writers.bodies[:5]

        # Nothing half-written: each cheer has its event and each event its cheer; the log
        # has no gap; every 201 stuck.
        rows = await db_fetch(url, "SELECT id, text FROM encouragements WHERE group_id = $1", gid)
        events = await db_fetch(url, "SELECT seq, kind, data FROM events WHERE group_id = $1 "
                                     "ORDER BY seq", gid)
        last_seq = (await db_fetch(url, "SELECT last_seq FROM groups WHERE id = $1", gid))[0][0]
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(1, len(seqs) + 1)) and last_seq == len(seqs)
        sent = {json.loads(e["data"])["encouragement_id"] for e in events
                if e["kind"] == "encouragement.sent"}
        assert sent == {r["id"] for r in rows}
        texts = {r["text"] for r in rows}
        ok = {t for t, s in writers.answers.items() if s == 201}
        refused = {t for t, s in writers.answers.items() if s == 503}
        assert ok <= texts
        # A commit whose answer was lost when the server died may have stuck: at most the
        # ones in flight at that moment.
        assert len(refused & texts) <= len(people), refused & texts
        assert reader.seqs == [s for s in committed if s > reader.seqs[0] - 1]
        print(f"\npostgres outage: {outage:.1f}s down; {writers.count(201)} writes ok, "
              f"{writers.count(503)} answered 503; ready {ready_after:.2f}s and writing "
              f"{writes_after:.2f}s after PostgreSQL was back; socket reconnects "
              f"{reader.reconnects}, holds {len(reader.seqs)} events exactly")
    finally:
        server.stop()


async def test_postgres_restarted_while_quiet_fails_no_request_after(private_postgres, tmp_path):
    """Connections in use a moment ago are not pinged before each checkout; those that rested
    are, so a restart while the server was quiet costs no member a failed request."""
    pg = private_postgres
    _, server = await serving(pg, tmp_path)
    try:
        people, gid = await four_in_a_group(server)

        async def burst() -> list[int]:  # enough at once to hold several pooled connections
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
                answers = await asyncio.gather(
                    *(c.get(f"/api/v1/groups/{gid}/commitments", headers=p.headers)
                      for p in people for _ in range(3)),
                    *(c.post(f"/api/v1/groups/{gid}/encouragements", headers=p.headers,
                             json={"kind": "proud", "text": "still here"}) for p in people))
            return [r.status_code for r in answers]

        assert set(await burst()) == {200, 201}
        await asyncio.to_thread(pg.stop, "fast")
        await asyncio.to_thread(pg.start)
        # The quiet itself is what is tested: pooled connections older than the rest.
        await asyncio.sleep(PING_AFTER_REST)
        assert set(await burst()) == {200, 201}
    finally:
        server.stop()


async def _status(request, status: int) -> bool:
    try:
        return (await request).status_code == status
    except httpx.HTTPError:
        return False


async def test_redis_stopped_each_process_serves_its_own_then_all_catch_up(private_redis, tmp_path):
    await asyncio.to_thread(need_postgres)
    redis = private_redis
    url = await asyncio.to_thread(create_postgres_database)
    await asyncio.to_thread(migrate, url)
    env = {"CAIRN_REDIS_URL": redis.url, "CAIRN_REDIS_PREFIX": f"cairn-{uuid.uuid4().hex[:6]}",
           **FAST_WRITES}
    servers = [LiveServer(url, env=env, log_path=Path(tmp_path) / f"server{i}.log")
               for i in range(2)]
    try:
        for s in servers:
            s.start()
        a_srv, b_srv = servers
        people = [await remote_member(a_srv.url) for _ in range(6)]
        group = await remote_group(*people)
        gid = group["id"]
        start_seq = (await committed_seqs(url, gid))[-1]
        on_a = [Reader(p, gid, [a_srv.ws_url]) for p in people[:3]]
        on_b = [Reader(p, gid, [b_srv.ws_url]) for p in people[3:]]
        readers = on_a + on_b
        for r in readers:
            await asyncio.wait_for(r.connected.wait(), 10)

        async def post(member: RemoteMember, base: str, text: str) -> int:
            r = await member.post(f"/api/v1/groups/{gid}/encouragements",
                                  {"kind": "proud", "text": text}, base_url=base)
            assert r.status_code == 201, r.text
            return r.json()["seq"]

        # Both ways across processes while Redis is up.
        seq = await post(people[0], a_srv.url, "before, from a")
        await wait_for(lambda: all(r.last_seq >= seq for r in readers), 10)
        seq = await post(people[3], b_srv.url, "before, from b")
        await wait_for(lambda: all(r.last_seq >= seq for r in readers), 10)

        redis.stop()
        async with httpx.AsyncClient(timeout=10) as c:
            for s in servers:
                ready = await c.get(f"{s.url}/readyz")
                assert ready.status_code == 503, ready.text
                assert ready.json()["checks"] == {"database": "ok", "redis": "down"}
                assert (await c.get(f"{s.url}/healthz")).status_code == 200
        # Each process keeps serving its own sockets.
        seq_a = await post(people[1], a_srv.url, "during, from a")
        await wait_for(lambda: all(r.last_seq >= seq_a for r in on_a), 10)
        seq_b = await post(people[4], b_srv.url, "during, from b")
        await wait_for(lambda: all(r.last_seq >= seq_b for r in on_b), 10)
        during = [await post(people[i % 6], servers[i % 2].url, f"during {i}") for i in range(20)]
        # And a socket opened now on either process gets the whole log.
        async with people[5].socket(b_srv.ws_url, gid, last_seq=start_seq) as ws:
            welcome = await next_frame(ws)
            assert welcome["recovered"] and welcome["last_seq"] == max(during)

        redis.start()
        restarted = time.monotonic()
        last = max(during)
        caught_up = await wait_for(lambda: all(r.last_seq >= last for r in readers), 30)
        async with httpx.AsyncClient(timeout=10) as c:
            ready_after = await wait_for(lambda: _all_ready(c, servers), 30)
        # Across processes again, live.
        seq = await post(people[2], a_srv.url, "after, from a")
        t = time.monotonic()
        await wait_for(lambda: all(r.last_seq >= seq for r in on_b), 10)
        live_lag = time.monotonic() - t
        seq = await post(people[5], b_srv.url, "after, from b")
        await wait_for(lambda: all(r.last_seq >= seq for r in on_a), 10)

        committed = await committed_seqs(url, gid)
        for r in readers:
            await r.stop()
        expected = [s for s in committed if s > start_seq]
        for r in readers:
            assert r.seqs == expected, (r.seqs[-5:], expected[-5:])
        print(f"\nredis outage: {len(expected)} events, every one of {len(readers)} sockets holds "
              f"all exactly; caught up {caught_up:.2f}s and ready {ready_after:.2f}s after Redis "
              f"was back (since restart: {time.monotonic() - restarted:.1f}s); "
              f"cross-process lag then {live_lag * 1000:.0f} ms")
    finally:
        for s in servers:
            s.stop()
        await asyncio.to_thread(drop_postgres_database, url)


async def _all_ready(c: httpx.AsyncClient, servers: list[LiveServer]) -> bool:
    for s in servers:
        r = await c.get(f"{s.url}/readyz")
        if r.status_code != 200 or r.json()["checks"].get("redis") != "ok":
            return False
    return True
