"""Planned practice in a real browser, at a phone's and a desktop's width: a moderator plans a
weekly session without any script's help, the member's open day page shows when the next one
is as soon as it is planned, and they make their calendar link, which a calendar app can then
read."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.browser.test_foundation_browser import DESKTOP, PHONE, axe_violations, need_chromium
from tests.browser.test_moderation_browser import Browsers, open_day
from tests.realtime.helpers import remote_group, remote_member

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_a_moderator_plans_and_the_member_adds_it_to_their_calendar(live_server, viewport):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = live_server.url
    mo, bo = await remote_member(base), await remote_member(base)
    gid = (await remote_group(mo, bo))["id"]
    async with async_playwright() as p, Browsers(p, base) as b:
        mod_page, member_page = await b.page(mo, viewport), await b.page(bo, viewport)

        # The member's day is open before anything is planned: it learns of the plan live.
        await open_day(member_page, base, gid)
        await expect(member_page.locator("#practice-line")).not_to_contain_text("Next practice")
        await open_day(mod_page, base, gid)
        await mod_page.get_by_role("link", name="Plan practice").click()
        await mod_page.wait_for_url(f"{base}/groups/{gid}/practice")
        assert await axe_violations(mod_page) == []
        await mod_page.get_by_label("A name for the session").fill("Evening practice")
        await mod_page.get_by_role("radio", name="Every week").check()
        await mod_page.get_by_label("Day of the week (every week)").select_option("3")
        await mod_page.get_by_label("Starts at").fill("18:30")
        await mod_page.get_by_label("Timezone").select_option("Europe/Berlin")
        await mod_page.get_by_role("button", name="Plan this session").click()
        await expect(mod_page.locator(".flash")).to_contain_text("The practice session is planned")
        await expect(mod_page.locator("#plans")).to_contain_text("Every Thursday, 18:30 (Europe/Berlin)")
        assert await axe_violations(mod_page) == []

        line = member_page.locator("#practice-next")
        await expect(line).to_contain_text("Next practice:")
        await expect(line).to_contain_text(re.compile(r"\d\d:30"))
        await line.get_by_role("link", name="Add to my calendar").click()
        await member_page.wait_for_url(re.compile(r"/settings/reminders#calendar$"))
        await member_page.get_by_role("button", name="Make my calendar link").click()
        link = member_page.get_by_label("Your calendar link")
        await expect(link).to_have_value(re.compile(r"/calendar/[A-Za-z0-9_-]+\.ics$"))
        assert await axe_violations(member_page) == []
        url = await link.input_value()
        async with httpx.AsyncClient(timeout=30) as calendar_app:
            feed = await calendar_app.get(url)
        assert feed.status_code == 200 and b"SUMMARY:Cairn practice" in feed.content
        assert b"TZID=Europe/Berlin" in feed.content and b"Evening practice" not in feed.content
    assert b.errors == [] and b.watch.problems == []
