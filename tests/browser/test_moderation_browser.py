"""The group's day, live, in real browsers: encouragement appears for its receiver without a
reload; a report reaches the moderator at once and a hide reaches everyone; a mute rests the
muted member's posting on their open page; worrying words bring help to the writer and a
private notice to the moderators."""

from __future__ import annotations

import re

import pytest

from server.deps import SESSION_COOKIE
from tests.browser.test_foundation_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    Watch,
    need_chromium,
    shoot,
)
from tests.realtime.helpers import remote_group, remote_member

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class Browsers:
    """One browser process; a context (its own cookies) per person, signed in by cookie."""

    def __init__(self, playwright, base: str) -> None:
        self.playwright = playwright
        self.base = base
        self.watch = Watch(base)
        self.errors: list[str] = []
        self.browser = None

    async def __aenter__(self) -> Browsers:
        self.browser = await self.playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.browser.close()

    async def page(self, person, viewport=DESKTOP, **options):
        """A page signed in as `person`; options go to the browser context (color_scheme,
        timezone_id, ...). None as `person`: a visitor's page."""
        context = await self.browser.new_context(viewport=viewport, **options)
        if person is not None:
            await context.add_cookies([{"name": SESSION_COOKIE, "value": person.token, "url": self.base}])
        page = await context.new_page()
        self.watch.attach(page)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        return page


async def open_day(page, base: str, gid: int) -> None:
    """Open the group's day, wait for the live connection, and mark the window: the mark is
    gone if the page ever reloads."""
    from playwright.async_api import expect

    await page.goto(f"{base}/groups/{gid}")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    await page.evaluate("window.cairnTestMark = 'still here'")


async def not_reloaded(page) -> bool:
    return await page.evaluate("window.cairnTestMark") == "still here"


async def commit(person, gid: int, text: str, category: str = "rest") -> int:
    r = await person.post(f"/api/v1/groups/{gid}/commitments", {"category": category, "text": text})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_encouragement_appears_for_the_receiver_without_a_reload(live_server):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = live_server.url
    alex, bea = await remote_member(base, "alex"), await remote_member(base, "bea")
    gid = (await remote_group(alex, bea))["id"]
    cid = await commit(bea, gid, "Drink water before coffee", "water")
    alex_cid = await commit(alex, gid, "Walk after lunch", "movement")
    async with async_playwright() as p, Browsers(p, base) as b:
        alex_page, bea_page = await b.page(alex), await b.page(bea, PHONE)
        await open_day(alex_page, base, gid)
        await open_day(bea_page, base, gid)

        # The cheer's form opens in place, its note ready to type in; one tap on the kind
        # words sends it over the socket, and Bea sees it arrive beside her commitment.
        theirs = alex_page.locator(f"#c{cid}")
        await theirs.get_by_role("link", name="Encourage Bea").click()
        await expect(theirs.get_by_label("A short note")).to_be_focused()
        await alex_page.keyboard.type("Lovely start to the day")
        await theirs.get_by_role("button", name="Proud of you").click()
        await expect(alex_page.locator(".toast").first).to_contain_text("Sent")
        received = bea_page.locator(f'[data-received-for="{cid}"]')
        await expect(received).to_be_visible()
        await expect(received).to_contain_text("Proud of you")
        await expect(received).to_contain_text("Lovely start to the day")
        await expect(received).to_contain_text("from Alex")
        await expect(bea_page.locator(".toast-encouragement")).to_contain_text("Alex: Proud of you")
        # Each note arrives with a way to report it.
        await expect(received.get_by_role("link", name="Report this encouragement note")).to_have_count(1)
        # Sent, the form folds away, emptied; opened again, another cheer goes without a note.
        await expect(theirs.get_by_label("A short note")).to_be_hidden()
        await theirs.get_by_role("link", name="Encourage Bea").click()
        await expect(theirs.get_by_label("A short note")).to_have_value("")
        await theirs.get_by_role("button", name="Rest counts").click()
        await expect(received.locator("li")).to_have_count(2)
        await expect(received.locator("li").nth(1)).to_contain_text("Rest counts")
        assert await not_reloaded(bea_page) and await not_reloaded(alex_page)

        # Worrying words in a note: the writer is gently shown help on the open page, and
        # the moderator is told privately, without the words.
        mine = bea_page.locator(f"#c{alex_cid}")
        await mine.get_by_role("link", name="Encourage Alex").click()
        await mine.get_by_label("A short note").fill("Some days I want to die too, but this helps")
        await mine.get_by_role("button", name="With you").click()
        support = bea_page.locator("#support")
        await expect(support).to_be_visible()
        await expect(support).to_contain_text("Help, if you need it now")
        await expect(support).to_contain_text("You don't have to carry this alone.")
        await expect(support.get_by_role("link", name="Crisis lines and grounding steps")).to_have_attribute(
            "href", "/help")
        concern = alex_page.locator(".mod-notice-concern")
        await expect(concern).to_contain_text("Bea wrote something that suggests")
        await expect(concern).not_to_contain_text("want to die")
        await expect(alex_page.locator("#support")).to_have_count(0)
        await shoot(bea_page, "support-live")
        await shoot(alex_page, "concern-notice")
        await concern.get_by_role("button", name="Dismiss this notice").click()
        await expect(concern).to_have_count(0)
        assert await not_reloaded(bea_page) and await not_reloaded(alex_page)
    assert b.errors == [] and b.watch.problems == []


