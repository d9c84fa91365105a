"""Cairn in Spanish, in real browsers at a phone's width, with axe-core finding nothing wrong on
any Spanish page: a newcomer signs up in Spanish and their cheer arrives live on another
member's page; a practice round is played to its feedback; a worrying note written in
Spanish brings the help panel with its Spanish lines.

The Spanish asserted is the catalogue's and the Spanish data files' (tests/spanish.py): what a
member sees is the translation of the English message, whatever its wording."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.test_foundation_browser import PHONE, axe_violations, need_chromium
from tests.browser.test_moderation_browser import Browsers, commit, open_day
from tests.fixtures.clients import PASSWORD
from tests.fixtures.servers import LiveServer
from tests.pseudo_language import choose_language
from tests.realtime.helpers import remote_group, remote_member
from tests.spanish import data, es

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SPANISH = "es"
# Every browser here is a Spanish speaker's, asking for Spanish (as a page shown to nobody in
# particular, cached by the service worker, is read in the browser's language).
BROWSER = "es-MX"


@pytest.fixture
def spanish_server(sqlite_database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """Cairn, a room's rehearsal and scene lasting until its moderator moves on."""
    live = LiveServer(sqlite_database_url, log_path=tmp_path / "server.log",
                      env={"CAIRN_ROLEPLAY_REHEARSE_SECONDS": "600",
                           "CAIRN_ROLEPLAY_SCENE_SECONDS": "600"}).start()
    yield live
    live.stop()


