"""Group commit: cheers written together keep every rule each alone would, each answered with
its own outcome; cheers that arrive while one is being written go together in the next
transaction; a transaction that fails fails no cheer but the one at fault."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select, text

from server import events
from server.accounts.service import token_hash
from server.db import transaction
from server.encouragements import live
from server.encouragements import service as encouragements
from server.errors import AppError
from server.models import Encouragement, Event, Group, Membership, User
from server.realtime.log import append_many
from server.realtime.ws import CLOSE_FORBIDDEN, CLOSE_NOT_SIGNED_IN
from tests import support
from tests.hardening.services import wait_for


async def _memberships(app, gid: int) -> dict[int, int]:
    """Each member's membership id in the group, by their user id."""
    async with transaction(app.state.db, write=False) as session:
        return dict((await session.execute(select(Membership.user_id, Membership.id).where(
            Membership.group_id == gid))).all())


def _cheering(gid: int, mids: dict[int, int], member, **wanted: Any) -> encouragements.Cheering:
    return encouragements.Cheering(member.id, token_hash(member.token), mids[member.id], gid,
                                   **wanted)


# A note whose quotes, backslash and characters beyond ASCII travel to the table intact, in a
# batch's parameters as in a row of their own.
NOTE = '  you "can" \\ — ñ 🌱 \'too\'  '


async def test_cheers_written_together_each_keep_the_rules(app, clients):
    a, b, c = [await clients.member() for _ in range(3)]
    group = await clients.group(a, b, c)
    gid = group["id"]
    mids = await _memberships(app, gid)
    r = await b.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "a nap"})
    cid = r.json()["id"]
    r = await b.post(f"/api/v1/groups/{gid}/commitments",
                     {"category": "rest", "text": "mine", "visibility": "private"})
    private = r.json()["id"]
    async with transaction(app.state.db) as session:
        last = (await session.scalars(select(Event.seq).where(Event.group_id == gid)
                                      .order_by(Event.seq.desc()))).first()
        cheers = [
            _cheering(gid, mids, a, kind="proud", commitment_id=cid),
            _cheering(gid, mids, a, kind="proud", to_user_id=a.id),
            _cheering(gid, mids, c, kind="applause"),
            _cheering(gid, mids, c, kind="with_you", commitment_id=cid, text=NOTE),
            _cheering(gid, mids, a, kind="proud", commitment_id=999_999),
            _cheering(gid, mids, a, kind="proud", commitment_id=private),
            _cheering(gid, mids, c, kind="proud", commitment_id=cid, to_user_id=a.id),
            _cheering(gid, mids, a, kind="rest_counts", to_user_id=999_999),
            _cheering(gid, mids, a, kind="worth_it", to_user_id=c.id),
            _cheering(gid, mids, a, kind="with_you"),  # a's third that went: one too many
        ]
        outcomes = await encouragements.send_many(session, cheers, per_minute=2)
    said = [o.code if isinstance(o, AppError) else "sent" for o in outcomes]
    assert said == ["sent", "self_encouragement", "invalid_kind", "sent", "commitment_not_found",
                    "commitment_not_found", "wrong_receiver", "member_not_found", "sent",
                    "rate_limited"]
    sent = [o for o in outcomes if isinstance(o, encouragements.Sent)]
    # In the order they were asked for, one seq after another.
    assert [s.event.seq for s in sent] == [last + 1, last + 2, last + 3]
    async with transaction(app.state.db, write=False) as session:
        rows = {e.id: e for e in await session.scalars(select(Encouragement).where(
            Encouragement.group_id == gid))}
        kept = (await session.scalars(select(Event).where(Event.group_id == gid, Event.seq > last)
                                      .order_by(Event.seq))).all()
    assert [(rows[s.encouragement_id].from_user_id, rows[s.encouragement_id].to_user_id)
            for s in sent] == [(a.id, b.id), (c.id, b.id), (a.id, c.id)]
    assert rows[sent[1].encouragement_id].text == NOTE.strip()
    assert kept[1].data["text"] == NOTE.strip()  # and in its event, as the log keeps it
    assert [(e.seq, e.data["encouragement_id"], e.actor_id) for e in kept] == [
        (s.event.seq, s.encouragement_id, s.event.actor_id) for s in sent]
    assert isinstance(outcomes[-1], AppError) and outcomes[-1].retry_after >= 1


