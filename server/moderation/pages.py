"""HTML pages for moderation: reporting from the group's day, the moderators' page (worry
notices, reports a page at a time, hiding, muting, roles, removal, password reset codes) and
the group's audit log that every member can read."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from server import clock, formats, i18n
from server.accounts import recovery
from server.commitments import days
from server.deps import MAX_ID, Member, SessionDep
from server.errors import AppError, Invalid
from server.forms import Form, checked_form, submit
from server.groups import pages as group_pages
from server.groups import service as groups
from server.i18n import N_
from server.models import User
from server.models.groups import Role
from server.models.moderation import ReportStatus, TargetType
from server.moderation import service as moderation
from server.web import redirect, render

router = APIRouter(include_in_schema=False)

# How long a moderator can pause someone's posting, in minutes.
MUTE_CHOICES = ((15, N_("15 minutes")), (60, N_("1 hour")), (240, N_("4 hours")),
                (1440, N_("1 day")), (4320, N_("3 days")), (10080, N_("1 week")),
                (43200, N_("30 days")))
# The audit log in words: one sentence per action, %(actor)s who did it and %(target)s whom or
# what it was about (the page puts their names in).
ACTIONS = {"hide": N_("%(actor)s hid %(target)s"),
           "mute": N_("%(actor)s paused posting for %(target)s"),
           "unmute": N_("%(actor)s let %(target)s post again"),
           "remove": N_("%(actor)s removed %(target)s from the group"),
           "promote": N_("%(actor)s made %(target)s a moderator"),
           "demote": N_("%(actor)s made %(target)s a member again"),
           "dismiss": N_("%(actor)s dismissed %(target)s"),
           "plan": N_("%(actor)s planned a practice session: %(target)s"),
           "unplan": N_("%(actor)s deleted the planned session %(target)s"),
           "not_held": N_("%(actor)s closed the room of %(target)s as no moderator had joined"),
           "reset_code": N_("%(actor)s made a password reset code for %(target)s")}
# An action Cairn does not know the words of (from a later version, say).
OTHER_ACTION = N_("%(actor)s: %(target)s")
# A report's head on the moderation page, by what it is about: (by its author, author gone).
REPORT_HEADS = {
    TargetType.COMMITMENT: (N_("%(reporter)s reported a commitment by %(author)s"),
                            N_("%(reporter)s reported a commitment")),
    TargetType.CHECKIN: (N_("%(reporter)s reported a check-in note by %(author)s"),
                         N_("%(reporter)s reported a check-in note")),
    TargetType.ENCOURAGEMENT: (N_("%(reporter)s reported an encouragement note by %(author)s"),
                               N_("%(reporter)s reported an encouragement note")),
    TargetType.SCENARIO: (N_("%(reporter)s reported a scenario card by %(author)s"),
                          N_("%(reporter)s reported a scenario card")),
    TargetType.ROLEPLAY_LINE: (N_("%(reporter)s reported a line said in a practice room by "
                                  "%(author)s"),
                               N_("%(reporter)s reported a line said in a practice room")),
}
_ANCHOR = re.compile(r"c[0-9]{1,10}")


def _back(member: Member, form: Form) -> str:
    """Where a form returns to: the moderation page, the progress page, or the group's day
    (with the day and the commitment it was about). Never anywhere else."""
    gid = member.group.id
    back = form.text("back")
    if back == "moderation":
        return f"/groups/{gid}/moderation"
    if back == "progress":
        return "/me/progress#encouragement"
    today = clock.local_today(member.user.timezone)
    url = group_pages.day_url(gid, group_pages.parse_day(form.text("day")), today)
    anchor = form.text("anchor")
    return f"{url}#{anchor}" if _ANCHOR.fullmatch(anchor) else url


def named(form: Form) -> tuple[str, str]:
    """What a report or hide form names, as sent: `target_type` and `target_id`, or one
    `target` ("checkin-12") chosen among a card's words."""
    choice = form.text("target")
    if choice:
        kind, _, target_id = choice.rpartition("-")
        return kind, target_id
    return form.text("target_type"), form.text("target_id")


