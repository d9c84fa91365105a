"""Choosing reminders through the API and the reminders page, the devices they go to, and
the one-tap stop a reminder carries: every bad input refused clearly, nothing half-written."""

from __future__ import annotations

import pytest

from server.reminders import push
from server.reminders import service as reminders
from tests.authz.matrix import push_device
from tests.authz.world import Person
from tests.fixtures.clients import Clients, make_settings
from tests.test_pages import Browser, create_group, join, sign_up

PUSH_SERVICE = "https://push.example"


@pytest.fixture
async def app(database_url: str):
    from server.main import create_app

    application = create_app(make_settings(database_url, vapid_private_key=push.new_keys()[0],
                                           push_services=[PUSH_SERVICE], reminder_interval_seconds=0))
    async with application.router.lifespan_context(application):
        yield application


def device_of(kind: str) -> dict:
    sub = push_device(Person(kind))
    assert sub["endpoint"].startswith(PUSH_SERVICE)
    return sub


async def test_reminders_are_off_until_chosen_then_kept_as_chosen(clients: Clients):
    ari = await clients.member("ariadne")
    r = await ari.client.get("/api/v1/me/reminders")
    assert r.status_code == 200
    body = r.json()
    assert (body["morning"], body["evening"], body["snoozed_until"], body["devices"]) == (None, None, None, 0)
    assert body["push_key"] == push.public_key(clients.app.state.pusher.settings)

    r = await ari.client.put("/api/v1/me/reminders", json={"morning": "07:30", "evening": "21:00",
                                                          "quiet_from": "22:00", "quiet_until": "07:00"})
    assert r.status_code == 200 and (r.json()["morning"], r.json()["quiet_until"]) == ("07:30", "07:00")
    for bad in ({"morning": "7:30"}, {"morning": "24:00"}, {"evening": "20:00:00"}, {"morning": 730},
                {"quiet_from": "22:00"}, {"quiet_until": "06:00"}):
        r = await ari.client.put("/api/v1/me/reminders", json=bad)
        assert r.status_code in (400, 422), (bad, r.status_code)
        assert r.json()["error"] and r.json()["detail"]
    # Nothing half-written: the last good choice stands.
    assert (await ari.client.get("/api/v1/me/reminders")).json()["morning"] == "07:30"

    for days, resting in ((3, True), (0, False)):
        r = await ari.client.post("/api/v1/me/reminders/snooze", json={"days": days})
        assert r.status_code == 200 and (r.json()["snoozed_until"] is not None) is resting
    for bad in (2, -1, "3", True, None):
        r = await ari.client.post("/api/v1/me/reminders/snooze", json={"days": bad})
        assert r.status_code in (400, 422), bad


async def test_a_group_of_ones_own_can_keep_other_times(clients: Clients):
    ari, bo = await clients.member("ariadne"), await clients.member("bonnie")
    gid = (await ari.client.post("/api/v1/groups", json={"name": "Circle"})).json()["id"]
    r = await ari.client.put(f"/api/v1/me/reminders/groups/{gid}", json={"morning": "off", "evening": "20:15"})
    assert r.status_code == 200
    assert r.json()["groups"] == [{"group_id": gid, "morning": "off", "evening": "20:15", "practice": "usual"}]
    r = await ari.client.put(f"/api/v1/me/reminders/groups/{gid}", json={"practice": "on"})
    assert r.json()["groups"] == [{"group_id": gid, "morning": "usual", "evening": "usual", "practice": "on"}]
    r = await ari.client.put(f"/api/v1/me/reminders/groups/{gid}", json={"practice": "off"})
    assert r.json()["groups"][0]["practice"] == "off"
    for bad in ("17:00", "yes", True):
        r = await ari.client.put(f"/api/v1/me/reminders/groups/{gid}", json={"practice": bad})
        assert r.status_code in (400, 422), bad
    r = await ari.client.put(f"/api/v1/me/reminders/groups/{gid}", json={"morning": "usual", "evening": "usual"})
    assert r.json()["groups"] == []
    # Someone else's group, or one that is not there: the same 404.
    for other in (gid, 999999):
        r = await bo.client.put(f"/api/v1/me/reminders/groups/{other}", json={"morning": "off"})
        assert r.status_code == 404
    r = await ari.client.put(f"/api/v1/me/reminders/groups/{gid}", json={"morning": "sometimes"})
    assert r.status_code in (400, 422)