async def test_events_of_several_groups_take_each_groups_next_seqs(app, clients):
    """Both streams of two groups in one append: each event takes the next seq of its own
    group's stream, in the order given, and the groups' counters end at the last."""
    a, b = await clients.member(), await clients.member()
    first, second = (await clients.group(a, b))["id"], (await clients.group(b, a))["id"]
    counters = select(Group.id, Group.last_seq, Group.moderators_seq).where(
        Group.id.in_([first, second]))
    async with transaction(app.state.db) as session:
        before = {g: (shared, mods) for g, shared, mods in await session.execute(counters)}
        actor, held = await session.get(User, a.id), await session.get(Group, first)
        assert actor is not None
        actor.display_name = "Ana, again"  # a change the transaction made before: written first
        with support.statements_of(app) as sent:
            written = await append_many(session, [
                (first, events.PracticeChanged(plan_id=1), actor),
                (second, events.ModeratorChanged(user_id=a.id, moderator=True), None),
                (second, events.PracticeChanged(plan_id=2), None),
                (first, events.PracticeChanged(plan_id=3), actor),
                (first, events.ModeratorChanged(user_id=b.id, moderator=True), actor),
                (second, events.ModeratorChanged(user_id=a.id, moderator=False), None),
            ])
        assert sent[0].startswith("UPDATE users SET display_name"), sent
        # A group the session holds shows its new counters, as on every database.
        assert held is not None and (held.last_seq, held.moderators_seq) == (
            before[first][0] + 2, before[first][1] + 1)
    (s1, m1), (s2, m2) = before[first], before[second]
    expected = [(first, "group", s1 + 1), (second, "moderators", m2 + 1), (second, "group", s2 + 1),
                (first, "group", s1 + 2), (first, "moderators", m1 + 1), (second, "moderators", m2 + 2)]
    assert [(e.group_id, e.stream, e.seq) for e in written] == expected
    async with transaction(app.state.db, write=False) as session:
        kept = {e.id: (e.group_id, e.stream, e.seq, e.actor_id, e.data)
                for e in await session.scalars(select(Event).where(Event.id.in_([e.id for e in written])))}
        after = {g: (shared, mods) for g, shared, mods in await session.execute(counters)}
    assert [kept[e.id] for e in written] == [(e.group_id, e.stream, e.seq, e.actor_id, e.data)
                                             for e in written]
    assert [kept[e.id][3] for e in written] == [a.id, None, None, a.id, a.id, None]
    assert after == {first: (s1 + 2, m1 + 1), second: (s2 + 1, m2 + 2)}


async def test_events_for_a_group_that_is_gone_write_nothing(app, clients):
    a, b = await clients.member(), await clients.member()
    gid = (await clients.group(a, b))["id"]
    counter = select(Group.last_seq).where(Group.id == gid)
    async with transaction(app.state.db, write=False) as session:
        before = await session.scalar(counter)
    with pytest.raises(LookupError, match="does not exist"):
        async with transaction(app.state.db) as session:
            await append_many(session, [(gid, events.PracticeChanged(plan_id=1), None),
                                        (-1, events.PracticeChanged(plan_id=2), None)])
    async with transaction(app.state.db, write=False) as session:
        assert await session.scalar(counter) == before
        assert not (await session.scalars(select(Event).where(
            Event.group_id == gid, Event.seq > before))).all()


class _Sock:
    """What the writer reads of a socket, and what it tells one that must close."""

    def __init__(self, member, gid: int, mids: dict[int, int]) -> None:
        self.user_id, self.token_hash, self.group_id = member.id, token_hash(member.token), gid
        self.membership_id = mids.get(member.id, 0)
        self.closed: list[int] = []

    def close_soon(self, code: int, _reason: str) -> None:
        self.closed.append(code)