def _target(form: Form) -> tuple[TargetType, int]:
    kind, raw_id = named(form)
    target_type = TargetType.of(kind)
    target_id = int(raw_id) if raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 10 else 0
    if target_type is None or not 1 <= target_id <= MAX_ID:
        raise Invalid(N_("We could not tell what this is about."), code="invalid_target")
    return target_type, target_id


def _report_cursor(raw: str | None) -> int | None:
    """`?before=` of the moderation page: a report id, or the first page for anything else."""
    return int(raw) if raw and raw.isdigit() and len(raw) <= 10 and 1 <= int(raw) <= MAX_ID else None


async def moderation_page(request: Request, session: AsyncSession, member: Member, *,
                          status: int = 200, before: int | None = None,
                          **context: Any) -> HTMLResponse:
    gid = member.group.id
    page = await moderation.reports(session, gid, ReportStatus.OPEN, before=before)
    open_reports = page.reports
    resolved = (await moderation.reports(session, gid, ReportStatus.RESOLVED)).reports
    reported = await moderation.reported(session, gid, [r for r, _ in open_reports + resolved])
    previews = {(r.target_type, r.target_id): reported[r.id].now for r, _ in open_reports + resolved
                if reported[r.id].now is not None}
    hidden = await moderation.hidden_in(session, gid)
    people = await groups.members(session, gid)
    # The reports whose hide form is on the page: an error about anything else shows on top.
    hideable = {(r.target_type, str(r.target_id)) for r, _ in open_reports
                if (r.target_type, r.target_id) in previews and (r.target_type, r.target_id) not in hidden}
    timezone, now = member.user.timezone, clock.now()
    return render(
        request, "moderation/page.html", status_code=status, group=member.group, member=member,
        open_reports=open_reports, open_count=await moderation.open_report_count(session, gid),
        report_page=page, before=before, resolved=resolved, previews=previews, reported=reported,
        hideable=hideable,
        open_ids={r.id for r, _ in open_reports},
        worries=await moderation.worries(session, gid),
        acknowledged=await moderation.worries(session, gid, acknowledged=True,
                                              limit=moderation.ACKNOWLEDGED_SHOWN),
        hidden=hidden, people=people, people_ids={p.id for p, _ in people},
        is_muted=moderation.is_muted, timezone=timezone,
        day_url=group_pages.day_url, today=clock.local_today(timezone, now),
        # A commitment's own day, as the reader's group's day shows it.
        seen_on=lambda p: days.seen_on(p.day, p.zone or timezone, timezone, now),
        mute_choices=MUTE_CHOICES, reason_max=moderation.REASON_MAX, report_heads=REPORT_HEADS,
        reset_minutes=recovery.RESET_MINUTES, **context)


@router.get("/groups/{gid:int}/moderation")
async def moderation_home(request: Request, member: group_pages.PageModerator,
                          session: SessionDep, before: str | None = None) -> HTMLResponse:
    """Moderators: worry notices, open reports (a page at a time; `?before=` a report id for
    older ones), hiding, muting, roles and removal."""
    return await moderation_page(request, session, member, before=_report_cursor(before))


@router.post("/groups/{gid:int}/worries/{wid:int}/acknowledge")
async def acknowledge_worry(wid: int, request: Request, member: group_pages.PageModerator,
                            session: SessionDep) -> Response:
    """Moderators: say that a worry notice is seen and someone will look after the member. Only
    moderators see who acknowledged it and when."""
    await checked_form(request)
    notice = await moderation.acknowledge_worry(session, member.user, member.group.id, wid)
    said = (i18n.translate(request, N_("Acknowledged. Thank you for looking after %(name)s."),
                           name=notice.member.display_name) if notice.member
            else i18n.translate(request, N_("Acknowledged. Thank you for looking after a former "
                                            "member.")))
    return group_pages.with_anchor(redirect(f"/groups/{member.group.id}/moderation", said),
                                   "worries")


