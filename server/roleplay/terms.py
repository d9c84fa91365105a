"""The room's words, defined once: its phases, roles, feedback styles and cheers. The rules,
the commands, the service, the pages and the templates all use these."""

from __future__ import annotations

from enum import StrEnum


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


class CheerKind(StrEnum):
    PROUD = "proud"
    REST_COUNTS = "rest_counts"
    BOUNDARY_MATTERS = "boundary_matters"
    WORTH_IT = "worth_it"
    WITH_YOU = "with_you"
