"""The group socket's `encourage` command: the same service as the form and the REST route,
answered with an acknowledgement that carries `support` when the sender's words call for it."""

from __future__ import annotations

from typing import Any

from server import i18n
from server.db import transaction
from server.encouragements import service as encouragements
from server.errors import AppError
from server.i18n import N_
from server.moderation import service as moderation
from server.realtime import frames, wiring
from server.realtime.ws import GroupSocket, carry_out, optional_id, ref_of, still_member
from server.web import templates


def support_panel(support: dict[str, Any], language: str = i18n.SOURCE) -> str:
    """The help panel the next page would show, for the sender alone, in their language."""
    return templates.env.get_template("_support.html").render(
        support=support, language=language, **i18n.installed().template_words(language))


async def encourage(sock: GroupSocket, command: dict[str, Any]) -> None:
    ref = ref_of(command)
    settings = sock.websocket.app.state.settings
    kind, text = command.get("kind"), command.get("text")

    async def write() -> tuple[int, dict[str, Any] | None] | None:
        if not isinstance(kind, str) or (text is not None and not isinstance(text, str)):
            raise AppError(N_("kind is a string and text, if given, is a string."), code="invalid")
        commitment_id = optional_id(command, "commitment_id")
        to_user_id = optional_id(command, "to_user_id")
        async with transaction(sock.db, write=True) as session:
            found = await still_member(session, sock)
            if found is None:
                return None
            _, event = await encouragements.send(
                session, *found, kind=kind, text=text, commitment_id=commitment_id,
                to_user_id=to_user_id, per_minute=settings.encouragements_per_minute)
            return event.seq, moderation.pending_support(session)

    _, done = await carry_out(sock, ref, write)
    if done is not None and ref is not None:  # a client that names its commands is answered
        seq, support = done
        html = ([{"target": "#main", "swap": "prepend",
                  "html": support_panel(support, sock.language)}]
                if support and sock.fragments else None)
        sock.send_control(frames.ack(ref, seq, support, html))


def register() -> None:
    wiring.command("group", "encourage", encourage)