@router.get("/groups/{gid:int}/audit")
async def audit_page(request: Request, member: group_pages.PageMember,
                     session: SessionDep) -> HTMLResponse:
    """Every moderator action in the group, for every member to read."""
    timezone = member.user.timezone
    return render(request, "moderation/audit.html", group=member.group, member=member,
                  entries=await moderation.audit_log(session, member.group.id), actions=ACTIONS,
                  other_action=OTHER_ACTION, timezone=timezone)


@router.post("/groups/{gid:int}/reports")
async def report(request: Request, member: group_pages.PageMember,
                 session: SessionDep) -> Response:
    """Report something in the group to its moderators. Any member may, muted ones too:
    being muted must not stop anyone asking for help with what they see."""
    form = await checked_form(request)
    back = _back(member, form)
    values = {"reason": form.text("reason")[:moderation.REASON_MAX + 100], "target": form.text("target")}

    async def act() -> Response:
        target_type, target_id = _target(form)
        await moderation.report(session, member.user, member.group.id, target_type=target_type,
                                target_id=target_id, reason=values["reason"])
        return redirect(back, i18n.translate(
            request, N_("Thank you for telling us. The group's moderators will look at it.")))

    async def again(exc: AppError) -> Response:
        if form.text("back") in ("moderation", "progress"):
            raise exc
        day = group_pages.parse_day(form.text("day"))
        return await group_pages.day_page(
            request, session, member, day, status=exc.status, report_error=i18n.say(request, exc),
            report_for=named(form), report_values=values)

    return await submit(session, act, again)


@router.post("/groups/{gid:int}/hidden")
async def hide(request: Request, member: group_pages.PageModerator,
               session: SessionDep) -> Response:
    """Moderators: hide content. Everyone but its author sees that a moderator hid it; the
    author sees why, and the group's audit log records it."""
    form = await checked_form(request)
    back = _back(member, form)
    values = {"reason": form.text("reason")[:moderation.REASON_MAX + 100], "target": form.text("target")}

    async def act() -> Response:
        target_type, target_id = _target(form)
        await moderation.hide(session, member.user, member.group.id, target_type=target_type,
                              target_id=target_id, reason=values["reason"])
        return redirect(back, i18n.translate(
            request, N_("It is hidden. Its author can see why, and the group's log shows it.")))

    async def again(exc: AppError) -> Response:
        for_ = named(form)
        if form.text("back") == "moderation":
            return await moderation_page(request, session, member, status=exc.status,
                                         hide_error=i18n.say(request, exc), hide_for=for_, hide_values=values)
        day = group_pages.parse_day(form.text("day"))
        return await group_pages.day_page(request, session, member, day, status=exc.status,
                                          report_error=i18n.say(request, exc), hide_for=for_, hide_values=values)

    return await submit(session, act, again)


@router.post("/groups/{gid:int}/reports/{rid:int}/dismiss")
async def dismiss(rid: int, request: Request, member: group_pages.PageModerator,
                  session: SessionDep) -> Response:
    """Moderators: close a report without hiding anything (the audit log records it)."""
    form = await checked_form(request)

    async def act() -> Response:
        await moderation.dismiss(session, member.user, member.group.id, rid, form.text("note"))
        return redirect(f"/groups/{member.group.id}/moderation",
                        i18n.translate(request, N_("The report is dismissed.")))

    async def again(exc: AppError) -> Response:
        return await moderation_page(request, session, member, status=exc.status,
                                     report_error=i18n.say(request, exc), report_for=rid)

    return await submit(session, act, again)


async def _said_of(request: Request, session: AsyncSession, uid: int, message: str,
                   **params: Any) -> str:
    """A message about a member (`%(name)s`), in the reader's language."""
    user = await session.get(User, uid)
    return i18n.translate(request, message, name=user.display_name if user else "?", **params)


