"""Two people in two real browsers: one starts a group, the other joins, commits and checks in."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.fixtures.clients import PASSWORD
from tests.fixtures.databases import REQUIRE_SERVICES

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("CAIRN_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Set to a directory to keep screenshots of the pages at phone and desktop widths.
SCREENSHOTS = os.environ.get("CAIRN_TEST_SCREENSHOTS")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def need_chromium() -> None:
    reason = None
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        reason = "the playwright package is not installed"
    if reason is None and not os.access(CHROMIUM, os.X_OK):
        reason = f"no Chromium at {CHROMIUM} (set CAIRN_TEST_CHROMIUM)"
    if reason is None:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason}, and CAIRN_TEST_REQUIRE_SERVICES=1")
    pytest.skip(reason)


class Watch:
    """What a page did that it must not: CSP violations, requests to other origins."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.problems: list[str] = []

    def attach(self, page) -> None:
        page.on("console", self._console)
        page.on("request", self._request)

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.problems.append(f"console: {message.text}")

    def _request(self, request) -> None:
        url = request.url
        if not (url.startswith(self.origin) or url.startswith(("data:", "about:"))):
            self.problems.append(f"request to another origin: {url}")


async def sign_up(page, base: str, username: str, display_name: str) -> None:
    from playwright.async_api import expect

    await page.goto(f"{base}/signup")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Display name").fill(display_name)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_label("Password again").fill(PASSWORD)
    await page.get_by_role("button", name="Create my account").click()
    await expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    await page.get_by_role("link", name="I have saved them").click()
    await page.wait_for_url(f"{base}/groups*")


async def axe_violations(page) -> list[str]:
    """What axe-core finds wrong on the page as it is now, of any impact."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    found = []
    for v in results.response["violations"]:
        where = ", ".join(str(n["target"][0]) for n in v["nodes"][:3])
        found.append(f"{v['impact']}: {v['id']} ({v['help']}) at {where}")
    return found


async def shoot(page, name: str) -> None:
    """A moment of a page worth seeing, at both widths: axe-core finds nothing wrong there
    (no violations of any impact), and with CAIRN_TEST_SCREENSHOTS set it is photographed."""
    original = page.viewport_size
    problems = []
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        await page.set_viewport_size(size)
        if SCREENSHOTS:
            os.makedirs(SCREENSHOTS, exist_ok=True)
            await page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}-{label}.png"), full_page=True)
        problems += [f"{name} ({label}) {v}" for v in await axe_violations(page)]
    if original:
        await page.set_viewport_size(original)
    assert not problems, "\n".join(problems)


async def test_two_people_share_a_day(live_server):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = live_server.url
    watch = Watch(base)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            alex_context = await browser.new_context(viewport=DESKTOP)
            bea_context = await browser.new_context(viewport=PHONE)
            alex, bea = await alex_context.new_page(), await bea_context.new_page()
            watch.attach(alex)
            watch.attach(bea)

            # Alex signs up, starts a group and reads the invite code off the page.
            await sign_up(alex, base, "alex", "Alex")
            await alex.get_by_label("Group name").fill("Thursday circle")
            await alex.get_by_label("What the group is for").fill("Small steps, kindly.")
            await alex.get_by_role("button", name="Create the group").click()
            await alex.wait_for_url(re.compile(r".*/groups/\d+.*"))
            gid = int(re.search(r"/groups/(\d+)", alex.url).group(1))
            code = await alex.locator("[data-invite-code]").first.get_attribute("data-invite-code")
            assert code and re.fullmatch(r"[A-Z0-9]{6,}", code)

            # Bea signs up in her own browser and joins, but only once she accepts the agreement.
            await sign_up(bea, base, "bea", "Bea")
            await bea.get_by_label("Invite code").fill(code)
            agreement = bea.get_by_label("I have read the group agreement and I will keep it")
            await bea.get_by_role("button", name="Join the group").click()
            assert await agreement.evaluate("box => !box.validity.valid")  # the browser held the form back
            assert "/groups/join" not in bea.url and not re.search(r"/groups/\d", bea.url)
            await agreement.check()
            await bea.get_by_role("button", name="Join the group").click()
            await bea.wait_for_url(f"{base}/groups/{gid}*")
            await expect(bea.get_by_role("heading", name="Thursday circle", level=1)).to_be_visible()

            # Bea commits to something for today and checks in as done.
            await bea.get_by_text("Post your commitment for today").click()
            await bea.get_by_label("Which kind of care").select_option("water")
            await bea.get_by_label("What you will do").fill("Drink water before coffee")
            await bea.get_by_role("button", name="Post my commitment").click()
            await bea.wait_for_url(re.compile(rf".*/groups/{gid}.*#c\d+"))
            mine = bea.locator("article.is-mine", has_text="Drink water before coffee")
            await expect(mine).to_have_count(1)
            await mine.get_by_role("link", name="Check in").click()
            await mine.get_by_label("Done").check()
            await mine.get_by_label("A note for the group").fill("Felt good")
            await mine.get_by_label("How do you feel now?").select_option("4")
            await mine.get_by_role("button", name="Save my check-in").click()
            await expect(bea.locator(".flash")).to_contain_text("Checked in: done")
            await expect(mine.locator(".checkin")).to_have_attribute("data-status", "done")

            # Alex opens the group's day and sees Bea's commitment and her check-in.
            await alex.goto(f"{base}/groups/{gid}")
            theirs = alex.locator("article.commitment", has_text="Drink water before coffee")
            await expect(theirs).to_have_count(1)
            await expect(theirs.locator(".checkin")).to_have_attribute("data-status", "done")
            await expect(theirs.locator(".who .name")).to_have_text("Bea")
            await expect(theirs.locator(".status")).to_have_text("Done")
            await expect(theirs).to_contain_text("Felt good")
            await expect(theirs).not_to_contain_text("You felt")
            await expect(alex.locator("#members")).to_contain_text("Bea")
            # The page's hooks let the live script attach.
            await expect(alex.locator("#live-status")).to_have_attribute("data-state", "live")
            await shoot(alex, "group-day")

            # Alex cheers her on without JavaScript's help; Bea finds it on her progress page.
            await theirs.get_by_role("link", name="Encourage Bea").click()
            await theirs.get_by_label("A short note").fill("Lovely start to the day")
            await theirs.get_by_role("button", name="Proud of you").click()
            # With the live script connected it goes over the socket; without, the form posts.
            await expect(alex.locator(".flash, .toast").first).to_contain_text(
                re.compile("on its way|Sent"))
            await bea.goto(f"{base}/me/progress")
            await expect(bea.locator("svg.heatmap rect.level-done")).to_have_count(1)
            for _ in range(120):  # the socket's write may land a moment after the toast
                if "Proud of you" in await bea.locator("#encouragement").inner_text():
                    break
                await bea.wait_for_timeout(250)
                await bea.reload()
            await expect(bea.locator("#encouragement")).to_contain_text("Proud of you")
            await expect(bea.locator("#encouragement")).to_contain_text("Lovely start to the day")
            await shoot(bea, "progress")
        finally:
            await browser.close()
    assert watch.problems == []