async def test_cheers_that_arrive_during_a_write_go_together_next(app, clients, monkeypatch):
    a, b, c = [await clients.member() for _ in range(3)]
    gid = (await clients.group(a, b, c))["id"]
    mids = await _memberships(app, gid)
    outsider = await clients.member()  # before the writer holds SQLite's write turn
    batches: list[int] = []
    gate, writing = asyncio.Event(), asyncio.Event()
    written = encouragements.send_many

    async def held(session, cheers, **kw):
        batches.append(len(cheers))
        writing.set()
        if len(batches) == 1:
            await gate.wait()  # the first transaction is still being written
        return await written(session, cheers, **kw)

    monkeypatch.setattr(encouragements, "send_many", held)
    writer = live.Writer(app.state.db, per_minute=100)
    first = asyncio.create_task(writer.send(live.Wanted(_Sock(a, gid, mids), "proud", None, None, b.id)))
    await writing.wait()
    others = [asyncio.create_task(writer.send(live.Wanted(_Sock(m, gid, mids), "with_you", None, None, None)))
              for m in (b, c, a, b, c)]
    gone = _Sock(outsider, gid, mids)
    others.append(asyncio.create_task(writer.send(live.Wanted(gone, "proud", None, None, None))))
    signed_out = _Sock(a, gid, mids)
    signed_out.token_hash = "0" * 64
    others.append(asyncio.create_task(writer.send(live.Wanted(signed_out, "proud", None, None, None))))
    gate.set()
    outcomes = [await first] + [await task for task in others]
    # The seven that came while the first was written waited and went together. The signed-out
    # socket is a's: a's standing did not hold, so a's cheer from the good socket went again
    # once that one was found out.
    assert batches == [1, 7, 1]
    seqs = [o.event.seq for o in outcomes[:6]]
    assert seqs == [seqs[0] + n for n in (0, 1, 2, 5, 3, 4)]
    assert outcomes[6:] == [None, None]
    assert gone.closed == [CLOSE_FORBIDDEN] and signed_out.closed == [CLOSE_NOT_SIGNED_IN]
    assert writer.task is None and writer.waiting == []


async def test_a_failed_transaction_fails_only_the_cheer_at_fault(app, clients, monkeypatch):
    a, b, c = [await clients.member() for _ in range(3)]
    gid = (await clients.group(a, b, c))["id"]
    mids = await _memberships(app, gid)
    written = encouragements.send_many
    gate, writing = asyncio.Event(), asyncio.Event()
    calls: list[list[str]] = []

    async def failing(session, cheers, **kw):
        calls.append([ch.kind for ch in cheers])
        writing.set()
        if len(calls) == 1:
            await gate.wait()
        if any(ch.text == "breaks" for ch in cheers):
            raise RuntimeError("the database went away")
        return await written(session, cheers, **kw)

    monkeypatch.setattr(encouragements, "send_many", failing)
    writer = live.Writer(app.state.db, per_minute=100)
    first = asyncio.create_task(writer.send(live.Wanted(_Sock(a, gid, mids), "proud", None, None, None)))
    await writing.wait()
    together = [asyncio.create_task(writer.send(live.Wanted(_Sock(m, gid, mids), kind, text, None, None)))
                for m, kind, text in ((b, "with_you", None), (c, "worth_it", "breaks"),
                                      (a, "rest_counts", None))]
    gate.set()
    assert isinstance(await first, encouragements.Sent)
    fine_b, broken, fine_a = await asyncio.gather(*together, return_exceptions=True)
    assert isinstance(broken, RuntimeError)
    assert isinstance(fine_b, encouragements.Sent) and isinstance(fine_a, encouragements.Sent)
    assert calls == [["proud"], ["with_you", "worth_it", "rest_counts"],
                     ["with_you"], ["worth_it"], ["rest_counts"]]
    async with transaction(app.state.db, write=False) as session:
        kinds = (await session.scalars(select(Encouragement.kind).where(
            Encouragement.group_id == gid).order_by(Encouragement.id))).all()
    assert kinds == ["proud", "with_you", "rest_counts"]


async def test_cheers_kept_are_never_written_again_when_telling_the_sockets_fails(app, clients,
                                                                                 monkeypatch):
    a, b, c = [await clients.member() for _ in range(3)]
    gid = (await clients.group(a, b, c))["id"]
    mids = await _memberships(app, gid)
    written = encouragements.send_many
    gate, writing = asyncio.Event(), asyncio.Event()

    async def held(session, cheers, **kw):
        writing.set()
        if not gate.is_set():
            await gate.wait()
        return await written(session, cheers, **kw)

    def doorbell_fails(*_: Any) -> None:
        raise RuntimeError("the hub is gone")

    monkeypatch.setattr(encouragements, "send_many", held)
    monkeypatch.setattr(app.state.db, "doorbell", doorbell_fails)
    writer = live.Writer(app.state.db, per_minute=100)
    first = asyncio.create_task(writer.send(live.Wanted(_Sock(a, gid, mids), "proud", None, None, None)))
    await writing.wait()
    together = [asyncio.create_task(writer.send(live.Wanted(_Sock(m, gid, mids), "with_you", None, None, None)))
                for m in (b, c)]
    gate.set()
    outcomes = [await first] + [await task for task in together]
    assert all(isinstance(o, encouragements.Sent) for o in outcomes)
    async with transaction(app.state.db, write=False) as session:
        kinds = (await session.scalars(select(Encouragement.kind).where(
            Encouragement.group_id == gid).order_by(Encouragement.id))).all()
    assert kinds == ["proud", "with_you", "with_you"]  # each once


