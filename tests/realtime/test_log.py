"""The event log on both databases: gapless seqs under concurrent writers, and retention."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select

from server import clock
from server.db import transaction
from server.models import Event
from server.realtime import log
from server.retention import prune_once


async def _seqs(app, gid: int) -> list[int]:
    async with transaction(app.state.db, write=False) as session:
        return list((await session.scalars(
            select(Event.seq).where(Event.group_id == gid).order_by(Event.seq))).all())


async def test_concurrent_writers_get_gapless_seqs(app, clients):
    people = [await clients.member() for _ in range(4)]
    group = await clients.group(*people)
    gid = group["id"]

    async def post(member, n):
        for i in range(n):
            r = await member.post(f"/api/v1/groups/{gid}/encouragements",
                                  {"kind": "with_you", "text": str(i)})
            assert r.status_code == 201, r.text

    await asyncio.gather(*(post(p, 8) for p in people))
    seqs = await _seqs(app, gid)
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(seqs) == 3 + 4 * 8  # three joins, then every encouragement


async def test_since_reads_in_order_with_actor(app, clients):
    a, b = await clients.member(), await clients.member()
    group = await clients.group(a, b)
    await a.post(f"/api/v1/groups/{group['id']}/encouragements", {"kind": "proud"})
    async with transaction(app.state.db, write=False) as session:
        rows = await log.since(session, group["id"], 0)
    assert [(e.seq, e.kind, u.id) for e, u in rows] == [
        (1, "member.joined", b.id), (2, "encouragement.sent", a.id)]


async def test_retention_keeps_the_last_n_and_the_last_days(app, clients):
    a, b = await clients.member(), await clients.member()
    group = await clients.group(a, b)
    gid = group["id"]
    for i in range(6):
        await a.post(f"/api/v1/groups/{gid}/encouragements", {"kind": "proud", "text": str(i)})
    db = app.state.db
    db.settings = db.settings.model_copy(update={"event_retention_count": 4})
    assert (await prune_once(db))["events"] == 3
    assert await _seqs(app, gid) == [4, 5, 6, 7]
    async with transaction(db, write=False) as session:
        assert await log.oldest(session, gid) == 4
    # Thirty days later everything is past the age limit.
    clock.travel(dt.timedelta(days=31))
    try:
        assert (await prune_once(db))["events"] == 4
        async with transaction(db, write=False) as session:
            assert await log.oldest(session, gid) is None
    finally:
        clock.travel(dt.timedelta(0))
