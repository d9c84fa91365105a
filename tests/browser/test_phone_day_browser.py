"""The group's day on a phone: the day's commitments start on the first screen (the posting
form and the moderator's practice-room opener are folded until asked for), and the members,
with how many are here now, are one tap away."""

from __future__ import annotations

import pytest

from tests.browser.test_foundation_browser import PHONE, need_chromium
from tests.browser.test_moderation_browser import Browsers, commit, open_day
from tests.realtime.helpers import remote_group, remote_member

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def test_the_days_commitments_start_on_a_phones_first_screen(live_server):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = live_server.url
    alex, bea = await remote_member(base), await remote_member(base)
    gid = (await remote_group(alex, bea))["id"]
    first = await commit(bea, gid, "Drink a glass of water before coffee", "water")
    async with async_playwright() as p, Browsers(p, base) as b:
        mod, member = await b.page(alex, PHONE), await b.page(bea, PHONE)
        for page in (mod, member):
            await open_day(page, base, gid)
            card = page.locator(f"#c{first}")
            box = await card.bounding_box()
            assert box is not None and box["y"] < PHONE["height"], box
            await expect(page.locator("#post-text")).to_be_hidden()
        await expect(mod.locator("#room-title")).to_be_hidden()

        # One tap opens the posting form; one tap reaches the members and who is here.
        await member.get_by_text("Post your commitment for today").click()
        await expect(member.get_by_label("What you will do")).to_be_visible()
        jump = member.get_by_role("link", name="Members")
        await expect(jump).to_contain_text("2 here now")
        await jump.click()
        await expect(member.locator("#members")).to_be_in_viewport()
        assert not b.errors, b.errors