async def _waiting_on_a_lock(app) -> bool:
    """Whether a statement on this test's own database waits on a lock."""
    async with transaction(app.state.db, write=False) as session:
        return bool(await session.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'")))


async def test_two_writers_count_each_others_cheers_behind_the_senders_lock(
        app, clients, monkeypatch, database_url):
    """Two processes' writers (two Writers here) cheering for the same sender at once: the
    second's count of the sender waits for the first's transaction, then counts on top of its
    cheer. The statement that counts takes the row: no other statement locks it first."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite writes one transaction at a time (server/db.py)")
    a, b = await clients.member(), await clients.member()
    gid = (await clients.group(a, b))["id"]
    mids = await _memberships(app, gid)
    counted = encouragements._counted
    gate, writing = asyncio.Event(), asyncio.Event()

    async def held(*args, **kw):
        done = await counted(*args, **kw)
        if not writing.is_set():  # the first writer, its sender counted and held
            writing.set()
            await gate.wait()
        return done

    monkeypatch.setattr(encouragements, "_counted", held)
    here, there = live.Writer(app.state.db, per_minute=1), live.Writer(app.state.db, per_minute=1)
    first = asyncio.create_task(here.send(live.Wanted(_Sock(a, gid, mids), "proud", None, None, b.id)))
    await writing.wait()
    second = asyncio.create_task(there.send(live.Wanted(_Sock(a, gid, mids), "with_you", None, None,
                                                         b.id)))
    await wait_for(lambda: _waiting_on_a_lock(app), 20)  # the second's check waits on a's row
    gate.set()
    assert isinstance(await first, encouragements.Sent)
    refused = await second
    assert isinstance(refused, AppError) and refused.code == "rate_limited"


async def test_cheers_on_sockets_forms_and_rest_share_one_count_per_minute(app, clients, travel):
    a, b = await clients.member(), await clients.member()
    gid = (await clients.group(a, b))["id"]
    mids = await _memberships(app, gid)
    per_minute = app.state.settings.encouragements_per_minute
    for _ in range(per_minute - 1):
        r = await a.post(f"/api/v1/groups/{gid}/encouragements", {"kind": "proud"})
        assert r.status_code == 201, r.text
    writer = live.Writer(app.state.db, per_minute)
    last, over = await asyncio.gather(*(writer.send(live.Wanted(_Sock(a, gid, mids), "with_you", None,
                                                                   None, None)) for _ in range(2)))
    assert isinstance(last, encouragements.Sent)
    assert isinstance(over, AppError) and over.code == "rate_limited"
    assert 1 <= over.retry_after <= 60
    r = await a.post(f"/api/v1/groups/{gid}/encouragements", {"kind": "proud"})
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
    async with transaction(app.state.db, write=False) as session:
        began = await session.scalar(select(User.cheers_since).where(User.id == a.id))
    travel(began + encouragements.MINUTE)  # the minute that began with the first is over
    assert isinstance(await writer.send(live.Wanted(_Sock(a, gid, mids), "proud", None, None, None)),
                      encouragements.Sent)


async def test_a_member_on_two_devices_sends_from_both_in_one_transaction(app, clients):
    a, b = await clients.member(), await clients.member()
    gid = (await clients.group(a, b))["id"]
    mids = await _memberships(app, gid)
    r = await clients.anonymous().post("/api/v1/auth/login", json={
        "username": a.user["username"], "password": "a quiet river bend"})
    phone, laptop = _Sock(a, gid, mids), _Sock(a, gid, mids)
    laptop.token_hash = token_hash(r.json()["token"])
    async with transaction(app.state.db) as session:
        outcomes = await encouragements.send_many(session, [
            encouragements.Cheering(a.id, sock.token_hash, mids[a.id], gid, "proud")
        for sock in (phone, laptop)])
        await session.commit()
    assert all(isinstance(o, encouragements.Sent) for o in outcomes)


async def test_a_paused_members_socket_cheer_is_refused_as_paused(app, clients):
    mod, a = await clients.member(), await clients.member()
    gid = (await clients.group(mod, a))["id"]
    mids = await _memberships(app, gid)
    r = await mod.put(f"/api/v1/groups/{gid}/members/{a.id}/mute",
                      {"minutes": 30, "reason": "Cool down."})
    assert r.status_code == 200, r.text
    sock = _Sock(a, gid, mids)
    refused = await live.Writer(app.state.db, 20).send(live.Wanted(sock, "proud", None, None, None))
    assert isinstance(refused, AppError) and refused.code == "muted" and sock.closed == []
    async with transaction(app.state.db, write=False) as session:
        assert await session.scalar(select(User.cheers_counted).where(User.id == a.id)) == 0


async def test_a_plain_cheer_reads_nothing_before_the_statement_that_counts_it(app, clients,
                                                                                monkeypatch):
    """The sender's session, membership, pause and rate are checked by the write that counts
    the cheer: no statement goes before it."""
    a, b = await clients.member(), await clients.member()
    gid = (await clients.group(a, b))["id"]
    mids = await _memberships(app, gid)
    with support.statements_of(app) as sent:
        outcome = await live.Writer(app.state.db, 20).send(
            live.Wanted(_Sock(a, gid, mids), "proud", "well done", None, None))
    assert isinstance(outcome, encouragements.Sent)
    counting, cheer, *appending = [s for s in sent if s not in ("BEGIN", "BEGIN IMMEDIATE")]
    assert "UPDATE users SET cheers_since" in counting, sent
    assert cheer.startswith("INSERT INTO encouragements"), sent
    if app.state.db.engine.dialect.name == "postgresql":
        # The group's counter bumped and the event written in one statement (log.append_many).
        [event_row] = appending
        assert "UPDATE groups SET last_seq" in event_row and "INSERT INTO events" in event_row
    else:
        seq, event_row = appending
        assert seq.startswith("UPDATE groups") and event_row.startswith("INSERT INTO events")


async def test_a_cheer_about_a_commitment_reads_it_with_its_authors_standing(app, clients):
    """The commitment a cheer is about is read with whether its author is still an active
    member, in one statement before the count: a commitment of someone who has left is not
    cheered, and a member named without a commitment of theirs in the batch is looked up."""
    a, b, c, d = [await clients.member() for _ in range(4)]
    gid = (await clients.group(a, b, c, d))["id"]
    mids = await _memberships(app, gid)
    r = await b.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "a nap"})
    kept = r.json()["id"]
    r = await c.post(f"/api/v1/groups/{gid}/commitments", {"category": "play", "text": "a game"})
    left_behind = r.json()["id"]
    assert (await c.post(f"/api/v1/groups/{gid}/leave")).status_code == 204
    with support.statements_of(app) as sent:
        async with transaction(app.state.db) as session:
            outcomes = await encouragements.send_many(session, [
                _cheering(gid, mids, a, kind="proud", commitment_id=kept),
                _cheering(gid, mids, a, kind="proud", commitment_id=left_behind),
                _cheering(gid, mids, a, kind="proud", to_user_id=b.id),
                _cheering(gid, mids, a, kind="proud", to_user_id=c.id),
                _cheering(gid, mids, a, kind="proud", to_user_id=d.id),
            ], per_minute=20)
    said = [o.code if isinstance(o, AppError) else "sent" for o in outcomes]
    assert said == ["sent", "member_not_found", "sent", "member_not_found", "sent"]
    reads = [s for s in sent if s not in ("BEGIN", "BEGIN IMMEDIATE")]
    about, receivers, counting = reads[:3]
    assert about.startswith("SELECT commitments.") and "EXISTS" in about, sent
    assert about.count("FROM memberships") == 1, about
    assert "FROM commitments" not in receivers and "FROM memberships" in receivers, sent
    assert "UPDATE users SET cheers_since" in counting, sent


async def test_a_socket_whose_membership_is_not_the_one_counted_is_looked_at_again(app, clients):
    """A socket let in before it kept its membership's id (or one that names another) is not
    counted: its cheer is looked at again by session and group, and goes."""
    a, b = await clients.member(), await clients.member()
    gid = (await clients.group(a, b))["id"]
    outcome = await live.Writer(app.state.db, 20).send(
        live.Wanted(_Sock(a, gid, {}), "proud", None, None, None))
    assert isinstance(outcome, encouragements.Sent)
    async with transaction(app.state.db, write=False) as session:
        assert await session.scalar(select(User.cheers_counted).where(User.id == a.id)) == 1