async def test_report_reaches_the_moderator_live_and_a_hide_reaches_everyone(live_server):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = live_server.url
    maya = await remote_member(base, "maya")
    pat = await remote_member(base, "pat")
    cole = await remote_member(base, "cole")
    gid = (await remote_group(maya, pat, cole))["id"]
    cid = await commit(pat, gid, "Tell them exactly what I think of them", "assertive_communication")
    async with async_playwright() as p, Browsers(p, base) as b:
        mod, author, reporter = await b.page(maya), await b.page(pat, PHONE), await b.page(cole)
        await open_day(mod, base, gid)
        await open_day(author, base, gid)

        # Cole reports it with the small form that opens beside it (the form itself posts).
        await reporter.goto(f"{base}/groups/{gid}")
        theirs = reporter.locator(f"#c{cid}")
        await theirs.get_by_role("link", name="Report this commitment").click()
        await theirs.get_by_label("What worries you about this commitment?").fill("It reads like a threat.")
        await theirs.get_by_role("button", name="Send the report").click()
        await expect(reporter.locator(".flash")).to_contain_text("moderators will look at it")
        await expect(reporter.locator("#live-status")).to_have_attribute("data-state", "live")
        await reporter.evaluate("window.cairnTestMark = 'still here'")

        # Maya, on the group's page all along, is told at once; nobody else is.
        notice = mod.locator(".mod-notice-report")
        await expect(notice).to_contain_text("New report: Cole is worried about a commitment.")
        await expect(notice).to_contain_text("It reads like a threat.")
        await expect(mod.locator("[data-open-reports]")).to_have_text("1 open report")
        await expect(author.locator(".mod-notice")).to_have_count(0)
        assert await not_reloaded(mod)
        await shoot(mod, "report-notice")

        # She opens the moderation page from the notice and hides it, with a reason.
        await notice.get_by_role("link", name="Open the moderation page").click()
        await mod.wait_for_url(f"{base}/groups/{gid}/moderation")
        item = mod.locator(".report-item")
        await expect(item).to_contain_text("Tell them exactly what I think of them")
        await expect(item).to_contain_text("It reads like a threat.")
        await shoot(mod, "moderation")
        await item.locator("details.hide-control > summary").click()
        await item.get_by_label("Why hide it?").fill("Our agreement asks us to speak kindly.")
        await item.get_by_role("button", name="Hide this commitment").click()
        await expect(mod.locator(".flash")).to_contain_text("It is hidden.")
        await expect(mod.locator(".report-item")).to_have_count(0)

        # On Cole's open page the words go; Pat still sees them, and where to read why.
        await expect(reporter.locator(f"#c{cid} .text")).to_have_text("Hidden by a moderator.")
        await expect(reporter.locator(f"#c{cid}")).not_to_contain_text("exactly what I think")
        await expect(reporter.locator(f"#c{cid}").get_by_role("link", name="Report this commitment")).to_have_count(0)
        await expect(author.locator(f"#c{cid} .text")).to_have_text("Tell them exactly what I think of them")
        why = author.locator(f"#c{cid} .hidden-reason")
        await expect(why).to_contain_text("A moderator hid this from the group.")
        await expect(why.get_by_role("link")).to_have_attribute("href", f"/groups/{gid}/audit")
        assert await not_reloaded(reporter) and await not_reloaded(author)
        await shoot(reporter, "hidden-for-others")
        await shoot(author, "hidden-for-author")

        # The log, open to every member, says who did what and why.
        await author.get_by_role("link", name="The reason is in the moderation log.").click()
        await expect(author.locator(".audit li").first).to_contain_text("Maya hid commitment")
        await expect(author.locator(".audit li").first).to_contain_text("Our agreement asks us to speak kindly.")
        await shoot(author, "audit")
    assert b.errors == [] and b.watch.problems == []


