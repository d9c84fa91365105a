"""/ws/roleplays/{rid}: a live role-play room. Same sign-in, origin and envelope rules as the
group socket; the room's full state is sent after every change, each person's own view."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from typing import Any

from fastapi import APIRouter, WebSocket
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import Database, transaction
from server.deps import MAX_ID
from server.errors import AppError, NotFound
from server.models import Membership, User
from server.realtime import frames
from server.realtime.ws import CLOSE_FORBIDDEN, Admitted, GroupSocket, admit, serve, still_member
from server.roleplay import machine
from server.roleplay import service as roleplay

router = APIRouter()
logger = logging.getLogger("cairn.roleplay.ws")


class RoomTimers:
    """One timer per room per process, set to the room's stored deadline. When it fires the
    process asks the service to advance the room; the room's lock makes that happen once
    across every process that had a timer."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._timers: dict[int, tuple[str, asyncio.Task[None]]] = {}

    def schedule(self, room_id: int, deadline: str | None) -> None:
        current = self._timers.get(room_id)
        if current and current[0] == deadline and not current[1].done():
            return
        if current:
            current[1].cancel()
            self._timers.pop(room_id, None)
        if deadline:
            self._timers[room_id] = (deadline, asyncio.create_task(self._fire(room_id, deadline)))

    async def _fire(self, room_id: int, deadline: str) -> None:
        from server import clock

        wait = (machine.parse_time(deadline) - clock.now()).total_seconds()
        await asyncio.sleep(max(0.0, wait) + 0.05)

        async def advance() -> None:
            async with transaction(self.db) as session:
                await roleplay.tick(session, room_id)

        try:
            await asyncio.shield(advance())
        except Exception:
            logger.warning("room %s timer could not advance", room_id, exc_info=True)
        finally:
            if self._timers.get(room_id, (None,))[0] == deadline:
                self._timers.pop(room_id, None)

    def stop(self) -> None:
        for _, task in self._timers.values():
            task.cancel()
        self._timers.clear()


def timers_of(websocket: WebSocket) -> RoomTimers:
    state = websocket.app.state
    if getattr(state, "room_timers", None) is None:
        state.room_timers = RoomTimers(state.db)
    return state.room_timers


# Room commands that went through, per socket, in a window: far above a lively scene's
# pace, and low enough that raising and lowering a hand in a loop cannot flood the
# group's event log. Refused commands and repeats do not count: they write nothing.
COMMANDS_PER_WINDOW, WINDOW_SECONDS = 20, 10.0


class RoomSocket(GroupSocket):
    """A group socket that also keeps one room's view fresh."""

    def __init__(self, websocket: WebSocket, db: Database, admitted: Admitted, room_id: int) -> None:
        super().__init__(websocket, db, admitted.user.id, admitted.group_id, admitted.last,
                         moderators=admitted.moderators_last, reads_moderators=admitted.is_moderator,
                         token_hash=admitted.token_hash, expires=admitted.expires)
        self.user = admitted.user
        self.room_id = room_id
        self.recent: deque[float] = deque(maxlen=COMMANDS_PER_WINDOW)

    def over_limit(self) -> bool:
        return (len(self.recent) == COMMANDS_PER_WINDOW
                and time.monotonic() - self.recent[0] < WINDOW_SECONDS)

    async def after_event(self, frame: str) -> None:
        if '"roleplay.' not in frame:
            return
        event = json.loads(frame)
        if event["kind"].startswith("roleplay.") and event["data"].get("room_id") == self.room_id:
            await self.send_view()

    async def send_view(self) -> None:
        async def read() -> dict[str, Any] | None:
            async with transaction(self.db, write=False) as session:
                try:
                    room, membership = await roleplay.room_for(session, self.user, self.room_id)
                except NotFound:
                    return None
                return await roleplay.view(session, room, self.user,
                                           membership.role == "moderator")

        view = await asyncio.shield(read())
        if view is None or view["me"]["removed"]:
            self.close_soon(CLOSE_FORBIDDEN, "You are no longer in this room.")
            return
        await self.websocket.send_text(json.dumps(view))
        timers_of(self.websocket).schedule(self.room_id, view["deadline"])


async def _room_command(sock: GroupSocket, command: dict[str, Any]) -> None:
    assert isinstance(sock, RoomSocket)
    if command["type"] not in machine.COMMANDS:
        sock.send_control(frames.error("unknown_command", f"Unknown command: {command['type'][:40]}"))
        return
    if sock.over_limit():
        sock.send_control(frames.error("rate_limited", "That is a lot at once. Take a breath; "
                                       "the room will be here in a moment."))
        return

    async def write() -> bool:
        async with transaction(sock.db) as session:
            found = await still_member(session, sock)
            return found is not None and await roleplay.command(session, found[0], sock.room_id,
                                                                 command)

    try:
        if await asyncio.shield(write()):  # only a change counts towards the limit
            sock.recent.append(time.monotonic())
    except machine.NotAllowed as refused:
        sock.send_control(frames.error(refused.code, refused.detail))
    except AppError as exc:
        sock.send_control(frames.error(exc.code, exc.detail))
    except Exception:
        logger.exception("room command failed")
        sock.send_control(frames.error("unavailable", "That did not go through. Try again."))


@router.websocket("/ws/roleplays/{rid}")
async def room_socket(websocket: WebSocket, rid: int) -> None:
    """A live room; auth by session cookie (with an Origin check) or bearer token."""

    async def resolve(session: AsyncSession, user: User) -> Membership:
        if not 1 <= rid <= MAX_ID:
            raise NotFound()
        return (await roleplay.room_for(session, user, rid))[1]

    admitted = await admit(websocket, resolve)
    if admitted is None:
        return
    await websocket.accept()
    sock = RoomSocket(websocket, websocket.app.state.db, admitted, rid)

    async def first_frames() -> None:
        await sock.send_view()

    await serve(websocket, sock, _room_command, first_frames)
