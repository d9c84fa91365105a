"""JSON routes for reminders: a member's choices (/api/v1/me/reminders), the devices that
receive them (/api/v1/me/push-devices), and the one tap that stops them from a reminder
(/api/v1/reminders/stop)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from server.deps import CurrentUser, SessionDep, SettingsDep, member_of_path
from server.errors import Invalid
from server.i18n import N_
from server.models.reminders import Nudge
from server.reminders import push, schedule
from server.reminders import service as reminders

router = APIRouter(prefix="/api/v1", tags=["reminders"])

TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class RemindersIn(BaseModel):
    """Local times in the member's own zone; null is off."""

    morning: str | None = Field(default=None, pattern=TIME, description="Set the day's commitments")
    evening: str | None = Field(default=None, pattern=TIME, description="Check in on them")
    quiet_from: str | None = Field(default=None, pattern=TIME)
    quiet_until: str | None = Field(default=None, pattern=TIME)
    practice: bool = Field(default=False, strict=True,
                           description=f"{schedule.PRACTICE_LEAD_MINUTES} minutes before "
                                       "each planned practice session")


class GroupRemindersIn(BaseModel):
    """For one group: "usual" (as the member's own times), "off", or a time of its own."""

    morning: str = Field(default="usual", pattern=r"^(usual|off|([01][0-9]|2[0-3]):[0-5][0-9])$")
    evening: str = Field(default="usual", pattern=r"^(usual|off|([01][0-9]|2[0-3]):[0-5][0-9])$")
    practice: str = Field(default="usual", pattern=r"^(usual|on|off)$")


class GroupRemindersOut(GroupRemindersIn):
    group_id: int


class RemindersOut(RemindersIn):
    snoozed_until: dt.datetime | None
    groups: list[GroupRemindersOut]
    devices: int
    # The key browsers subscribe with (null: this Cairn sends no reminders).
    push_key: str | None


class SnoozeIn(BaseModel):
    days: int = Field(strict=True, description="1, 3 or 7; 0 ends a snooze")


class DeviceKeys(BaseModel):
    p256dh: str = Field(min_length=1, max_length=128)
    auth: str = Field(min_length=1, max_length=64)


class DeviceIn(BaseModel):
    """A browser's push subscription, as `PushSubscription.toJSON()` gives it."""

    endpoint: str = Field(min_length=1, max_length=2000)
    keys: DeviceKeys


class DeviceOut(BaseModel):
    endpoint: str


class StopIn(BaseModel):
    token: str = Field(min_length=1, max_length=200)


async def reminders_out(request: Request, session: SessionDep, user_id: int) -> RemindersOut:
    habits = await reminders.habits_of(session, user_id)
    own = await reminders.group_choices(session, user_id)
    return RemindersOut(
        morning=habits.morning, evening=habits.evening, quiet_from=habits.quiet_from,
        quiet_until=habits.quiet_until, practice=habits.practice, snoozed_until=habits.snoozed_until,
        groups=[GroupRemindersOut(group_id=gid, **{n.value: ("off" if at is None else at)
                                                   for n, at in choices.items()})
                for gid, choices in sorted(own.items())],
        devices=await reminders.device_count(session, user_id),
        push_key=push.public_key(request.app.state.pusher.settings))


@router.get("/me/reminders", response_model=RemindersOut)
async def my_reminders(request: Request, user: CurrentUser, session: SessionDep) -> RemindersOut:
    """The member's reminders: all off until chosen."""
    return await reminders_out(request, session, user.id)


@router.put("/me/reminders", response_model=RemindersOut)
async def choose_reminders(body: RemindersIn, request: Request, user: CurrentUser,
                           session: SessionDep) -> RemindersOut:
    """Choose the morning and evening reminders and quiet hours (both ends, or neither)."""
    await reminders.choose(session, user, morning=body.morning, evening=body.evening,
                           quiet_from=body.quiet_from, quiet_until=body.quiet_until,
                           practice=body.practice)
    return await reminders_out(request, session, user.id)


@router.put("/me/reminders/groups/{gid:int}", response_model=RemindersOut)
async def choose_group_reminders(gid: int, body: GroupRemindersIn, request: Request,
                                 user: CurrentUser, session: SessionDep) -> RemindersOut:
    """One group's reminders instead of the usual ones; members of the group only."""
    await member_of_path(request, session, gid, user)  # read with the session: a 404 for others
    await reminders.choose_for_group(session, user, gid, Nudge.MORNING, body.morning)
    await reminders.choose_for_group(session, user, gid, Nudge.EVENING, body.evening)
    await reminders.choose_for_group(session, user, gid, Nudge.PRACTICE, body.practice)
    return await reminders_out(request, session, user.id)


@router.post("/me/reminders/snooze", response_model=RemindersOut)
async def snooze_reminders(body: SnoozeIn, request: Request, user: CurrentUser,
                           session: SessionDep) -> RemindersOut:
    """Hold every reminder for 1, 3 or 7 days; 0 ends a snooze."""
    await reminders.snooze(session, user, body.days)
    return await reminders_out(request, session, user.id)


@router.post("/me/push-devices", status_code=status.HTTP_201_CREATED, response_model=DeviceOut)
async def add_push_device(body: DeviceIn, request: Request, user: CurrentUser,
                          session: SessionDep) -> DeviceOut:
    """This browser receives the member's reminders. Its endpoint must be at one of the push
    services this Cairn sends to (`invalid_push_endpoint`)."""
    pusher: push.Pusher = request.app.state.pusher
    if not pusher.ready:
        raise Invalid(N_("This Cairn does not send reminders yet."), code="reminders_off")
    device = await reminders.add_device(session, pusher, user, endpoint=body.endpoint,
                                        p256dh=body.keys.p256dh, auth=body.keys.auth)
    return DeviceOut(endpoint=device.endpoint)


@router.post("/me/push-devices/remove", status_code=status.HTTP_204_NO_CONTENT)
async def remove_push_device(body: DeviceOut, user: CurrentUser, session: SessionDep) -> Response:
    """This browser no longer receives reminders (answered alike whether or not it did)."""
    await reminders.remove_device(session, user, body.endpoint)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/reminders/stop", status_code=status.HTTP_204_NO_CONTENT)
async def stop_reminders(body: StopIn, session: SessionDep, settings: SettingsDep) -> Response:
    """Public: the one tap on a reminder that turns every reminder off, with the token the
    reminder carried (no sign-in needed on a lock screen)."""
    user_id = reminders.stop_token_user(settings, body.token)
    if user_id is None:
        raise Invalid(N_("That link no longer works. You can turn reminders off in settings."),
                      code="invalid_token")
    await reminders.stop_all(session, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