def _to_members(member: Member, message: str) -> Response:
    return group_pages.with_anchor(redirect(f"/groups/{member.group.id}/moderation", message),
                                   "members")


@router.post("/groups/{gid:int}/members/{uid:int}/mute")
async def mute(uid: int, request: Request, member: group_pages.PageModerator,
               session: SessionDep) -> Response:
    """Moderators: pause a member's posting for a while, with a reason. They can still read."""
    form = await checked_form(request)
    values = {"minutes": form.text("minutes"), "reason": form.text("reason")[:moderation.REASON_MAX + 100]}

    async def act() -> Response:
        minutes = form.whole_number("minutes", "How long", 1, moderation.MUTE_MINUTES_MAX)
        if minutes is None:
            raise Invalid(N_("Please choose how long the pause lasts."), code="invalid_minutes")
        membership = await moderation.mute(session, member.user, member.group.id, uid,
                                           minutes=minutes, reason=values["reason"])
        assert membership.muted_until is not None  # just set
        until = formats.moment(membership.muted_until, member.user.timezone,
                               i18n.language_of(request))
        return _to_members(member, await _said_of(
            request, session, uid, N_("%(name)s can read but not post until %(until)s."),
            until=until))

    async def again(exc: AppError) -> Response:
        return await moderation_page(request, session, member, status=exc.status,
                                     member_error=i18n.say(request, exc), member_for=uid, mute_values=values)

    return await submit(session, act, again)


@router.post("/groups/{gid:int}/members/{uid:int}/unmute")
async def unmute(uid: int, request: Request, member: group_pages.PageModerator,
                 session: SessionDep) -> Response:
    """Moderators: let a muted member post again."""
    await checked_form(request)

    async def act() -> Response:
        await moderation.unmute(session, member.user, member.group.id, uid)
        return _to_members(member, await _said_of(request, session, uid,
                                                  N_("%(name)s can post again.")))

    async def again(exc: AppError) -> Response:
        return await moderation_page(request, session, member, status=exc.status,
                                     member_error=i18n.say(request, exc), member_for=uid)

    return await submit(session, act, again)


@router.post("/groups/{gid:int}/members/{uid:int}/role")
async def set_role(uid: int, request: Request, member: group_pages.PageModerator,
                   session: SessionDep) -> Response:
    """Moderators: make a member a moderator, or a moderator a member again."""
    form = await checked_form(request)
    role = form.text("role")

    async def act() -> Response:
        await moderation.set_role(session, member.user, member.group.id, uid, role)
        message = await _said_of(request, session, uid,
                                 N_("%(name)s is now a moderator of this group.")
                                 if role == Role.MODERATOR else N_("%(name)s is a member again."))
        if uid == member.user.id:
            return redirect(f"/groups/{member.group.id}", message)
        return _to_members(member, message)

    async def again(exc: AppError) -> Response:
        return await moderation_page(request, session, member, status=exc.status,
                                     member_error=i18n.say(request, exc), member_for=uid)

    return await submit(session, act, again)


@router.post("/groups/{gid:int}/members/{uid:int}/reset-code")
async def make_reset_code(uid: int, request: Request, member: group_pages.PageModerator,
                          session: SessionDep) -> Response:
    """Moderators: a one-time password reset code for a member who cannot sign in, shown this
    once (never kept by a browser's cache) to give them in person."""
    await checked_form(request)

    async def act() -> Response:
        made = await moderation.make_reset_code(session, member.user, member.group.id, uid)
        person = await session.get(User, uid)
        response = render(request, "moderation/reset_code.html", group=member.group, member=member,
                          person=person, code=made.code, until=made.expires_at,
                          timezone=member.user.timezone)
        response.headers["Cache-Control"] = "no-store"
        return response

    async def again(exc: AppError) -> Response:
        return await moderation_page(request, session, member, status=exc.status,
                                     member_error=i18n.say(request, exc), member_for=uid)

    return await submit(session, act, again)
