"""A practice round in four real browsers: the moderator opens a room from the group's day,
everyone joins, a card and a boundary are chosen, the scene is played, someone calls a
time-out, and the practitioner reads the counterpart's feedback."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from server.deps import SESSION_COOKIE
from tests.browser.test_foundation_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    Watch,
    need_chromium,
)
from tests.fixtures.servers import LiveServer
from tests.realtime.helpers import remote_group, remote_member

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BOUNDARY = "I won't lend money again. I can help you make a budget."
LINE = "No. I'm not lending money again, and I still care about you."


@pytest.fixture
def server(sqlite_database_url: str, tmp_path: Path):
    live = LiveServer(sqlite_database_url, log_path=tmp_path / "server.log",
                      env={"CAIRN_ROLEPLAY_REHEARSE_SECONDS": "2"}).start()
    yield live
    live.stop()


async def shoot(page, name: str) -> None:
    """Screenshots at phone and desktop widths, when CAIRN_TEST_SCREENSHOTS names a folder."""
    if not SCREENSHOTS:
        return
    os.makedirs(SCREENSHOTS, exist_ok=True)
    size = page.viewport_size
    await page.evaluate("window.scrollTo(0, 0)")
    for label, width in (("phone", PHONE), ("desktop", DESKTOP)):
        await page.set_viewport_size(width)
        await page.screenshot(path=str(Path(SCREENSHOTS) / f"room-{name}-{label}.png"), full_page=True)
    await page.set_viewport_size(size)


async def test_a_round_played_in_four_browsers(server: LiveServer):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = server.url
    people = [await remote_member(base, name) for name in ("maya", "pat", "cole", "olive")]
    mod, prac, counter, obs = people
    group = await remote_group(mod, prac, counter, obs)
    gid = group["id"]
    card = (await prac.get(f"/api/v1/scenarios?group_id={gid}")).json()[3]
    watch = Watch(base)
    errors: list[str] = []

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            pages = []
            for person, viewport in zip(people, (DESKTOP, PHONE, DESKTOP, PHONE), strict=True):
                context = await browser.new_context(viewport=viewport)
                await context.add_cookies([{"name": SESSION_COOKIE, "value": person.token, "url": base}])
                page = await context.new_page()
                watch.attach(page)
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                pages.append(page)
            m, pr, c, o = pages

            # The others are on the group's day when the moderator opens the room: the
            # banner appears for them without a reload.
            for page in (pr, c, o, m):
                await page.goto(f"{base}/groups/{gid}")
            await expect(pr.locator("#live-status")).to_have_attribute("data-state", "live")
            await expect(pr.locator("#room-banner")).to_be_hidden()
            await shoot(m, "group-day-moderator")
            await m.get_by_text("Practise boundaries together").click()
            await m.get_by_label("A name for the room").fill("Thursday practice")
            await m.get_by_role("button", name="Open a practice room").click()
            await m.wait_for_url(re.compile(rf".*/groups/{gid}/rooms/\d+$"))
            rid = int(m.url.rsplit("/", 1)[1])
            for page in (pr, c, o):
                banner = page.locator("#room-banner")
                await expect(banner).to_be_visible()
                await expect(banner).to_contain_text("Thursday practice")
                if page is pr:
                    await shoot(pr, "group-day-banner")
                await banner.get_by_role("link", name="Join the practice room").click()
                await page.wait_for_url(f"{base}/groups/{gid}/rooms/{rid}")
            await expect(m.locator("#participants li")).to_have_count(4)
            await expect(m.locator("#room-phase")).to_have_text("Gathering")
            await shoot(pr, "lobby")

            # The moderator gives the roles and starts the round.
            await m.get_by_label("Role for Pat").select_option("practitioner")
            await expect(m.locator(f'#participants li[data-user-id="{prac.id}"]')).to_contain_text("Practising")
            await m.get_by_label("Role for Cole").select_option("counterpart")
            await expect(o.locator(f'#participants li[data-user-id="{counter.id}"]')).to_contain_text("Counterpart")
            await m.get_by_role("button", name="Start the round").click()
            for page in pages:
                await expect(page.locator("#room-phase")).to_have_text("Setting up")
            await expect(pr.locator("#room-turn")).to_have_text("You are choosing a card and a boundary.")
            await expect(o.locator("#room-turn")).to_have_text("Pat is choosing a card and a boundary.")
            # Too early: the room says why, next to the moderator's controls, and nothing changes.
            await m.get_by_role("button", name="Begin the rehearsal").click()
            await expect(m.locator("#panel-moderate [data-error]")).to_have_text(
                "The practitioner chooses a card and states the boundary first.")
            await expect(m.locator("#room-phase")).to_have_text("Setting up")
            await shoot(m, "setup-moderator-too-early")

            # The practitioner reads a card, picks how hard it gets, and states the boundary.
            await pr.get_by_label("Scenario card").select_option(label=card["title"])
            await expect(pr.locator("#card-preview")).to_contain_text(card["situation"])
            await expect(pr.locator("#card-preview")).to_contain_text(card["opening_line"])
            await pr.get_by_label("2 · Pushes back with guilt").check()
            await pr.get_by_role("button", name="Use this card").click()
            await pr.get_by_label("Your boundary, in your own words").fill(BOUNDARY)
            await pr.get_by_role("button", name="State my boundary").click()
            await expect(o.locator("#card-boundary")).to_have_text(BOUNDARY)
            await expect(o.locator("#card-title")).to_have_text(card["title"])
            # Only the counterpart (and the moderators) see the answer to play.
            await expect(c.locator("#counterpart-line-text")).to_have_text(card["intensities"][1])
            await expect(o.locator("#counterpart-line")).to_be_hidden()
            await expect(o.locator("#panel-card")).not_to_contain_text(card["intensities"][1])
            await shoot(pr, "setup")

            # Rehearsal, on a timer; the server starts the scene when it runs out.
            await m.get_by_role("button", name="Begin the rehearsal").click()
            await expect(pr.locator("#room-phase")).to_have_text("Rehearsal")
            await expect(pr.locator("#room-timer")).to_have_text(re.compile(r"0:0[0-2]"))
            await shoot(c, "rehearse")
            for page in pages:
                await expect(page.locator("#room-phase")).to_have_text("Scene", timeout=10000)
            await expect(o.locator("#room-timer")).to_have_text(re.compile(r"[12]:\d\d"))

            # Both speak; every browser shows the lines as they are said.
            await c.get_by_label("Your line").fill(card["opening_line"])
            await c.get_by_label("Your line").press("Enter")
            await pr.get_by_label("Your line").fill(LINE)
            await pr.get_by_role("button", name="Say it").click()
            for page in pages:
                await expect(page.locator("#lines li")).to_have_count(2)
                await expect(page.locator("#lines")).to_contain_text(LINE)
            await expect(c.locator("#lines li").last).to_contain_text("Pat")
            await expect(o.locator("#say-form")).to_be_hidden()
            # An observer cheers; it is held until the scene ends.
            await o.get_by_role("button", name="Proud of you").click()
            await expect(o.locator("#cheers-held")).to_have_text("1 held so far.")
            await expect(pr.locator("#cheer-box")).to_be_hidden()
            await shoot(o, "scene")
            await shoot(pr, "scene-practitioner")

            # A time-out pauses the room for everyone; the one who called it is offered
            # grounding, the moderators see who it was, and only a moderator resumes.
            await o.get_by_role("button", name="Time-out").click()
            for page in pages:
                await expect(page.locator("#room-phase")).to_have_text("Time-out")
                await expect(page.locator("#room-timer")).to_have_text("Paused")
            await expect(o.locator("#grounding")).to_be_visible()
            await expect(o.locator("#grounding").get_by_role("link")).to_have_attribute("href", "/help")
            await expect(pr.locator("#grounding")).to_be_hidden()
            await expect(m.locator("#paused-by")).to_contain_text("Called by Olive")
            await expect(pr.locator("#paused-by")).to_be_hidden()
            await expect(pr.get_by_role("button", name="Resume the room")).to_have_count(0)
            await shoot(o, "paused")
            await m.locator("#panel-paused").get_by_role("button", name="Resume the room").click()
            for page in pages:
                await expect(page.locator("#room-phase")).to_have_text("Scene")

            # Feedback: the counterpart first; "one thing to try next" waits for "what worked".
            await m.get_by_role("button", name="End the scene").click()
            for page in pages:
                await expect(page.locator("#room-phase")).to_have_text("Feedback")
            await expect(pr.locator("#cheers-shown")).to_contain_text("Proud of you × 1")
            await expect(o.locator("#feedback-wait")).to_be_visible()
            await expect(o.locator("#feedback-form")).to_be_hidden()
            await c.get_by_label("Assertive").check()
            await expect(c.get_by_label("One thing to try next")).to_be_hidden()
            await c.get_by_label("What worked").fill("It was calm and kind, and hard to argue with.")
            await expect(c.get_by_label("One thing to try next")).to_be_visible()
            await c.get_by_label("One thing to try next").fill("Say it once, then stop explaining.")
            await c.get_by_role("button", name="Give my feedback").click()
            await expect(c.locator("#feedback-thanks")).to_be_visible()
            mine = pr.locator("#my-feedback")
            await expect(mine).to_contain_text("It was calm and kind, and hard to argue with.")
            await expect(mine).to_contain_text("Say it once, then stop explaining.")
            await expect(mine).to_contain_text("Assertive")
            await expect(o.locator("#feedback-form")).to_be_visible()
            await expect(o.locator("#feedback-in")).to_contain_text("Cole")
            await expect(o.locator("#room")).not_to_contain_text("hard to argue with")
            await shoot(pr, "feedback-practitioner")
            await shoot(o, "feedback-observer")

            # The practitioner rates how it felt; the moderator moves on to sharing.
            await pr.get_by_label("3 · Somewhat steady").check()
            await pr.get_by_role("button", name="Save how I feel").click()
            # No replay in this round: no "before" that would want an "after".
            await expect(pr.locator("#confidence-saved")).to_have_text("How you felt: 3 · Somewhat steady.")
            await m.get_by_role("button", name="Go to sharing").click()
            await expect(o.locator("#room-phase")).to_have_text("Sharing")
            # A moderator can mute someone in the room for a while; their ways to speak rest.
            await m.get_by_role("button", name="Mute Olive").click()
            await expect(o.locator("#muted-note")).to_be_visible()
            await expect(o.get_by_role("button", name="Share")).to_be_disabled()
            await m.get_by_role("button", name="Unmute Olive").click()
            await expect(o.locator("#muted-note")).to_be_hidden()
            await o.get_by_label("Share with the group").fill("I recognised the guilt part.")
            await o.get_by_role("button", name="Share").click()
            await expect(pr.locator("#lines")).to_contain_text("I recognised the guilt part.")
            await pr.get_by_role("button", name="Make this boundary tomorrow's commitment").click()
            await expect(pr.locator("#save-homework")).to_have_text("Saved: tomorrow's private commitment")
            await shoot(m, "sharing-moderator")

            # The next round: Olive asks to practise, the button says so, the roles move on
            # and the forms start afresh.
            await o.get_by_role("button", name="Raise my hand to practise").click()
            await m.get_by_role("button", name="Next round: Olive practises").click()
            for page in pages:
                await expect(page.locator("#room-round")).to_have_text("Round 2")
                await expect(page.locator("#lines li")).to_have_count(0)  # the words are not kept
            await expect(pr.locator("#panel-mine")).to_be_hidden()
            await expect(pr.locator(f'#participants li[data-user-id="{prac.id}"]')).to_contain_text("Counterpart")
            await expect(pr.locator("#panel-card")).to_be_hidden()

            # Olive steps out, back to the group's day, where the banner still invites her.
            await o.get_by_text("Leave the room…").click()
            await o.get_by_role("button", name="Leave this room").click()
            await o.wait_for_url(f"{base}/groups/{gid}")
            await expect(m.locator("#participants li")).to_have_count(3)
            await expect(o.locator("#room-banner")).to_be_visible()

            # Ending from any phase takes a second, deliberate step.
            await m.get_by_text("End the room now…").click()
            await m.get_by_role("button", name="End the room for everyone").click()
            for page in (m, pr, c):
                await expect(page.locator("#room-phase")).to_have_text("Ended")
            await expect(o.locator("#room-banner")).to_be_hidden()  # live, without a reload
            await expect(pr.locator("#room-timer")).to_have_text("Ended")
            await shoot(pr, "ended")

            # The round shows on the practitioner's progress page.
            await pr.goto(f"{base}/me/progress")
            await expect(pr.locator("#growth svg.growth-chart")).to_have_count(2)
            await shoot(pr, "progress")
            for page in pages:
                await expect(page.locator(".room-error, #room-error")).to_be_hidden()
        finally:
            await browser.close()
    assert watch.problems == []
    assert errors == []


async def test_an_observer_reports_a_line_and_the_card_and_the_moderator_is_told(server: LiveServer):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = server.url
    people = [await remote_member(base, name) for name in ("maya", "pat", "cole", "olive")]
    mod, prac, counter, obs = people
    gid = (await remote_group(mod, prac, counter, obs))["id"]
    own = (await mod.post(f"/api/v1/groups/{gid}/scenarios", {
        "title": "The borrowed car", "situation": "A cousin asks for the car again.",
        "opening_line": "Can I take it tonight?",
        "intensities": ["Okay, fair.", "After all I did for you?", "You are so selfish."]})).json()
    r = await mod.post(f"/api/v1/groups/{gid}/roleplays", {"title": "Friday practice"})
    assert r.status_code == 201, r.text
    rid = r.json()["room_id"]
    said = "After all I did for you, you owe me this."
    watch = Watch(base)
    errors: list[str] = []

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            async def page_for(person, viewport=DESKTOP):
                context = await browser.new_context(viewport=viewport)
                await context.add_cookies([{"name": SESSION_COOKIE, "value": person.token, "url": base}])
                page = await context.new_page()
                watch.attach(page)
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                return page

            # Maya keeps the group's day open beside the room.
            day = await page_for(mod)
            await day.goto(f"{base}/groups/{gid}")
            await expect(day.locator("#live-status")).to_have_attribute("data-state", "live")
            m, pr, c = await page_for(mod), await page_for(prac), await page_for(counter)
            o = await page_for(obs, PHONE)
            for page in (m, pr, c, o):
                await page.goto(f"{base}/groups/{gid}/rooms/{rid}")
            await expect(m.locator("#participants li")).to_have_count(4)
            await m.get_by_label("Role for Pat").select_option("practitioner")
            await expect(m.locator(f'#participants li[data-user-id="{prac.id}"]')).to_contain_text("Practising")
            await m.get_by_label("Role for Cole").select_option("counterpart")
            await expect(m.locator(f'#participants li[data-user-id="{counter.id}"]')).to_contain_text("Counterpart")
            await m.get_by_role("button", name="Start the round").click()
            await expect(pr.locator("#room-phase")).to_have_text("Setting up")
            await pr.get_by_label("Scenario card").select_option(label=own["title"])
            await pr.get_by_label("2 · Pushes back with guilt").check()
            await pr.get_by_role("button", name="Use this card").click()
            await pr.get_by_label("Your boundary, in your own words").fill(BOUNDARY)
            await pr.get_by_role("button", name="State my boundary").click()
            await expect(o.locator("#card-boundary")).to_have_text(BOUNDARY)
            await m.get_by_role("button", name="Begin the rehearsal").click()
            for page in (c, o):
                await expect(page.locator("#room-phase")).to_have_text("Scene", timeout=10000)

            await c.get_by_label("Your line").fill(said)
            await c.get_by_label("Your line").press("Enter")
            await expect(o.locator("#lines li")).to_have_count(1)
            # Nobody is offered to report their own words.
            await expect(c.locator("#lines li")).to_have_count(1)
            await expect(c.locator("#lines li .report")).to_have_count(0)
            line = o.locator("#lines li").first
            await line.locator("summary", has_text="Report").click()
            await line.get_by_label("What worries you about this line?").fill("It sounded like a real threat.")
            await shoot(o, "report-line")
            await line.get_by_role("button", name="Send the report").click()
            await expect(line).to_contain_text("Thank you for telling us.")

            # Maya, on the group's day, is told at once.
            notice = day.locator(".mod-notice-report")
            await expect(notice).to_contain_text(
                "New report: Olive is worried about a line said in a practice room.")
            await expect(notice).to_contain_text("It sounded like a real threat.")
            await expect(pr.locator(".mod-notice")).to_have_count(0)

            # The group's own card can be reported from the room too.
            card = o.locator("#card-report")
            await card.locator("summary", has_text="Report").click()
            await card.get_by_label("What worries you about this card?").fill("Too close to home for some.")
            await card.get_by_role("button", name="Send the report").click()
            await expect(card).to_contain_text("Thank you for telling us.")
            await expect(day.locator(".mod-notice-report")).to_have_count(2)

            # The round ends and the room forgets the line; the moderation page still shows it.
            await m.get_by_role("button", name="End the scene").click()
            await expect(o.locator("#room-phase")).to_have_text("Feedback")
            await m.get_by_text("End the room now…").click()
            await m.get_by_role("button", name="End the room for everyone").click()
            await expect(o.locator("#room-phase")).to_have_text("Ended")
            await expect(o.locator("#lines li")).to_have_count(0)
            await day.goto(f"{base}/groups/{gid}/moderation")
            reports = day.locator("#reports")
            await expect(reports).to_contain_text(said)
            await expect(reports).to_contain_text("Cole")
            await expect(reports).to_contain_text("The borrowed car: A cousin asks for the car again.")
            await shoot(day, "reported-line-moderation")
        finally:
            await browser.close()
    assert watch.problems == []
    assert errors == []
