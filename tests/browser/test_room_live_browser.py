"""What a room shows while it changes under people's hands, in real browsers: a moderator's
unsaved choice of role survives someone joining, the sentence saying whose turn it is moves
on when the practitioner has chosen, and the counterpart's answer is labelled for the
counterpart the first time it shows."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import pytest
import websockets

from server.deps import SESSION_COOKIE
from tests.browser.test_foundation_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    Watch,
    need_chromium,
)
from tests.fixtures.servers import LiveServer
from tests.realtime.helpers import remote_group, remote_member

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BOUNDARY = "I'm resting this weekend. I can visit next Sunday."


@pytest.fixture
def server(sqlite_database_url: str, tmp_path: Path):
    live = LiveServer(sqlite_database_url, log_path=tmp_path / "server.log").start()
    yield live
    live.stop()


class Browsers:
    def __init__(self, browser, base: str) -> None:
        self.browser, self.base = browser, base
        self.watch = Watch(base)
        self.errors: list[str] = []

    async def page_for(self, person, viewport=DESKTOP):
        context = await self.browser.new_context(viewport=viewport)
        await context.add_cookies([{"name": SESSION_COOKIE, "value": person.token, "url": self.base}])
        page = await context.new_page()
        self.watch.attach(page)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        return page


async def room_of(server: LiveServer, names: tuple[str, ...]):
    people = [await remote_member(server.url, name) for name in names]
    group = await remote_group(*people)
    r = await people[0].post(f"/api/v1/groups/{group['id']}/roleplays", {"title": "Evening practice"})
    assert r.status_code == 201, r.text
    return people, group["id"], r.json()["room_id"]


async def test_one_tap_sets_a_role_and_it_never_reverts(server: LiveServer):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    people, gid, rid = await room_of(server, ("maya", "cole", "sam"))
    mod, cole, sam = people
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            b = Browsers(browser, server.url)
            m, c = await b.page_for(mod), await b.page_for(cole)
            for page in (m, c):
                await page.goto(f"{server.url}/groups/{gid}/rooms/{rid}")
            await expect(m.locator("#participants li")).to_have_count(2)
            # Choosing the role is all it takes: Cole is told, with no button to find.
            picker = m.get_by_label("Role for Cole")
            await picker.focus()
            await picker.select_option("counterpart")
            await expect(c.locator(f'#participants li[data-user-id="{cole.id}"]')).to_contain_text(
                "Counterpart")
            await expect(m.locator(f'#participants li[data-user-id="{cole.id}"]')).to_contain_text(
                "Counterpart")
            await expect(m.get_by_role("button", name="Set role for Cole")).to_have_count(0)

            # Someone joining redraws the list; the choice stays as set, and so does the focus.
            async with websockets.connect(f"{server.ws_url}/ws/roleplays/{rid}",
                                          additional_headers=sam.headers) as ws:
                await ws.send('{"type": "join"}')
                await expect(m.locator("#participants li")).to_have_count(3)
                await expect(picker).to_have_value("counterpart")
                await expect(picker).to_be_focused()
                await m.locator("#people-title").click()  # the moderator looks elsewhere
                await ws.send('{"type": "raise_hand"}')
                await expect(m.locator(f'#participants li[data-user-id="{sam.id}"]')).to_contain_text("Hand raised")
                await expect(m.get_by_label("Role for Cole")).to_have_value("counterpart")
        finally:
            await browser.close()
    assert b.watch.problems == [] and b.errors == []


@contextlib.asynccontextmanager
async def four_in_a_room(server: LiveServer, viewport: dict[str, int] = DESKTOP):
    """Maya (who moderates), Sam, Cole and Olive in a room, each with a page at `viewport`,
    and the first scenario card Sam may choose: (people, gid, rid, card, browsers, pages).
    No page may log an error or a problem."""
    from playwright.async_api import async_playwright

    people, gid, rid = await room_of(server, ("maya", "sam", "cole", "olive"))
    card = (await people[1].get(f"/api/v1/scenarios?group_id={gid}")).json()[0]
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            b = Browsers(browser, server.url)
            pages = tuple([await b.page_for(x, viewport) for x in people])
            yield people, gid, rid, card, b, pages
        finally:
            await browser.close()
    assert b.watch.problems == [] and b.errors == []


async def start_round(base: str, gid: int, rid: int, pages, sam, cole) -> None:
    """Everyone opens the room; the moderator (the first page) makes Sam the practitioner and
    Cole the counterpart, each seeing their role arrive, and starts the round."""
    from playwright.async_api import expect

    m, _, c, _ = pages
    for page in pages:
        await page.goto(f"{base}/groups/{gid}/rooms/{rid}")
    await expect(m.locator("#participants li")).to_have_count(4)
    await m.get_by_label("Role for Sam").select_option("practitioner")
    await expect(m.locator(f'#participants li[data-user-id="{sam.id}"]')).to_contain_text("Practising")
    await m.get_by_label("Role for Cole").select_option("counterpart")
    for page in (m, c):
        await expect(page.locator(f'#participants li[data-user-id="{cole.id}"]')).to_contain_text("Counterpart")
    await m.get_by_role("button", name="Start the round").click()


async def test_the_turn_moves_on_once_the_practitioner_has_chosen(server: LiveServer):
    need_chromium()
    from playwright.async_api import expect

    async with four_in_a_room(server, DESKTOP) as (people, gid, rid, card, b, (m, s, c, o)):
        mod, sam, cole, olive = people
        await start_round(server.url, gid, rid, (m, s, c, o), sam, cole)
        await expect(o.locator("#room-turn")).to_have_text("Sam is choosing a card and a boundary.")
        await expect(o.locator("#setup-waiting")).to_contain_text("Sam is choosing a card and a boundary.")

        await s.get_by_label("Scenario card").select_option(label=card["title"])
        await s.get_by_role("button", name="Use this card").click()
        await expect(o.locator("#card-title")).to_have_text(card["title"])
        for page in (o, c, m):
            await expect(page.locator("#room-turn")).to_have_text(
                "Sam is writing the boundary; the card is chosen.")
        await expect(s.locator("#room-turn")).to_have_text(
            "You are writing the boundary; the card is chosen.")
        await expect(o.locator("#setup-waiting")).not_to_contain_text("choosing a card")

        await s.get_by_label("Your boundary, in your own words").fill(BOUNDARY)
        await s.get_by_role("button", name="State my boundary").click()
        await expect(o.locator("#card-boundary")).to_have_text(BOUNDARY)
        for page in (o, c, s):
            await expect(page.locator("#room-turn")).to_have_text(
                "The moderator starts the rehearsal when the practitioner is ready.")
            await expect(page.locator("#panel-setup")).not_to_contain_text("is choosing")


async def test_the_counterparts_answer_is_labelled_for_them_the_first_time(server: LiveServer):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    people, gid, rid = await room_of(server, ("maya", "sam", "cole", "olive"))
    mod, sam, cole, olive = people
    card = (await sam.get(f"/api/v1/scenarios?group_id={gid}")).json()[2]
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            b = Browsers(browser, server.url)
            m, s, c, o = [await b.page_for(x) for x in people]
            # Cole's page is drawn while Cole is an observer; the role comes live.
            await start_round(server.url, gid, rid, (m, s, c, o), sam, cole)
            await s.get_by_label("Scenario card").select_option(label=card["title"])
            await s.get_by_label("3 · Escalates").check()
            await s.get_by_role("button", name="Use this card").click()

            answer = c.locator("#counterpart-line")
            await expect(answer.locator("blockquote")).to_have_text(card["intensities"][2])
            await expect(answer).to_contain_text("Your answer when the boundary is stated")
            await expect(answer.locator(".tag")).to_have_text("Only you and the moderators see this")
            moderators = m.locator("#counterpart-line")
            await expect(moderators.locator("blockquote")).to_have_text(card["intensities"][2])
            await expect(moderators).to_contain_text("The counterpart's answer")
            await expect(moderators.locator(".tag")).to_have_text("Moderators see this")
            await expect(o.locator("#card-title")).to_have_text(card["title"])
            await expect(o.locator("#counterpart-line")).to_be_hidden()
            await expect(o.locator("#panel-card")).not_to_contain_text(card["intensities"][2])
        finally:
            await browser.close()
    assert b.watch.problems == [] and b.errors == []


async def test_feedback_being_written_stays_while_others_give_theirs(server: LiveServer):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    people, gid, rid = await room_of(server, ("maya", "sam", "cole", "obi", "ida"))
    mod, sam, cole, obi, ida = people
    card = (await sam.get(f"/api/v1/scenarios?group_id={gid}")).json()[0]
    sockets = {}
    try:
        for person in (mod, sam, cole, obi):
            sockets[person.id] = await websockets.connect(
                f"{server.ws_url}/ws/roleplays/{rid}", additional_headers=person.headers)

        async def command(person, **body) -> None:
            """Send a named command and wait for its answer, which must be an ack."""
            ws = sockets[person.id]
            await ws.send(json.dumps({**body, "ref": body["type"]}))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 60))  # a last guard
                if frame.get("ref") == body["type"]:
                    assert frame["type"] == "ack", frame
                    return

        for person in (mod, sam, cole, obi):
            await command(person, type="join")
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                b = Browsers(browser, server.url)
                i = await b.page_for(ida)
                await i.goto(f"{server.url}/groups/{gid}/rooms/{rid}")
                await expect(i.locator("#participants li")).to_have_count(5)
                await command(mod, type="assign_role", user_id=sam.id, role="practitioner")
                await command(mod, type="assign_role", user_id=cole.id, role="counterpart")
                await command(mod, type="advance")
                await command(sam, type="choose_scenario", scenario_id=card["id"], intensity=1)
                await command(sam, type="state_boundary", text=BOUNDARY)
                for _ in range(3):  # rehearsal, scene, feedback
                    await command(mod, type="advance")
                await command(cole, type="feedback", style="assertive", worked="Kind and clear.")
                await expect(i.locator("#room-phase")).to_have_text("Feedback")

                words = "You kept your voice steady, and you did not explain twice."
                await i.get_by_label("Assertive").check()
                await i.get_by_label("What worked").fill(words)  # Ida is still in the field
                await command(obi, type="feedback", style="passive", worked="You stayed calm.")
                await expect(i.locator("#feedback-in")).to_contain_text("Obi")
                await expect(i.get_by_label("What worked")).to_have_value(words)
                await expect(i.get_by_label("What worked")).to_be_focused()
                await expect(i.get_by_label("Assertive")).to_be_checked()
                await i.get_by_role("button", name="Give my feedback").click()
                await expect(i.locator("#feedback-thanks")).to_be_visible()
                await expect(i.locator("#feedback-in")).to_contain_text("You")
            finally:
                await browser.close()
    finally:
        for ws in sockets.values():
            await ws.close()
    assert b.watch.problems == [] and b.errors == []
