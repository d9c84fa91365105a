"""Every kind of group event and the type of its data: what `realtime.log.append` writes and
what the live protocol (docs/protocol.md, checked against this module by a test) promises."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any, ClassVar

from server.models.commitments import Category, Step
from server.models.encouragements import Cheer
from server.models.groups import Role
from server.models.moderation import TargetType

# The two streams of a group's events (see server/models/events.py).
GROUP, MODERATORS = "group", "moderators"
# What an event about words says once they are gone from it; sent only when true.
FLAGS = ("hidden", "withdrawn")


class Kind(StrEnum):
    """An event's `kind`, as stored and sent."""

    MEMBER_JOINED = "member.joined"
    MEMBER_LEFT = "member.left"
    MEMBER_REMOVED = "member.removed"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_MUTED = "member.muted"
    MEMBER_UNMUTED = "member.unmuted"
    COMMITMENT_CREATED = "commitment.created"
    COMMITMENT_CHECKED_IN = "commitment.checked_in"
    COMMITMENT_EDITED = "commitment.edited"
    COMMITMENT_WITHDRAWN = "commitment.withdrawn"
    ENCOURAGEMENT_SENT = "encouragement.sent"
    CONTENT_HIDDEN = "content.hidden"
    ROLEPLAY_OPENED = "roleplay.opened"
    ROLEPLAY_UPDATED = "roleplay.updated"
    ROLEPLAY_ENDED = "roleplay.ended"
    PRACTICE_CHANGED = "practice.changed"
    REPORT_CREATED = "report.created"
    SUPPORT_CONCERN = "support.concern"
    MODERATOR_CHANGED = "moderator.changed"


@dataclass(frozen=True, slots=True)
class _Event:
    """One event's data. Fields are the data's keys, in the order they are sent."""

    KIND: ClassVar[Kind]
    STREAM: ClassVar[str] = GROUP

    def data(self) -> dict[str, Any]:
        """The data as stored and sent: plain JSON values, `hidden` and `withdrawn` only when
        they are true."""
        out = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        for flag in FLAGS:
            if out.get(flag) is False:
                del out[flag]
        return out


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


# -- the shared stream ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class MemberJoined(_Event):
    KIND = Kind.MEMBER_JOINED
    user_id: int
    display_name: str | None  # None once they delete their account


@dataclass(frozen=True, slots=True)
class MemberLeft(_Event):
    KIND = Kind.MEMBER_LEFT
    user_id: int


@dataclass(frozen=True, slots=True)
class MemberRemoved(_Event):
    KIND = Kind.MEMBER_REMOVED
    user_id: int


@dataclass(frozen=True, slots=True)
class MemberRoleChanged(_Event):
    KIND = Kind.MEMBER_ROLE_CHANGED
    user_id: int
    role: Role
    reason: str | None  # set when Cairn did it (the last moderator left)


@dataclass(frozen=True, slots=True)
class MemberMuted(_Event):
    KIND = Kind.MEMBER_MUTED
    user_id: int
    until: str  # ISO 8601 in UTC, ending in Z


@dataclass(frozen=True, slots=True)
class MemberUnmuted(_Event):
    KIND = Kind.MEMBER_UNMUTED
    user_id: int


# Events about words a moderator can hide carry `hidden: true` and null words once hidden
# (moderation.service.withhold, the one rule); events about a commitment its author withdrew
# carry `withdrawn: true` and null words (commitments.service.withdraw).

@dataclass(frozen=True, slots=True)
class CommitmentCreated(_Event):
    KIND = Kind.COMMITMENT_CREATED
    commitment_id: int
    user_id: int
    day: str  # YYYY-MM-DD
    # The day less its writer's own today when they posted it: 0 their today, -1 their
    # yesterday, 1 their tomorrow. A page of the group's day shows everyone's own day that far
    # from their today (server/commitments/days.py), so this says which page it belongs on.
    days_from_today: int
    category: Category
    step: Step
    text: str | None
    hidden: bool = False
    withdrawn: bool = False


