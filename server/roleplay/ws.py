"""/ws/roleplays/{rid}: a live role-play room. Same sign-in, origin and envelope rules as the
group socket. After every change each person gets the room as they may see it: the room is
read once per change in this process, and cut per person in memory (views.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock, i18n
from server.db import Database, transaction
from server.deps import MAX_ID
from server.errors import AppError, NotFound
from server.i18n import N_
from server.models import Membership, User
from server.realtime import frames
from server.realtime.ws import (
    CLOSE_FORBIDDEN,
    Admitted,
    GroupSocket,
    admit,
    carry_out,
    ref_of,
    serve,
    socket_language,
    still_member,
)
from server.roleplay import machine, pages, views
from server.roleplay import service as roleplay
from server.roleplay.views import RoomView, RoomViews

router = APIRouter()
logger = logging.getLogger("cairn.roleplay.ws")


class RoomTimers:
    """One timer per room per process, set to the room's stored deadline. When it fires the
    process asks the service to advance the room; the room's lock makes that happen once
    across every process that had a timer."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._timers: dict[int, tuple[dt.datetime, asyncio.Task[None]]] = {}

    def schedule(self, room_id: int, deadline: dt.datetime | None) -> None:
        current = self._timers.get(room_id)
        if current and current[0] == deadline and not current[1].done():
            return
        if current:
            current[1].cancel()
            self._timers.pop(room_id, None)
        if deadline is not None:
            self._timers[room_id] = (deadline, asyncio.create_task(self._fire(room_id, deadline)))

    async def _fire(self, room_id: int, deadline: dt.datetime) -> None:
        wait = (deadline - clock.now()).total_seconds()
        await asyncio.sleep(max(0.0, wait) + 0.05)

        async def advance() -> None:
            async with transaction(self.db) as session:
                await roleplay.tick(session, room_id)

        try:
            await asyncio.shield(advance())
        except Exception:
            logger.warning("room %s timer could not advance", room_id, exc_info=True)
        finally:
            current = self._timers.get(room_id)
            if current is not None and current[0] == deadline:
                self._timers.pop(room_id, None)

    def stop(self) -> None:
        for _, task in self._timers.values():
            task.cancel()
        self._timers.clear()


@dataclass
class RoomLive:
    """What the rooms keep in one process: each room's newest view and its timer."""

    db: Database
    timers: RoomTimers
    views: RoomViews

    async def read(self, room_id: int) -> RoomView | None:
        async with transaction(self.db, write=False) as session:
            return await roleplay.read_view(session, room_id)

    async def view(self, room_id: int, version: int) -> RoomView | None:
        """The room at `version` or newer: read once in this process, however many ask."""
        return await self.views.at_least(room_id, version, lambda: self.read(room_id))

    async def fresh(self, room_id: int) -> RoomView | None:
        """The room as stored now (a socket's first frame: this process may have missed
        changes made while none of its sockets were in the group)."""
        found = await asyncio.shield(self.read(room_id))
        if found is None:
            self.views.forget(room_id)
            return None
        self.views.put(found)
        held = self.views.held(room_id)
        return held if held is not None and held.version > found.version else found


def start(state: Any, db: Database) -> RoomLive:
    """At startup: the rooms' views and timers for this process (on app.state)."""
    timers = RoomTimers(db)
    live = RoomLive(db, timers, RoomViews(
        on_read=lambda v: timers.schedule(v.room_id, v.deadline)))
    state.room_live = live
    return live


def stop(state: Any) -> None:
    live: RoomLive | None = getattr(state, "room_live", None)
    if live is not None:
        live.timers.stop()


def live_of(websocket: WebSocket) -> RoomLive:
    live: RoomLive | None = getattr(websocket.app.state, "room_live", None)
    if live is None:  # an app built without the lifespan (some tests)
        live = start(websocket.app.state, websocket.app.state.db)
    return live


# Room commands that went through, per socket, in a window: far above a lively scene's
# pace, and low enough that raising and lowering a hand in a loop cannot flood the
# group's event log. Refused commands and repeats do not count: they write nothing.
COMMANDS_PER_WINDOW, WINDOW_SECONDS = 20, 10.0
TOO_FAST = N_("That is a lot at once. Take a breath; the room will be here in a moment.")


