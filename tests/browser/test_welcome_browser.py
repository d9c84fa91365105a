"""What a newcomer and a moderator expect, in a real browser: the invite link copied with one
tap; a person in Berlin following it signs up in Berlin's zone, found by the page, and joins
only after accepting the agreement; the zone list narrows as they type; and the dark theme,
when the device prefers it, passes axe-core on sign-in, a group's day with cards and the room.
One server and one browser for all of it: each person's page is a context of its own."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_foundation_browser import PHONE, axe_violations, need_chromium
from tests.browser.test_moderation_browser import Browsers, commit, open_day
from tests.fixtures.clients import PASSWORD
from tests.realtime.helpers import remote_group, remote_member

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DARK_BACKGROUND = "rgb(18, 24, 22)"  # the dark theme's --bg in cairn.css


async def test_an_invite_link_into_berlin_and_the_dark_theme(live_server):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = live_server.url
    mo, bo = await remote_member(base), await remote_member(base)
    group = await remote_group(mo, bo)
    gid, code = group["id"], group["invite_code"]
    link = f"{base}/invite/{code}"
    cid = await commit(bo, gid, "Drink a glass of water before coffee", "water")
    r = await bo.post(f"/api/v1/commitments/{cid}/checkin", {"status": "done", "note": "Easy", "feeling": 4})
    assert r.status_code == 200, r.text
    await commit(bo, gid, "Say no to the extra shift", "boundary")
    r = await mo.post(f"/api/v1/groups/{gid}/encouragements", {"kind": "proud", "text": "Lovely", "commitment_id": cid})
    assert r.status_code == 201, r.text
    r = await mo.post(f"/api/v1/groups/{gid}/roleplays", {"title": "Thursday practice"})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    dark: dict[str, list[str]] = {}
    async with async_playwright() as p, Browsers(p, base) as b:
        # The moderator, on a phone that prefers dark: the day with its cards, then the link.
        mod = await b.page(mo, PHONE, color_scheme="dark")
        await mod.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        await open_day(mod, base, gid)
        assert await mod.evaluate("getComputedStyle(document.body).backgroundColor") == DARK_BACKGROUND
        dark["the group's day"] = await axe_violations(mod)
        field = mod.get_by_label(f"Link for code {code}")
        await expect(field).to_have_value(link)
        copy = mod.get_by_role("button", name=f"Copy the link for code {code}")
        status = mod.locator(f"#invite-copied-{code}")
        await copy.click()
        await expect(status).to_have_text("Copied")
        assert await mod.evaluate("navigator.clipboard.readText()") == link
        # Where the clipboard cannot be written, the link is selected to copy by hand.
        await mod.evaluate("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
        await copy.click()
        await expect(status).to_contain_text("The link is selected")
        await expect(field).to_be_focused()
        assert await field.evaluate("f => [f.selectionStart, f.selectionEnd]") == [0, len(link)]
        await mod.goto(f"{base}/groups/{gid}/rooms/{rid}")
        await expect(mod.locator('[data-state="live"]').first).to_be_attached()
        dark["the room"] = await axe_violations(mod)

        # A visitor in dark, whose browser calls its zone by an old name (Chromium says
        # "Asia/Calcutta"): sign-in passes axe; sign-up offers the current name; typing narrows
        # the list, and clearing the box shows it all again.
        india = await b.page(None, PHONE, color_scheme="dark", timezone_id="Asia/Kolkata")
        await india.goto(f"{base}/login")
        dark["sign-in"] = await axe_violations(india)
        await india.get_by_role("link", name="Sign up").click()
        zone = india.get_by_label("Your timezone")
        await expect(zone).to_have_value("Asia/Kolkata")
        everything = await zone.locator("option").count()
        await india.get_by_label("Find a zone").fill("new york")
        await expect(zone).to_have_value("America/New_York")
        await expect(zone.locator("option")).to_have_count(1)
        await expect(india.locator("#f-timezone-found")).to_have_text("1 zone matches: America/New_York.")
        await india.get_by_label("Find a zone").fill("")
        await expect(zone.locator("option")).to_have_count(everything)
        await expect(zone).to_have_value("America/New_York")

        # Someone in Berlin opens the link, signed out, and is led through sign-up and back.
        new = await b.page(None, PHONE, timezone_id="Europe/Berlin")
        await new.goto(link)
        await expect(new.get_by_role("heading", name="You are invited to a group")).to_be_visible()
        await new.get_by_role("link", name="Create an account").click()
        await new.wait_for_url(re.compile(r"/signup\?next="))
        await expect(new.get_by_label("Your timezone")).to_have_value("Europe/Berlin")
        await expect(new.locator("#f-timezone-found")).to_contain_text("Chosen from this device: Europe/Berlin")
        await new.get_by_label("Username").fill("berliner")
        await new.get_by_label("Password", exact=True).fill(PASSWORD)
        await new.get_by_label("Password again").fill(PASSWORD)
        await new.get_by_role("button", name="Create my account").click()
        await expect(new.locator(".recovery-code")).to_have_count(10)
        await new.get_by_role("link", name="I have saved them").click()
        await new.wait_for_url(link)
        await expect(new.get_by_role("heading", name="Join Live circle")).to_be_visible()
        await expect(new.locator("#agreement")).to_contain_text("What is shared here stays here.")
        agreement = new.get_by_label("I have read the group agreement and I will keep it")
        await new.get_by_role("button", name="Join the group").click()
        assert await agreement.evaluate("box => !box.validity.valid")  # the browser held the form back
        assert new.url == link
        await agreement.check()
        await new.get_by_role("button", name="Join the group").click()
        await new.wait_for_url(f"{base}/groups/{gid}")
        me = await (await new.request.get(f"{base}/api/v1/me")).json()
        assert (me["username"], me["timezone"]) == ("berliner", "Europe/Berlin")
    problems = {where: v for where, v in dark.items() if v}
    assert not problems, "\n".join(f"{where} (dark): {v}" for where, v in problems.items())
    assert b.errors == [] and b.watch.problems == []
