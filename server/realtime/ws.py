"""/ws/groups/{gid}: sign-in and origin checks, welcome, replay from the log, live events,
presence and the `encourage` command."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import APIRouter, WebSocket
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.websockets import WebSocketDisconnect, WebSocketState

from server import clock, i18n
from server.config import Settings
from server.csrf import SESSION_COOKIE, same_origin
from server.db import Database, transaction
from server.deps import MAX_ID
from server.errors import AppError, NotFound
from server.i18n import N_
from server.models import AuthSession, Group, Membership, User
from server.observability import OPEN_SOCKETS, SLOW_READER_CLOSES, log_event
from server.realtime import frames, log
from server.realtime.fragments import LiveEvent
from server.realtime.frames import Resume
from server.realtime.hub import Effect, Hub, effect_of
from server.realtime.log import GROUP, MODERATORS
from server.realtime.wiring import required, wiring

router = APIRouter()
logger = logging.getLogger("cairn.realtime.ws")
T = TypeVar("T")

MAX_FRAME = 16 * 1024
# Frames waiting for one socket. The frames themselves are shared by every socket of the
# group, so a slot costs a reference; the bound is what a client that stopped reading
# may hold back before it is let go (4408) to resume from the log later.
QUEUE_SIZE = 1024
CLOSE_NOT_SIGNED_IN, CLOSE_FORBIDDEN, CLOSE_NO_GROUP, CLOSE_SLOW = 4401, 4403, 4404, 4408
CLOSE_BAD_ORIGIN, CLOSE_TOO_BIG, CLOSE_TRY_LATER = 1008, 1009, 1013
CLOSE_TOO_MANY = 4429
# Sockets one member may hold open on one process: every group page and room on a few
# devices fits; hundreds from one account do not.
SOCKETS_PER_MEMBER = 20


def socket_token(websocket: WebSocket) -> tuple[str | None, bool]:
    """(token, came from the cookie)."""
    scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), False
    cookie = websocket.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)


def socket_language(websocket: WebSocket, user: User | None = None) -> str:
    """The language a socket's words are said in (its error frames, its close reasons, the
    fragments it receives): the member's own `language` if that language is offered, else what
    the handshake's Accept-Language prefers among the offered ones, else English. Read once, as
    the socket opens: a member whose language changes reads the new one from their next
    connection on (a page reload or a reconnect)."""
    headers = getattr(websocket, "headers", None)
    return i18n.installed().choose(user.language if user is not None else None, None,
                                   headers.get("accept-language") if headers is not None else None)


def close_reason(text: str) -> str:
    """A close frame's reason: at most 123 bytes of UTF-8, cut at a whole character."""
    return text.encode("utf-8")[:123].decode("utf-8", "ignore")


def origin_allowed(websocket: WebSocket, settings: Settings) -> bool:
    """A cookie-authenticated socket must come from one of the site's own pages
    (cross-site websocket hijacking would otherwise ride on the cookie)."""
    origin = websocket.headers.get("origin", "")
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    return bool(origin) and same_origin(origin, scheme, websocket.headers.get("host", ""),
                                        settings.allowed_origins)


