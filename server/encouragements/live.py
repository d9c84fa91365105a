"""The group socket's `encourage` command: the same service as the form and the REST route,
answered with an acknowledgement that carries `support` when the sender's words call for it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from server.encouragements import service as encouragements
from server.errors import AppError
from server.moderation import service as moderation
from server.realtime import frames, wiring
from server.realtime.ws import GroupSocket, optional_id, still_member
from server.web import templates

logger = logging.getLogger("cairn.encouragements")

REF_MAX = 64


def _ref(command: dict[str, Any]) -> Any:
    """The client's own name for a command, echoed in its answer (a short string or number)."""
    ref = command.get("ref")
    if isinstance(ref, bool) or not isinstance(ref, (str, int)):
        return None
    return ref[:REF_MAX] if isinstance(ref, str) else ref


def support_panel(support: dict[str, Any]) -> str:
    """The help panel the next page would show, for the sender alone."""
    return templates.env.get_template("_support.html").render(
        support={"help_page": "/help", **support})


async def encourage(sock: GroupSocket, command: dict[str, Any]) -> None:
    ref = _ref(command)
    settings = sock.websocket.app.state.settings
    try:
        kind, text = command.get("kind"), command.get("text")
        if not isinstance(kind, str) or (text is not None and not isinstance(text, str)):
            raise AppError("kind is a string and text, if given, is a string.", code="invalid")
        commitment_id = optional_id(command, "commitment_id")
        to_user_id = optional_id(command, "to_user_id")

        async def write() -> tuple[int, dict[str, Any] | None] | None:
            from server.db import transaction

            async with transaction(sock.db, write=True) as session:
                found = await still_member(session, sock)
                if found is None:
                    return None
                _, event = await encouragements.send(
                    session, *found, kind=kind, text=text, commitment_id=commitment_id,
                    to_user_id=to_user_id, per_minute=settings.encouragements_per_minute)
                return event.seq, moderation.pending_support(session)

        # Shielded: a command that reached the database finishes even if the socket drops.
        done = await asyncio.shield(write())
    except AppError as exc:
        sock.send_control(frames.error(exc.code, exc.detail, ref))
        return
    except Exception:
        logger.exception("encourage command failed")
        sock.send_control(frames.error("unavailable", "That did not go through. Try again.", ref))
        return
    if done is not None and ref is not None:  # a client that names its commands is answered
        seq, support = done
        html = ([{"target": "#main", "swap": "prepend", "html": support_panel(support)}]
                if support and sock.fragments else None)
        sock.send_control(frames.ack(ref, seq, support, html))


def register() -> None:
    wiring.command("group", "encourage", encourage)
