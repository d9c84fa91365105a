"""Honest about the connection, on a phone and on a desktop: the page says at once that it is
offline (not "Live" until a ping goes unanswered), says what arrived while away once it is
back, and a form sent while offline keeps its words and goes when the connection returns."""

from __future__ import annotations

import pytest

from tests.browser.test_foundation_browser import DESKTOP, PHONE, need_chromium
from tests.browser.test_moderation_browser import Browsers, commit, open_day
from tests.realtime.helpers import remote_group, remote_member

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_offline_is_said_at_once_and_nothing_is_lost(live_server, viewport):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = live_server.url
    alex, bea = await remote_member(base), await remote_member(base)
    gid = (await remote_group(alex, bea))["id"]
    cid = await commit(bea, gid, "Go to bed by eleven", "sleep")
    async with async_playwright() as p, Browsers(p, base) as b:
        page = await b.page(bea, viewport)
        await open_day(page, base, gid)
        banner = page.locator("#connection")
        await expect(banner).to_be_hidden()
        card = page.locator(f"#c{cid}")
        await card.get_by_role("link", name="Check in").click()
        await expect(card.get_by_label("Done")).to_be_visible()

        await page.context.set_offline(True)
        await expect(banner).to_be_visible()
        await expect(banner).to_contain_text("You are offline")
        await expect(page.locator("#live-status")).not_to_have_attribute("data-state", "live")
        box = await banner.bounding_box()
        assert box is not None and box["y"] == 0  # at the top of the screen

        # A check-in sent while offline stays on the page with its words, and says so.
        await card.get_by_label("Done").check()
        await card.get_by_label("A note for the group").fill("Lights out at 10:50")
        await card.get_by_role("button", name="Save my check-in").click()
        await expect(card.locator(".held-note")).to_contain_text("will be sent when you are back")
        await expect(card.get_by_label("A note for the group")).to_have_value("Lights out at 10:50")

        # Meanwhile the group goes on.
        await commit(alex, gid, "Walk round the block", "movement")
        await commit(alex, gid, "Say no to the extra shift", "boundary")

        # Back: the form goes, and the page it lands on has the check-in.
        await page.context.set_offline(False)
        await expect(page.locator(".flash")).to_contain_text("Checked in")
        await expect(page.locator(f"#c{cid}-checkin")).to_have_attribute("data-status", "done")
        await expect(page.locator(f"#c{cid}-checkin")).to_contain_text("Lights out at 10:50")
        assert not b.errors, b.errors


async def test_what_arrived_while_away_is_counted(live_server):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = live_server.url
    alex, bea = await remote_member(base), await remote_member(base)
    gid = (await remote_group(alex, bea))["id"]
    async with async_playwright() as p, Browsers(p, base) as b:
        page = await b.page(bea, PHONE)
        await open_day(page, base, gid)
        await page.context.set_offline(True)
        await expect(page.locator("#connection")).to_contain_text("You are offline")
        first = await commit(alex, gid, "Walk round the block", "movement")
        second = await commit(alex, gid, "Say no to the extra shift", "boundary")
        await page.context.set_offline(False)
        await expect(page.locator("#connection")).to_have_text("While you were away: 2 new updates.")
        await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
        for cid in (first, second):
            await expect(page.locator(f"#c{cid}")).to_be_visible()
        assert not b.errors, b.errors
