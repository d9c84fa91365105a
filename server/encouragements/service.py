"""Encouragement rules: who may cheer whom, about what, and how often."""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, String, Text, bindparam, case, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock, events
from server.db import in_list, insert_rows, inserted_ids, list_bound, rows_bound, rows_of
from server.errors import AppError, Conflict, Invalid, NotFound, RateLimited
from server.i18n import N_
from server.models import AuthSession, Commitment, Encouragement, Event, Hidden, Membership, User
from server.models.encouragements import TEXT_MAX, Cheer
from server.moderation import service as moderation
from server.realtime import log
from server.text import storable


@dataclass(frozen=True)
class Cheering:
    """One cheer to write, as its sender asked for it: who sends it (signed in with the session
    whose token hashes to `token_hash`), to which group, and the cheer itself. Whether that
    session and membership still stand is checked by the statement that counts the cheer."""

    sender_id: int
    token_hash: str | None  # None: the server's own (the demo's), with no session to check
    membership_id: int  # the sender's in the group
    group_id: int
    kind: str
    text: str | None = None
    commitment_id: int | None = None
    to_user_id: int | None = None


@dataclass(frozen=True)
class Sent:
    encouragement_id: int
    event: Event
    support: dict[str, Any] | None  # crisis lines for the sender alone, when their words call for it


class Unconfirmed(Conflict):
    """The sender's session or membership did not stand (ended, left, paused) when their cheer
    was counted: nothing was sent. The socket's writer looks again to say why."""

    code = "standing_changed"
    detail = N_("Your session or membership changed while this was being sent, so it was not "
                "sent. Please try again.")


MINUTE = dt.timedelta(minutes=1)


async def send(session: AsyncSession, sender: User, membership: Membership, *,
               token_hash: str | None,
               kind: str, text: str | None = None, commitment_id: int | None = None,
               to_user_id: int | None = None, per_minute: int = 20) -> Sent:
    """One cheer (a form's, the REST route's) by the member the request signed in, with the
    session whose token hashes to `token_hash` (None: the server's own, the demo's); AppError
    when a rule refuses it."""
    moderation.check_unmuted(membership)
    [outcome] = await send_many(session, [Cheering(sender.id, token_hash, membership.id,
                                                   membership.group_id, kind, text, commitment_id,
                                                   to_user_id)],
                                per_minute=per_minute)
    if isinstance(outcome, AppError):
        raise outcome
    return outcome


async def send_many(session: AsyncSession, cheers: Sequence[Cheering], *,
                    per_minute: int = 20) -> list[Sent | AppError]:
    """Write the cheers that keep the rules, in order, in the caller's transaction: a read per
    rule that needs one, one statement that checks the senders' standing and counts their
    cheers, and a multi-row insert per table, however many cheers there are. Each gets its own
    outcome, the cheer sent or the rule it broke (Unconfirmed: its sender's standing); one
    refused never stops another."""
    outcomes: list[Sent | AppError | None] = [None] * len(cheers)
    shaped: dict[int, tuple[Cheer, str | None, int | None]] = {}
    for i, cheer in enumerate(cheers):
        try:
            shaped[i] = _shaped(cheer)
        except AppError as exc:
            outcomes[i] = exc
    about, authors = await _commitments_about(session, [cheers[i] for i in shaped])
    for i in list(shaped):
        try:
            shaped[i] = _addressed(cheers[i], *shaped[i], about)
        except AppError as exc:
            outcomes[i] = exc
            del shaped[i]
    named = {(cheers[i].group_id, to) for i, (_, _, to) in shaped.items() if to is not None}
    # A commitment's author was read with it; only members named without one are read here.
    receivers = ({pair for pair in named if authors.get(pair)}
                 | await _receivers(session, [pair for pair in named if pair not in authors]))
    for i, (_, _, to_user_id) in list(shaped.items()):
        if to_user_id is not None and (cheers[i].group_id, to_user_id) not in receivers:
            outcomes[i] = NotFound(N_("That person is not in this group."), code="member_not_found")
            del shaped[i]
    now = clock.now()
    senders, refused = await _counted(session, {i: cheers[i] for i in shaped}, now, per_minute)
    for i, refusal in refused.items():
        outcomes[i] = refusal
        del shaped[i]
    if shaped:
        order = list(shaped)
        rows = [(cheers[i].group_id, cheers[i].sender_id, shaped[i][2], cheers[i].commitment_id,
                 shaped[i][0].value, shaped[i][1]) for i in order]
        dialect = session.get_bind().dialect.name
        ids = await inserted_ids(session, _writing(dialect), {
            **rows_bound(dialect, "cheer", _CHEER, rows), "created_at": now})
        written = await log.append_many(session, [
            (cheers[i].group_id, events.EncouragementSent(
                encouragement_id=eid, kind=shaped[i][0], text=shaped[i][1],
                commitment_id=cheers[i].commitment_id, to_user_id=shaped[i][2]),
             senders[cheers[i].sender_id])
            for i, eid in zip(order, ids, strict=True)])
        for i, eid, event in zip(order, ids, written, strict=True):
            # Crisis support for the sender alone when their note calls for it (the moderators
            # are told); each cheer's own, however many the transaction writes.
            support = await moderation.notice_crisis(session, senders[cheers[i].sender_id],
                                                     cheers[i].group_id, shaped[i][1])
            outcomes[i] = Sent(eid, event, support)
    return [outcome for outcome in outcomes if outcome is not None]