@dataclass(frozen=True, slots=True)
class CommitmentCheckedIn(_Event):
    KIND = Kind.COMMITMENT_CHECKED_IN
    commitment_id: int
    user_id: int
    day: str
    category: Category
    step: Step
    text: str | None
    checkin_id: int
    status: str  # done, partly or not_today; a check-in's feeling is never sent
    note: str | None
    hidden: bool = False
    withdrawn: bool = False


@dataclass(frozen=True, slots=True)
class CommitmentEdited(_Event):
    """Its author changed a commitment's words (only until someone responded to it)."""

    KIND = Kind.COMMITMENT_EDITED
    commitment_id: int
    user_id: int
    text: str | None
    hidden: bool = False
    withdrawn: bool = False


@dataclass(frozen=True, slots=True)
class CommitmentWithdrawn(_Event):
    """Its author withdrew a commitment: it is gone, with its check-in."""

    KIND = Kind.COMMITMENT_WITHDRAWN
    commitment_id: int
    user_id: int


@dataclass(frozen=True, slots=True)
class EncouragementSent(_Event):
    KIND = Kind.ENCOURAGEMENT_SENT
    encouragement_id: int
    kind: Cheer
    text: str | None
    commitment_id: int | None
    to_user_id: int | None
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class ContentHidden(_Event):
    KIND = Kind.CONTENT_HIDDEN
    target_type: TargetType
    target_id: int
    author_id: int | None


@dataclass(frozen=True, slots=True)
class RoleplayOpened(_Event):
    KIND = Kind.ROLEPLAY_OPENED
    room_id: int
    title: str


@dataclass(frozen=True, slots=True)
class RoleplayUpdated(_Event):
    KIND = Kind.ROLEPLAY_UPDATED
    room_id: int
    version: int
    phase: str


@dataclass(frozen=True, slots=True)
class RoleplayEnded(_Event):
    KIND = Kind.ROLEPLAY_ENDED
    room_id: int
    version: int
    phase: str


@dataclass(frozen=True, slots=True)
class PracticeChanged(_Event):
    """A planned practice session was planned, deleted, or will not happen today."""

    KIND = Kind.PRACTICE_CHANGED
    plan_id: int


# -- the moderators' stream -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ReportCreated(_Event):
    KIND = Kind.REPORT_CREATED
    STREAM = MODERATORS
    report_id: int
    target_type: TargetType
    target_id: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class SupportConcern(_Event):
    KIND = Kind.SUPPORT_CONCERN
    STREAM = MODERATORS
    user_id: int
    display_name: str | None  # never the words


@dataclass(frozen=True, slots=True)
class ModeratorChanged(_Event):
    KIND = Kind.MODERATOR_CHANGED
    STREAM = MODERATORS
    user_id: int
    moderator: bool  # true: they start moderating; false: they stop


GroupEvent = (
    MemberJoined | MemberLeft | MemberRemoved | MemberRoleChanged | MemberMuted | MemberUnmuted
    | CommitmentCreated | CommitmentCheckedIn | CommitmentEdited | CommitmentWithdrawn
    | EncouragementSent | ContentHidden
    | RoleplayOpened | RoleplayUpdated | RoleplayEnded | PracticeChanged
    | ReportCreated | SupportConcern | ModeratorChanged
)

TYPES: dict[Kind, type[GroupEvent]] = {cls.KIND: cls for cls in (
    MemberJoined, MemberLeft, MemberRemoved, MemberRoleChanged, MemberMuted, MemberUnmuted,
    CommitmentCreated, CommitmentCheckedIn, CommitmentEdited, CommitmentWithdrawn,
    EncouragementSent, ContentHidden, RoleplayOpened, RoleplayUpdated, RoleplayEnded, PracticeChanged,
    ReportCreated, SupportConcern, ModeratorChanged,
)}


def parse(kind: str, data: Mapping[str, Any]) -> GroupEvent:
    """The typed event for a kind and its data; ValueError for an unknown kind, TypeError for
    data whose keys are not the kind's."""
    return TYPES[Kind(kind)](**data)
