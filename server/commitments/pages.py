"""HTML pages for commitments: posting and checking in on the group's day, sending
encouragement without JavaScript, and a member's progress with its heatmap."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock, i18n
from server.accounts.pages import PageUser
from server.commitments import feelings, heatmap
from server.commitments import progress as progress_service
from server.commitments import service as commitments
from server.deps import MAX_ID, Member, SessionDep, SettingsDep, signed_in_with
from server.encouragements import service as encouragements
from server.errors import AppError, Invalid, NotFound
from server.forms import checked_form, submit
from server.groups import pages as group_pages
from server.groups import service as groups
from server.i18n import N_
from server.models import Commitment
from server.models.commitments import Category
from server.models.encouragements import KINDS, Cheer
from server.moderation import service as moderation
from server.roleplay import growth
from server.roleplay import service as roleplay
from server.web import redirect, render

router = APIRouter(include_in_schema=False)

CHECKIN_THANKS = {
    "done": N_("Checked in: done. Well done for showing up for yourself."),
    "partly": N_("Checked in: partly. Some is real progress."),
    "not_today": N_("Checked in: not today. That is an honest answer, and honesty counts."),
}


def _form_day(raw: str) -> dt.date | None:
    day = group_pages.parse_day(raw.strip())
    if raw.strip() and day is None:
        raise Invalid(N_("We could not read that date. Dates look like 2025-03-14."),
                      code="invalid_day")
    return day


def _landing(support: dict[str, Any] | None, card: str) -> str:
    """Where the next page opens: at the help panel when the words called for support (it sits
    above the day, and a browser focuses a focusable anchor), else at the card written about."""
    return "support" if support else card


@router.post("/groups/{gid:int}/commitments")
async def post_commitment(request: Request, member: group_pages.PageMember,
                          session: SessionDep) -> Response:
    """Post a commitment for today (or yesterday or tomorrow) in one of the three steps."""
    form = await checked_form(request)
    values = {k: form.text(k) for k in ("category", "text", "visibility", "day")}

    async def act() -> Response:
        day = _form_day(values["day"])
        if Category.of(values["category"]) is None:
            raise Invalid(N_("Please choose what kind of care this is, from the list."),
                          code="invalid_category")
        commitment = await commitments.create(session, member.user, member.group.id,
                                              category=values["category"], text=values["text"],
                                              day=day, visibility=values["visibility"] or "group")
        today = clock.local_today(member.user.timezone)
        support = moderation.pending_support(session)
        return group_pages.with_anchor(
            redirect(group_pages.day_url(member.group.id, day, today),
                     i18n.translate(request, N_("Your commitment is posted. Go gently.")),
                     support=support),
            _landing(support, f"c{commitment.id}"))

    async def again(exc: AppError) -> Response:
        return await group_pages.day_page(request, session, member,
                                          group_pages.parse_day(values["day"]), status=exc.status,
                                          post=values, post_error=i18n.say(request, exc))

    return await submit(session, act, again)


async def _in_group(session: AsyncSession, member: Member, cid: int) -> Commitment:
    """A commitment of this group the member may see; the 404 page for any other."""
    commitment = await commitments.readable(session, member.user, cid)
    if commitment.group_id != member.group.id:
        raise NotFound(N_("We could not find that commitment."), code="commitment_not_found")
    return commitment


@router.post("/groups/{gid:int}/commitments/{cid:int}/checkin")
async def check_in(cid: int, request: Request, member: group_pages.PageMember,
                   session: SessionDep) -> Response:
    """Check in on your own commitment: done, partly or not today."""
    form = await checked_form(request)
    day = (await _in_group(session, member, cid)).day
    values = {k: form.text(k) for k in ("status", "note", "feeling")}

    async def act() -> Response:
        if values["status"] not in CHECKIN_THANKS:
            raise Invalid(N_("Please choose how it went: done, partly or not today."),
                          code="invalid_status")
        feeling = form.whole_number("feeling", N_("How you feel"), 1, 5)
        await commitments.check_in(session, member.user, cid, status=values["status"],
                                   note=values["note"], feeling=feeling)
        today = clock.local_today(member.user.timezone)
        support = moderation.pending_support(session)
        return group_pages.with_anchor(
            redirect(group_pages.day_url(member.group.id, day, today),
                     i18n.translate(request, CHECKIN_THANKS[values["status"]]), support=support),
            _landing(support, f"c{cid}"))

    async def again(exc: AppError) -> Response:
        return await group_pages.day_page(request, session, member, day, status=exc.status,
                                          checkin=values, checkin_for=cid,
                                          checkin_error=i18n.say(request, exc))

    return await submit(session, act, again)


@router.post("/groups/{gid:int}/commitments/{cid:int}/edit")
async def edit(cid: int, request: Request, member: group_pages.PageMember,
               session: SessionDep) -> Response:
    """New words for your own commitment, while nobody has responded to it."""
    form = await checked_form(request)
    day = (await _in_group(session, member, cid)).day
    values = {"text": form.text("text")}

    async def act() -> Response:
        await commitments.edit(session, member.user, cid, text=values["text"])
        today = clock.local_today(member.user.timezone)
        support = moderation.pending_support(session)
        return group_pages.with_anchor(
            redirect(group_pages.day_url(member.group.id, day, today),
                     i18n.translate(request, N_("Your new words are saved.")), support=support),
            _landing(support, f"c{cid}"))

    async def again(exc: AppError) -> Response:
        return await group_pages.day_page(request, session, member, day, status=exc.status,
                                          edit=values, edit_for=cid,
                                          edit_error=i18n.say(request, exc))

    return await submit(session, act, again)


@router.post("/groups/{gid:int}/commitments/{cid:int}/withdraw")
async def withdraw(cid: int, request: Request, member: group_pages.PageMember,
                   session: SessionDep) -> Response:
    """Withdraw your own commitment (its card's form asks first)."""
    await checked_form(request)
    day = (await _in_group(session, member, cid)).day

    async def act() -> Response:
        await commitments.withdraw(session, member.user, cid)
        today = clock.local_today(member.user.timezone)
        return redirect(group_pages.day_url(member.group.id, day, today), i18n.translate(
            request, N_("Your commitment is withdrawn. Plans change, and that is all right.")))

    async def again(exc: AppError) -> Response:
        return await group_pages.day_page(request, session, member, day, status=exc.status,
                                          withdraw_error=i18n.say(request, exc))

    return await submit(session, act, again)


@router.post("/groups/{gid:int}/encourage")
async def encourage(request: Request, member: group_pages.PageMember, session: SessionDep,
                    settings: SettingsDep) -> Response:
    """Send encouragement about someone's shared commitment (the no-JavaScript way)."""
    form = await checked_form(request)
    values = {k: form.text(k) for k in ("kind", "text", "commitment_id", "day")}
    day = group_pages.parse_day(values["day"])
    cid: int | None = None

    async def act() -> Response:
        nonlocal cid
        cid = form.whole_number("commitment_id", N_("The commitment"), 1, MAX_ID)
        if Cheer.of(values["kind"]) is None:
            raise Invalid(N_("Please choose one of the encouragements from the list."),
                          code="invalid_kind")
        sent = await encouragements.send(
            session, member.user, member.membership, token_hash=signed_in_with(request),
            kind=values["kind"], text=values["text"], commitment_id=cid,
            per_minute=settings.encouragements_per_minute)
        today = clock.local_today(member.user.timezone)
        support = sent.support
        response = redirect(group_pages.day_url(member.group.id, day, today),
                            i18n.translate(request, N_("Your encouragement is on its way.")),
                            support=support)
        if cid or support:
            return group_pages.with_anchor(response, _landing(support, f"c{cid}"))
        return response

    async def again(exc: AppError) -> Response:
        return await group_pages.day_page(request, session, member, day, status=exc.status,
                                          encourage=values, encourage_for=cid,
                                          encourage_error=i18n.say(request, exc))

    return await submit(session, act, again)


@router.get("/me/progress")
async def my_progress(request: Request, user: PageUser, session: SessionDep) -> HTMLResponse:
    """My streak, 14-day rate, practice by step, heatmap, how I felt (for me alone), role-play
    growth and the encouragement I received."""
    language = i18n.language_of(request)
    p = await progress_service.progress(session, user, heatmap.span(clock.local_today(user.timezone)))
    felt = feelings.build(p.today, p.feelings, language)
    group_names = {g.id: g.name for g, _ in await groups.my_groups(session, user)}
    received = await encouragements.received(session, user, limit=30)
    zone = clock.zone(user.timezone)
    rounds = growth.from_history(await roleplay.history(session, user),
                                 lambda at: at.astimezone(zone).date(), language)
    return render(
        request, "commitments/progress.html", progress=p, heatmap=heatmap.build(p.days, language),
        legend=heatmap.LEGEND, fills=heatmap.FILLS, cell=heatmap.CELL,
        practised_14=round(p.rate_14d * progress_service.RATE_DAYS),
        rate_days=progress_service.RATE_DAYS, kinds=KINDS, received=received,
        group_names=group_names, growth=growth.build(rounds, language=language), style_names=growth.STYLE_NAMES,
        style_fills=growth.FILLS, felt=felt, feeling_fill=feelings.FILL,
        local_day=lambda at: at.astimezone(clock.zone(user.timezone)).date(),
        long_date=lambda day: group_pages.long_date(day, language),
    )
