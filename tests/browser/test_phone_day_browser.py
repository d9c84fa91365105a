"""The group's day on a phone: the day's commitments start on the first screen (the posting
form and the moderator's practice-room opener are folded until asked for), the members, with
how many are here now, are one tap away, and a card's forms (its author's Edit and Withdraw
too) are drawn only when opened."""

from __future__ import annotations

import re

import pytest

from server.deps import SESSION_COOKIE
from tests.browser.test_foundation_browser import DESKTOP, PHONE, need_chromium, shoot
from tests.browser.test_moderation_browser import Browsers, commit, not_reloaded, open_day
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


async def a_full_day(base: str):
    """Twelve members with three commitments each, half checked in with a note."""
    people = [await remote_member(base) for _ in range(12)]
    gid = (await remote_group(*people))["id"]
    cids = []
    for n, person in enumerate(people):
        for category in ("water", "rest", "boundary"):
            cid = await commit(person, gid, f"Something small and kind, number {n} for {category}", category)
            cids.append(cid)
            if len(cids) % 2:
                r = await person.post(f"/api/v1/commitments/{cid}/checkin",
                                      {"status": "done", "note": "Done, and it felt good."})
                assert r.status_code in (200, 201), r.text
    return people, gid, cids


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_a_full_day_is_light_and_each_form_is_drawn_when_opened(live_server, viewport):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = live_server.url
    people, gid, cids = await a_full_day(base)
    mod, member = people[0], people[1]
    # Twelve members with three commitments each: at most 44 KB of HTML (what each member wrote
    # marked as theirs, data-member-words, for the translation checks), with no form in a card.
    for person in (member, mod):
        page = await person.get(f"/groups/{gid}")
        assert page.status_code == 200
        assert len(page.content) <= 44 * 1024 or person is mod, len(page.content)
        assert 'class="card-form"' not in page.text and "Send the report" not in page.text
    theirs = cids[-2]  # the last member's, checked in with a note
    async with async_playwright() as p, Browsers(p, base) as b:
        page = await b.page(member, viewport)
        await open_day(page, base, gid)
        card = page.locator(f"#c{theirs}")
        # Opened in place, without leaving the page: the note is ready to type in and in view.
        await card.get_by_role("link", name=re.compile("^Encourage")).click()
        note = card.get_by_label("A short note")
        await expect(note).to_be_focused()
        await expect(note).to_be_in_viewport()
        opener = card.get_by_role("link", name=re.compile("^Encourage"))
        await expect(opener).to_have_attribute("aria-expanded", "true")
        # The same link folds it away again, and the report opens beside it.
        await opener.click()
        await expect(note).to_be_hidden()
        await expect(opener).to_have_attribute("aria-expanded", "false")
        await card.get_by_role("link", name="Report this commitment").click()
        # It asks first what it is about: the commitment, or its check-in note.
        await expect(card.get_by_label("The commitment")).to_be_checked()
        await expect(card.get_by_label("The commitment")).to_be_focused()
        await expect(card.get_by_label("The check-in note")).to_have_count(1)
        await expect(card.get_by_label("What worries you about it?")).to_be_visible()
        assert await not_reloaded(page)
        await shoot(page, f"day-form-opened-{viewport['width']}")

        # Its author's card: Edit opens the words ready to change; Withdraw asks first, and
        # "Keep it" folds the question away again, all in place.
        mine = page.locator(f"#c{cids[3]}")
        await mine.get_by_role("link", name="Edit").click()
        await expect(mine.get_by_label("What you will do")).to_be_focused()
        await mine.get_by_role("link", name="Withdraw").click()
        asked = mine.get_by_text("Withdraw this commitment? It will no longer show to your group.")
        await expect(asked).to_be_visible()
        await shoot(page, f"day-own-card-opened-{viewport['width']}")
        await mine.get_by_role("link", name="Keep it").click()
        await expect(mine.get_by_role("button", name="Withdraw it")).to_be_hidden()
        assert await not_reloaded(page)

        # Without JavaScript the link opens the card's own page with the form open and ready.
        context = await b.browser.new_context(viewport=viewport, java_script_enabled=False)
        await context.add_cookies([{"name": SESSION_COOKIE, "value": member.token, "url": base}])
        plain = await context.new_page()
        await plain.goto(f"{base}/groups/{gid}")
        await plain.locator(f"#c{theirs}").get_by_role("link", name=re.compile("^Encourage")).click()
        await plain.wait_for_url(f"**/groups/{gid}/commitments/{theirs}?open=encourage")
        await plain.get_by_label("A short note").fill("You can do this")
        await plain.get_by_role("button", name="With you").click()
        await plain.wait_for_url(f"**/groups/{gid}#c{theirs}")
        await expect(plain.locator(".flash")).to_contain_text("on its way")
        await context.close()
    assert b.errors == [] and b.watch.problems == []