async def test_a_mute_rests_posting_on_the_open_page_and_an_unmute_brings_it_back(live_server):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = live_server.url
    olive, sam = await remote_member(base, "olive"), await remote_member(base, "sam")
    gid = (await remote_group(olive, sam))["id"]
    cid = await commit(olive, gid, "Ask for a quiet evening", "boundary")
    async with async_playwright() as p, Browsers(p, base) as b:
        mod, member = await b.page(olive), await b.page(sam, PHONE)
        await open_day(member, base, gid)
        post_form = member.locator("#post form")
        await member.get_by_text("Post your commitment for today").click()
        await expect(post_form).to_be_visible()
        await expect(member.locator("[data-muted-note]")).to_be_hidden()

        await mod.goto(f"{base}/groups/{gid}/moderation")
        # Quiet and danger buttons look like themselves, not like the main button.
        quiet = mod.get_by_role("button", name="Make Sam a moderator")
        assert await quiet.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(255, 255, 255)"
        row = mod.locator(".member", has_text="Sam")
        await row.get_by_text("Pause Sam's posting…").click()
        danger = row.get_by_role("button", name="Pause their posting")
        assert await danger.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(255, 255, 255)"
        assert await danger.evaluate("b => getComputedStyle(b).color") == "rgb(158, 53, 38)"
        await row.get_by_label("For how long").select_option("60")
        await row.get_by_label("Why").fill("A pause to let things settle.")
        await danger.click()
        await expect(mod.locator(".flash")).to_contain_text("Sam can read but not post until")
        await expect(mod.locator(".member", has_text="Sam").locator(".tag-muted")).to_be_visible()

        # Sam's open page: posting rests, a calm note says until when, reading goes on.
        note = member.locator("[data-muted-note]")
        await expect(note).to_be_visible()
        await expect(note).to_contain_text("A moderator has paused your posting in this group until")
        await expect(note.locator("[data-muted-until-label]")).not_to_have_text("")
        await expect(post_form).to_be_hidden()
        assert await member.locator("#post-text").is_disabled()
        await expect(member.locator(f"#c{cid}").get_by_role("link", name="Encourage")).to_be_hidden()
        await expect(member.locator(f"#c{cid}").get_by_role("link", name="Report this commitment")).to_be_visible()
        assert await not_reloaded(member)
        await shoot(member, "muted")

        # A reload keeps it so (the server says the same), then the unmute brings it back live.
        await open_day(member, base, gid)
        await expect(note).to_be_visible()
        await expect(note).to_contain_text("A pause to let things settle.")
        await expect(post_form).to_be_hidden()
        await mod.get_by_role("button", name="Let Sam post again").click()
        await expect(mod.locator(".flash")).to_contain_text("Sam can post again.")
        await expect(note).to_be_hidden()
        await member.get_by_text("Post your commitment for today").click()
        await expect(post_form).to_be_visible()
        assert not await member.locator("#post-text").is_disabled()
        await member.get_by_label("Which kind of care").select_option("rest")
        await member.get_by_label("What you will do").fill("Lie down for ten minutes")
        await member.get_by_role("button", name="Post my commitment").click()
        await expect(member.locator(".flash")).to_contain_text("Your commitment is posted.")
        assert re.search(rf"/groups/{gid}#c\d+", member.url)
    assert b.errors == [] and b.watch.problems == []