class GroupSocket:
    """One member's live connection to one group; the hub offers it frames.

    The socket reads the shared stream always and the moderators' stream while its member
    moderates. Every event frame is shown through _show(), in seq order per stream, live or
    replayed alike: that is where what an event ends (membership, moderating) and the
    session's expiry take effect, so no frame follows the event that ended the right to it.

    An idle socket is most of what a process holds, so it is kept small: a plain deque
    for the frames, and a task that drains it only while there is something to send."""

    __slots__ = ("websocket", "db", "user_id", "group_id", "membership_id", "token_hash", "expires", "delivered",
                 "_queued", "mod_delivered", "_mod_queued", "reads_moderators", "admitted_at",
                 "queue", "closing", "done", "_sending", "_sender", "receiver", "interrupted",
                 "fragments", "receive_only", "language", "_progress")

    kind = "group"  # what the socket reads: "group" here, "room" for a practice room's

    def __init__(self, websocket: WebSocket, db: Database, user_id: int, group_id: int,
                 delivered: int, moderators: int = 0, reads_moderators: bool = False,
                 token_hash: str = "", expires: dt.datetime | None = None,
                 admitted_at: int | None = None, fragments: bool = False,
                 receive_only: bool = False, language: str | None = None,
                 membership_id: int = 0) -> None:
        self.websocket = websocket
        # What the socket's words and fragments are said in (socket_language; from the
        # handshake alone when the opener does not say).
        self.language = language or socket_language(websocket)
        # The page asked for rendered markup beside each event's data (`?fragments=1`).
        self.fragments = fragments
        self.receive_only = receive_only
        self.db = db
        self.user_id = user_id
        self.group_id = group_id
        self.membership_id = membership_id  # the member's in the group (0: not needed)
        self.token_hash = token_hash
        self.expires = expires  # when the session ends (Cairn's clock)
        self.delivered = delivered  # highest seq of the shared stream sent to the client
        self._queued = delivered    # ... put in the queue
        self.mod_delivered = moderators  # the same for the moderators' stream (shown or not)
        self._mod_queued = moderators
        self.reads_moderators = reads_moderators
        # The shared stream's last seq when the socket was let in: a membership an older event
        # ended (their own member.left, before they came back) was weighed then, so a replay
        # of it closes nothing.
        self.admitted_at = delivered if admitted_at is None else admitted_at
        self.queue: deque[tuple[str | None, int, LiveEvent | str, Effect | None]] = deque()
        self.closing: tuple[int, str] | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sending = False  # the first frames are out: queued frames may go
        self._sender: asyncio.Task[None] | None = None
        self.receiver: asyncio.Task[Any] | None = None  # the connection's own task, receiving
        self.interrupted = False
        self._progress: asyncio.Event | None = None  # set as the queue shrinks, while the hub waits

    def cursors(self) -> dict[str, int]:
        return {GROUP: self.delivered, MODERATORS: self.mod_delivered}

    # -- Subscriber (called by the hub) ----------------------------------------------------

    def offer(self, stream: str, seq: int, frame: LiveEvent, effect: Effect | None = None) -> None:
        if self.closing:
            return
        if stream == GROUP:
            if seq <= self._queued:
                return
            self._queued = seq
        else:
            if seq <= self._mod_queued:
                return
            self._mod_queued = seq
        self._put(stream, seq, frame, effect)

    def offer_presence(self, frame: str) -> None:
        self.send_control(frame)

    def has_room(self, frames: int) -> bool:
        """Whether `frames` more fit in the queue without overflowing it (a socket that is
        ending takes nothing more, so it never needs room)."""
        return (self.closing is not None or self.done.done()
                or len(self.queue) + frames <= QUEUE_SIZE)

    async def room_for(self, frames: int) -> None:
        """Wait until has_room(frames)."""
        while not self.has_room(frames):
            self._progress = progress = asyncio.Event()
            try:
                await progress.wait()
            finally:
                if self._progress is progress:
                    self._progress = None

    def say(self, message: str, **params: Any) -> str:
        """A message marked with N_, in this socket's language."""
        return i18n.gettext(self.language, message, **params)

    def said(self, error: AppError) -> str:
        """An error's detail in this socket's language."""
        return error.said(i18n.installed().for_language(self.language).gettext)

    def close_soon(self, code: int, reason: str) -> None:
        """Close after the frames already queued (they were committed before the ending);
        `reason` is marked with N_ and said in the socket's language."""
        if self.closing is None:
            self._put(None, 0, "", close=(code, close_reason(self.say(reason))))

    def expired(self) -> bool:
        return self.expires is not None and clock.now() >= self.expires

    # -- queue -----------------------------------------------------------------------------

    def send_control(self, frame: str) -> None:
        if not self.closing:
            self._put(None, 0, frame)

    def finish(self) -> None:
        """The socket ends: stop the receive loop if someone else (the hub, the sender)
        decided it."""
        if self.done.done():
            return
        self.done.set_result(None)
        self._moved()
        receiver = self.receiver
        if receiver is not None and asyncio.current_task() is not receiver:
            self.interrupted = True
            receiver.cancel()

    def _end(self, code: int, reason: str) -> None:
        """End now: nothing queued is sent any more (`reason` marked with N_)."""
        if self.closing is None:
            self.closing = (code, close_reason(self.say(reason)))
        self.queue.clear()
        self.finish()

    def _put(self, stream: str | None, seq: int, frame: LiveEvent | str, effect: Effect | None = None,
             close: tuple[int, str] | None = None) -> None:
        if len(self.queue) >= QUEUE_SIZE:
            # A client that stops reading is let go rather than growing memory or
            # slowing the others; it can come back with last_seq.
            SLOW_READER_CLOSES.inc()
            self.closing = (CLOSE_SLOW, close_reason(
                self.say(N_("Too slow to read; reconnect with last_seq."))))
            self.finish()
            return
        self.queue.append((stream, seq, frame, effect))
        if close is not None:
            self.closing = close
            self._moved()
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
            while self.queue and not self.done.done():
                stream, seq, frame, effect = self.queue.popleft()
                self._moved()
                if not isinstance(frame, LiveEvent):
                    if frame == "" and self.closing:  # the close marker
                        self.finish()
                        return
                    await self.websocket.send_text(frame)
                    continue
                assert stream is not None
                cursor = self.delivered if stream == GROUP else self.mod_delivered
                if seq <= cursor:
                    continue
                if seq > cursor + 1:
                    await self.fill(stream, upto=seq - 1)
                    if self.done.done():
                        return
                await self._show(stream, seq, frame, effect, live=True)
        except Exception:  # the connection is gone: the socket ends
            self.finish()
        finally:
            self._sender = None
        self._drain_soon()  # a frame put while the last send was finishing

    def _moved(self) -> None:
        """The queue shrank, or the socket is ending: wake a wait for room in it."""
        if self._progress is not None:
            self._progress.set()

    def frame_of(self, event: LiveEvent) -> str:
        """The event's frame for this socket: with the markup for its reader if it asked."""
        if not self.fragments:
            return event.frame
        return event.frame_for(self.user_id, self.reads_moderators, self.receive_only,
                               self.language)

    async def _show(self, stream: str, seq: int, event: LiveEvent, effect: Effect | None,
                    live: bool) -> None:
        """Send one event frame of a stream, the next in its order, and let it take effect."""
        if self.expired():
            self._end(CLOSE_NOT_SIGNED_IN, N_("Your session has ended."))
            return
        if stream == GROUP:
            await self.websocket.send_text(self.frame_of(event))
            self.delivered = seq
            if live:
                await self.after_event(event.frame)
        else:
            if effect is not None and effect.opens_moderators:
                self.reads_moderators = True
            if self.reads_moderators:
                await self.websocket.send_text(self.frame_of(event))
            self.mod_delivered = seq
            if effect is not None and effect.closes_moderators:
                self.reads_moderators = False
        if effect is not None and effect.ends and seq > self.admitted_at:
            self._end(CLOSE_FORBIDDEN, N_("You are no longer a member of this group."))

    async def stop_sending(self) -> None:
        self._sending = False
        task = self._sender
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def after_event(self, frame: str) -> None:
        """Hook for sockets that react to events (a room refreshes its state)."""

    async def fill(self, stream: str = GROUP, upto: int | None = None) -> int:
        """Show what the log holds of a stream after what was shown (up to `upto`); returns
        how many frames."""
        sent = 0
        while not self.done.done():
            cursor = self.delivered if stream == GROUP else self.mod_delivered
            if upto is not None and cursor >= upto:
                break
            if stream == MODERATORS and not self.reads_moderators and upto is None:
                break  # what follows is not theirs; a promotion reaches them live
            rows = await log.read_since(self.db, self.group_id, cursor, stream=stream)
            rows = [r for r in rows if upto is None or r[0].seq <= upto]
            if not rows:
                break
            for event, actor in rows:
                if self.done.done():
                    break
                effect = effect_of(stream, event.kind, event.data)
                await self._show(stream, event.seq, LiveEvent.of(event, actor),
                                 effect if effect and effect.user_id == self.user_id else None,
                                 live=False)
                sent += 1
        self._queued = max(self._queued, self.delivered)
        self._mod_queued = max(self._mod_queued, self.mod_delivered)
        return sent


