"""Pages for planned practice: a group's plans (moderators plan and delete them, members read
them), the member's calendar link on the reminders page, and the calendar feed itself."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock, i18n, zones
from server.accounts.pages import PageUser
from server.deps import Member, SessionDep
from server.errors import AppError
from server.forms import checked_form, submit
from server.groups.pages import PageMember, PageModerator
from server.i18n import N_
from server.practice import schedule, sessions
from server.practice import service as practice
from server.reminders.pages import PAGE as REMINDERS_PAGE
from server.web import redirect, render, render_part

router = APIRouter(include_in_schema=False)

FIELDS = ("title", "zone", "starts", "repeat", "on_date", "weekday", "minutes")
# What the feed answers: for calendar apps, never kept by a shared cache, never indexed.
FEED_HEADERS = {"Cache-Control": "private, no-cache", "X-Robots-Tag": "noindex"}


async def practice_page(request: Request, session: AsyncSession, member: Member, *,
                        status: int = 200, **context: Any) -> HTMLResponse:
    plans = await practice.plans_of(session, member.group.id)
    now = clock.now()
    language = i18n.language_of(request)
    rows = []
    for plan in plans:
        upcoming = schedule.occurrences(plan, now)
        rows.append((plan, practice.describe(plan, language),
                     practice.next_label(upcoming[0], member.user.timezone, now, language)
                     if upcoming else None))
    context.setdefault("plan", {"title": "", "zone": member.user.timezone, "starts": "",
                                "repeat": "weekly", "on_date": "", "weekday": "", "minutes": "60"})
    return render(request, "groups/practice.html", status_code=status, group=member.group,
                  member=member, plans=rows, weekdays=practice.weekday_choices(language),
                  zones=zones.choices(context["plan"]["zone"]), plans_max=practice.PLANS_MAX,
                  **await practice.day_line(session, member, plans, language), **context)


@router.get("/groups/{gid:int}/practice")
async def practice_home(request: Request, member: PageMember, session: SessionDep,
                        part: str | None = None) -> HTMLResponse:
    """The group's planned practice sessions; moderators plan and delete them here.
    `?part=line`: the day page's practice line alone, which its script fetches again when the
    group's plans change."""
    if part == "line":
        return render_part(request, "groups/_practice_line.html", group=member.group, member=member,
                           **await practice.day_line(session, member, await practice.plans_of(
                               session, member.group.id), i18n.language_of(request)))
    return await practice_page(request, session, member)


@router.post("/groups/{gid:int}/practice/sessions/{sid:int}/seen")
async def practice_notice_seen(sid: int, request: Request, member: PageModerator,
                               session: SessionDep) -> Response:
    """Moderators: they have read why a planned session did not happen."""
    form = await checked_form(request)
    await sessions.mark_seen(session, member.group.id, member.user.id, sid)
    back = "/practice" if form.text("back") == "practice" else ""
    return redirect(f"/groups/{member.group.id}{back}")


@router.post("/groups/{gid:int}/practice")
async def plan_practice(request: Request, member: PageModerator, session: SessionDep) -> Response:
    """Moderators: plan a practice session, once or every week."""
    form = await checked_form(request)
    values = {k: form.text(k)[:200] for k in FIELDS}

    async def act() -> Response:
        minutes = form.whole_number("minutes", "The length in minutes", practice.MINUTES_MIN,
                                    practice.MINUTES_MAX, default=practice.MINUTES_DEFAULT)
        checked = practice.check_plan(
            title=values["title"], zone=values["zone"], starts=values["starts"],
            repeat=values["repeat"], on_date=values["on_date"], weekday=values["weekday"],
            minutes=minutes, default_zone=member.user.timezone,
            language=i18n.language_of(request))
        await practice.create_plan(session, member.user, member.group.id, checked)
        return redirect(f"/groups/{member.group.id}/practice",
                        i18n.translate(request, N_("The practice session is planned.")))

    async def again(exc: AppError) -> Response:
        return await practice_page(request, session, member, status=exc.status, plan=values,
                                   error=i18n.say(request, exc))

    return await submit(session, act, again)


@router.post("/groups/{gid:int}/practice/{pid:int}/delete")
async def delete_practice(pid: int, request: Request, member: PageModerator,
                          session: SessionDep) -> Response:
    """Moderators: delete a planned session (every member's calendar drops it)."""
    await checked_form(request)
    await practice.delete_plan(session, member.user, member.group.id, pid)
    return redirect(f"/groups/{member.group.id}/practice",
                    i18n.translate(request, N_("That planned session is deleted.")))


@router.post("/settings/calendar")
async def make_calendar_link(request: Request, user: PageUser, session: SessionDep) -> Response:
    """A new private calendar link (any earlier one stops), shown once, on the reminders page."""
    form = await checked_form(request)
    token = await practice.make_feed(session, user, form.checked("show_group_names"))
    # Shown once, on the page this answer leads to: the token waits in a short-lived cookie
    # only that page reads (and clears), so a reload neither shows it again nor makes another.
    response = redirect(f"{REMINDERS_PAGE}#calendar",
                        i18n.translate(request, N_("Your new calendar link is ready.")))
    response.set_cookie(practice.NEW_LINK_COOKIE, token, max_age=120, httponly=True, samesite="strict",
                        path=REMINDERS_PAGE, secure=request.url.scheme == "https")
    return response


@router.post("/settings/calendar/stop")
async def stop_calendar_link(request: Request, user: PageUser, session: SessionDep) -> Response:
    """The calendar link stops working at once."""
    await checked_form(request)
    await practice.stop_feed(session, user.id)
    return redirect(f"{REMINDERS_PAGE}#calendar",
                    i18n.translate(request, N_("Your calendar link no longer works.")))


@router.get("/calendar/{token}.ics", name="calendar_feed")
async def calendar_feed(token: str, session: SessionDep) -> Response:
    """Public, for calendar apps (they cannot sign in): the member's planned practice sessions,
    with the private token in the link; 404 alike for any token that opens nothing."""
    feed, language, plans = await practice.feed_plans(session, token)
    body = practice.calendar(plans, clock.now(), show_group_names=feed.show_group_names,
                             language=language)
    return Response(body, media_type="text/calendar; charset=utf-8", headers=FEED_HEADERS)
