"""Reminders in a real browser, at a phone's and a desktop's width: choosing times, and this
device asking for permission and subscribing with the key Cairn signs with. Headless
Chromium has no push service to subscribe through, so the subscription itself is played by
the page (the call and its key are what is checked); the push that follows is exercised
end to end in tests/reminders/test_sending.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.reminders import push
from tests.authz.matrix import push_device
from tests.authz.world import Person
from tests.browser.test_foundation_browser import DESKTOP, PHONE, axe_violations, need_chromium
from tests.browser.test_installable_browser import WORKER_ACTIVATED
from tests.browser.test_moderation_browser import Browsers
from tests.fixtures.servers import LiveServer
from tests.realtime.helpers import remote_member

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PRIVATE, PUBLIC = push.new_keys()

# The browser's pushManager.subscribe, played: it records what it was asked and answers with
# a subscription at the one push service this Cairn sends to.
FAKE_SUBSCRIBE = """
window.subscribedWith = [];
PushManager.prototype.subscribe = function (options) {
  const key = new Uint8Array(options.applicationServerKey);
  window.subscribedWith.push({ userVisibleOnly: options.userVisibleOnly,
    key: btoa(String.fromCharCode.apply(null, key)).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "") });
  const sub = %s;
  window.currentSubscription = { endpoint: sub.endpoint, toJSON: function () { return sub; },
    unsubscribe: function () { window.currentSubscription = null; return Promise.resolve(true); } };
  return Promise.resolve(window.currentSubscription);
};
PushManager.prototype.getSubscription = function () {
  return Promise.resolve(window.currentSubscription || null);
};
"""


@pytest.fixture
def push_server(sqlite_database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(sqlite_database_url, log_path=tmp_path / "server.log",
                        env={"CAIRN_VAPID_PRIVATE_KEY": PRIVATE, "CAIRN_PUSH_SERVICES": "https://push.example",
                             "CAIRN_REMINDER_INTERVAL_SECONDS": "0"}).start()
    yield server
    server.stop()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_choosing_reminders_and_allowing_them_on_this_device(push_server, viewport):
    need_chromium()
    import json

    from playwright.async_api import async_playwright, expect

    base = push_server.url
    ari = await remote_member(base)
    async with async_playwright() as p, Browsers(p, base) as b:
        page = await b.page(ari, viewport)
        await page.context.grant_permissions(["notifications"], origin=base)
        await page.add_init_script(FAKE_SUBSCRIBE % json.dumps(push_device(Person("phone"))))
        await page.goto(f"{base}/settings")
        await page.get_by_role("link", name="Gentle reminders").click()
        await page.wait_for_url(f"{base}/settings/reminders")
        assert await axe_violations(page) == []

        # All off until chosen; the times are the member's own.
        await expect(page.get_by_label("Morning: choose today's care")).to_have_value("")
        await page.get_by_label("Morning: choose today's care").fill("07:45")
        await page.get_by_label("Evening: check in").fill("21:00")
        await page.get_by_role("button", name="Save my reminders").click()
        await expect(page.locator(".flash")).to_contain_text("Your reminders are saved")
        await expect(page.get_by_label("Morning: choose today's care")).to_have_value("07:45")

        # This device: permission, then a subscription with the key Cairn signs with.
        allow = page.get_by_role("button", name="Allow reminders on this device")
        await expect(allow).to_be_visible()
        await allow.click()
        await expect(page.locator("#push-state")).to_contain_text("Reminders will come to this device")
        assert await page.evaluate("window.subscribedWith") == [{"userVisibleOnly": True, "key": PUBLIC}]
        await expect(page.get_by_role("button", name="Stop reminders on this device")).to_be_visible()
        r = await ari.get("/api/v1/me/reminders")
        assert r.json()["devices"] == 1 and r.json()["morning"] == "07:45"

        # Stopping on this device tells Cairn; every reminder off is one tap.
        await page.get_by_role("button", name="Stop reminders on this device").click()
        await expect(page.locator("#push-state")).to_contain_text("no longer receives reminders")
        assert (await ari.get("/api/v1/me/reminders")).json()["devices"] == 0
        await page.get_by_role("button", name="Turn every reminder off").click()
        await expect(page.locator(".flash")).to_contain_text("All reminders are off")
        assert (await ari.get("/api/v1/me/reminders")).json()["morning"] is None
        assert await axe_violations(page) == []
    assert b.errors == [] and b.watch.problems == []


async def test_a_refused_permission_is_said_kindly(push_server):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = push_server.url
    ari = await remote_member(base)
    async with async_playwright() as p, Browsers(p, base) as b:
        page = await b.page(ari, PHONE)
        await page.add_init_script("Notification.requestPermission = () => Promise.resolve('denied');")
        await page.goto(f"{base}/settings/reminders")
        await page.get_by_role("button", name="Allow reminders on this device").click()
        await expect(page.locator("#push-state")).to_contain_text("Reminders need your permission")
        assert (await ari.get("/api/v1/me/reminders")).json()["devices"] == 0
    assert b.errors == []


async def test_a_push_shows_a_neutral_reminder_with_a_way_to_stop(push_server):
    """The service worker's side of a reminder: a push delivered to it (as a push service
    would, through the browser's DevTools protocol) becomes a notification that says Cairn
    and the neutral line, with "Stop these reminders"."""
    need_chromium()
    import json

    from playwright.async_api import async_playwright

    from server.models.reminders import Nudge
    from server.reminders import service as reminders

    base = push_server.url
    ari = await remote_member(base)
    payload = {"title": reminders.TITLE, "body": reminders.WORDS[Nudge.MORNING], "url": "/groups",
               "tag": "cairn-morning", "stop": "1.abc"}
    async with async_playwright() as p, Browsers(p, base) as b:
        page = await b.page(ari, PHONE)
        await page.context.grant_permissions(["notifications"], origin=base)
        cdp = await page.context.new_cdp_session(page)
        registered = []
        cdp.on("ServiceWorker.workerRegistrationUpdated",
               lambda e: registered.extend(r for r in e["registrations"] if not r.get("isDeleted")))
        await cdp.send("ServiceWorker.enable")
        await page.goto(f"{base}/settings/reminders")
        await page.evaluate(WORKER_ACTIVATED)  # a push reaches an activated worker only
        ids = {r["registrationId"] for r in registered if r["scopeURL"].startswith(base)}
        assert len(ids) == 1, registered
        registration = ids.pop()
        # Until the worker has shown it (the push is handled asynchronously in the worker). A
        # push delivered through the browser's DevTools has been seen, once on a busy machine,
        # never to show, even after the wait for activation above; so it is delivered again
        # every 5 s, for 30 s at most. What the test checks is what a push that arrives shows;
        # the same tag replaces a notification, so one shows however many arrive.
        shown = None
        for _ in range(6):
            await cdp.send("ServiceWorker.deliverPushMessage",
                           {"origin": base, "registrationId": registration,
                            "data": json.dumps(payload)})
            shown = await page.evaluate("""async () => {
                const registration = await navigator.serviceWorker.ready;
                const until = Date.now() + 5000;
                while (Date.now() < until) {
                    const notes = await registration.getNotifications();
                    if (notes.length) return notes.map(n => ({title: n.title, body: n.body, tag: n.tag,
                                                              actions: n.actions.map(a => a.title)}));
                    await new Promise(done => setTimeout(done, 50));
                }
                return null;
            }""")
            if shown:
                break
        assert shown == [{"title": "Cairn", "body": reminders.WORDS[Nudge.MORNING],
                          "tag": "cairn-morning", "actions": ["Stop these reminders"]}]
    assert b.errors == []
