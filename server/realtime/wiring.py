"""What the domains lend the live sockets at startup, so that realtime imports none of them:
how a socket's session is checked, whose group it is, and the commands each kind of socket
takes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.models import AuthSession, Membership, User

if TYPE_CHECKING:
    from server.realtime.ws import GroupSocket

Command = Callable[["GroupSocket", dict[str, Any]], Awaitable[None]]


@dataclass
class Wiring:
    # token -> (user, session), or None when it is no session
    authenticate: Callable[[AsyncSession, str], Awaitable[tuple[User, AuthSession] | None]] | None = None
    # (token hash, group id) -> (user, active membership or None), or None when signed out
    authenticate_in_group: Callable[
        [AsyncSession, str, int], Awaitable[tuple[User, Membership | None] | None]] | None = None
    # (group id, user id) -> the active membership; raises NotFound for anyone else
    membership: Callable[[AsyncSession, int, int], Awaitable[Membership]] | None = None
    # (socket kind, command type) -> what carries it out
    commands: dict[tuple[str, str], Command] = field(default_factory=dict)


wiring = Wiring()


def lend(*, authenticate: Any, authenticate_in_group: Any, membership: Any) -> None:
    wiring.authenticate = authenticate
    wiring.authenticate_in_group = authenticate_in_group
    wiring.membership = membership


def command(kind: str, name: str, handler: Command) -> None:
    """The command `name` on sockets of `kind` ("group" or "room")."""
    wiring.commands[(kind, name)] = handler


def required(hook: Any) -> Any:
    if hook is None:
        raise RuntimeError("the live sockets were not wired to the domains at startup")
    return hook
