"""Opening a practice room: one open room per group, even when two moderators open at once."""

from __future__ import annotations

import asyncio

from server import clock
from server.db import transaction
from server.models import Room


async def test_two_moderators_opening_at_once_get_one_room(app, clients):
    first, second, member = await clients.member(), await clients.member(), await clients.member()
    group = await clients.group(first, second, member)
    gid = group["id"]
    r = await first.patch(f"/api/v1/groups/{gid}/members/{second.id}", {"role": "moderator"})
    assert r.status_code == 200, r.text
    for _ in range(5):
        answers = await asyncio.gather(
            first.post(f"/api/v1/groups/{gid}/roleplays", {"title": "Mine"}),
            second.post(f"/api/v1/groups/{gid}/roleplays", {"title": "Mine too"}))
        assert sorted(a.status_code for a in answers) == [201, 409]
        opened = next(a.json() for a in answers if a.status_code == 201)
        assert next(a.json() for a in answers if a.status_code == 409)["error"] == "room_open"
        r = await first.get(f"/api/v1/groups/{gid}/roleplays")
        assert [room["id"] for room in r.json()] == [opened["id"]]
        async with transaction(app.state.db) as session:  # the moderator ends it
            room = await session.get(Room, opened["id"])
            room.phase, room.ended_at = "ended", clock.now()
