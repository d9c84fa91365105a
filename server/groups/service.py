"""Group rules: creating, inviting, joining with the agreement, leaving and removal."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock, events
from server.accounts import names
from server.errors import BadRequest, Conflict, Forbidden, Gone, Invalid, NotFound
from server.i18n import N_
from server.models import Group, Invite, Membership, User
from server.models.groups import Role
from server.moderation import service as moderation
from server.realtime import log
from server.text import storable

# Said in the reader's language where it is shown (marked here, translated there).
AGREEMENT = (
    N_("What is shared here stays here."),
    N_("Speak for yourself."),
    N_("No advice unless someone asks for it."),
    N_("Leave anyone's boundary alone."),
)
CAPACITY_MIN, CAPACITY_MAX, CAPACITY_DEFAULT = 3, 20, 12
INVITE_DAYS_DEFAULT = 10
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_NO_GROUP = N_("We could not find that group.")


def new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))


def normalize_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())[:32]


# Built once, with its values as parameters: every group page and call asks (docs/performance.md,
# "Statements built once").
_MEMBERSHIP = (
    select(Group, Membership).join(Membership, Membership.group_id == Group.id)
    .where(Group.id == bindparam("group_id"), Membership.user_id == bindparam("user_id"),
           Membership.state == "active"))


async def membership_of(session: AsyncSession, group_id: int, user_id: int) -> tuple[Group, Membership]:
    """The group and the member's active membership; 404 for everyone else."""
    row = (await session.execute(
        _MEMBERSHIP, {"group_id": group_id, "user_id": user_id})).first()
    return as_member(row[0], row[1]) if row else as_member(None, None)


def as_member(group: Group | None, membership: Membership | None) -> tuple[Group, Membership]:
    """A group and an active membership of it as read (membership_of, or with the session:
    accounts.authenticate_in_group_of_path); 404 when there was none."""
    if group is None or membership is None:
        raise NotFound(_NO_GROUP, code="group_not_found")
    return group, membership


async def create_group(
    session: AsyncSession, user: User, *, name: str, description: str = "",
    capacity: int = CAPACITY_DEFAULT,
) -> tuple[Group, Invite]:
    name = storable(" ".join(name.split()), "A group name")
    description = storable(description, "A description")
    if not 1 <= len(name) <= 80:
        raise Invalid(N_("A group name needs 1 to 80 characters."), code="invalid_name")
    if not CAPACITY_MIN <= capacity <= CAPACITY_MAX:
        raise Invalid(N_("A group holds %(low)s to %(high)s people."),
                      params={"low": CAPACITY_MIN, "high": CAPACITY_MAX}, code="invalid_capacity")
    now = clock.now()
    group = Group(name=name, description=description.strip()[:1000], capacity=capacity,
                  created_by=user.id, created_at=now, last_seq=0)
    session.add(group)
    await session.flush()
    session.add(Membership(group_id=group.id, user_id=user.id, role=Role.MODERATOR,
                           state="active", joined_at=now, agreed_at=now))
    invite = await create_invite(session, group, user)
    return group, invite


async def my_groups(session: AsyncSession, user: User) -> list[tuple[Group, Membership]]:
    rows = await session.execute(
        select(Group, Membership).join(Membership, Membership.group_id == Group.id)
        .where(Membership.user_id == user.id, Membership.state == "active")
        .order_by(Group.name, Group.id)
    )
    return [(g, m) for g, m in rows.all()]


# Built once, with its values as parameters: every day page lists the members (docs/performance.md,
# "Statements built once").
_MEMBERS = (
    select(User, Membership).join(Membership, Membership.user_id == User.id)
    .where(Membership.group_id == bindparam("group_id"), Membership.state == "active")
    .order_by(Membership.role.desc(), Membership.joined_at, User.id))


async def members(session: AsyncSession, group_id: int) -> list[tuple[User, Membership]]:
    rows = await session.execute(_MEMBERS, {"group_id": group_id})
    return [(u, m) for u, m in rows.all()]


async def member_count(session: AsyncSession, group_id: int) -> int:
    return await session.scalar(
        select(func.count(Membership.id))
        .where(Membership.group_id == group_id, Membership.state == "active")
    ) or 0


