"""The group socket's `encourage` command: the same service as the form and the REST route,
answered with an acknowledgement that carries `support` when the sender's words call for it.

Cheers sent on sockets are written by one writer per process (group commit): the cheers that
arrive while a transaction is being written wait for it to end, then go together in the next
one, checked and written with one statement per rule and per table, each answered with its
own outcome. A lone cheer goes at once; a busy process writes more per transaction."""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server import i18n
from server.accounts import service as accounts
from server.db import Database, transaction
from server.encouragements import service as encouragements
from server.errors import AppError
from server.i18n import N_
from server.moderation import service as moderation
from server.realtime import frames, wiring
from server.realtime.ws import GroupSocket, carry_out, optional_id, ref_of, standing
from server.web import templates

logger = logging.getLogger("cairn.encouragements")

Outcome = encouragements.Sent | AppError | None  # None: the socket is closing (signed out, left)


def support_panel(support: dict[str, Any], language: str = i18n.SOURCE) -> str:
    """The help panel the next page would show, for the sender alone, in their language."""
    return templates.env.get_template("_support.html").render(
        support=support, language=language, **i18n.installed().template_words(language))


@dataclass(frozen=True)
class Wanted:
    """A cheer as a socket asked for it, its fields' types checked."""

    sock: GroupSocket
    kind: str
    text: str | None
    commitment_id: int | None
    to_user_id: int | None


class Writer:
    """One process's writer of socket cheers, for one database."""

    BATCH_MAX = 200  # cheers in one transaction at most: a bound on its statements' size

    def __init__(self, db: Database, per_minute: int) -> None:
        self.db = db
        self.per_minute = per_minute
        self.waiting: list[tuple[Wanted, asyncio.Future[Outcome]]] = []
        self.task: asyncio.Task[None] | None = None

    async def send(self, wanted: Wanted) -> Outcome:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self.waiting.append((wanted, future))
        if self.task is None:
            self.task = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        batch: list[tuple[Wanted, asyncio.Future[Outcome]]] = []
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[:self.BATCH_MAX], self.waiting[self.BATCH_MAX:]
                await self._write(batch)
        finally:
            self.task = None
            for _, future in batch + self.waiting:  # cancelled (the process is stopping)
                if not future.done():
                    future.set_exception(asyncio.CancelledError())
            self.waiting = []

    async def _write(self, batch: list[tuple[Wanted, asyncio.Future[Outcome]]]) -> None:
        kept = False
        try:
            async with transaction(self.db, write=True) as session:
                # The senders' standing is checked by the statement that counts their cheers:
                # nothing is read before it.
                cheering = [encouragements.Cheering(
                    w.sock.user_id, w.sock.token_hash, w.sock.membership_id, w.sock.group_id,
                    w.kind, w.text, w.commitment_id, w.to_user_id) for w, _ in batch]
                outcomes: list[Outcome] = list(await encouragements.send_many(
                    session, cheering, per_minute=self.per_minute))
                again = await _why_unconfirmed(session, [w.sock for w, _ in batch], outcomes)
                if again:  # their senders' other sockets did not stand: without them, they do
                    sent = await encouragements.send_many(
                        session, [replace(cheering[i], membership_id=m) for i, m in again.items()],
                        per_minute=self.per_minute)
                    for i, result in zip(again, sent, strict=True):
                        outcomes[i] = result
                await session.commit()
                kept = True  # a failure from here on (the doorbells) must not write them again
        except Exception as exc:
            if not kept:
                await self._failed(batch, exc)
                return
            logger.exception("%d cheers were kept, then telling the sockets failed", len(batch))
        for (_, future), answer in zip(batch, outcomes, strict=True):
            if not future.done():
                future.set_result(answer)

    async def _failed(self, batch: list[tuple[Wanted, asyncio.Future[Outcome]]],
                      exc: Exception) -> None:
        """A transaction that failed before its commit fails one cheer at most: each of its
        cheers goes again alone."""
        if len(batch) == 1:
            if not batch[0][1].done():
                batch[0][1].set_exception(exc)
            return
        logger.warning("%d cheers written together failed; writing each alone", len(batch),
                       exc_info=True)
        for item in batch:
            await self._write([item])


async def _why_unconfirmed(session: AsyncSession, socks: list[GroupSocket],
                           outcomes: list[Outcome]) -> dict[int, int]:
    """The cheers whose senders did not stand, looked at again: a session ended or a membership
    left closes its socket (the outcome None), a paused member is told so. Returns the cheers
    whose own socket stands after all (the sender's other socket did not, say), with the
    membership found for each: they may go."""
    doubted = [i for i, o in enumerate(outcomes) if isinstance(o, encouragements.Unconfirmed)]
    if not doubted:
        return {}
    found = await accounts.authenticate_in_groups(
        session, [(socks[i].token_hash, socks[i].group_id) for i in doubted])
    again = {}
    for i in doubted:
        sock = socks[i]
        member = standing(sock, found.get((sock.token_hash, sock.group_id)))
        if member is None:
            outcomes[i] = None
        elif (refusal := moderation.paused(member[1])) is not None:
            outcomes[i] = refusal
        else:
            again[i] = member[1].id
    return again


_writers: weakref.WeakKeyDictionary[Database, Writer] = weakref.WeakKeyDictionary()


def writer_of(sock: GroupSocket) -> Writer:
    writer = _writers.get(sock.db)
    if writer is None:
        settings = sock.websocket.app.state.settings
        writer = _writers[sock.db] = Writer(sock.db, settings.encouragements_per_minute)
    return writer


async def encourage(sock: GroupSocket, command: dict[str, Any]) -> None:
    ref = ref_of(command)
    kind, text = command.get("kind"), command.get("text")

    async def write() -> encouragements.Sent | None:
        if not isinstance(kind, str) or (text is not None and not isinstance(text, str)):
            raise AppError(N_("kind is a string and text, if given, is a string."), code="invalid")
        outcome = await writer_of(sock).send(Wanted(
            sock, kind, text, optional_id(command, "commitment_id"),
            optional_id(command, "to_user_id")))
        if isinstance(outcome, AppError):
            raise outcome
        return outcome

    _, sent = await carry_out(sock, ref, write)
    if sent is not None and ref is not None:  # a client that names its commands is answered
        html = ([{"target": "#main", "swap": "prepend",
                  "html": support_panel(sent.support, sock.language)}]
                if sent.support and sock.fragments else None)
        sock.send_control(frames.ack(ref, sent.event.seq, sent.support, html))


def register() -> None:
    wiring.command("group", "encourage", encourage)