async def _refuse(websocket: WebSocket, code: int, reason: str) -> None:
    # Accept first: a close before accepting reaches a browser as a bare HTTP 403
    # with no code to act on.
    await websocket.accept()
    await websocket.close(code, reason)


Resolve = Callable[[AsyncSession, User], Awaitable[Membership]]


@dataclass(frozen=True)
class Admitted:
    """Who opened the socket, and where the group's streams stood when they were let in:
    their role and both streams' last seqs are read in one statement, so a change committed
    after it (a demotion, a removal) is in the log after those seqs and reaches the socket."""

    user: User
    token_hash: str
    expires: dt.datetime  # when the session ends
    group_id: int
    membership_id: int
    is_moderator: bool
    last: int
    moderators_last: int
    # The oldest seq still kept of each stream the client asked to resume (last_seq,
    # moderators_seq), None when the stream keeps nothing.
    oldest: dict[str, int | None]
    # What the socket's words are said in (socket_language).
    language: str = i18n.SOURCE


async def admit(websocket: WebSocket, resolve: Resolve) -> Admitted | None:
    """Check the origin, the session and membership, or close with the contract's code.
    resolve() maps the signed-in user to their membership in the group of the thing asked
    for, raising NotFound for non-members. One short read transaction; a refusal is sent
    after it, so no connection waits on the network."""
    settings: Settings = websocket.app.state.settings
    db: Database = websocket.app.state.db
    token, from_cookie = socket_token(websocket)
    # The reasons of a refusal are said in the language of whoever is refused, once known.
    language = socket_language(websocket)
    if from_cookie and not origin_allowed(websocket, settings):
        await _refuse(websocket, CLOSE_BAD_ORIGIN,
                      i18n.gettext(language, N_("This origin may not open Cairn's sockets.")))
        return None
    refusal: tuple[int, str] | None = None
    try:
        async with transaction(db, write=False) as session:
            found = await required(wiring.authenticate)(session, token) if token else None
            if found is None:
                refusal = (CLOSE_NOT_SIGNED_IN, N_("Please sign in first."))
            else:
                language = socket_language(websocket, found[0])
                if websocket.app.state.hub.sockets_of(found[0].id) >= SOCKETS_PER_MEMBER:
                    refusal = (CLOSE_TOO_MANY, N_("Too many open connections; close a few tabs "
                                                  "and try again."))
                else:
                    admitted = await _standing(session, websocket, resolve, *found)
                    if admitted is None:
                        refusal = (CLOSE_NO_GROUP, N_("No such group."))
    except (OperationalError, DBAPIError, OSError, PoolTimeout):
        # The database is down or busy: say "try again later" in a code a browser can see.
        refusal = (CLOSE_TRY_LATER, N_("Cairn cannot reach its database right now."))
    if refusal is not None:
        if websocket.application_state == WebSocketState.CONNECTING:
            code, reason = refusal
            await _refuse(websocket, code, close_reason(i18n.gettext(language, reason)))
        return None
    return admitted