def _shaped(cheer: Cheering) -> tuple[Cheer, str | None, int | None]:
    """(kind, the note as kept, whom it is for) once the cheer's own words keep the rules."""
    kind = Cheer.of(cheer.kind)
    if kind is None:
        raise Invalid(N_("Choose one of the cheers: %(kinds)s."),
                      params={"kinds": ", ".join(Cheer)}, code="invalid_kind")
    text = storable((cheer.text or "").strip(), "A note") or None
    if text is not None and len(text) > TEXT_MAX:
        raise Invalid(N_("A note can be at most %(limit)s characters."), params={"limit": TEXT_MAX},
                      code="text_too_long")
    return kind, text, cheer.to_user_id


def _addressed(cheer: Cheering, kind: Cheer, text: str | None, to_user_id: int | None,
               about: dict[int, Commitment]) -> tuple[Cheer, str | None, int | None]:
    """Whom the cheer is for: the author of the commitment it is about, which must be shared
    with the sender's group, or the member it names; never the sender."""
    if cheer.commitment_id is not None:
        commitment = about.get(cheer.commitment_id)
        if (commitment is None or commitment.group_id != cheer.group_id
                or commitment.visibility != "group"):
            raise NotFound(N_("We could not find that commitment."), code="commitment_not_found")
        to_user_id = to_user_id if to_user_id is not None else commitment.user_id
        if to_user_id != commitment.user_id:
            raise Invalid(N_("Encourage the person who made the commitment."), code="wrong_receiver")
    if to_user_id is not None and to_user_id == cheer.sender_id:
        raise Invalid(N_("Encouragement goes to someone else; be kind to yourself in your "
                         "commitments."), code="self_encouragement")
    return kind, text, to_user_id


async def _commitments_about(session: AsyncSession, cheers: Sequence[Cheering],
                             ) -> tuple[dict[int, Commitment], dict[tuple[int, int], bool]]:
    """The commitments these cheers are about, held (FOR KEY SHARE) until the transaction
    ends: a withdrawal waits for the cheer, or came first and leaves a 404, never a cheer about
    nothing. Whether the sender may see each is the caller's to weigh. With them, whether each
    one's author is an active member of its group, by (group, author)."""
    ids = sorted({c.commitment_id for c in cheers if c.commitment_id is not None})
    if not ids:
        return {}, {}
    dialect = session.get_bind().dialect.name
    found = (await session.execute(_about(dialect), list_bound(dialect, "about", ids))).all()
    return ({c.id: c for c, _ in found},
            {(c.group_id, c.user_id): bool(active) for c, active in found})


