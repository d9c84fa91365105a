"""axe-core over Cairn's pages, on a phone and a desktop: no violations of any impact, on
the public pages, a member's and a moderator's pages, and the practice room."""

from __future__ import annotations

import pytest

from tests.browser.test_foundation_browser import DESKTOP, PHONE, axe_violations, need_chromium
from tests.browser.test_moderation_browser import Browsers, commit
from tests.fixtures.clients import PASSWORD
from tests.realtime.helpers import remote_group, remote_member

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def overflow(page) -> list[str]:
    """The page is wider than the screen (it would scroll sideways)."""
    wide = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    return [f"{wide}px wider than the screen"] if wide > 0 else []


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_no_accessibility_violations_on_any_page(live_server, viewport):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = live_server.url
    alex, bea = await remote_member(base, "alex"), await remote_member(base, "bea")
    group = await remote_group(alex, bea)
    gid = group["id"]
    cid = await commit(bea, gid, "Drink a glass of water before coffee", "water")
    r = await bea.post(f"/api/v1/commitments/{cid}/checkin", {"status": "done", "note": "Easy", "feeling": 4})
    assert r.status_code == 200, r.text
    r = await alex.post(f"/api/v1/groups/{gid}/encouragements",
                        {"kind": "proud", "text": "Lovely", "commitment_id": cid})
    assert r.status_code == 201, r.text
    r = await alex.post(f"/api/v1/groups/{gid}/roleplays", {"title": "Thursday practice"})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    found: dict[str, list[str]] = {}
    async with async_playwright() as p, Browsers(p, base) as b:
        anonymous = await (await b.browser.new_context(viewport=viewport)).new_page()
        for path in ("/", "/login", "/signup", "/forgot", "/help"):
            await anonymous.goto(base + path)
            found[path] = await axe_violations(anonymous)
        member, mod = await b.page(bea, viewport), await b.page(alex, viewport)
        for who, page, paths in (
                ("member", member, ("/groups", f"/groups/{gid}", "/me/progress", "/settings",
                                    f"/groups/{gid}/audit", f"/groups/{gid}/rooms/{rid}")),
                ("moderator", mod, (f"/groups/{gid}", f"/groups/{gid}/moderation",
                                    f"/groups/{gid}/rooms/{rid}"))):
            for path in paths:
                await page.goto(base + path)
                if "/rooms/" in path or path == f"/groups/{gid}":
                    await expect(page.locator('[data-state="live"]').first).to_be_attached()
                found[f"{who} {path}"] = await axe_violations(page)
        # The pages that show a code once, which must be read whole on a phone: a new set of
        # recovery codes, a reset code.
        await member.goto(base + "/settings")
        await member.locator("#codes-password").fill(PASSWORD)
        await member.get_by_role("button", name="Make new recovery codes").click()
        await expect(member.locator(".recovery-code")).to_have_count(10)
        found["member's new recovery codes"] = await axe_violations(member) + await overflow(member)
        await mod.goto(f"{base}/groups/{gid}/moderation")
        await mod.get_by_text("Make a password reset code for Bea").click()
        await mod.get_by_role("button", name="Make a reset code").click()
        await expect(mod.locator("#reset-code")).to_be_visible()
        found["moderator's reset code"] = await axe_violations(mod) + await overflow(mod)
    problems = {where: v for where, v in found.items() if v}
    assert not problems, "\n".join(f"{where}: {v}" for where, v in problems.items())