class Axe:
    """axe-core's findings on each Spanish page looked at, asserted empty at the end."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}

    async def check(self, page, where: str) -> None:
        from playwright.async_api import expect

        await expect(page.locator("html")).to_have_attribute("lang", SPANISH)
        if found := await axe_violations(page):
            self.found[where] = found

    def assert_none(self) -> None:
        assert not self.found, "\n".join(f"{where}: {v}" for where, v in self.found.items())


def exactly(text: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


async def test_a_newcomer_signs_up_in_spanish_and_their_cheer_arrives_live(spanish_server: LiveServer):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = spanish_server.url
    alex = await remote_member(base, "alex")
    choose_language(spanish_server.database_url)
    group = await remote_group(alex)
    gid = group["id"]
    cid = await commit(alex, gid, "Caminar después de comer", "movement")
    axe = Axe()
    async with async_playwright() as p, Browsers(p, base) as b:
        alex_page = await b.page(alex, PHONE, locale=BROWSER)
        await open_day(alex_page, base, gid)
        await axe.check(alex_page, "Alex's day")

        # Bea follows the invite link in a browser that asks for Spanish.
        bea = await b.page(None, PHONE, locale=BROWSER)
        await bea.goto(f"{base}/invite/{group['invite_code']}")
        await expect(bea.get_by_role("heading", level=1)).to_have_text(es("You are invited to a group"))
        await axe.check(bea, "the invite, signed out")
        await bea.locator("main").get_by_role("link", name=es("Create an account")).click()
        await expect(bea.get_by_role("heading", level=1)).to_have_text(es("Create your account"))
        await axe.check(bea, "sign-up")
        await bea.get_by_label(es("Username")).fill("bea")
        await bea.get_by_label(es("Display name")).fill("Bea")
        await bea.get_by_label(es("Password"), exact=True).fill(PASSWORD)
        await bea.get_by_label(es("Password again")).fill(PASSWORD)
        await bea.get_by_role("button", name=es("Create my account")).click()
        await expect(bea.get_by_role("heading", level=1)).to_have_text(es("Your recovery codes"))
        await expect(bea.locator(".recovery-code")).to_have_count(10)
        await axe.check(bea, "the recovery codes")
        await bea.get_by_role("link", name=es("I have saved them")).click()

        # Back at the invite, she reads the agreement in Spanish and joins.
        await bea.get_by_label(es("I have read the group agreement and I will keep it")).check()
        await axe.check(bea, "the invite, signed in")
        await bea.get_by_role("button", name=es("Join the group")).click()
        await bea.wait_for_url(f"{base}/groups/{gid}*")
        await expect(bea.get_by_role("heading", level=1)).to_have_text("Live circle")
        await expect(bea.locator("#live-status")).to_have_attribute("data-state", "live")
        await axe.check(bea, "Bea's first day in the group")

        # She cheers Alex on; it arrives on Alex's open page, in Spanish, without a reload.
        card = bea.locator(f"#c{cid}")
        await card.locator("a.opener[href$='open=encourage']").click()
        await card.get_by_label(es("A short note")).fill("¡Qué bien, Alex! Sigue así.")
        await axe.check(bea, "the cheer's form")
        await card.get_by_role("button", name=exactly(es("Proud of you"))).click()
        await expect(bea.locator(".toast").first).to_contain_text(
            es("Sent. Thank you for showing up for each other."))
        received = alex_page.locator(f'[data-received-for="{cid}"]')
        await expect(received).to_be_visible()
        await expect(received).to_contain_text(es("Proud of you"))
        await expect(received).to_contain_text("¡Qué bien, Alex! Sigue así.")
        await expect(alex_page.locator(".toast-encouragement")).to_contain_text(es("Proud of you"))
        assert await alex_page.evaluate("window.cairnTestMark") == "still here"
        await axe.check(alex_page, "Alex's day, the cheer arrived")
    assert b.errors == [] and b.watch.problems == []
    axe.assert_none()


async def test_a_practice_round_to_its_feedback_in_spanish(spanish_server: LiveServer):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = spanish_server.url
    people = [await remote_member(base, n) for n in ("maya", "sam", "cole", "olive")]
    maya, sam, cole, olive = people
    choose_language(spanish_server.database_url)  # before the room opens, in its opener's
    gid = (await remote_group(*people))["id"]
    r = await maya.post(f"/api/v1/groups/{gid}/roleplays", {"title": "Práctica del jueves"})
    assert r.status_code == 201, r.text
    rid = r.json()["room_id"]
    cards = data("scenarios")
    axe = Axe()
    async with async_playwright() as p, Browsers(p, base) as b:
        pages = [await b.page(person, PHONE, locale=BROWSER) for person in people]
        m, s, c, o = pages

        async def phase_is(english: str) -> None:
            for page in pages:
                await expect(page.locator("#room-phase")).to_have_text(exactly(es(english)))

        for page in pages:
            await page.goto(f"{base}/groups/{gid}/rooms/{rid}")
        await expect(m.locator("#participants li")).to_have_count(4)
        await phase_is("Gathering")
        await axe.check(m, "the room gathering (moderator)")
        await m.locator(f"#role-for-{sam.id}").select_option("practitioner")
        await m.locator(f"#role-for-{cole.id}").select_option("counterpart")
        await expect(s.locator(".toast-room")).to_contain_text(es("You are practising this round."))
        await expect(c.locator(".toast-room")).to_contain_text(
            es("You are playing the other side of the conversation this round."))
        await m.get_by_role("button", name=es("Start the round")).click()
        await phase_is("Setting up")

        # Sam reads a card in Spanish, chooses it and states the boundary.
        await s.get_by_label(es("Scenario card")).select_option(index=1)
        preview = s.locator("#card-preview")
        await expect(preview).to_be_visible()
        situations = [card["situation"] for card in cards]
        assert await preview.locator("#card-preview-situation").inner_text() in situations
        await axe.check(s, "the room, choosing a card (practitioner)")
        await s.get_by_role("button", name=es("Use this card")).click()
        await s.get_by_label(es("Your boundary, in your own words")).fill(
            "Este fin de semana descanso. Te visito el próximo domingo.")
        await s.get_by_role("button", name=es("State my boundary")).click()
        await expect(o.locator("#card-boundary")).to_have_text(
            "Este fin de semana descanso. Te visito el próximo domingo.")
        await axe.check(o, "the room, setting up (observer)")

        await m.get_by_role("button", name=es("Begin the rehearsal")).click()
        await phase_is("Rehearsal")
        await axe.check(c, "the room, rehearsal (counterpart)")
        await m.get_by_role("button", name=es("Start the scene now")).click()
        await phase_is("Scene")
        await c.get_by_label(es("Your line")).fill("¿Otra vez me vas a dejar sola?")
        await c.get_by_label(es("Your line")).press("Enter")
        await s.get_by_label(es("Your line")).fill("Te quiero, y este domingo descanso.")
        await s.get_by_role("button", name=es("Say it")).click()
        for page in pages:
            await expect(page.locator("#lines li")).to_have_count(2)
        await o.get_by_role("button", name=exactly(es("Proud of you"))).click()
        await axe.check(s, "the room, the scene (practitioner)")
        await axe.check(o, "the room, the scene (observer)")

        # Feedback: the counterpart's, read by the practitioner in Spanish.
        await m.get_by_role("button", name=es("End the scene")).click()
        await phase_is("Feedback")
        await axe.check(c, "the room, feedback (counterpart)")
        await c.get_by_label(exactly(es("Assertive"))).check()
        await c.get_by_label(es("What worked")).fill("Fue claro y cariñoso.")
        await c.get_by_label(es("One thing to try next")).fill("Dilo una vez y no expliques más.")
        await c.get_by_role("button", name=es("Give my feedback")).click()
        mine = s.locator("#my-feedback")
        await expect(mine).to_contain_text("Fue claro y cariñoso.")
        await expect(mine).to_contain_text(es("Assertive"))
        await axe.check(s, "the room, feedback read (practitioner)")
        await axe.check(m, "the room, feedback (moderator)")
    assert b.errors == [] and b.watch.problems == []
    axe.assert_none()


async def test_a_worrying_note_in_spanish_brings_help_in_spanish(spanish_server: LiveServer):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = spanish_server.url
    alex, bea = await remote_member(base, "alex"), await remote_member(base, "bea")
    choose_language(spanish_server.database_url)
    gid = (await remote_group(alex, bea))["id"]
    cid = await commit(bea, gid, "Llamar a mi hermana", "assertive_communication")
    lines = data("crisis_resources")
    axe = Axe()
    async with async_playwright() as p, Browsers(p, base) as b:
        page = await b.page(bea, PHONE, locale=BROWSER)
        await page.goto(f"{base}/groups/{gid}/commitments/{cid}?open=check-in")
        form = page.locator(f"#c{cid}-check-in")
        await form.get_by_label(exactly(es("Done"))).check()
        await form.locator("textarea").fill("No pude. A veces quiero morirme, la verdad.")
        await axe.check(page, "the check-in form")
        await form.get_by_role("button", name=es("Save my check-in")).click()

        # Help comes to her, in Spanish: the panel's words and the Spanish lines.
        support = page.locator("#support")
        await expect(support).to_be_visible()
        await expect(support.get_by_role("heading")).to_have_text(es("Help, if you need it now"))
        await expect(support).to_contain_text(lines["general"]["message"])
        await support.locator("summary").click()
        await expect(support).to_contain_text(lines["countries"]["MX"]["name"])
        await expect(support).to_contain_text(lines["countries"]["MX"]["lines"][0]["name"])
        await axe.check(page, "the help panel")
        await support.get_by_role("link", name=es("Crisis lines and grounding steps")).click()
        await page.wait_for_url(f"{base}/help*")
        await expect(page.get_by_role("heading", level=1)).to_have_text(es("Need help now?"))
        for step in lines["grounding"]:
            await expect(page.locator("main")).to_contain_text(step)
        await axe.check(page, "the help page")
    assert b.errors == [] and b.watch.problems == []
    axe.assert_none()
