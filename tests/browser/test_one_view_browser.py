"""One view per thing, in real browsers: each thing that arrives live on the group's day is
the very markup the page draws for it after a reload (the server renders both from the same
macro), for a moderator on a desktop and a member on a phone."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_foundation_browser import DESKTOP, PHONE, need_chromium
from tests.browser.test_moderation_browser import Browsers, commit, not_reloaded, open_day
from tests.realtime.helpers import remote_group, remote_member

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def normal(html: str) -> str:
    """Markup with what belongs to one page load taken out: its CSRF token, presence (who
    is online when), and the highlight a newly arrived card wears for a moment."""
    html = re.sub(r'(name="csrf_token" value=")[^"]*"', r'\1"', html)
    html = re.sub(r'<span class="presence-label visually-hidden">[^<]*</span>', "", html)
    return html.replace(" is-online", "").replace(" is-new", "")


async def markup(page, selector: str) -> str:
    return normal(await page.locator(selector).evaluate("node => node.outerHTML"))


async def test_what_arrives_live_is_what_a_reload_shows(live_server):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = live_server.url
    alex, bea, carl = (await remote_member(base, "alex"), await remote_member(base, "bea"),
                       await remote_member(base, "carl"))
    group = await remote_group(alex, bea, carl)
    gid = group["id"]
    async with async_playwright() as p, Browsers(p, base) as b:
        mod, member = await b.page(alex, DESKTOP), await b.page(bea, PHONE)
        await open_day(mod, base, gid)
        await open_day(member, base, gid)
        seen: list[tuple[str, str]] = []

        async def arrived(page, who: str, selector: str) -> None:
            await expect(page.locator(selector)).to_have_count(1)
            seen.append((who, selector))

        # A commitment arrives: for its author (with a way to check in, no cheer) and for the
        # others (with one way to encourage, and report; hide for the moderator).
        bea_cid = await commit(bea, gid, "Drink water before coffee", "water")
        await arrived(member, "bea", f"#entry-{bea_cid}")
        await arrived(mod, "alex", f"#entry-{bea_cid}")
        own = member.locator(f"#c{bea_cid}")
        await expect(own.get_by_role("link", name="Check in")).to_have_count(1)
        await expect(own.get_by_role("link", name="Encourage")).to_have_count(0)
        await expect(mod.locator(f"#c{bea_cid}").get_by_role("link", name="Encourage Bea")).to_have_count(1)
        await expect(mod.locator(f"#c{bea_cid}").get_by_role("link", name="Hide this commitment")).to_have_count(1)
        await expect(member.locator(f"#c{bea_cid}")).not_to_contain_text("Reload the page")

        # Someone checks in; the moderator sees the new status and note in place.
        carl_cid = await commit(carl, gid, "Call my sister and say no kindly", "boundary")
        r = await carl.post(f"/api/v1/commitments/{carl_cid}/checkin",
                            {"status": "partly", "note": "Said it, then wobbled"})
        assert r.status_code == 200, r.text
        await arrived(mod, "alex", f'#c{carl_cid}-checkin[data-status="partly"]')
        await arrived(member, "bea", f'#c{carl_cid}-checkin[data-status="partly"]')

        # Encouragement with a note reaches its receiver under her commitment.
        r = await carl.post(f"/api/v1/groups/{gid}/encouragements",
                            {"kind": "proud", "text": "Water first, well done", "commitment_id": bea_cid})
        assert r.status_code == 201, r.text
        eid = r.json()["data"]["encouragement_id"]
        await arrived(member, "bea", f"#en{eid}")

        # A new member joins: the count follows, and the moderator can remove them at once.
        dan = await remote_member(base, "dan")
        r = await alex.post(f"/api/v1/groups/{gid}/invites", {})
        assert r.status_code == 201, r.text
        r = await dan.post("/api/v1/groups/join", {"invite_code": r.json()["code"], "accept_agreement": True})
        assert r.status_code == 200, r.text
        await arrived(mod, "alex", f"#member-{dan.user['id']}")
        await arrived(member, "bea", f"#member-{dan.user['id']}")
        await expect(mod.locator(f"#member-{dan.user['id']} .name")).not_to_be_empty()
        for page in (mod, member):
            await expect(page.locator("#members-title .count")).to_have_text("4 of 20")

        # A practice room opens: the banner for everyone, the opener gone for the moderator.
        r = await alex.post(f"/api/v1/groups/{gid}/roleplays", {"title": "Thursday practice"})
        assert r.status_code == 201, r.text
        await expect(member.locator("#room-banner")).to_be_visible()
        await expect(mod.locator("#room-open")).to_be_hidden()
        seen += [("bea", "#room-spot"), ("alex", "#room-spot"), ("alex", "#members-title"),
                 ("bea", "#members-title")]
        assert await not_reloaded(mod) and await not_reloaded(member)
        assert not b.errors, b.errors

        # The same things after a reload: the same markup, byte for byte.
        pages = {"alex": mod, "bea": member}
        live = {(who, selector): await markup(pages[who], selector) for who, selector in seen}
        for page in pages.values():
            await page.reload()
        for (who, selector), html in live.items():
            assert await markup(pages[who], selector) == html, (who, selector)
