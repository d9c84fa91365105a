"""Socket frames: the JSON text a client receives, built once per event and shared by every socket."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from server.models import Event, User


def _iso(at: dt.datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def event_frame(event: Event, actor: User | None) -> str:
    return json.dumps({
        "type": "event", "stream": event.stream, "seq": event.seq, "kind": event.kind,
        "group_id": event.group_id,
        "actor": {"id": actor.id, "display_name": actor.display_name} if actor else None,
        "data": event.data, "at": _iso(event.at),
    }, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Resume:
    """Where one stream picks up for a socket: the stream's last seq now, whether the socket
    replays from where it was, and how many events it missed."""

    last_seq: int
    recovered: bool
    missed: int

    def frame_part(self) -> dict[str, Any]:
        return {"last_seq": self.last_seq, "recovered": self.recovered, "missed": self.missed}


def welcome(group_id: int, group: Resume, moderators: Resume | None, epoch: str) -> str:
    """The shared stream's position at the top level; the moderators' stream, for a
    moderator only, under "moderators"; the database's epoch, which seqs belong to."""
    frame: dict[str, Any] = {"type": "welcome", "group_id": group_id, **group.frame_part(),
                             "epoch": epoch}
    if moderators is not None:
        frame["moderators"] = moderators.frame_part()
    return json.dumps(frame)


def presence(online: list[int]) -> str:
    return json.dumps({"type": "presence", "online": sorted(online)})


def error(code: str, detail: str, ref: Any = None) -> str:
    frame: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
    if ref is not None:
        frame["ref"] = ref
    return json.dumps(frame)


def ack(ref: Any, seq: int | None, support: dict[str, Any] | None,
        html: list[dict[str, str]] | None = None) -> str:
    """A command went through: `ref` is the client's own, `seq` the event it wrote, and
    `support` the crisis lines, when the sender's own words called for them."""
    frame: dict[str, Any] = {"type": "ack", "ref": ref, "seq": seq, "support": support}
    if html:
        frame["html"] = html
    return json.dumps(frame)


PONG = json.dumps({"type": "pong"})
