"""HTML pages for groups: my groups, creating and joining one (with a code or an invite link),
and the group's day."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from babel.dates import format_date, format_skeleton
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock, formats, i18n
from server.accounts import names
from server.accounts.pages import PageUser, PageVisitor
from server.commitments import days
from server.commitments import service as commitments
from server.deps import Member, SessionDep, member_of_path
from server.encouragements import service as encouragements
from server.errors import AppError, Forbidden, NotFound
from server.forms import checked_form, submit
from server.groups import live
from server.groups import service as groups
from server.i18n import N_
from server.models import User
from server.models.commitments import PER_DAY, STEPS
from server.moderation import service as moderation
from server.practice import service as practice
from server.roleplay import service as roleplay
from server.web import redirect, render, render_part

router = APIRouter(include_in_schema=False)

NAME_CODES = {"name_taken_in_group", "invisible_display_name", "invalid_display_name"}


async def get_page_member(request: Request, gid: int, user: PageUser, session: SessionDep) -> Member:
    """The signed-in member in group `gid` (`{gid:int}`: an id in range, see deps.PathId);
    everyone else gets the 404 page."""
    return await member_of_path(request, session, gid, user)


PageMember = Annotated[Member, Depends(get_page_member)]


async def get_page_moderator(member: PageMember) -> Member:
    """A moderator of group `gid`; a member who does not moderate gets the 403 page."""
    if not member.is_moderator:
        raise Forbidden(N_("Only the group's moderators can do that."), code="not_moderator")
    return member


PageModerator = Annotated[Member, Depends(get_page_moderator)]


# A day with its year, as each language says it (Babel's pattern where none is given here,
# whose weekday may be shortened): "Monday 3 February 2020", "lunes, 3 de febrero de 2020".
_LONG_DATE = {"en": "EEEE d MMMM y", "es": "EEEE, d 'de' MMMM 'de' y"}


def long_date(day: dt.date, language: str = i18n.SOURCE) -> str:
    """A day with its weekday, month and year, in `language`."""
    pattern = _LONG_DATE.get(language)
    if pattern is not None:
        return format_date(day, pattern, locale=formats.locale(language))
    return format_skeleton("yMMMMEEEEd", day, locale=formats.locale(language))


_NEAR_DAYS = {0: N_("Today"), -1: N_("Yesterday"), 1: N_("Tomorrow")}


def day_name(day: dt.date, today: dt.date, language: str = i18n.SOURCE) -> str:
    near = _NEAR_DAYS.get((day - today).days)
    return i18n.gettext(language, near) if near else long_date(day, language)


# Days a page can show: the day before and after each must exist too (0001-01-01 has no
# day before it).
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(9999, 12, 30)


def parse_day(raw: str | None) -> dt.date | None:
    """A YYYY-MM-DD date a page can show, or None for anything else."""
    try:
        day = dt.date.fromisoformat(raw) if raw and len(raw) == 10 else None
    except ValueError:
        return None
    return day if day is not None and FIRST_DAY <= day <= LAST_DAY else None


def day_url(gid: int, day: dt.date | None, today: dt.date | None = None) -> str:
    if day is None or day == today:
        return f"/groups/{gid}"
    return f"/groups/{gid}?day={day.isoformat()}"


def with_anchor(response: Response, anchor: str) -> Response:
    response.headers["location"] += f"#{anchor}"
    return response


# --- my groups --------------------------------------------------------------------------

async def groups_page(request: Request, session: AsyncSession, user: User, *, status: int = 200,
                      **context: Any) -> HTMLResponse:
    mine = [(g, m, await groups.member_count(session, g.id))
            for g, m in await groups.my_groups(session, user)]
    context.setdefault("create", {"capacity": str(groups.CAPACITY_DEFAULT)})
    context.setdefault("join", {})
    return render(request, "groups/list.html", status_code=status, mine=mine,
                  my_name=user.display_name,
                  agreement=groups.AGREEMENT, capacity_min=groups.CAPACITY_MIN,
                  capacity_max=groups.CAPACITY_MAX, **context)


@router.get("/groups")
async def my_groups(request: Request, user: PageUser, session: SessionDep) -> HTMLResponse:
    return await groups_page(request, session, user)


@router.post("/groups")
async def create_group(request: Request, user: PageUser, session: SessionDep) -> Response:
    """Create a group; the creator becomes its moderator."""
    form = await checked_form(request)
    values = {k: form.text(k) for k in ("name", "description", "capacity")}

    async def act() -> Response:
        capacity = form.whole_number("capacity", N_("A group's size"), groups.CAPACITY_MIN,
                                     groups.CAPACITY_MAX, default=groups.CAPACITY_DEFAULT)
        group, _ = await groups.create_group(session, user, name=values["name"],
                                             description=values["description"], capacity=capacity)
        return with_anchor(redirect(f"/groups/{group.id}", i18n.translate(request, N_(
            "Your group is ready. Share the invite code with the people you would like to "
            "join."))), "invites")

    async def again(exc: AppError) -> Response:
        return await groups_page(request, session, user, status=exc.status, create=values,
                                 create_error=i18n.say(request, exc))

    return await submit(session, act, again)


@router.post("/groups/join")
async def join_group(request: Request, user: PageUser, session: SessionDep) -> Response:
    """Join with an invite code, after reading and accepting the group agreement."""
    form = await checked_form(request)
    values = {"code": form.text("code")[:64], "accept_agreement": form.checked("accept_agreement"),
              "display_name": form.text("display_name")[:200]}
    code, display_name = form.text("code")[:64], form.text("display_name")[:200]

    async def act() -> Response:
        if not code.strip():
            raise NotFound(N_("Please type the invite code you were given."),
                           code="invite_required")
        group = await groups.join(session, user, code=code,
                                  accept_agreement=form.checked("accept_agreement"),
                                  display_name=display_name.strip() or None)
        return redirect(f"/groups/{group.id}", i18n.translate(
            request, N_("Welcome to %(name)s. We are glad you are here."), name=group.name))

    async def again(exc: AppError) -> Response:
        # Someone in the group goes by this name: the form asks for another one.
        choose_name = exc.code in NAME_CODES or bool(display_name)
        return await groups_page(request, session, user, status=exc.status, join=values,
                                 join_error=i18n.say(request, exc), choose_name=choose_name)

    return await submit(session, act, again)


# Longest code an invite link may carry; anything longer is no code of ours.
INVITE_LINK_CODE_MAX = 64


def invite_link(request: Request, code: str) -> str:
    """The whole address of an invite link, to share as it is."""
    return str(request.url_for("invite_page", code=code))


@router.get("/invite/{code}")
async def invite_page(code: str, request: Request, visitor: PageVisitor,
                      session: SessionDep) -> Response:
    """Public: an invite link. A visitor is asked to create an account or sign in, and comes
    back here; a signed-in person reads the group agreement and joins (the form posts to
    /groups/join, as a typed code does); a member is taken to the group. The access log names
    the route's template, never the code."""
    async def act() -> Response:
        # A code no invite could have finds nothing, as an unknown one does.
        normalized = groups.normalize_code(code) if len(code) <= INVITE_LINK_CODE_MAX else ""
        group, member_already = await groups.invited_to(session, normalized, visitor)
        if visitor is None:
            return render(request, "groups/invite.html", next=f"/invite/{normalized}")
        if member_already:
            return redirect(f"/groups/{group.id}", i18n.translate(
                request, N_("You are already in %(name)s."), name=group.name))
        taken = await names.taken_in_group(session, group, visitor.display_name, visitor.id)
        return render(request, "groups/invite.html", group=group, code=normalized,
                      agreement=groups.AGREEMENT, choose_name=taken, my_name=visitor.display_name)

    async def again(exc: AppError) -> Response:
        return render(request, "groups/invite.html", status_code=exc.status,
                      problem=i18n.say(request, exc))

    return await submit(session, act, again)


