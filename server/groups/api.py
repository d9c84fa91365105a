"""JSON routes for groups, members and invites."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from server import i18n
from server.deps import CurrentUser, GroupMember, GroupModerator, Id, SessionDep
from server.groups import service as groups
from server.groups.schemas import GroupIn, GroupOut, InviteIn, InviteOut, JoinIn, MemberOut
from server.models import Group, Invite, Membership
from server.models.groups import Role

router = APIRouter(prefix="/api/v1/groups", tags=["groups"])


async def group_out(request: Request, session: AsyncSession, group: Group, membership: Membership,
                    invite: Invite | None = None) -> GroupOut:
    """The group as its member sees it; the agreement in their language."""
    if invite is None and membership.role == Role.MODERATOR:
        invites = await groups.active_invites(session, group.id)
        invite = invites[0] if invites else None
    return GroupOut(
        id=group.id, name=group.name, description=group.description, capacity=group.capacity,
        member_count=await groups.member_count(session, group.id), role=Role(membership.role),
        created_at=group.created_at, invite_code=invite.code if invite else None,
        agreement=[i18n.translate(request, line) for line in groups.AGREEMENT],
    )


def invite_out(invite: Invite) -> InviteOut:
    return InviteOut(code=invite.code, expires_at=invite.expires_at, max_uses=invite.max_uses,
                     uses=invite.uses)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=GroupOut)
async def create_group(body: GroupIn, user: CurrentUser, session: SessionDep,
                       request: Request) -> GroupOut:
    group, invite = await groups.create_group(session, user, name=body.name,
                                              description=body.description,
                                              capacity=body.capacity)
    _, membership = await groups.membership_of(session, group.id, user.id)
    return await group_out(request, session, group, membership, invite)


@router.get("", response_model=list[GroupOut])
async def list_groups(user: CurrentUser, session: SessionDep, request: Request) -> list[GroupOut]:
    return [await group_out(request, session, g, m)
            for g, m in await groups.my_groups(session, user)]


@router.post("/join", response_model=GroupOut)
async def join_group(body: JoinIn, user: CurrentUser, session: SessionDep,
                     request: Request) -> GroupOut:
    """Join with an invite code, accepting the group agreement.

    409 `name_taken_in_group` (with `group_id` and `display_name`): an active member already
    goes by your display name (compared without regard to case or look-alike forms); send
    the request again with another `display_name`, which becomes your name everywhere.
    409 `group_full`: the group has no seat left. 410: the code expired, was withdrawn or
    was used up. 422 `invisible_display_name`: the new name has nothing anyone can see.
    """
    group = await groups.join(session, user, code=body.invite_code,
                              accept_agreement=body.accept_agreement,
                              display_name=body.display_name)
    _, membership = await groups.membership_of(session, group.id, user.id)
    return await group_out(request, session, group, membership)


# Digits only in the route itself, so GET /groups/join is a 405 beside POST /groups/join
# rather than a group id that fails validation.
@router.get("/{gid:int}", response_model=GroupOut)
async def get_group(member: GroupMember, session: SessionDep, request: Request) -> GroupOut:
    return await group_out(request, session, member.group, member.membership)


@router.get("/{gid}/members", response_model=list[MemberOut])
async def list_members(member: GroupMember, session: SessionDep) -> list[MemberOut]:
    return [MemberOut(user_id=u.id, display_name=u.display_name, role=Role(m.role),
                      joined_at=m.joined_at)
            for u, m in await groups.members(session, member.group.id)]


@router.get("/{gid}/invites", response_model=list[InviteOut])
async def list_invites(moderator: GroupModerator, session: SessionDep) -> list[InviteOut]:
    return [invite_out(i) for i in await groups.active_invites(session, moderator.group.id)]


@router.post("/{gid}/invites", status_code=status.HTTP_201_CREATED, response_model=InviteOut)
async def create_invite(body: InviteIn, moderator: GroupModerator,
                        session: SessionDep) -> InviteOut:
    invite = await groups.create_invite(session, moderator.group, moderator.user,
                                        expires_in_days=body.expires_in_days,
                                        max_uses=body.max_uses)
    return invite_out(invite)


@router.delete("/{gid}/invites/{code}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_invite(
    code: Annotated[str, Path(max_length=64)], moderator: GroupModerator, session: SessionDep
) -> Response:
    await groups.revoke_invite(session, moderator.group, code)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{gid}/leave", status_code=status.HTTP_204_NO_CONTENT)
async def leave_group(member: GroupMember, session: SessionDep) -> Response:
    await groups.leave(session, member.user, member.group, member.membership)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/{gid}/members/{uid}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(uid: Id, moderator: GroupModerator, session: SessionDep) -> Response:
    """Remove a member; their open sockets close."""
    await groups.remove_member(session, moderator.user, moderator.group, uid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