async def active_invites(session: AsyncSession, group_id: int) -> list[Invite]:
    """The codes that would still let someone in: not revoked, not expired, not used up."""
    return list((await session.scalars(
        select(Invite).where(Invite.group_id == group_id, Invite.revoked_at.is_(None),
                             Invite.expires_at > clock.now(),
                             or_(Invite.max_uses.is_(None), Invite.uses < Invite.max_uses))
        .order_by(Invite.created_at.desc())
    )).all())


async def create_invite(
    session: AsyncSession, group: Group, by: User, *,
    expires_in_days: int = INVITE_DAYS_DEFAULT, max_uses: int | None = None,
) -> Invite:
    if not 1 <= expires_in_days <= 90:
        raise Invalid(N_("An invite lasts 1 to 90 days."), code="invalid_expiry")
    if max_uses is not None and not 1 <= max_uses <= 100:
        raise Invalid(N_("An invite can be used 1 to 100 times."), code="invalid_max_uses")
    now = clock.now()
    invite = Invite(group_id=group.id, code=new_code(), created_by=by.id, created_at=now,
                    expires_at=now + dt.timedelta(days=expires_in_days), max_uses=max_uses,
                    uses=0)
    session.add(invite)
    await session.flush()
    return invite


async def revoke_invite(session: AsyncSession, group: Group, code: str) -> None:
    invite = await session.scalar(
        select(Invite).where(Invite.group_id == group.id, Invite.code == normalize_code(code))
    )
    if invite is None:
        raise NotFound(N_("This group has no such invite code."), code="invite_not_found")
    if invite.revoked_at is None:
        invite.revoked_at = clock.now()


def _refuse_spent(invite: Invite, now: dt.datetime) -> None:
    if invite.revoked_at is not None:
        raise Gone(N_("That invite code was withdrawn. Ask for a new one."), code="invite_revoked")
    if invite.expires_at <= now:
        raise Gone(N_("That invite code has expired. Ask for a new one."), code="invite_expired")
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        raise Gone(N_("That invite code has been used up. Ask for a new one."),
                   code="invite_used_up")


async def invited_to(session: AsyncSession, code: str, user: User | None) -> tuple[Group, bool]:
    """The group an invite code would let `user` join now, and whether they are in it already
    (what an invite link shows before joining). A spent code is refused as join refuses it,
    except to its members, as join answers them; the group's own state (full, a removed
    person) is join's to say."""
    invite = await session.scalar(select(Invite).where(Invite.code == normalize_code(code)))
    if invite is None:
        raise NotFound(N_("That invite link is not one we know. Check it with whoever shared it."),
                       code="invite_not_found")
    group = await session.get(Group, invite.group_id)
    assert group is not None
    if user is not None and await session.scalar(select(Membership.id).where(
            Membership.group_id == group.id, Membership.user_id == user.id,
            Membership.state == "active")) is not None:
        return group, True
    _refuse_spent(invite, clock.now())
    return group, False


