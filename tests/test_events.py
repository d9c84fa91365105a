"""The typed events: docs/protocol.md and server/events.py say the same, the frames clients
receive keep their exact shape, and the legacy kind-and-dict path is checked too."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server import events
from server.db import transaction
from server.events import Kind
from server.models import Event, Group, User
from server.models.commitments import Category, Step
from server.models.encouragements import Cheer
from server.models.groups import Role
from server.models.moderation import TargetType
from server.moderation.service import withhold
from server.realtime import log
from server.realtime.frames import event_frame

PROTOCOL = Path(__file__).resolve().parents[1] / "docs" / "protocol.md"
ROW = re.compile(r"^\| `([a-z_]+\.[a-z_]+)` \| `\{([^}]*)\}`", re.M)


def _documented() -> tuple[dict[str, tuple[str, list[str]]], set[str], set[str]]:
    """{kind: (stream, fields)} from the protocol's two tables, and the kinds it says can carry
    `hidden` and `withdrawn`."""
    text = PROTOCOL.read_text()
    start = text.index("**event**")
    split = text.index("In the `moderators` stream:", start)
    end = text.index("**presence**", split)
    found: dict[str, tuple[str, list[str]]] = {}
    for stream, part in ((events.GROUP, text[start:split]), (events.MODERATORS, text[split:end])):
        for kind, fields in ROW.findall(part):
            assert kind not in found, f"{kind} is documented twice"
            found[kind] = (stream, [f.strip() for f in fields.split(",")])
    hiding = re.search(r"The kinds about words a moderator can hide \(([^)]*)\)", text)
    withdrawing = re.search(r"The kinds about a commitment's words \(([^)]*)\) carry `withdrawn: true`", text)
    assert hiding is not None and withdrawing is not None
    return found, *(set(re.findall(r"`([a-z_.]+)`", m.group(1))) for m in (hiding, withdrawing))


def test_the_protocol_documents_every_kind_and_its_fields_exactly():
    documented, can_hide, can_withdraw = _documented()
    typed = {kind.value: (cls.STREAM, [f.name for f in dataclasses.fields(cls) if f.name not in events.FLAGS])
             for kind, cls in events.TYPES.items()}
    assert documented == typed

    def carrying(flag: str) -> set[str]:
        return {kind.value for kind, cls in events.TYPES.items()
                if flag in {f.name for f in dataclasses.fields(cls)}}

    assert can_hide == carrying("hidden") and can_withdraw == carrying("withdrawn")
    assert set(events.TYPES) == set(Kind)


# --- frames: byte for byte as before -----------------------------------------------------------

AT = dt.datetime(2026, 11, 28, 9, 14, 3, 120000, tzinfo=dt.UTC)

# (typed event, its data as the call sites built it by hand before the types, its stream)
BEFORE: list[tuple[events.GroupEvent, dict[str, Any], str]] = [
    (events.MemberJoined(user_id=5, display_name="Robin"),
     {"user_id": 5, "display_name": "Robin"}, "group"),
    (events.MemberLeft(user_id=5), {"user_id": 5}, "group"),
    (events.MemberRemoved(user_id=5), {"user_id": 5}, "group"),
    (events.MemberRoleChanged(user_id=5, role=Role.MODERATOR, reason=None),
     {"user_id": 5, "role": "moderator", "reason": None}, "group"),
    (events.MemberRoleChanged(user_id=6, role=Role.MODERATOR, reason="The last moderator left."),
     {"user_id": 6, "role": "moderator", "reason": "The last moderator left."}, "group"),
    (events.MemberMuted(user_id=5, until="2026-11-28T10:14:03.120000Z"),
     {"user_id": 5, "until": "2026-11-28T10:14:03.120000Z"}, "group"),
    (events.MemberUnmuted(user_id=5), {"user_id": 5}, "group"),
    (events.CommitmentCreated(commitment_id=88, user_id=5, day="2026-11-28", days_from_today=0,
                              category=Category.WATER, step=Step.CARE, text="Drink water"),
     {"commitment_id": 88, "user_id": 5, "day": "2026-11-28", "days_from_today": 0,
      "category": "water", "step": "care", "text": "Drink water"}, "group"),
    (events.CommitmentCheckedIn(commitment_id=88, user_id=5, day="2026-11-28",
                                category=Category.BOUNDARY, step=Step.PROTECT, text="Say no",
                                checkin_id=9, status="partly", note=None),
     {"commitment_id": 88, "user_id": 5, "day": "2026-11-28", "category": "boundary",
      "step": "protect", "text": "Say no", "checkin_id": 9, "status": "partly", "note": None},
     "group"),
    # Newer than the types: their frames as the protocol documents them.
    (events.CommitmentEdited(commitment_id=88, user_id=5, text="Drink water, slowly"),
     {"commitment_id": 88, "user_id": 5, "text": "Drink water, slowly"}, "group"),
    (events.CommitmentWithdrawn(commitment_id=88, user_id=5),
     {"commitment_id": 88, "user_id": 5}, "group"),
    (events.EncouragementSent(encouragement_id=12, kind=Cheer.PROUD, text="Proud of you",
                              commitment_id=88, to_user_id=5),
     {"encouragement_id": 12, "kind": "proud", "text": "Proud of you", "commitment_id": 88,
      "to_user_id": 5}, "group"),
    (events.EncouragementSent(encouragement_id=13, kind=Cheer.WITH_YOU, text=None,
                              commitment_id=None, to_user_id=None),
     {"encouragement_id": 13, "kind": "with_you", "text": None, "commitment_id": None,
      "to_user_id": None}, "group"),
    (events.ContentHidden(target_type=TargetType.CHECKIN, target_id=9, author_id=5),
     {"target_type": "checkin", "target_id": 9, "author_id": 5}, "group"),
    (events.RoleplayOpened(room_id=3, title="Boundary practice"),
     {"room_id": 3, "title": "Boundary practice"}, "group"),
    (events.RoleplayUpdated(room_id=3, version=4, phase="scene"),
     {"room_id": 3, "version": 4, "phase": "scene"}, "group"),
    (events.RoleplayEnded(room_id=3, version=9, phase="ended"),
     {"room_id": 3, "version": 9, "phase": "ended"}, "group"),
    (events.PracticeChanged(plan_id=4), {"plan_id": 4}, "group"),
    (events.ReportCreated(report_id=2, target_type=TargetType.ROLEPLAY_LINE, target_id=7,
                          reason="Unkind"),
     {"report_id": 2, "target_type": "roleplay_line", "target_id": 7, "reason": "Unkind"},
     "moderators"),
    (events.SupportConcern(user_id=5, display_name="Robin"),
     {"user_id": 5, "display_name": "Robin"}, "moderators"),
    (events.ModeratorChanged(user_id=5, moderator=True),
     {"user_id": 5, "moderator": True}, "moderators"),
]


def _frame(kind: str, data: dict[str, Any], stream: str) -> str:
    row = Event(group_id=7, seq=43, kind=kind, actor_id=3, data=data, at=AT, stream=stream)
    actor = User(id=3, display_name="Robin")
    return event_frame(row, actor)


@pytest.mark.parametrize(("typed", "before", "stream"), BEFORE,
                         ids=[f"{t.KIND.value}-{i}" for i, (t, _, _) in enumerate(BEFORE)])
def test_a_typed_event_makes_the_same_frame_as_before(typed, before, stream):
    assert stream == typed.STREAM
    assert _frame(typed.KIND.value, typed.data(), typed.STREAM) == _frame(
        str(typed.KIND.value), before, stream)
    assert type(typed.KIND.value) is str and all(
        type(v) in (int, str, bool, type(None)) for v in typed.data().values())


def test_every_kind_has_a_frame_checked():
    assert {t.KIND for t, _, _ in BEFORE} == set(Kind)


def test_hidden_words_leave_a_typed_event_as_they_leave_a_stored_one():
    typed, before, _ = next(b for b in BEFORE if b[0].KIND is Kind.COMMITMENT_CHECKED_IN)
    for target in ("commitment", "checkin"):
        withheld = withhold(typed.data(), target)
        again = events.parse(typed.KIND, withheld)
        assert again.data() == withhold(before, target)
        assert list(again.data())[-1] == "hidden"


# --- log.append ----------------------------------------------------------------------------------

async def test_append_takes_a_typed_event_onto_its_own_stream(app, clients):
    a = await clients.member()
    group = await clients.group(a)
    gid = group["id"]
    async with transaction(app.state.db) as session:
        actor = await session.get(User, a.id)
        concern = await log.append(session, gid, events.SupportConcern(user_id=a.id, display_name="A"),
                                   None)
        opened = await log.append(session, gid, events.RoleplayOpened(room_id=1, title="Practice"), actor)
    assert (concern.stream, concern.seq, concern.kind) == ("moderators", 1, "support.concern")
    assert (opened.stream, opened.kind, opened.data) == ("group", "roleplay.opened",
                                                         {"room_id": 1, "title": "Practice"})
    async with transaction(app.state.db, write=False) as session:
        kinds = (await session.scalars(select(Event.kind).where(Event.group_id == gid)
                                       .order_by(Event.id))).all()
        last = await session.scalar(select(Group.last_seq).where(Group.id == gid))
    assert kinds[-2:] == ["support.concern", "roleplay.opened"]
    assert last == opened.seq
