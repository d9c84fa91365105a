"""In the room, on a phone and a desktop: each person is told their part the moment a
moderator sets it, and when the scene starts the two who speak find their line's box in
view, below the status bar, ready to type in."""

from __future__ import annotations

import pytest

from tests.browser.test_foundation_browser import DESKTOP, PHONE, need_chromium
from tests.browser.test_room_live_browser import BOUNDARY, four_in_a_room, start_round

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_each_is_told_their_part_and_the_speakers_line_is_in_view(quick_room_server, viewport):
    need_chromium()
    from playwright.async_api import expect

    server = quick_room_server
    async with four_in_a_room(server, viewport) as (people, gid, rid, card, b, (m, s, c, o)):
        mod, sam, cole, olive = people
        await start_round(server.url, gid, rid, (m, s, c, o), sam, cole)
        await expect(s.locator(".toast-room")).to_contain_text("You are practising this round.")
        await expect(c.locator(".toast-room")).to_contain_text(
            "You are playing the other side of the conversation this round.")
        await expect(o.locator(".toast-room")).to_have_count(0)  # nothing changed for Olive

        await s.get_by_label("Scenario card").select_option(label=card["title"])
        await s.get_by_role("button", name="Use this card").click()
        await s.get_by_label("Your boundary, in your own words").fill(BOUNDARY)
        await s.get_by_role("button", name="State my boundary").click()
        await expect(o.locator("#card-boundary")).to_have_text(BOUNDARY)
        await m.get_by_role("button", name="Begin the rehearsal").click()
        for page in (s, c):
            # The rehearsal lasts a second here; the server starts the scene.
            await expect(page.locator("#room-phase")).to_have_text("Scene", timeout=10000)
        for page in (s, c):
            line = page.get_by_label("Your line")
            await expect(line).to_be_focused()
            await expect(line).to_be_in_viewport(ratio=1)
            status = await page.locator("#room-status").bounding_box()
            box = await line.bounding_box()
            # Not under the status bar that stays at the top of the screen.
            assert status is not None and box is not None and box["y"] >= status["y"] + status["height"] - 1
        await expect(o.get_by_label("Your line")).to_be_hidden()