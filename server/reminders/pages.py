"""The reminders page: gentle reminders a member chooses, for each device they want them on,
quiet hours, a snooze, each group's own times, and one button that turns them all off."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock, i18n
from server.accounts.pages import PageUser
from server.deps import SessionDep
from server.errors import AppError, Invalid
from server.forms import checked_form, submit
from server.groups import service as groups
from server.i18n import N_
from server.models import User
from server.models.reminders import DAILY, Nudge
from server.practice import service as practice
from server.reminders import push, schedule
from server.reminders import service as reminders
from server.web import redirect, render

router = APIRouter(include_in_schema=False)

PAGE = "/settings/reminders"


async def reminders_page(request: Request, session: AsyncSession, user: User, *, status: int = 200,
                         new_link: str | None = None, **context: Any) -> HTMLResponse:
    """new_link: the token of a calendar link just made, shown once while it is still the
    member's own link."""
    habits = await reminders.habits_of(session, user.id)
    calendar = await practice.feed_of(session, user.id)
    context.setdefault("chosen", {"morning": habits.morning or "", "evening": habits.evening or "",
                                  "quiet_from": habits.quiet_from or "",
                                  "quiet_until": habits.quiet_until or "",
                                  "practice": habits.practice})
    own = await reminders.group_choices(session, user.id)
    mine = [(group, own.get(group.id, {})) for group, _ in await groups.my_groups(session, user)]
    resting = habits.snoozed_until is not None and habits.snoozed_until > clock.now()
    return render(request, "accounts/reminders.html", status_code=status,
                  resting=habits.snoozed_until if resting else None,
                  groups=mine, nudges=DAILY, practice=Nudge.PRACTICE, snoozes=reminders.SNOOZES,
                  practice_lead=schedule.PRACTICE_LEAD_MINUTES,
                  devices=await reminders.device_count(session, user.id), calendar=calendar,
                  calendar_link=str(request.url_for("calendar_feed", token=new_link))
                  if new_link and calendar and calendar.token_hash == practice.token_hash(new_link)
                  else None,
                  push_key=push.public_key(request.app.state.pusher.settings), **context)


@router.get(PAGE)
async def reminders_home(request: Request, user: PageUser, session: SessionDep) -> HTMLResponse:
    token = request.cookies.get(practice.NEW_LINK_COOKIE)
    response = await reminders_page(request, session, user, new_link=token)
    if token:
        response.delete_cookie(practice.NEW_LINK_COOKIE, path=PAGE)
    return response


@router.post(PAGE)
async def choose(request: Request, user: PageUser, session: SessionDep) -> Response:
    """The usual morning and evening times, and quiet hours. Empty is off."""
    form = await checked_form(request)
    chosen: dict[str, Any] = {k: form.text(k)[:40]
                              for k in ("morning", "evening", "quiet_from", "quiet_until")}
    chosen["practice"] = form.checked("practice")

    async def act() -> Response:
        await reminders.choose(session, user, **chosen)
        said = (N_("Your reminders are saved. They will be gentle.")
                if chosen["morning"] or chosen["evening"] or chosen["practice"]
                else N_("Your reminders are off."))
        return redirect(PAGE, i18n.translate(request, said))

    async def again(exc: AppError) -> Response:
        return await reminders_page(request, session, user, status=exc.status, chosen=chosen,
                                    error=i18n.say(request, exc))

    return await submit(session, act, again)


@router.post(f"{PAGE}/snooze")
async def snooze(request: Request, user: PageUser, session: SessionDep) -> Response:
    """Hold every reminder for a while, or end a snooze."""
    form = await checked_form(request)

    async def act() -> Response:
        days = form.whole_number("days", "How long", 0, 7, default=0)
        until = await reminders.snooze(session, user, days)
        return redirect(PAGE, i18n.translate(request, N_("Reminders are resting for a while.")
                                             if until else N_("Reminders are back on.")))

    async def again(exc: AppError) -> Response:
        return await reminders_page(request, session, user, status=exc.status, snooze_error=i18n.say(request, exc))

    return await submit(session, act, again)


@router.post(PAGE + "/groups/{gid:int}")
async def choose_for_group(gid: int, request: Request, user: PageUser, session: SessionDep) -> Response:
    """One group's reminders: as usual, off, or at a time of its own (the practice reminder:
    as usual, on or off)."""
    form = await checked_form(request)
    group, _ = await groups.membership_of(session, gid, user.id)

    async def act() -> Response:
        for nudge in Nudge:
            choice = form.text(nudge.value) or "usual"
            daily = nudge != Nudge.PRACTICE  # the practice reminder's choices, the service checks
            if daily and choice == "own":
                choice = form.text(f"{nudge.value}_at")
                if not choice:
                    raise Invalid(N_("Give the group's own time, like 08:30."), code="invalid_time")
            elif daily and choice not in ("usual", "off"):
                raise Invalid(N_("Choose from the list."), code="invalid_choice")
            await reminders.choose_for_group(session, user, gid, nudge, choice)
        return redirect(f"{PAGE}#group-{gid}",
                        i18n.translate(request, N_("Saved for %(name)s."), name=group.name))

    async def again(exc: AppError) -> Response:
        return await reminders_page(request, session, user, status=exc.status, group_error=i18n.say(request, exc),
                                    group_error_for=gid)

    return await submit(session, act, again)


@router.post(f"{PAGE}/off")
async def all_off(request: Request, user: PageUser, session: SessionDep) -> Response:
    """Every reminder off, in one tap."""
    await checked_form(request)
    await reminders.stop_all(session, user.id)
    return redirect(PAGE, i18n.translate(
        request, N_("All reminders are off. You can choose them again whenever you like.")))