# --- the group's day --------------------------------------------------------------------

def _sent_back(context: dict[str, Any], my_ids: list[int], editable: set[int],
               with_controls: dict[tuple[str, str], int], can_cheer: bool) -> dict[str, Any]:
    """A card's form that came back with an error, drawn open on its card with what was typed
    (live.Reader's open, values and error); nothing when its card is not on the page, or no
    longer has that form (words that can no longer be edited)."""
    checkin_for, encourage_for = context.get("checkin_for"), context.get("encourage_for")
    report_for, hide_for = context.get("report_for"), context.get("hide_for")
    if checkin_for in my_ids:
        return {"open": f"c{checkin_for}-check-in", "values": context.get("checkin"),
                "error": context.get("checkin_error")}
    if context.get("edit_for") in editable:
        return {"open": f"c{context['edit_for']}-edit", "values": context.get("edit"),
                "error": context.get("edit_error")}
    if can_cheer and ("commitment", str(encourage_for)) in with_controls:
        return {"open": f"c{encourage_for}-encourage", "values": context.get("encourage"),
                "error": context.get("encourage_error")}
    for action, about, values in (("report", report_for, "report_values"),
                                  ("hide", hide_for, "hide_values")):
        if about in with_controls:
            # A card's own words share its forms; a cheer's note has forms of its own.
            key = action if about[0] in ("commitment", "checkin") else f"{action}-{about[0]}-{about[1]}"
            return {"open": f"c{with_controls[about]}-{key}",
                    "values": context.get(values), "error": context.get("report_error")}
    return {}