async def join(session: AsyncSession, user: User, *, code: str, accept_agreement: bool,
               display_name: str | None = None) -> Group:
    """Join with an invite code. Nobody joins under a name an active member already goes by
    (409 `name_taken_in_group`): `display_name`, if given, is the member's new name, everywhere,
    checked against this group and every group they are in."""
    if not accept_agreement:
        raise BadRequest(N_("Please read and accept the group agreement to join."),
                         code="agreement_required")
    # Lock the invite row: people racing for a code's last use queue here, and each
    # sees the uses counted before it.
    invite = await session.scalar(select(Invite).where(Invite.code == normalize_code(code))
                                  .with_for_update())
    if invite is None:
        raise NotFound(N_("That invite code is not one we know. Check it with whoever shared it."),
                       code="invite_not_found")
    # Lock the group row so two people cannot both take its last seat.
    group = await session.scalar(select(Group).where(Group.id == invite.group_id)
                                 .with_for_update())
    assert group is not None
    membership = await session.scalar(
        select(Membership).where(Membership.group_id == group.id, Membership.user_id == user.id)
    )
    if membership is not None and membership.state == "active":
        # Already in (a retry, a second click): the same answer, whatever the code's state now.
        return group
    now = clock.now()
    _refuse_spent(invite, now)
    if membership is not None and membership.state == "removed":
        raise Forbidden(N_("A moderator removed you from this group."), code="removed")
    if await member_count(session, group.id) >= group.capacity:
        raise Conflict(N_("This group is full."), code="group_full")
    if display_name is not None:
        name = names.clean_display_name(display_name)
        await names.refuse_taken_in_group(session, group, name, user.id)
        if name != user.display_name:
            await names.refuse_taken_in_my_groups(session, user, name)
            user.display_name = name
    else:
        await names.refuse_taken_in_group(session, group, user.display_name, user.id)
    if membership is None:
        membership = Membership(group_id=group.id, user_id=user.id, role=Role.MEMBER)
        session.add(membership)
    membership.state, membership.role = "active", Role.MEMBER
    membership.joined_at = membership.agreed_at = now
    membership.ended_at = None
    invite.uses += 1
    await session.flush()
    await log.append(session, group.id, events.MemberJoined(
        user_id=user.id, display_name=user.display_name), user)
    return group


async def _lock_group(session: AsyncSession, group_id: int) -> None:
    """Changes to who is in a group take the group row first, as join does, so they run one
    at a time: two people leaving at once cannot both think the other is still moderating."""
    await session.execute(select(Group.id).where(Group.id == group_id).with_for_update())


async def leave(session: AsyncSession, user: User, group: Group, membership: Membership) -> None:
    await _lock_group(session, group.id)
    await session.refresh(membership)  # as it is now, after whoever held the lock
    if membership.state != "active":
        raise NotFound(_NO_GROUP, code="group_not_found")
    membership.state, membership.ended_at = "left", clock.now()
    await session.flush()
    await _keep_a_moderator(session, group, user)
    await log.append(session, group.id, events.MemberLeft(user_id=user.id), user)
    if membership.role == Role.MODERATOR:
        await moderation.moderators_changed(session, group.id, user.id, False)


async def remove_member(session: AsyncSession, moderator: User, group: Group, user_id: int) -> None:
    if user_id == moderator.id:
        raise BadRequest(N_("To step away yourself, leave the group instead."), code="remove_self")
    await _lock_group(session, group.id)
    membership = await session.scalar(
        select(Membership).where(Membership.group_id == group.id, Membership.user_id == user_id,
                                 Membership.state == "active")
    )
    if membership is None:
        raise NotFound(N_("That person is not a member of this group."), code="member_not_found")
    membership.state, membership.ended_at = "removed", clock.now()
    await session.flush()
    removed = await session.get(User, user_id)
    await moderation.audit(session, group.id, moderator, "remove", removed or f"member #{user_id}", None)
    await log.append(session, group.id, events.MemberRemoved(user_id=user_id), moderator)
    if membership.role == Role.MODERATOR:
        await moderation.moderators_changed(session, group.id, user_id, False)


async def _keep_a_moderator(session: AsyncSession, group: Group, leaving: User) -> None:
    """A group always has a moderator: the longest-standing member steps up."""
    has_moderator = await session.scalar(
        select(Membership.id).where(Membership.group_id == group.id, Membership.state == "active",
                                    Membership.role == Role.MODERATOR).limit(1)
    )
    if has_moderator:
        return
    successor = await session.scalar(
        select(Membership).where(Membership.group_id == group.id, Membership.state == "active")
        .order_by(Membership.joined_at, Membership.id).limit(1)
    )
    if successor is not None:
        successor.role = Role.MODERATOR
        heir = await session.get(User, successor.user_id)
        await moderation.audit(session, group.id, None, "promote", heir or f"member #{successor.user_id}",
                               N_("The last moderator left; the longest-standing member steps up."))
        await session.flush()
        await log.append(session, group.id, events.MemberRoleChanged(
            user_id=successor.user_id, role=Role.MODERATOR, reason=N_("The last moderator left.")),
            None)
        await moderation.moderators_changed(session, group.id, successor.user_id, True)
