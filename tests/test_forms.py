"""Forms run in a savepoint: a rule error undoes what the form wrote and the after-commit work
it queued (no doorbell for an event that was never written), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import inspect
import re

import pytest
from sqlalchemy import func, select

from server import db as database
from server.commitments import pages as commitment_pages
from server.db import after_commit, transaction
from server.errors import Invalid
from server.main import route_entries
from server.models import Commitment, Event, Group, User
from server.moderation import service as moderation
from tests.test_pages import post_commitment, two_people_in_a_group


async def _group_id(session) -> int:
    return await session.scalar(select(Group.id).order_by(Group.id).limit(1))


async def _new_user(session, name: str) -> User:
    from server import clock

    user = User(username=name, display_name=name, password_hash="x", timezone="UTC",
                receive_only=False, created_at=clock.now())
    session.add(user)
    await session.flush()
    return user


# --- the after-commit queue and savepoints, directly ------------------------------------------

async def test_a_rolled_back_savepoint_takes_its_queued_work_and_its_rows_along(app):
    db = app.state.db
    ran: list[str] = []
    async with db.session(write=True) as session:
        after_commit(session, lambda: ran.append("before"))
        await _new_user(session, "kept")
        with pytest.raises(Invalid):
            async with session.begin_nested():
                await _new_user(session, "undone")
                after_commit(session, lambda: ran.append("undone"))
                async with session.begin_nested():  # an inner one that succeeded goes too
                    after_commit(session, lambda: ran.append("inner"))
                raise Invalid("no")
        async with session.begin_nested():
            after_commit(session, lambda: ran.append("released"))
        after_commit(session, lambda: ran.append("after"))
        await database.commit(session)
    assert ran == ["before", "released", "after"]
    async with transaction(db, write=False) as session:
        names = set((await session.scalars(select(User.username))).all())
    assert "kept" in names and "undone" not in names


async def test_a_whole_rollback_runs_nothing_queued(app):
    ran: list[str] = []
    async with app.state.db.session(write=True) as session:
        await _new_user(session, "gone")
        after_commit(session, lambda: ran.append("x"))
        await session.rollback()
        await database.commit(session)
    assert ran == []


async def test_a_savepoint_before_the_first_write_holds_no_write_turn(app):
    """SQLite: a form's savepoint waits for its first write to take the write turn, so another
    writer the form waits for (a password check's own transaction) is not shut out. On both
    databases, the write after it still lands inside the savepoint."""
    db = app.state.db
    async with db.session(write=True) as session:
        async with session.begin_nested():
            await session.scalar(select(func.count(User.id)))

            async def elsewhere() -> None:
                async with transaction(db) as other:
                    await _new_user(other, "meanwhile")

            # If the savepoint had taken the turn, this would wait for ever: the guard fails it.
            await asyncio.wait_for(elsewhere(), timeout=20)
            await _new_user(session, "inside")
            with pytest.raises(Invalid):
                async with session.begin_nested():
                    await _new_user(session, "inner")
                    raise Invalid("no")
        await database.commit(session)
    async with transaction(db, write=False) as session:
        names = set((await session.scalars(select(User.username))).all())
    assert {"meanwhile", "inside"} <= names and "inner" not in names


# --- through a real page ----------------------------------------------------------------------

async def test_a_failed_form_writes_nothing_and_rings_no_doorbell(app, clients, monkeypatch):
    a, b, gid = await two_people_in_a_group(clients)
    await post_commitment(b, gid, "A glass of water")
    db = app.state.db
    rung: list[tuple[int, str, int]] = []
    real = db.doorbell

    def doorbell(group_id: int, stream: str, seq: int, committed: object) -> object:
        rung.append((group_id, stream, seq))
        return real(group_id, stream, seq, committed)

    db.doorbell = doorbell

    async def refuse_after_the_event(*_args: object, **_kw: object) -> None:
        # Called by commitments.create after it appended "commitment.created".
        raise Invalid("That did not go through. Please try again.", code="test_refusal")

    monkeypatch.setattr(moderation, "notice_crisis", refuse_after_the_event)

    async def counts() -> tuple[int, int, int]:
        async with transaction(db, write=False) as session:
            return (await session.scalar(select(func.count(Commitment.id))),
                    await session.scalar(select(func.count(Event.id)).where(Event.group_id == gid)),
                    await session.scalar(select(Group.last_seq).where(Group.id == gid)))

    before = await counts()
    r = await a.submit(f"/groups/{gid}/commitments",
                       {"category": "rest", "text": "An early night", "visibility": "group"})
    assert r.status_code == 422, r.text[:300]
    assert '<p class="form-error" role="alert">That did not go through. Please try again.</p>' in r.text
    assert "An early night" in r.text  # the form keeps what was typed
    assert await counts() == before
    assert rung == []

    # The same form that succeeds rings once, with the next seq.
    monkeypatch.undo()
    await post_commitment(a, gid, "An early night", category="rest")
    assert rung == [(gid, "group", before[2] + 1)]


async def test_a_failed_form_changes_nothing_the_page_shows(app, clients):
    """A rule error after the member's row was changed: the page shows the row as it was."""
    a = (await two_people_in_a_group(clients))[0]
    await a.get("/settings")
    r = await a.submit("/settings", {"display_name": "Someone New", "timezone": "Nowhere/Atlantis"})
    assert r.status_code == 422
    assert "form-error" in r.text
    r = await a.get("/settings")
    assert "Someone New" not in r.text


# --- one way for every form --------------------------------------------------------------------

PAGE_MODULES = ("server/accounts/pages.py", "server/groups/pages.py",
                "server/commitments/pages.py", "server/moderation/pages.py")


def test_page_routes_answer_rule_errors_only_through_the_form_helper():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for name in PAGE_MODULES:
        source = (root / name).read_text()
        assert "except AppError" not in source, name
        assert "undo(" not in source, name
        assert "require_moderator(" not in source, name
    source = inspect.getsource(__import__("server.roleplay.pages", fromlist=["open_room"]).open_room)
    assert "except AppError" not in source and "submit(" in source
    assert "submit(" in inspect.getsource(commitment_pages.post_commitment)


def test_every_id_in_a_page_path_is_a_checked_id(app):
    """`{x:int}` (deps.PathId) for every id in a page's path: 1 to 2**31-1, or a 404."""
    for entry in route_entries(app):
        path = getattr(entry, "path", "")
        if path.startswith(("/api/", "/ws/", "/static/")):
            continue
        for name, kind in re.findall(r"\{(\w+)(?::(\w+))?\}", path):
            if name not in ("code", "token"):  # invite codes and calendar tokens are not ids
                assert kind == "int", (path, name)


async def test_ids_out_of_range_name_nothing(clients):
    a, _, gid = await two_people_in_a_group(clients)
    for bad in ("0", "00", "01", str(2**31), "9" * 10, "9" * 11):
        r = await a.get(f"/groups/{bad}", ok=False)
        assert r.status_code == 404, bad
        r = await a.submit(f"/groups/{gid}/members/{bad}/remove", {})
        assert r.status_code == 404, bad
    assert (await a.get(f"/groups/{gid}")).status_code == 200
    assert (await a.get(f"/groups/{2**31 - 1}", ok=False)).status_code == 404  # nobody's group