class RoomSocket(GroupSocket):
    """A group socket that also keeps one room's view fresh."""

    kind = "room"

    def __init__(self, websocket: WebSocket, db: Database, admitted: Admitted, room_id: int) -> None:
        super().__init__(websocket, db, admitted.user.id, admitted.group_id, admitted.last,
                         moderators=admitted.moderators_last, reads_moderators=admitted.is_moderator,
                         token_hash=admitted.token_hash, expires=admitted.expires,
                         receive_only=bool(admitted.user.receive_only),
                         language=socket_language(websocket, admitted.user))
        # The room's own parts come with its frames (?fragments=1); the group's events reach
        # a room page as data only, as they always did (their markup is the day page's).
        self.room_fragments = websocket.query_params.get("fragments") == "1"
        self.room_id = room_id
        self.live = live_of(websocket)
        self.sent_version = 0
        self.drawn: pages.Drawn | None = None  # what this socket's page shows (fragments only)
        self.recent: deque[float] = deque(maxlen=COMMANDS_PER_WINDOW)

    def over_limit(self) -> bool:
        return (len(self.recent) == COMMANDS_PER_WINDOW
                and time.monotonic() - self.recent[0] < WINDOW_SECONDS)

    async def after_event(self, frame: str) -> None:
        if '"roleplay.' not in frame:
            return
        event = json.loads(frame)
        data = event["data"]
        if event["kind"].startswith("roleplay.") and data.get("room_id") == self.room_id:
            version = data.get("version")
            view = await self.live.view(self.room_id, version if isinstance(version, int) else 0)
            await self.send_view(view)

    async def send_first_view(self) -> None:
        await self.send_view(await self.live.fresh(self.room_id))

    async def send_view(self, view: RoomView | None) -> None:
        if view is None:
            self.close_soon(CLOSE_FORBIDDEN, "You are no longer in this room.")
            return
        if view.version < self.sent_version:
            return  # never an older room than this socket has shown
        # (The same version again is sent: after every room event comes the room's frame.)
        # The socket's own standing: it follows the group's events (a moderator who stops
        # moderating, a member removed from the group), so nothing is read here.
        projected = views.project(view, self.user_id, self.reads_moderators,
                                  language=self.language)
        if projected["me"]["removed"]:
            self.close_soon(CLOSE_FORBIDDEN, "You are no longer in this room.")
            return
        self.sent_version = view.version
        if self.room_fragments:
            page = pages.page_of(view, self.user_id, self.reads_moderators, projected, live=True,
                                 language=self.language)
            projected["html"], self.drawn = pages.swaps(page, self.drawn, view.drawn,
                                                        self.language)
        await self.websocket.send_text(json.dumps(projected))


async def _room_command(sock: GroupSocket, raw: dict[str, Any]) -> None:
    assert isinstance(sock, RoomSocket)
    ref = ref_of(raw)  # a client that names its commands gets each one answered
    gettext = i18n.installed().for_language(sock.language).gettext
    try:
        command = machine.command_of(raw)
    except AppError as refused:
        sock.send_control(frames.error(refused.code, refused.said(gettext), ref))
        return
    if sock.over_limit():
        sock.send_control(frames.error("rate_limited", gettext(TOO_FAST), ref))
        return

    async def write() -> roleplay.Changed | None:
        async with transaction(sock.db) as session:
            found = await still_member(session, sock)
            if found is None:
                return None
            try:
                return await roleplay.command(session, found[0], sock.room_id, command)
            except AppError as refused:
                # Refused: answered in the sender's language (the detail goes in the frame).
                refused.detail = refused.said(gettext)
                raise

    went, done = await carry_out(sock, ref, write)
    if not went:
        return
    if done:  # only a change counts towards the limit
        sock.recent.append(time.monotonic())
    if done is not None and ref is not None:
        sock.send_control(frames.ack(ref, done.seq, None))


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
    del admitted  # an open socket does not keep the signed-in user's row
    await serve(websocket, sock, _room_command, sock.send_first_view)