@functools.cache
def _about(dialect: str) -> Any:
    """_commitments_about's statement, built once per kind of database."""
    author_active = exists().where(Membership.group_id == Commitment.group_id,
                                   Membership.user_id == Commitment.user_id,
                                   Membership.state == "active")
    return (select(Commitment, author_active.label("author_active"))
            .where(in_list(dialect, Commitment.id, "about")).order_by(Commitment.id)
            .with_for_update(of=Commitment, read=True, key_share=True))


async def _receivers(session: AsyncSession, wanted: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which (group, member) pairs are active memberships."""
    if not wanted:
        return set()
    dialect = session.get_bind().dialect.name
    rows = await session.execute(_active_in(dialect), {
        **list_bound(dialect, "in_groups", sorted({g for g, _ in wanted})),
        **list_bound(dialect, "members", sorted({u for _, u in wanted}))})
    return {(g, u) for g, u in rows}


@functools.cache
def _active_in(dialect: str) -> Any:
    """_receivers' statement, built once per kind of database."""
    return select(Membership.group_id, Membership.user_id).where(
        in_list(dialect, Membership.group_id, "in_groups"),
        in_list(dialect, Membership.user_id, "members"), Membership.state == "active")


async def _counted(session: AsyncSession, cheers: dict[int, Cheering], now: dt.datetime,
                   per_minute: int) -> tuple[dict[int, User], dict[int, AppError]]:
    """Count the cheers (by their index) on their senders' rows, in one statement that also
    checks each sender's standing: every (session, group) they send with still signed in, an
    active membership, not paused. Returns the senders who stand, by id, and the refusals: a
    sender's cheers beyond `per_minute` in their current minute (which began with the first
    cheer after the last one ended), and every cheer of a sender who does not stand.

    The statement takes the senders' rows (on PostgreSQL in id order; on SQLite it is a write,
    which takes the write turn), so cheers sent at once on any process, socket or form, queue
    here and each is counted after the ones before it."""
    if not cheers:
        return {}, {}
    asked = Counter(cheer.sender_id for cheer in cheers.values())
    tokens = {(c.sender_id, c.token_hash) for c in cheers.values() if c.token_hash is not None}
    memberships = {(c.sender_id, c.membership_id) for c in cheers.values()}
    tokens_of = Counter(sender for sender, _ in tokens)
    memberships_of = Counter(sender for sender, _ in memberships)
    dialect = session.get_bind().dialect.name
    counting = await session.execute(_counting(dialect), {
        **rows_bound(dialect, "wanted", _WANTED,
                     [(sender, asked[sender], tokens_of[sender], memberships_of[sender])
                      for sender in sorted(asked)]),
        **list_bound(dialect, "tokens", sorted(t for _, t in tokens)),
        **list_bound(dialect, "memberships", sorted(m for _, m in memberships)),
        "now": now, "minute_ago": now - MINUTE})
    senders: dict[int, User] = {}
    left: dict[int, int] = {}  # what each sender's minute had left before these cheers
    minute_ends: dict[int, dt.datetime] = {}
    for user, since, counted in counting:
        assert since is not None  # the count has just set it
        senders[user.id], left[user.id] = user, per_minute - (counted - asked[user.id])
        minute_ends[user.id] = since + MINUTE
    refused: dict[int, AppError] = {}
    for i, cheer in cheers.items():
        sender = cheer.sender_id
        if sender not in senders:
            refused[i] = Unconfirmed()
        elif left[sender] <= 0:
            retry = minute_ends[sender] - now
            refused[i] = RateLimited(N_("That is a lot of encouragement at once. Take a breath and "
                                        "try again in a moment."),
                                     retry_after=int(retry.total_seconds()) + 1)
        else:
            left[sender] -= 1
    return senders, refused


# A cheer's row as written; its id comes from the table.
_CHEER = {"group_id": Integer(), "from_user_id": Integer(), "to_user_id": Integer(),
          "commitment_id": Integer(), "kind": String(), "text": Text()}


@functools.cache
def _writing(dialect: str) -> Any:
    """The cheers' insert, built once per kind of database, the rows given as parameters."""
    table = Encouragement.metadata.tables["encouragements"]
    return insert_rows(dialect, table, "cheer", _CHEER, created_at=table.c.created_at.type)


# Per sender: the cheers asked, and how many sessions and memberships must stand, beside how
# many do. Sessions and memberships are named by their own keys: one sender's never count for
# another's.
_WANTED = {"id": Integer(), "asked": Integer(), "tokens": Integer(), "memberships": Integer()}


@functools.cache
def _counting(dialect: str) -> Any:
    """_counted's statement, built once per kind of database, its values given as parameters
    (docs/performance.md, "Statements built once")."""
    wanted = rows_of(dialect, "wanted", _WANTED)
    now = bindparam("now", type_=User.cheers_since.type)
    signed_in = select(func.count()).where(
        AuthSession.user_id == wanted.c.id, AuthSession.expires_at > now,
        in_list(dialect, AuthSession.token_hash, "tokens"))
    active = select(func.count()).where(
        Membership.user_id == wanted.c.id, in_list(dialect, Membership.id, "memberships"),
        Membership.state == "active", or_(Membership.muted_until.is_(None), Membership.muted_until <= now))
    standing = select(wanted, signed_in.scalar_subquery().label("signed_in"),
                      active.scalar_subquery().label("active"))
    stood: Any
    if dialect == "postgresql":
        # The rows taken in id order, once, before the update reads them, so two writers never
        # wait on each other crosswise (on SQLite the update takes the write turn).
        stood = (standing.join(User, User.id == wanted.c.id).order_by(User.id)
                 .with_for_update(of=User, key_share=True).cte("taken").prefix_with("MATERIALIZED"))
    else:
        stood = standing.subquery("taken")
    new_minute = or_(User.cheers_since.is_(None),
                     User.cheers_since <= bindparam("minute_ago", type_=User.cheers_since.type))
    return (
        update(User)
        .where(User.id == stood.c.id, stood.c.signed_in == stood.c.tokens,
               stood.c.active == stood.c.memberships)
        .values(cheers_since=case((new_minute, now), else_=User.cheers_since),
                cheers_counted=case((new_minute, 0), else_=User.cheers_counted) + stood.c.asked)
        .returning(User, User.cheers_since, User.cheers_counted)
        .execution_options(synchronize_session=False))


@dataclass(frozen=True)
class Received:
    """Encouragement as its receiver sees it: a note a moderator hid is not shown."""

    encouragement: Encouragement
    sender: User | None
    hidden: bool

    @property
    def text(self) -> str | None:
        return None if self.hidden else self.encouragement.text

    @property
    def from_display_name(self) -> str:
        return self.sender.display_name if self.sender else "a former member"


async def received(session: AsyncSession, user: User, limit: int = 100, *,
                   commitment_ids: Iterable[int] | None = None) -> list[Received]:
    """Newest first; only those about these commitments, if given."""
    query = (
        select(Encouragement, User, Hidden.id).outerjoin(User, User.id == Encouragement.from_user_id)
        .outerjoin(Hidden, (Hidden.target_type == "encouragement") & (Hidden.target_id == Encouragement.id))
        .where(Encouragement.to_user_id == user.id)
    )
    if commitment_ids is not None:
        query = query.where(Encouragement.commitment_id.in_(list(commitment_ids)))
    rows = (await session.execute(
        query.order_by(Encouragement.created_at.desc(), Encouragement.id.desc()).limit(limit)
    )).all()
    return [Received(e, u, hidden_id is not None) for e, u, hidden_id in rows]


async def received_count(session: AsyncSession, user: User) -> int:
    return await session.scalar(
        select(func.count(Encouragement.id)).where(Encouragement.to_user_id == user.id)
    ) or 0
