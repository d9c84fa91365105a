"""Socket frames: the JSON text a client receives, built once per event and shared by every socket."""

from __future__ import annotations

import json
from typing import Any

from server.models import Event, User


def _iso(at: Any) -> str:
    return at.isoformat().replace("+00:00", "Z")


def event_frame(event: Event, actor: User | None) -> str:
    return json.dumps({
        "type": "event", "seq": event.seq, "kind": event.kind, "group_id": event.group_id,
        "actor": {"id": actor.id, "display_name": actor.display_name} if actor else None,
        "data": event.data, "at": _iso(event.at),
    }, separators=(",", ":"))


def private_placeholder(event: Event) -> str:
    """What members outside an event's audience receive: the seq, so their sequence has
    no gap, and nothing else."""
    return json.dumps({
        "type": "event", "seq": event.seq, "kind": "private", "group_id": event.group_id,
        "actor": None, "data": {}, "at": _iso(event.at),
    }, separators=(",", ":"))


def event_frames(event: Event, actor: User | None) -> tuple[str, str | None]:
    """(the frame, the placeholder for those outside its audience, or None)."""
    frame = event_frame(event, actor)
    return frame, (private_placeholder(event) if event.audience else None)


def welcome(group_id: int, last_seq: int, recovered: bool, missed: int) -> str:
    return json.dumps({"type": "welcome", "group_id": group_id, "last_seq": last_seq,
                       "recovered": recovered, "missed": missed})


def presence(online: list[int]) -> str:
    return json.dumps({"type": "presence", "online": sorted(online)})


def error(code: str, detail: str) -> str:
    return json.dumps({"type": "error", "code": code, "detail": detail})


PONG = json.dumps({"type": "pong"})