async def _standing(session: AsyncSession, websocket: WebSocket, resolve: Resolve, user: User,
                    auth: AuthSession) -> Admitted | None:
    try:
        membership = await resolve(session, user)
    except NotFound:
        return None
    standing = (await session.execute(
        select(Membership.role, Group.last_seq, Group.moderators_seq)
        .join(Group, Group.id == Membership.group_id)
        .where(Membership.id == membership.id, Membership.state == "active"))).first()
    if standing is None:  # left or removed since resolve() read it
        return None
    oldest = {}
    for stream, name in ((GROUP, "last_seq"), (MODERATORS, "moderators_seq")):
        if parse_seq(websocket, name) is not None:
            oldest[stream] = await log.oldest(session, membership.group_id, stream)
    role, last, moderators_last = standing
    return Admitted(user, auth.token_hash, auth.expires_at, membership.group_id, membership.id,
                    role == "moderator", last, moderators_last, oldest,
                    socket_language(websocket, user))


def resume_point(last: int, asked: int | None, oldest: int | None,
                 same_epoch: bool = True) -> tuple[int, Resume]:
    """(the seq to replay from, what the welcome says) for one stream."""
    if asked is None:
        return last, Resume(last, True, 0)
    if not same_epoch:
        # The database was restored from a backup since the client's seq: the same numbers
        # now name other events. Nothing to replay; the client reloads.
        return last, Resume(last, False, 0)
    oldest = last + 1 if oldest is None else oldest
    if asked <= last and asked + 1 >= oldest:
        return asked, Resume(last, True, last - asked)
    # Too old to replay (or from another database): start from now.
    return last, Resume(last, False, max(0, last - asked))


