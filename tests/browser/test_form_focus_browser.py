"""After a form is posted, what came of it is where the eye is, on a phone and a desktop: a
confirmation beside the thing it is about, in view and focused; an error in view and
focused, not above the screen with focus on the page's body."""

from __future__ import annotations

import pytest

from tests.browser.test_foundation_browser import DESKTOP, PHONE, need_chromium
from tests.browser.test_moderation_browser import Browsers, commit
from tests.realtime.helpers import remote_group, remote_member

pytestmark = [pytest.mark.browser, pytest.mark.slow]

@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_a_confirmation_lands_beside_its_card_in_view_and_focused(live_server, viewport):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = live_server.url
    alex, bea, cole = await remote_member(base), await remote_member(base), await remote_member(base)
    gid = (await remote_group(alex, bea, cole))["id"]
    # Enough above Bea's card that it is well down a phone's screen.
    for person in (alex, cole):
        for text in ("Drink water", "Stretch for five minutes", "Call my sister"):
            await commit(person, gid, text, "water")
    cid = await commit(bea, gid, "Go to bed by eleven", "sleep")
    async with async_playwright() as p, Browsers(p, base) as b:
        page = await b.page(bea, viewport)
        await page.goto(f"{base}/groups/{gid}")
        card = page.locator(f"#c{cid}")
        await card.get_by_role("link", name="Check in").click()
        await card.get_by_label("Done").check()
        await card.get_by_role("button", name="Save my check-in").click()
        flash = page.locator("#flash")
        await expect(flash).to_contain_text("Checked in")
        await page.wait_for_url(f"**/groups/{gid}*#c{cid}")
        # Beside the card it is about (just before it), in view, and focused.
        assert await flash.evaluate(f"node => node.nextElementSibling === document.getElementById('c{cid}')")
        await expect(flash).to_be_focused()
        await expect(flash).to_be_in_viewport(ratio=1)
        assert not b.errors, b.errors


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_an_error_is_brought_into_view_and_focused(live_server, viewport):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = live_server.url
    cleo = await remote_member(base)
    async with async_playwright() as p, Browsers(p, base) as b:
        page = await b.page(cleo, viewport)
        await page.goto(f"{base}/groups")
        # Spaces pass the browser's own check; Cairn's rule refuses them.
        await page.get_by_label("Group name").fill("   ")
        await page.get_by_role("button", name="Create the group").click()
        error = page.locator("#create .form-error")
        await expect(error).to_contain_text("A group name needs 1 to 80 characters.")
        await expect(error).to_be_focused()
        await expect(error).to_be_in_viewport(ratio=1)
        assert not b.errors, b.errors
