"""The room's words, defined once: its phases, roles and feedback styles (and the cheers,
which are the group's encouragement kinds). The rules, the commands, the service, the pages
and the templates all use these."""

from __future__ import annotations

from enum import StrEnum

from server.models.encouragements import Cheer


class Phase(StrEnum):
    LOBBY = "lobby"
    SETUP = "setup"
    REHEARSE = "rehearse"
    SCENE = "scene"
    FEEDBACK = "feedback"
    REPLAY = "replay"
    SHARING = "sharing"
    PAUSED = "paused"
    ENDED = "ended"


class Role(StrEnum):
    PRACTITIONER = "practitioner"
    COUNTERPART = "counterpart"
    OBSERVER = "observer"


class Style(StrEnum):
    ASSERTIVE = "assertive"
    PASSIVE = "passive"
    PASSIVE_AGGRESSIVE = "passive_aggressive"
    AGGRESSIVE = "aggressive"


# The cheers are the group's encouragement kinds, defined once with them.
CheerKind = Cheer