Command = Callable[["GroupSocket", dict[str, Any]], Awaitable[None]]


async def serve(websocket: WebSocket, sock: GroupSocket, on_command: Command,
                first_frames: Callable[[], Awaitable[None]]) -> None:
    """Attach to the hub, send the first frames, then run the send and receive loops until
    either ends; always detach and close with the reason, if any."""
    hub: Hub = websocket.app.state.hub
    kind = sock.kind
    opened = time.monotonic()
    hold = getattr(websocket.app.state, "before_attach", None)
    if hold is not None:  # tests hold a socket here, admitted, to race a change against it
        await hold(sock)
    await hub.attach(sock.group_id, sock, sock.cursors())
    OPEN_SOCKETS.labels(kind).inc()
    log_event("socket.open", kind=kind, group_id=sock.group_id, user_id=sock.user_id)
    try:
        await first_frames()
        sock.start_sending()
        # Receive on the connection's own task (no second task per idle socket); finish()
        # from elsewhere interrupts it.
        sock.receiver = asyncio.current_task()
        if not sock.done.done():
            await _receive_loop(websocket, sock, on_command)
    except asyncio.CancelledError:
        if not sock.interrupted:
            raise
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
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


def parse_seq(websocket: WebSocket, name: str) -> int | None:
    raw = websocket.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if 0 <= value <= MAX_ID else None


@router.websocket("/ws/groups/{gid}")
async def group_socket(websocket: WebSocket, gid: int) -> None:
    """Live group events; auth by session cookie (with an Origin check) or bearer token."""

    async def resolve(session: AsyncSession, user: User) -> Membership:
        if not 1 <= gid <= MAX_ID:
            raise NotFound()
        membership: Membership = await required(wiring.membership)(session, gid, user.id)
        return membership

    admitted = await admit(websocket, resolve)
    if admitted is None:
        return
    db: Database = websocket.app.state.db
    # The database's epoch (server.db.epoch): seqs from another epoch mean nothing here.
    epoch = db.epoch
    asked_epoch = websocket.query_params.get("epoch")
    same_epoch = asked_epoch in (None, "", epoch)  # a client that sends none: as before
    start, shared = resume_point(admitted.last, parse_seq(websocket, "last_seq"),
                                 admitted.oldest.get(GROUP), same_epoch)
    mod_start, moderators = resume_point(admitted.moderators_last, parse_seq(websocket, "moderators_seq"),
                                         admitted.oldest.get(MODERATORS), same_epoch)
    await websocket.accept()
    sock = GroupSocket(websocket, db, admitted.user.id, gid, delivered=start,
                       moderators=mod_start if admitted.is_moderator else admitted.moderators_last,
                       reads_moderators=admitted.is_moderator, token_hash=admitted.token_hash,
                       expires=admitted.expires, admitted_at=admitted.last,
                       fragments=websocket.query_params.get("fragments") == "1",
                       receive_only=bool(admitted.user.receive_only), language=admitted.language,
                       membership_id=admitted.membership_id)
    is_moderator = admitted.is_moderator
    del admitted  # an idle socket does not keep the signed-in user's row

    async def first_frames() -> None:
        await websocket.send_text(frames.welcome(gid, shared, moderators if is_moderator else None,
                                                 epoch))
        await sock.fill(GROUP)
        await sock.fill(MODERATORS)

    await serve(websocket, sock, _group_command, first_frames)


