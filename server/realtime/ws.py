"""/ws/groups/{gid}: sign-in and origin checks, welcome, replay from the log, live events,
presence and the `encourage` command."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.websockets import WebSocketDisconnect, WebSocketState

from server.accounts import service as accounts
from server.config import Settings
from server.db import Database, transaction
from server.deps import MAX_ID, SESSION_COOKIE
from server.encouragements import service as encouragements
from server.errors import AppError, NotFound
from server.groups import service as groups
from server.models import Membership, User
from server.observability import OPEN_SOCKETS, SLOW_READER_CLOSES, log_event
from server.realtime import frames, log
from server.realtime.hub import Hub

router = APIRouter()
logger = logging.getLogger("cairn.realtime.ws")

MAX_FRAME = 16 * 1024
# Frames waiting for one socket. The frames themselves are shared by every socket of the
# group, so a slot costs a reference; the bound is what a client that stopped reading
# may hold back before it is let go (4408) to resume from the log later.
QUEUE_SIZE = 1024
CLOSE_NOT_SIGNED_IN, CLOSE_FORBIDDEN, CLOSE_NO_GROUP, CLOSE_SLOW = 4401, 4403, 4404, 4408
CLOSE_BAD_ORIGIN, CLOSE_TOO_BIG, CLOSE_TRY_LATER = 1008, 1009, 1013


def socket_token(websocket: WebSocket) -> tuple[str | None, bool]:
    """(token, came from the cookie)."""
    scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), False
    cookie = websocket.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)


def origin_allowed(websocket: WebSocket, settings: Settings) -> bool:
    """A cookie-authenticated socket must come from one of the site's own pages
    (cross-site websocket hijacking would otherwise ride on the cookie)."""
    origin = websocket.headers.get("origin", "").rstrip("/")
    if not origin:
        return False
    if settings.allowed_origins:
        return origin in settings.allowed_origins
    host = websocket.headers.get("host", "")
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    return origin == f"{scheme}://{host}"


def parse_last_seq(websocket: WebSocket) -> int | None:
    raw = websocket.query_params.get("last_seq")
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if 0 <= value <= MAX_ID else None


class GroupSocket:
    """One member's live connection to one group; the hub offers it frames.

    An idle socket is most of what a process holds, so it is kept small: a plain deque
    for the frames, and a task that drains it only while there is something to send."""

    __slots__ = ("websocket", "is_moderator", "db", "user_id", "group_id", "delivered", "_queued",
                 "queue", "closing", "done", "_sending", "_sender", "receiver", "interrupted")

    def __init__(self, websocket: WebSocket, db: Database, user_id: int, group_id: int,
                 delivered: int, is_moderator: bool = False) -> None:
        self.websocket = websocket
        self.is_moderator = is_moderator
        self.db = db
        self.user_id = user_id
        self.group_id = group_id
        self.delivered = delivered  # highest seq sent to the client
        self._queued = delivered    # highest seq put in the queue
        self.queue: deque[tuple[int | None, str]] = deque()
        self.closing: tuple[int, str] | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sending = False  # the first frames are out: queued frames may go
        self._sender: asyncio.Task[None] | None = None
        self.receiver: asyncio.Task[Any] | None = None  # the connection's own task, receiving
        self.interrupted = False

    # -- Subscriber (called by the hub) ----------------------------------------------------

    def offer(self, seq: int, frame: str, placeholder: str | None = None) -> None:
        if seq <= self._queued or self.closing:
            return
        self._put(seq, frame if placeholder is None or self.is_moderator else placeholder)
        self._queued = seq

    def set_moderator(self, is_moderator: bool) -> None:
        self.is_moderator = is_moderator

    def offer_presence(self, frame: str) -> None:
        self.send_control(frame)

    def close_soon(self, code: int, reason: str) -> None:
        if self.closing is None:
            self._put(None, "", close=(code, reason))

    # -- queue -----------------------------------------------------------------------------

    def send_control(self, frame: str) -> None:
        if not self.closing:
            self._put(None, frame)

    def finish(self) -> None:
        """The socket ends: stop the receive loop if someone else (the hub, the sender)
        decided it."""
        if self.done.done():
            return
        self.done.set_result(None)
        receiver = self.receiver
        if receiver is not None and asyncio.current_task() is not receiver:
            self.interrupted = True
            receiver.cancel()

    def _put(self, seq: int | None, frame: str, close: tuple[int, str] | None = None) -> None:
        if len(self.queue) >= QUEUE_SIZE:
            # A client that stops reading is let go rather than growing memory or
            # slowing the others; it can come back with last_seq.
            SLOW_READER_CLOSES.inc()
            self.closing = (CLOSE_SLOW, "Too slow to read; reconnect with last_seq.")
            self.finish()
            return
        self.queue.append((seq, frame))
        if close is not None:
            self.closing = close
        self._drain_soon()

    def start_sending(self) -> None:
        """After the first frames: from now on the queue drains as frames arrive."""
        self._sending = True
        self._drain_soon()

    def _drain_soon(self) -> None:
        if self._sending and self.queue and self._sender is None and not self.done.done():
            self._sender = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.queue:
                seq, frame = self.queue.popleft()
                if seq is None:
                    if frame == "" and self.closing:  # the close marker
                        self.finish()
                        return
                    await self.websocket.send_text(frame)
                    continue
                if seq <= self.delivered:
                    continue
                if seq > self.delivered + 1:
                    await self.fill(upto=seq - 1)
                await self.websocket.send_text(frame)
                self.delivered = seq
                await self.after_event(frame)
        except Exception:  # the connection is gone: the socket ends
            self.finish()
        finally:
            self._sender = None
        self._drain_soon()  # a frame put while the last send was finishing

    async def stop_sending(self) -> None:
        self._sending = False
        task = self._sender
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def after_event(self, frame: str) -> None:
        """Hook for sockets that react to events (a room refreshes its state)."""

    async def fill(self, upto: int | None = None) -> int:
        """Send what the log holds after `delivered` (up to `upto`); returns how many."""
        sent = 0
        while upto is None or self.delivered < upto:
            rows = await log.read_since(self.db, self.group_id, self.delivered)
            rows = [r for r in rows if upto is None or r[0].seq <= upto]
            if not rows:
                break
            for event, actor in rows:
                frame, placeholder = frames.event_frames(event, actor)
                await self.websocket.send_text(
                    frame if placeholder is None or self.is_moderator else placeholder)
                self.delivered = event.seq
                sent += 1
        self._queued = max(self._queued, self.delivered)
        return sent


async def _refuse(websocket: WebSocket, code: int, reason: str) -> None:
    # Accept first: a close before accepting reaches a browser as a bare HTTP 403
    # with no code to act on.
    await websocket.accept()
    await websocket.close(code, reason)


Resolve = Callable[[AsyncSession, User], Awaitable[Membership]]


@dataclass(frozen=True)
class Admitted:
    user: User
    token: str
    group_id: int
    is_moderator: bool
    oldest: int
    last: int


async def admit(websocket: WebSocket, resolve: Resolve) -> Admitted | None:
    """Check the origin, the session and membership, or close with the contract's code.
    resolve() maps the signed-in user to their membership in the group of the thing asked
    for, raising NotFound for non-members."""
    settings: Settings = websocket.app.state.settings
    db: Database = websocket.app.state.db
    token, from_cookie = socket_token(websocket)
    if from_cookie and not origin_allowed(websocket, settings):
        await _refuse(websocket, CLOSE_BAD_ORIGIN, "This origin may not open Cairn's sockets.")
        return None
    try:
        async with transaction(db, write=False) as session:
            found = await accounts.authenticate(session, token) if token else None
            if found is None:
                await _refuse(websocket, CLOSE_NOT_SIGNED_IN, "Please sign in first.")
                return None
            user = found[0]
            try:
                membership = await resolve(session, user)
            except NotFound:
                await _refuse(websocket, CLOSE_NO_GROUP, "No such group.")
                return None
            oldest, last = await log.bounds(session, membership.group_id)
    except (OperationalError, DBAPIError, OSError):
        # The database is down: say "try again later" in a code a browser can see.
        if websocket.application_state == WebSocketState.CONNECTING:
            await _refuse(websocket, CLOSE_TRY_LATER, "Cairn cannot reach its database right now.")
        return None
    return Admitted(user, token or "", membership.group_id, membership.role == "moderator",
                    oldest, last)


Command = Callable[["GroupSocket", dict[str, Any], str], Awaitable[None]]


async def serve(websocket: WebSocket, sock: GroupSocket, token: str, on_command: Command,
                first_frames: Callable[[], Awaitable[None]]) -> None:
    """Attach to the hub, send the first frames, then run the send and receive loops until
    either ends; always detach and close with the reason, if any."""
    hub: Hub = websocket.app.state.hub
    kind = "room" if hasattr(sock, "room_id") else "group"
    opened = time.monotonic()
    await hub.attach(sock.group_id, sock, sock.delivered)
    OPEN_SOCKETS.labels(kind).inc()
    log_event("socket.open", kind=kind, group_id=sock.group_id, user_id=sock.user_id)
    try:
        await first_frames()
        sock.start_sending()
        # Receive on the connection's own task (no second task per idle socket); finish()
        # from elsewhere interrupts it.
        sock.receiver = asyncio.current_task()
        if not sock.done.done():
            await _receive_loop(websocket, sock, token, on_command)
    except asyncio.CancelledError:
        if not sock.interrupted:
            raise
        asyncio.current_task().uncancel()
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        sock.receiver = None
        await sock.stop_sending()
        await hub.detach(sock.group_id, sock)
        OPEN_SOCKETS.labels(kind).dec()
        if sock.closing and websocket.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(websocket.close(*sock.closing), 2)
        log_event("socket.close", kind=kind, group_id=sock.group_id, user_id=sock.user_id,
                  code=sock.closing[0] if sock.closing else None,
                  seconds=round(time.monotonic() - opened, 1))


@router.websocket("/ws/groups/{gid}")
async def group_socket(websocket: WebSocket, gid: int) -> None:
    """Live group events; auth by session cookie (with an Origin check) or bearer token."""

    async def resolve(session: AsyncSession, user: User) -> Membership:
        if not 1 <= gid <= MAX_ID:
            raise NotFound()
        return (await groups.membership_of(session, gid, user.id))[1]

    admitted = await admit(websocket, resolve)
    if admitted is None:
        return
    oldest, last = admitted.oldest, admitted.last
    asked = parse_last_seq(websocket)
    if asked is None:
        start, recovered = last, True
    elif asked <= last and asked + 1 >= oldest:
        start, recovered = asked, True
    else:
        start, recovered = last, False  # too old to replay (or from another database)
    missed = last - start if recovered else max(0, last - (asked or 0))
    await websocket.accept()
    sock = GroupSocket(websocket, websocket.app.state.db, admitted.user.id, gid, delivered=start,
                       is_moderator=admitted.is_moderator)
    token = admitted.token
    del admitted  # an idle socket does not keep the signed-in user's row

    async def first_frames() -> None:
        await websocket.send_text(frames.welcome(gid, last, recovered, missed))
        await sock.fill()

    await serve(websocket, sock, token, _group_command, first_frames)


async def _receive_loop(websocket: WebSocket, sock: GroupSocket, token: str,
                        on_command: Command) -> None:
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                sock.send_control(frames.error("binary_not_supported",
                                               "Send JSON text frames."))
                continue
            if len(text.encode()) > MAX_FRAME:
                sock.closing = (CLOSE_TOO_BIG, "Frames are at most 16 KiB.")
                break
            try:
                command = json.loads(text)
            except (ValueError, RecursionError):
                sock.send_control(frames.error("bad_json", "That frame is not valid JSON."))
                continue
            if not isinstance(command, dict) or not isinstance(command.get("type"), str):
                sock.send_control(frames.error("bad_command", 'Send an object with a "type".'))
                continue
            if command["type"] == "ping":
                sock.send_control(frames.PONG)
            else:
                await on_command(sock, command, token)
            if sock.done.done():
                # Ended while answering (the answers overflowed a client that does not
                # read them, or the command ended the session): close, do not keep reading.
                break
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        sock.finish()


async def _group_command(sock: GroupSocket, command: dict[str, Any], token: str) -> None:
    if command["type"] == "encourage":
        await _encourage(sock, command, token, sock.websocket.app.state.settings)
    else:
        sock.send_control(frames.error("unknown_command",
                                       f"Unknown command: {command['type'][:40]}"))


def _optional_id(command: dict[str, Any], key: str) -> int | None:
    value = command.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise AppError(f"{key} must be a positive integer.", code="invalid")
    return value


async def _encourage(sock: GroupSocket, command: dict[str, Any], token: str,
                     settings: Settings) -> None:
    try:
        kind, text = command.get("kind"), command.get("text")
        if not isinstance(kind, str) or (text is not None and not isinstance(text, str)):
            raise AppError("kind is a string and text, if given, is a string.", code="invalid")
        commitment_id, to_user_id = _optional_id(command, "commitment_id"), _optional_id(
            command, "to_user_id")

        async def write() -> None:
            async with transaction(sock.db, write=True) as session:
                found = await still_member(session, sock, token)
                if found is not None:
                    await encouragements.send(
                        session, *found, kind=kind, text=text,
                        commitment_id=commitment_id, to_user_id=to_user_id,
                        per_minute=settings.encouragements_per_minute)

        # Shielded: a command that reached the database finishes even if the socket drops.
        await asyncio.shield(write())
    except AppError as exc:
        sock.send_control(frames.error(exc.code, exc.detail))
    except Exception:
        logger.exception("encourage command failed")
        sock.send_control(frames.error("unavailable", "That did not go through. Try again."))


async def still_member(session: AsyncSession, sock: GroupSocket,
                       token: str) -> tuple[User, Membership] | None:
    """Membership (and the session itself) are checked again on every command."""
    found = await accounts.authenticate_in_group(session, token, sock.group_id)
    if found is None:
        sock.close_soon(CLOSE_NOT_SIGNED_IN, "Your session has ended.")
        return None
    user, membership = found
    if membership is None:
        sock.close_soon(CLOSE_FORBIDDEN, "You are no longer a member of this group.")
        return None
    return user, membership
