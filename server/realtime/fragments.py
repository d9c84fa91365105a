"""Live fragments: the markup an event changes, rendered by the server at delivery.

A socket that asks for them (`?fragments=1`) gets, beside each event's JSON `data`, an
`html` list of swaps built from the same templates the page is drawn with. The domain that
owns a thing registers how an event about it renders (`register`); realtime knows none of
them. A fragment is rendered from the event as the log holds it now (hidden words are
already withheld there) once per event and audience, and never stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from server.models import Event, User
from server.realtime.frames import event_frame


@dataclass(frozen=True, slots=True)
class Audience:
    """Who reads a fragment, as far as its markup differs: every reader with the same
    audience gets the same bytes."""

    moderator: bool
    relation: str  # "subject": the event is about them; "actor": they did it; else "other"
    receive_only: bool = False
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Shown:
    """An event as it is shown: what a renderer reads."""

    kind: str
    group_id: int
    data: dict[str, Any]
    actor_id: int | None
    actor_name: str | None
    stream: str


Swap = dict[str, str]
Renderer = Callable[[Shown, Audience], list[Swap]]

_renderers: dict[str, Renderer] = {}


def register(kind: str, renderer: Renderer) -> None:
    """How events of this kind show on a live page; one renderer per kind."""
    if kind in _renderers and _renderers[kind] is not renderer:
        raise ValueError(f"{kind} already has a renderer")
    _renderers[kind] = renderer


def swap(target: str, how: str, html: str = "") -> Swap:
    return {"target": target, "swap": how, "html": str(html)}


def relation(shown: Shown, viewer_id: int) -> str:
    data = shown.data
    if viewer_id in (data.get("user_id"), data.get("author_id"), data.get("to_user_id")):
        return "subject"
    return "actor" if viewer_id == shown.actor_id else "other"


@dataclass(slots=True)
class LiveEvent:
    """One event on its way to the sockets of a process: its plain frame, built once, and
    its frame with fragments, built once per audience when a socket first needs it."""

    shown: Shown
    frame: str
    _with_html: dict[Audience, str] = field(default_factory=dict)

    @classmethod
    def of(cls, event: Event, actor: User | None) -> LiveEvent:
        shown = Shown(event.kind, event.group_id, event.data, actor.id if actor else None,
                      actor.display_name if actor else None, event.stream)
        return cls(shown, event_frame(event, actor))

    def frame_for(self, viewer_id: int, moderator: bool, receive_only: bool = False,
                  language: str = "en") -> str:
        renderer = _renderers.get(self.shown.kind)
        if renderer is None:
            return self.frame
        audience = Audience(moderator, relation(self.shown, viewer_id), receive_only, language)
        frame = self._with_html.get(audience)
        if frame is None:
            swaps = renderer(self.shown, audience)
            frame = (self.frame[:-1] + ',"html":' + json.dumps(swaps, separators=(",", ":")) + "}"
                     if swaps else self.frame)
            self._with_html[audience] = frame
        return frame
