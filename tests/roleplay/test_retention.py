"""Role-play history is kept for CAIRN_ROLEPLAY_RETENTION_DAYS, then pruned with what hangs off it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from server import clock
from server.db import transaction
from server.models import Feedback, Room, Round, Transcript
from server.retention import prune_once


async def _count(db, model) -> int:
    async with transaction(db, write=False) as session:
        return await session.scalar(select(func.count()).select_from(model))


async def _practise(db, room_id: int, group_id: int, user_id: int, number: int,
                    at: dt.datetime) -> None:
    async with transaction(db) as session:
        rnd = Round(room_id=room_id, group_id=group_id, number=number, practitioner_id=user_id,
                    intensity=1, boundary="I will not lend money again.", created_at=at)
        session.add(rnd)
        await session.flush()
        session.add(Feedback(round_id=rnd.id, attempt=1, from_user_id=None, role="observer",
                             style="assertive", worked="Clear and kind.", created_at=at))
        session.add(Transcript(round_id=rnd.id, user_id=user_id, lines=[], created_at=at))


async def test_old_rounds_and_ended_rooms_are_pruned(app, clients):
    mod, a, b = await clients.member(), await clients.member(), await clients.member()
    group = await clients.group(mod, a, b)
    gid = group["id"]
    r = await mod.post(f"/api/v1/groups/{gid}/roleplays", {"title": "Old practice"})
    assert r.status_code == 201, r.text
    old_room = r.json()["id"]
    db = app.state.db
    now = clock.now()
    long_ago = now - dt.timedelta(days=200)
    await _practise(db, old_room, gid, a.id, 1, long_ago)
    await _practise(db, old_room, gid, a.id, 2, now - dt.timedelta(days=10))
    async with transaction(db) as session:
        room = await session.get(Room, old_room)
        room.phase, room.ended_at = "ended", long_ago

    r = await mod.post(f"/api/v1/groups/{gid}/roleplays", {"title": "This week"})
    assert r.status_code == 201, r.text
    await _practise(db, r.json()["id"], gid, b.id, 1, long_ago)
    await _practise(db, r.json()["id"], gid, b.id, 2, now - dt.timedelta(days=1))

    removed = await prune_once(db)
    # The ended room (and its recent round), and the open room's old round.
    assert removed["roleplay"] == 3
    async with transaction(db, write=False) as session:
        left = (await session.execute(select(Round.room_id, Round.number))).all()
    assert left == [(r.json()["id"], 2)]
    assert await _count(db, Feedback) == 1 and await _count(db, Transcript) == 1
    assert await _count(db, Room) == 1
    assert (await prune_once(db))["roleplay"] == 0  # a second pass finds nothing
