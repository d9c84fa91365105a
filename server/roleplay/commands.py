"""The room's socket commands as types: one pydantic model per command, told apart by `type`.

A command is validated here, at the socket's edge, before the room's rules see it; a
malformed one is refused with the protocol's codes (`unknown_command`, `invalid`) and a
sentence for a person, as before.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from server.errors import AppError
from server.i18n import N_
from server.roleplay.terms import CheerKind, Phase, Role, Style
from server.text import unstorable

LINE_MAX = 500
BOUNDARY_MAX = 280
FEEDBACK_MAX = 500
EXTEND_MAX = 600
ID_MAX = 2**31 - 1


def _fail(detail: str, **params: Any) -> PydanticCustomError:
    """A refusal marked N_ ("%(key)s" where a value goes), said in the sender's language."""
    return PydanticCustomError("invalid", detail, {"params": params})


def _whole(key: str, low: int, high: int) -> BeforeValidator:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _fail(N_("%(key)s must be a whole number from %(low)s to %(high)s."),
                        key=key, low=low, high=high)
        return value
    return BeforeValidator(check)


def _words(key: str, limit: int, required: bool = True) -> BeforeValidator:
    def check(value: Any) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str):
            raise _fail(N_("%(key)s must be text."), key=key)
        value = value.strip()
        if unstorable(value) is not None:
            raise _fail(N_("%(key)s cannot contain a NUL character.") if "\x00" in value
                        else N_("%(key)s cannot contain a broken character."), key=key)
        if required and not value:
            raise _fail(N_("Please write something for %(key)s."), key=key)
        if len(value) > limit:
            raise _fail(N_("%(key)s can be at most %(limit)s characters."), key=key, limit=limit)
        return value or None
    return BeforeValidator(check)


def _one_of(kind: type[StrEnum], detail: str, optional: bool = False) -> BeforeValidator:
    def check(value: Any) -> StrEnum | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or value not in kind._value2member_map_:
            raise _fail(detail)
        return kind(value)
    return BeforeValidator(check)


UserId = Annotated[int, _whole("user_id", 1, ID_MAX)]


class _Command(BaseModel):
    # Unknown fields are ignored, as they always were; nothing a client adds reaches the rules.
    model_config = ConfigDict(extra="ignore", frozen=True)


class Join(_Command):
    type: Literal["join"]


class Leave(_Command):
    type: Literal["leave"]


class RaiseHand(_Command):
    type: Literal["raise_hand"]


class LowerHand(_Command):
    type: Literal["lower_hand"]


class AssignRole(_Command):
    type: Literal["assign_role"]
    user_id: UserId
    role: Annotated[Role, _one_of(Role, N_("role is practitioner, counterpart or observer."))]


class ChooseScenario(_Command):
    type: Literal["choose_scenario"]
    scenario_id: Annotated[int, _whole("scenario_id", 1, ID_MAX)]
    intensity: Annotated[int, _whole("intensity", 1, 3)]


class StateBoundary(_Command):
    type: Literal["state_boundary"]
    text: Annotated[str, _words("text", BOUNDARY_MAX)]


class Advance(_Command):
    type: Literal["advance"]
    to: Annotated[Phase | None, _one_of(Phase, N_("to names one of the room's phases."),
                                        optional=True)] = None


class Extend(_Command):
    type: Literal["extend"]
    seconds: Annotated[int, _whole("seconds", 1, EXTEND_MAX)]


class Say(_Command):
    type: Literal["say"]
    text: Annotated[str, _words("text", LINE_MAX)]


class Cheer(_Command):
    type: Literal["cheer"]
    kind: Annotated[CheerKind, _one_of(CheerKind, N_("That is not one of the cheers."))]


class Feedback(_Command):
    type: Literal["feedback"]
    style: Annotated[Style, _one_of(
        Style, N_("style is assertive, passive, passive_aggressive or aggressive."))]
    # Optional here: without it the room answers that what worked comes first.
    worked: Annotated[str | None, _words("worked", FEEDBACK_MAX, required=False)] = None
    try_next: Annotated[str | None, _words("try_next", FEEDBACK_MAX, required=False)] = None


class SelfRate(_Command):
    type: Literal["self_rate"]
    confidence: Annotated[int, _whole("confidence", 1, 5)]


class TimeOut(_Command):
    type: Literal["time_out"]


class Resume(_Command):
    type: Literal["resume"]


class Mute(_Command):
    type: Literal["mute"]
    user_id: UserId


class Unmute(_Command):
    type: Literal["unmute"]
    user_id: UserId


class Remove(_Command):
    type: Literal["remove"]
    user_id: UserId


class SaveHomework(_Command):
    type: Literal["save_homework"]


class SaveTranscript(_Command):
    type: Literal["save_transcript"]


class End(_Command):
    type: Literal["end"]


Command = Annotated[
    Join | Leave | RaiseHand | LowerHand | AssignRole | ChooseScenario | StateBoundary | Advance
    | Extend | Say | Cheer | Feedback | SelfRate | TimeOut | Resume | Mute | Unmute | Remove
    | SaveHomework | SaveTranscript | End,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[Command] = TypeAdapter(Command)
NAMES: tuple[str, ...] = (
    "join", "leave", "raise_hand", "lower_hand", "assign_role", "choose_scenario",
    "state_boundary", "advance", "extend", "say", "cheer", "feedback", "self_rate", "time_out",
    "resume", "mute", "unmute", "remove", "save_homework", "save_transcript", "end")
# Commands a member muted in the group may not send: they read, but do not speak.
SPEAKING = frozenset({"say", "cheer", "feedback", "state_boundary", "raise_hand"})


class NotAllowed(AppError):
    """The sender's role or the phase does not allow this command; nothing changes."""

    status = 403

    def __init__(self, detail: str, code: str = "not_allowed",
                 params: dict[str, Any] | None = None) -> None:
        super().__init__(detail, code=code, params=params)


class Invalid(NotAllowed):
    """The command is not well formed (a missing or wrong field)."""

    def __init__(self, detail: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(detail, code="invalid", params=params)


def parse(raw: dict[str, Any]) -> Command:
    """The typed command for a decoded frame; raises NotAllowed (unknown_command) or Invalid."""
    name = raw.get("type")
    if name not in NAMES:
        raise NotAllowed(N_("Unknown command: %(name)s"), code="unknown_command",
                         params={"name": str(name)[:40]})
    try:
        return _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "invalid":
            raise Invalid(first["msg"], (first.get("ctx") or {}).get("params")) from None
        key = ".".join(str(part) for part in first["loc"][1:])
        if not key:
            raise Invalid(N_("The command is missing or not right.")) from None
        raise Invalid(N_("%(key)s is missing or not right."), {"key": key}) from None
