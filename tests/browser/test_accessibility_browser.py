"""axe-core over Cairn's pages, on a phone and a desktop: no violations of any impact, on
the public pages, a member's and a moderator's pages, and the practice room."""

from __future__ import annotations

import pytest

from tests.browser.test_foundation_browser import DESKTOP, PHONE, axe_violations, need_chromium
from tests.browser.test_moderation_browser import Browsers, commit
from tests.realtime.helpers import remote_group, remote_member

pytestmark = [pytest.mark.browser, pytest.mark.slow]


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
        for path in ("/", "/login", "/signup", "/help"):
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
    problems = {where: v for where, v in found.items() if v}
    assert not problems, "\n".join(f"{where}: {v}" for where, v in problems.items())