async def test_devices_only_at_the_push_services_this_cairn_sends_to(clients: Clients):
    ari = await clients.member("ariadne")
    sub = device_of("phone")
    r = await ari.client.post("/api/v1/me/push-devices", json=sub)
    assert r.status_code == 201 and r.json() == {"endpoint": sub["endpoint"]}
    assert (await ari.client.get("/api/v1/me/reminders")).json()["devices"] == 1
    await ari.client.put("/api/v1/me/reminders", json={"morning": "06:50"})
    mine = (await ari.client.get("/api/v1/me/export")).json()["reminders"]
    assert mine["morning"] == "06:50" and [d["endpoint"] for d in mine["devices"]] == [sub["endpoint"]]
    assert mine["calendar_link"] is None
    again = await ari.client.post("/api/v1/me/push-devices", json=sub)  # the same device, once
    assert again.status_code == 201
    assert (await ari.client.get("/api/v1/me/reminders")).json()["devices"] == 1
    for endpoint in ("http://127.0.0.1:5432/", "https://push.example.evil.example/x", "https://evil.example/x"):
        r = await ari.client.post("/api/v1/me/push-devices", json={**sub, "endpoint": endpoint})
        assert r.status_code == 422 and r.json()["error"] == "invalid_push_endpoint", endpoint
    r = await ari.client.post("/api/v1/me/push-devices",
                              json={**device_of("x"), "keys": {"p256dh": "AAAA", "auth": "x"}})
    assert r.status_code == 422 and r.json()["error"] == "invalid_push_keys"
    # Someone else cannot take the device away; its owner can.
    bo = await clients.member("bonnie")
    gone = {"endpoint": sub["endpoint"]}
    assert (await bo.client.post("/api/v1/me/push-devices/remove", json=gone)).status_code == 204
    assert (await ari.client.get("/api/v1/me/reminders")).json()["devices"] == 1
    assert (await ari.client.post("/api/v1/me/push-devices/remove", json=gone)).status_code == 204
    assert (await ari.client.get("/api/v1/me/reminders")).json()["devices"] == 0


async def test_the_stop_a_reminder_carries_turns_off_its_members_reminders_only(clients: Clients):
    ari, bo = await clients.member("ariadne"), await clients.member("bonnie")
    for who in (ari, bo):
        await who.client.put("/api/v1/me/reminders", json={"morning": "08:00", "evening": "20:00"})
    settings = clients.app.state.pusher.settings
    token = reminders.stop_token(settings, ari.user["id"])
    anonymous = clients.anonymous()
    for bad in ("", f"{bo.user['id']}.{token.split('.', 1)[1]}", token + "0", "x" * 300, "1.", ".abc"):
        r = await anonymous.post("/api/v1/reminders/stop", json={"token": bad})
        assert r.status_code in (400, 422), bad
    assert (await anonymous.post("/api/v1/reminders/stop", json={"token": token})).status_code == 204
    assert (await ari.client.get("/api/v1/me/reminders")).json()["morning"] is None
    assert (await bo.client.get("/api/v1/me/reminders")).json()["morning"] == "08:00"


async def test_the_reminders_page(clients: Clients):
    mod, member = await sign_up(clients), await sign_up(clients)
    gid, code = await create_group(mod)
    assert (await join(member, code)).status_code == 303
    page = (await member.get("/settings/reminders")).text
    assert "Allow reminders on this device" in page and 'data-push-key="' in page
    assert "No device receives your reminders yet." in page and "For each group" in page
    r = await member.submit("/settings/reminders",
                            {"morning": "07:45", "evening": "", "quiet_from": "", "quiet_until": ""})
    assert r.status_code == 303 and r.headers["location"] == "/settings/reminders"
    assert 'value="07:45"' in (await member.get("/settings/reminders")).text
    assert (await member.client.get("/api/v1/me/reminders")).json()["practice"] is False
    r = await member.submit("/settings/reminders", {"morning": "07:45", "practice": "yes"})
    assert r.status_code == 303 and (await member.client.get("/api/v1/me/reminders")).json()["practice"] is True
    assert 'id="r-practice" name="practice" value="yes" checked' in (await member.get("/settings/reminders")).text
    r = await member.submit("/settings/reminders", {"morning": "quarter to eight", "evening": ""})
    assert r.status_code == 422 and "should be a time like 08:30" in r.text and 'value="quarter to eight"' in r.text
    r = await member.submit("/settings/reminders", {"morning": "", "quiet_from": "22:00", "quiet_until": ""})
    assert r.status_code == 422 and "Quiet hours need a start and an end." in r.text
    r = await member.submit(f"/settings/reminders/groups/{gid}", {"morning": "own", "morning_at": "", "evening": "off"})
    assert r.status_code == 422 and "own time, like 08:30" in r.text
    r = await member.submit(f"/settings/reminders/groups/{gid}",
                            {"morning": "own", "morning_at": "09:10", "evening": "off"})
    assert r.status_code == 303
    api = (await member.client.get("/api/v1/me/reminders")).json()
    assert api["groups"] == [{"group_id": gid, "morning": "09:10", "evening": "off", "practice": "usual"}]
    r = await member.submit(f"/settings/reminders/groups/{gid}",
                            {"morning": "own", "morning_at": "09:10", "evening": "off", "practice": "on"})
    assert r.status_code == 303
    api = (await member.client.get("/api/v1/me/reminders")).json()
    assert api["groups"][0]["practice"] == "on"
    r = await member.submit(f"/settings/reminders/groups/{gid}", {"practice": "always"})
    assert r.status_code == 422 and "Choose from the list." in r.text
    r = await member.submit("/settings/reminders/snooze", {"days": "7"})
    assert r.status_code == 303 and "Resting until" in (await member.get("/settings/reminders")).text
    r = await member.submit("/settings/reminders/snooze", {"days": "5"})
    assert r.status_code == 422
    r = await member.submit("/settings/reminders/off", {})
    assert r.status_code == 303
    api = (await member.client.get("/api/v1/me/reminders")).json()
    assert (api["morning"], api["groups"]) == (None, [])
    outsider: Browser = await sign_up(clients)
    r = await outsider.submit(f"/settings/reminders/groups/{gid}", {"morning": "off", "evening": "off"})
    assert r.status_code == 404