def _whole_characters(text: str, command: dict[str, Any]) -> bool:
    """No lone surrogate escaped in the frame's JSON (json.loads lets one through)."""
    if "\\u" not in text.lower():
        return True
    try:
        json.dumps(command, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def _receive_loop(websocket: WebSocket, sock: GroupSocket, on_command: Command) -> None:
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                sock.send_control(frames.error("binary_not_supported",
                                               sock.say(N_("Send JSON text frames."))))
                continue
            if len(text.encode()) > MAX_FRAME:
                sock.closing = (CLOSE_TOO_BIG, close_reason(sock.say(N_("Frames are at most 16 KiB."))))
                break
            try:
                command = json.loads(text)
            except (ValueError, RecursionError):
                sock.send_control(frames.error("bad_json", sock.say(N_("That frame is not valid JSON."))))
                continue
            if not isinstance(command, dict) or not isinstance(command.get("type"), str):
                sock.send_control(frames.error("bad_command",
                                               sock.say(N_('Send an object with a "type".'))))
                continue
            if not _whole_characters(text, command):
                # "\ud800" decodes to half a character: no page could show it, no database
                # should keep it.
                sock.send_control(frames.error("invalid_text",
                                               sock.say(N_("That frame holds a broken character.")),
                                               ref_of(command)))
                continue
            if command["type"] == "ping":
                sock.send_control(frames.PONG)
            else:
                await on_command(sock, command)
            if sock.done.done():
                # Ended while answering (the answers overflowed a client that does not
                # read them, or the command ended the session): close, do not keep reading.
                break
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        sock.finish()


async def _group_command(sock: GroupSocket, command: dict[str, Any]) -> None:
    handler = wiring.commands.get((sock.kind, command["type"]))
    if handler is None:
        sock.send_control(frames.error("unknown_command", sock.say(
            N_("Unknown command: %(command)s"), command=command["type"][:40])))
        return
    await handler(sock, command)


REF_MAX = 64


def ref_of(command: dict[str, Any]) -> str | int | None:
    """The client's own name for a command (`ref`), echoed in its answer: a short string or a
    number; anything else is no name."""
    ref = command.get("ref")
    if isinstance(ref, bool) or not isinstance(ref, (str, int)):
        return None
    return ref[:REF_MAX] if isinstance(ref, str) else ref


async def carry_out(sock: GroupSocket, ref: str | int | None,
                    write: Callable[[], Awaitable[T]]) -> tuple[bool, T | None]:
    """A command's write, shielded: one that reached the database finishes even if the socket
    drops. A broken rule (AppError) answers the sender with its code, and anything else is
    logged and answered `unavailable`, both naming the command's ref. Returns (whether it went
    through, what write returned)."""
    try:
        return True, await asyncio.shield(write())
    except AppError as exc:
        sock.send_control(frames.error(exc.code, sock.said(exc), ref))
    except Exception:
        logger.exception("%s command failed", sock.kind)
        sock.send_control(frames.error("unavailable",
                                       sock.say(N_("That did not go through. Try again.")), ref))
    return False, None


def optional_id(command: dict[str, Any], key: str) -> int | None:
    """A command's id field: absent, or a positive id (AppError `invalid` otherwise)."""
    value = command.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise AppError(N_("%(key)s must be a positive integer."), params={"key": key},
                       code="invalid")
    return value


async def still_member(session: AsyncSession, sock: GroupSocket) -> tuple[User, Membership] | None:
    """Membership (and the session itself) are checked again on every command."""
    return standing(sock, await required(wiring.authenticate_in_group)(
        session, sock.token_hash, sock.group_id))


def standing(sock: GroupSocket, found: tuple[User, Membership | None] | None,
             ) -> tuple[User, Membership] | None:
    """The member and their membership as a command found them (authenticate_in_group), or
    None, the socket closing, when the session has ended or the member has left."""
    if found is None:
        sock.close_soon(CLOSE_NOT_SIGNED_IN, N_("Your session has ended."))
        return None
    user, membership = found
    if membership is None:
        sock.close_soon(CLOSE_FORBIDDEN, N_("You are no longer a member of this group."))
        return None
    return user, membership