async def day_page(
    request: Request, session: AsyncSession, member: Member, day: dt.date | None = None, *,
    status: int = 200, **context: Any,
) -> HTMLResponse:
    """The group's day as the member sees it; also re-rendered with a form's error."""
    user, group = member.user, member.group
    language = i18n.language_of(request)
    # Read before the lists below: a live script resuming from here may be told of
    # something it already shows (and drop it), but never misses anything.
    last_seq, moderators_seq = group.last_seq, group.moderators_seq
    epoch = request.app.state.db.epoch  # which database those seqs belong to (a restore changes it)
    now = clock.now()
    today = clock.local_today(user.timezone, now)
    day = day or today
    entries = await commitments.group_day(session, user, group.id, day, now)
    people = await groups.members(session, group.id)
    invites = await groups.active_invites(session, group.id) if member.is_moderator else []
    my_ids = [e.commitment.id for e in entries if e.commitment.user_id == user.id]
    mine = len(my_ids)
    rooms = await roleplay.open_rooms(session, group.id)  # at most one: open_room refuses more
    # Encouragement the member received about their own commitments shown here.
    received_here: dict[int | None, list[encouragements.Received]] = {}
    if my_ids:
        for r in reversed(await encouragements.received(session, user, limit=200,
                                                        commitment_ids=my_ids)):
            received_here.setdefault(r.encouragement.commitment_id, []).append(r)
    # Where the page shows report and hide controls (and on which card): an error about
    # anything else shows on top.
    with_controls = {("commitment", str(e.commitment.id)): e.commitment.id for e in entries
                     if e.commitment.user_id != user.id and e.text is not None}
    with_controls |= {("checkin", str(e.checkin.id)): e.commitment.id for e in entries
                      if e.checkin and e.commitment.user_id != user.id and e.note}
    with_controls |= {("encouragement", str(r.encouragement.id)): cid
                      for cid, cheers in received_here.items() if cid is not None
                      for r in cheers if r.text}
    muted = moderation.is_muted(member.membership)
    open_reports = (await moderation.open_report_count(session, group.id)
                    if member.is_moderator else 0)
    needs_care = await moderation.open_worry_count(session, group.id) if member.is_moderator else 0
    context.setdefault("post", {"visibility": "group"})
    cards = [live.card_of(e, received_here.get(e.commitment.id, []), day) for e in entries]
    reader = live.Reader(group.id, day.isoformat(), member.is_moderator, user.receive_only, muted,
                         **_sent_back(context, my_ids, {c.id for c in cards if c.editable},
                                      with_controls, not user.receive_only))
    return render(
        request, "groups/day.html", status_code=status,
        group=group, member=member, last_seq=last_seq, moderators_seq=moderators_seq, epoch=epoch,
        today=today, day=day,
        day_label=day_name(day, today, language), long_date=lambda d: long_date(d, language),
        day_url=day_url, days_from_today=(day - today).days,
        day_rule=days.rule((day - today).days, language),
        previous_day=day - dt.timedelta(days=1),
        next_day=day + dt.timedelta(days=1) if day < today + dt.timedelta(days=1) else None,
        reader=reader, cards=cards, people=people,
        invites=invites, invite_link=lambda code: invite_link(request, code), mine=mine,
        per_day=PER_DAY,
        can_post=abs((day - today).days) <= 1 and mine < PER_DAY,
        postable_day=abs((day - today).days) <= 1,
        steps=STEPS, text_max=commitments.TEXT_MAX, agreement=groups.AGREEMENT,
        open_room=rooms[0] if rooms else None,
        **await practice.day_line(session, member, await practice.plans_of(session, group.id)),
        muted=muted, muted_until=member.membership.muted_until if muted else None,
        muted_until_label=(formats.moment(member.membership.muted_until, user.timezone, language)
                           if muted and member.membership.muted_until else ""),
        mute_reason=member.membership.mute_reason if muted else None,
        open_reports=open_reports, needs_care=needs_care, **context,
    )


@router.get("/groups/{gid:int}")
async def group_day(request: Request, member: PageMember, session: SessionDep,
                    day: str | None = None) -> HTMLResponse:
    """The group's day: everyone's shared commitments and check-ins; `?day=YYYY-MM-DD`."""
    wanted = parse_day(day)
    if day and wanted is None:
        return await day_page(request, session, member, notice=i18n.translate(request, N_(
            "We could not read that date, so here is today. Dates look like 2025-03-14.")))
    return await day_page(request, session, member, wanted)


