"""Display names: how a name a member types becomes the name others see, and when two names
are the same name.

A name is kept in Unicode's compatibility form (NFKC: "Ｓａｍ" is "Sam"), without the
controls that reorder text (a name could otherwise turn the words after it around), and
without zero-width characters nobody needs in a name. A name that leaves nothing anyone can
see is refused. Within a group nobody shares a name with another active member: names are
compared by `name_key`, which also ignores case ("SAM", "sam" and "ſam" are one name).
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from server.errors import Conflict, Invalid
from server.i18n import N_
from server.models import Group, Membership, User
from server.text import storable

# Embeddings, overrides and isolates (U+202A-202E, U+2066-2069), the left-to-right and
# right-to-left marks and the Arabic letter mark.
BIDI_CONTROLS = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u200e", "\u200f", "\u061c"])
# Zero-width space, word joiner and byte-order mark: invisible, and never part of a name.
# (Joiners and non-joiners stay: emoji and some scripts need them.)
ZERO_WIDTH = frozenset("\u200b\u2060\ufeff")
# Letters and symbols that are drawn as nothing at all.
BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Categories with nothing to see alone: format, spaces, combining marks, controls.
UNSEEN_CATEGORIES = frozenset({"Cf", "Zs", "Zl", "Zp", "Mn", "Me", "Cc"})
NAME_MAX = 40


def _unseen(ch: str) -> bool:
    return ch in BLANK or unicodedata.category(ch) in UNSEEN_CATEGORIES


def clean_display_name(display_name: str) -> str:
    """The name as it is kept and shown; Invalid (422) if nothing of it can be seen."""
    storable(display_name, "A display name")
    text = unicodedata.normalize("NFKC", display_name)
    text = "".join(ch for ch in text if ch not in BIDI_CONTROLS and ch not in ZERO_WIDTH)
    cleaned = " ".join(text.split())
    if display_name.strip() and all(_unseen(ch) for ch in cleaned):
        raise Invalid(N_("A display name needs at least one letter, number or sign that others "
                         "can see."), code="invisible_display_name")
    if not 1 <= len(cleaned) <= NAME_MAX:
        raise Invalid(N_("A display name needs 1 to %(high)s characters."),
                      code="invalid_display_name", params={"high": NAME_MAX})
    return cleaned


def name_key(display_name: str) -> str:
    """What two names are compared by: the same key is the same name to a reader."""
    text = unicodedata.normalize("NFKC", display_name)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf" and ch not in BLANK)
    text = unicodedata.normalize("NFKC", text.casefold())
    return " ".join(text.split())


class NameTaken(Conflict):
    """Another active member of a group goes by the same name (409 `name_taken_in_group`)."""

    code = "name_taken_in_group"

    def __init__(self, display_name: str, group: Group, *, joining: bool) -> None:
        if joining:
            detail = N_("Someone in %(group)s already goes by “%(name)s”. Choose another display "
                        "name to join: it becomes your name in all your groups.")
        else:
            detail = N_("Someone in %(group)s already goes by “%(name)s”. Please choose another "
                        "display name.")
        super().__init__(detail, extra={"group_id": group.id, "display_name": display_name},
                         params={"group": group.name, "name": display_name})


async def taken_in_group(session: AsyncSession, group: Group, display_name: str,
                         user_id: int) -> bool:
    """Whether an active member of the group other than `user_id` goes by this name."""
    names = await session.scalars(
        select(User.display_name).join(Membership, Membership.user_id == User.id)
        .where(Membership.group_id == group.id, Membership.state == "active",
               User.id != user_id))
    key = name_key(display_name)
    return any(name_key(name) == key for name in names)


async def refuse_taken_in_group(session: AsyncSession, group: Group, display_name: str,
                                user_id: int, *, joining: bool = True) -> None:
    if await taken_in_group(session, group, display_name, user_id):
        raise NameTaken(display_name, group, joining=joining)


async def refuse_taken_in_my_groups(session: AsyncSession, user: User, display_name: str) -> None:
    """Before a member's rename: refused (409) if someone in any of their groups has the name."""
    mine = aliased(Membership)
    theirs = aliased(Membership)
    rows = await session.execute(
        select(Group, User.display_name)
        .join(mine, mine.group_id == Group.id)
        .join(theirs, theirs.group_id == Group.id)
        .join(User, User.id == theirs.user_id)
        .where(mine.user_id == user.id, mine.state == "active", theirs.state == "active",
               theirs.user_id != user.id)
        .order_by(Group.name, Group.id))
    key = name_key(display_name)
    for group, name in rows.all():
        if name_key(name) == key:
            raise NameTaken(display_name, group, joining=False)
