"""Help where the eye is, on a phone and on a desktop: after saving worrying words the writer's
help panel is on screen and focused, not far above it; when a time-out is called in a practice
room the grounding steps (for the one who called it) and the paused panel (for everyone else)
come on screen below the room's status bar and take focus."""

from __future__ import annotations

import pytest

from tests.browser.test_foundation_browser import need_chromium
from tests.browser.test_moderation_browser import Browsers, commit
from tests.realtime.helpers import remote_group, remote_member

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}

# The element's top is on screen, nothing (a sticky bar) covers it there, and it has focus or
# holds what has.
SEEN_AND_FOCUSED = """(el) => {
  const r = el.getBoundingClientRect();
  if (r.height === 0 || r.top < 0 || r.top > innerHeight - 48) return false;
  const hit = document.elementFromPoint(r.left + Math.min(24, r.width / 2), r.top + 6);
  const active = document.activeElement;
  return !!hit && el.contains(hit) && !!active && (active === el || el.contains(active));
}"""


async def seen_and_focused(page, selector: str) -> None:
    from playwright.async_api import expect

    target = page.locator(selector)
    await expect(target).to_be_visible()
    await expect(target).to_be_in_viewport()
    await page.wait_for_function(SEEN_AND_FOCUSED, arg=await target.element_handle())


@pytest.mark.parametrize("size", list(VIEWPORTS))
async def test_the_help_panel_is_in_view_and_focused_after_saving(live_server, size):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = live_server.url
    mod, writer = await remote_member(base), await remote_member(base)
    gid = (await remote_group(mod, writer))["id"]
    for text in ("Stretch for five minutes", "Drink water with lunch"):
        await commit(mod, gid, text)
    cid = await commit(writer, gid, "Walk around the block", "movement")
    async with async_playwright() as p, Browsers(p, base) as b:
        page = await b.page(writer, VIEWPORTS[size])
        await page.goto(f"{base}/groups/{gid}")

        # A commitment whose words call for support.
        await page.get_by_text("Post your commitment for today").click()
        await page.get_by_label("Which kind of care").select_option("rest")
        await page.get_by_label("What you will do").fill("Rest, because I can't go on like this")
        await page.get_by_role("button", name="Post my commitment").click()
        await expect(page.locator("#support")).to_contain_text("Help, if you need it now")
        await expect(page.locator(".flash")).to_contain_text("Your commitment is posted")
        await seen_and_focused(page, "#support")

        # A check-in note, on a page scrolled away from the top first.
        await page.goto(f"{base}/groups/{gid}#c{cid}")
        card = page.locator(f"#c{cid}")
        await card.get_by_role("link", name="Check in").click()
        await card.get_by_label("Partly").check()
        await card.get_by_label("A note for the group").fill("Some days I want to die")
        await card.get_by_role("button", name="Save my check-in").click()
        await expect(page.locator(".flash")).to_contain_text("Checked in: partly")
        await seen_and_focused(page, "#support")
    assert b.errors == [] and b.watch.problems == []


@pytest.mark.parametrize("size", list(VIEWPORTS))
async def test_a_time_out_brings_the_grounding_steps_into_view_and_focus(live_server, size):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = live_server.url
    mod, member = await remote_member(base), await remote_member(base)
    gid = (await remote_group(mod, member))["id"]
    r = await mod.post(f"/api/v1/groups/{gid}/roleplays", {"title": "Evening practice"})
    assert r.status_code == 201, r.text
    url = f"{base}/groups/{gid}/rooms/{r.json()['id']}"
    async with async_playwright() as p, Browsers(p, base) as b:
        mod_page, member_page = await b.page(mod, VIEWPORTS[size]), await b.page(member, VIEWPORTS[size])
        for page in (mod_page, member_page):
            await page.goto(url)
        for page in (mod_page, member_page):
            await expect(page.locator("#participants li")).to_have_count(2)
            # Reading further down the room, as one does during a scene.
            await page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")

        await member_page.get_by_role("button", name="Time-out").click()
        for page in (mod_page, member_page):
            await expect(page.locator("#room-phase")).to_have_text("Time-out")
        await seen_and_focused(member_page, "#grounding")
        await expect(member_page.locator("#grounding")).to_contain_text("Feel your feet")
        # Everyone else: the paused panel, where the moderator resumes.
        await seen_and_focused(mod_page, "#panel-paused")
        await expect(mod_page.locator("#grounding")).to_be_hidden()

        # The moderator resumes, scrolls down again, and calls one too.
        await mod_page.locator("#panel-paused").get_by_role("button", name="Resume the room").click()
        await expect(member_page.locator("#room-phase")).not_to_have_text("Time-out")
        await mod_page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        await mod_page.get_by_role("button", name="Time-out").click()
        await seen_and_focused(mod_page, "#grounding")
        await seen_and_focused(member_page, "#panel-paused")
    assert b.errors == [] and b.watch.problems == []