# What a card's page may open: a form of the card's ("encourage", "check-in", "edit", "withdraw",
# "report", "hide") or about a cheer's note on it ("report-encouragement-12"). The card draws it
# only where it has that form.
_OPENABLE = re.compile(r"(encourage|check-in|edit|withdraw|report|hide)(-encouragement-[0-9]{1,10})?")


@router.get("/groups/{gid:int}/commitments/{cid:int}")
async def card_page(cid: int, request: Request, member: PageMember, session: SessionDep,
                    open: str | None = None, part: str | None = None) -> HTMLResponse:
    """One commitment's card, as the group's day shows it, with `?open=` one of its forms (the
    day's links to a form land here without JavaScript). `?part=card` sends the card alone,
    for the day's script to take the form from."""
    user, group = member.user, member.group
    entry = await commitments.entry(session, user, group.id, cid)
    received = []
    if entry.own:
        received = list(reversed(await encouragements.received(session, user, limit=200,
                                                               commitment_ids=[cid])))
    # The reader's group's day that shows this card: its writer's own day, seen from here.
    now = clock.now()
    day = days.seen_on(entry.commitment.day, entry.author.timezone, user.timezone, now)
    wanted = open if open and _OPENABLE.fullmatch(open) else None
    reader = live.Reader(group.id, day.isoformat(), member.is_moderator, user.receive_only,
                         moderation.is_muted(member.membership),
                         open=f"c{cid}-{wanted}" if wanted else None)
    card = live.card_of(entry, received, day)
    if part == "card":
        return render_part(request, "groups/_card.html", reader=reader, card=card)
    today = clock.local_today(user.timezone, now)
    return render(request, "groups/card.html", group=group, reader=reader, card=card,
                  day_label=day_name(day, today, i18n.language_of(request)),
                  back=f"{day_url(group.id, day, today)}#c{cid}")


@router.post("/groups/{gid:int}/invites")
async def create_invite(request: Request, member: PageModerator, session: SessionDep) -> Response:
    """Moderators: a new invite code."""
    form = await checked_form(request)
    values = {k: form.text(k) for k in ("expires_in_days", "max_uses")}

    async def act() -> Response:
        days = form.whole_number("expires_in_days", N_("Days until the code expires"), 1, 90,
                                 default=groups.INVITE_DAYS_DEFAULT)
        max_uses = form.whole_number("max_uses", N_("The number of uses"), 1, 100)
        invite = await groups.create_invite(session, member.group, member.user,
                                            expires_in_days=days, max_uses=max_uses)
        return with_anchor(redirect(f"/groups/{member.group.id}", i18n.translate(
            request, N_("New invite code: %(code)s"), code=invite.code)), "invites")

    async def again(exc: AppError) -> Response:
        return await day_page(request, session, member, status=exc.status, invite_form=values,
                              invite_error=i18n.say(request, exc))

    return await submit(session, act, again)


@router.post("/groups/{gid:int}/invites/{code}/revoke")
async def revoke_invite(code: str, request: Request, member: PageModerator,
                        session: SessionDep) -> Response:
    """Moderators: withdraw an invite code; nobody can join with it any more."""
    await checked_form(request)
    await groups.revoke_invite(session, member.group, code[:64])
    return with_anchor(redirect(f"/groups/{member.group.id}", i18n.translate(
        request, N_("That invite code no longer works."))), "invites")


@router.post("/groups/{gid:int}/members/{uid:int}/remove")
async def remove_member(uid: int, request: Request, member: PageModerator,
                        session: SessionDep) -> Response:
    """Moderators: remove a member from the group (from the group's day or the moderation
    page: `back=moderation` returns there)."""
    form = await checked_form(request)
    to_moderation = form.text("back") == "moderation"

    async def act() -> Response:
        await groups.remove_member(session, member.user, member.group, uid)
        return back(i18n.translate(request, N_("They are no longer in the group.")))

    def back(message: str) -> Response:
        if to_moderation:
            return with_anchor(redirect(f"/groups/{member.group.id}/moderation", message),
                               "members")
        return with_anchor(redirect(f"/groups/{member.group.id}", message), "members")

    async def again(exc: AppError) -> Response:
        if to_moderation:
            return back(i18n.say(request, exc))
        return await day_page(request, session, member, status=exc.status,
                              members_error=i18n.say(request, exc))

    return await submit(session, act, again)


@router.post("/groups/{gid:int}/leave")
async def leave_group(request: Request, member: PageMember, session: SessionDep) -> Response:
    """Leave the group. Coming back needs a new invite code."""
    await checked_form(request)
    name = member.group.name
    await groups.leave(session, member.user, member.group, member.membership)
    return redirect("/groups", i18n.translate(
        request, N_("You have left %(name)s. Take care of yourself."), name=name))
