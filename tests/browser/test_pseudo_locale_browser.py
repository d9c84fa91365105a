"""Every page, and every phase of a practice room, read in a pseudo-language in a real browser:
every word a reader sees is translated (between the pseudo-language's markers), written by a
member (`data-member-words`) or a date or time (`<time>`). A word outside them was never
marked for translation; the test lists each page's.

tests/pseudo_language.py makes the pseudo-language from messages.pot; tests/fixtures/serve.py
serves it as a language Cairn knows, offered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.test_foundation_browser import DESKTOP, PHONE, need_chromium
from tests.browser.test_moderation_browser import Browsers, commit
from tests.fixtures.clients import PASSWORD
from tests.fixtures.servers import LiveServer
from tests.pseudo_language import CODE, choose_language, either, unmarked, write_pseudo_language
from tests.realtime.helpers import remote_group, remote_member

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WORRYING = "Some days I want to die, honestly"


@pytest.fixture
def pseudo_server(sqlite_database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """Cairn offering the pseudo-language; a room's rehearsal and scene last until its
    moderator moves on, so each phase can be read at leisure."""
    write_pseudo_language(tmp_path / "locale")
    live = LiveServer(sqlite_database_url, log_path=tmp_path / "server.log",
                      env={"CAIRN_TEST_LOCALE_DIR": str(tmp_path / "locale"),
                           "CAIRN_ROLEPLAY_REHEARSE_SECONDS": "600",
                           "CAIRN_ROLEPLAY_SCENE_SECONDS": "600"}).start()
    yield live
    live.stop()


class Reading:
    """What the pages showed outside the markers: each text under the first page that showed
    it (the same words on a later page are not said again)."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}
        self.seen: set[str] = set()

    async def look(self, page, where: str) -> None:
        new = [w for w in await unmarked(page) if w not in self.seen]
        if new:
            self.found.setdefault(where, []).extend(new)
            self.seen.update(new)

    def report(self) -> str:
        return "\n".join(f"{where}:\n" + "\n".join(f"    {w}" for w in words)
                         for where, words in self.found.items())


async def no_validation(page, form: str) -> None:
    """Let the form post what the browser would hold back, so the server's error shows."""
    await page.locator(form).first.evaluate("f => { f.noValidate = true; }")


async def open_form(page, card: str, key: str) -> None:
    """A card's form opened in place (day.js fetches it and puts it under its link)."""
    from playwright.async_api import expect

    await page.locator(f'{card} a.opener[href$="open={key}"]').click()
    await expect(page.locator(f"{card}-{key} form")).to_be_visible()


async def test_every_page_reads_in_the_pseudo_language(pseudo_server: LiveServer):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base, db = pseudo_server.url, pseudo_server.database_url
    alex, bea, cole = [await remote_member(base, n) for n in ("alex", "bea", "cole")]
    choose_language(db)  # before anything is made in a member's language (a plan, a room)
    group = await remote_group(alex, bea, cole)
    gid, invite = group["id"], group["invite_code"]
    mine = await commit(bea, gid, "Drink a glass of water before coffee", "water")
    r = await bea.post(f"/api/v1/commitments/{mine}/checkin", {"status": "done", "note": "Easy", "feeling": 4})
    assert r.status_code == 200, r.text
    theirs = await commit(alex, gid, "Walk after lunch", "movement")
    r = await alex.post(f"/api/v1/commitments/{theirs}/checkin", {"status": "partly", "note": "Halfway"})
    assert r.status_code == 200, r.text
    await commit(cole, gid, "Say no to the extra shift", "assertive_communication")
    untouched = await commit(bea, gid, "Stretch before bed", "rest")
    r = await alex.post(f"/api/v1/groups/{gid}/encouragements",
                        {"kind": "proud", "text": "Lovely", "commitment_id": mine})
    assert r.status_code == 201, r.text
    r = await alex.post(f"/api/v1/groups/{gid}/practice-plans", {"starts": "19:00", "weekday": 2})
    assert r.status_code == 201, r.text
    reading = Reading()
    look = reading.look
    async with async_playwright() as p, Browsers(p, base) as b:
        # A visitor, whose browser asks for the language.
        visitor = await b.page(None, PHONE, locale=CODE)
        for path in ("/", "/login", "/signup", "/forgot", "/help", "/offline", "/invite/<code>",
                     "/no-such-page"):
            await visitor.goto(base + path.replace("<code>", invite))
            await look(visitor, path)
        # Each form's error, as the server says it.
        await visitor.goto(base + "/login")
        await visitor.locator("#f-username").fill("nobody")
        await visitor.locator("#f-password").fill("not the password at all")
        await visitor.locator("main form button[type=submit]").click()
        await expect(visitor.locator(".form-error")).to_be_visible()
        await look(visitor, "/login, a wrong password")
        await visitor.goto(base + "/forgot")
        await visitor.locator("#f-username").fill("bea")
        await visitor.locator("#f-code").fill("ABCDE-23456")
        await visitor.locator("#f-new_password").fill(PASSWORD)
        await visitor.locator("#f-new_password_again").fill(PASSWORD)
        await visitor.locator("main form button[type=submit]").click()
        await expect(visitor.locator(".form-error")).to_be_visible()
        await look(visitor, "/forgot, a wrong code")
        await visitor.goto(base + "/signup")
        await visitor.locator("#f-username").fill("dana")
        await visitor.locator("#f-display_name").fill("Dana")
        await visitor.locator("#f-password").fill(PASSWORD)
        await visitor.locator("#f-password_again").fill(PASSWORD + " not")
        await visitor.locator("main form button[type=submit]").click()
        await expect(visitor.locator(".form-error")).to_be_visible()
        await look(visitor, "/signup, passwords that differ")
        # Signing up: the recovery codes, then the groups page with no group yet, the invite.
        await visitor.locator("#f-password_again").fill(PASSWORD)
        await visitor.locator("#f-password").fill(PASSWORD)
        await visitor.locator("main form button[type=submit]").click()
        await expect(visitor.locator(".recovery-code")).to_have_count(10)
        await look(visitor, "sign-up's recovery codes")
        choose_language(db)
        await visitor.locator("main .actions a").click()
        await visitor.wait_for_url(f"{base}/groups*")
        await look(visitor, "/groups, no group yet")
        await no_validation(visitor, "#join form")
        await visitor.locator("#join button[type=submit]").click()
        await expect(visitor.locator("#join .form-error")).to_be_visible()
        await look(visitor, "/groups, joining without a code")
        await visitor.goto(f"{base}/invite/{invite}")
        await look(visitor, "/invite/<code>, signed in")

        # A member: the group's day with commitments, check-ins and encouragement, each form.
        member = await b.page(bea, PHONE)
        day = f"{base}/groups/{gid}"
        await member.goto(day)
        await expect(member.locator("#live-status")).to_have_attribute("data-state", "live")
        await look(member, "group day (member)")
        await member.locator("#post summary").click()
        await look(member, "group day, posting form open")
        await no_validation(member, "#post form")
        await member.locator("#post button[type=submit]").click()
        await expect(member.locator("#post .form-error")).to_be_visible()
        await look(member, "group day, posting with no words")
        await member.goto(day)
        await open_form(member, f"#c{mine}", "check-in")
        await look(member, "group day, own card's check-in form")
        for key in ("edit", "withdraw"):
            await open_form(member, f"#c{untouched}", key)
            await look(member, f"group day, own card's {key} form")
        await open_form(member, f"#c{theirs}", "encourage")
        await look(member, "group day, encouragement form")
        await open_form(member, f"#c{theirs}", "report")
        await look(member, "group day, report form")
        await member.goto(f"{day}/commitments/{untouched}?open=check-in")
        await no_validation(member, f"#c{untouched}-check-in form")
        await member.locator(f"#c{untouched}-check-in button[type=submit]").click()
        await expect(member.locator(".form-error")).to_be_visible()
        await look(member, "group day, check-in with no answer")
        # Encouragement arriving live, and worrying words bringing help to their writer.
        await member.goto(day)
        await expect(member.locator("#live-status")).to_have_attribute("data-state", "live")
        r = await cole.post(f"/api/v1/groups/{gid}/encouragements",
                            {"kind": "with_you", "text": "Go you", "commitment_id": mine})
        assert r.status_code == 201, r.text
        await expect(member.locator(".toast-encouragement")).to_be_visible()
        await look(member, "group day, encouragement arriving live")
        await open_form(member, f"#c{theirs}", "encourage")
        await member.locator(f"#en{theirs}-text").fill(WORRYING)
        await member.locator(f"#c{theirs}-encourage .cheer-buttons button").first.click()
        await expect(member.locator("#support")).to_be_visible()
        await look(member, "group day, help after worrying words")
        await member.locator(".day-nav a[rel=prev]").click()
        await expect(member.locator("#commitments-empty")).to_be_visible()
        await look(member, "group day, yesterday")
        for path in ("/groups", "/me/progress", "/settings", "/settings/reminders",
                     f"/groups/{gid}/audit", f"/groups/{gid}/practice", f"/groups/{gid}/moderation",
                     "/groups/99999", "/help"):
            await member.goto(base + path)
            await look(member, f"{path} (member)")
        await member.goto(base + "/settings")
        await member.locator("#codes-password").fill("not my password at all")
        await member.locator("#recovery-codes button[type=submit]").click()
        await expect(member.locator("#recovery-codes .form-error")).to_be_visible()
        await look(member, "/settings, a wrong password")
        await member.locator("#codes-password").fill(PASSWORD)
        await member.locator("#recovery-codes button[type=submit]").click()
        await expect(member.locator(".recovery-code")).to_have_count(10)
        await look(member, "/settings, new recovery codes")
        await member.goto(base + "/settings/reminders")
        await member.locator("form[action='/settings/calendar'] button[type=submit]").click()
        await member.wait_for_load_state()
        await look(member, "/settings/reminders, a calendar link")

        # The moderator: the day's notices arriving live, the moderation page and its forms.
        mod = await b.page(alex, DESKTOP)
        await mod.goto(day)
        await expect(mod.locator("#live-status")).to_have_attribute("data-state", "live")
        await mod.locator("#room-open summary").click()
        await look(mod, "group day (moderator)")
        r = await cole.post(f"/api/v1/groups/{gid}/reports",
                            {"target_type": "commitment", "target_id": theirs, "reason": "This worried me."})
        assert r.status_code == 201, r.text
        await expect(mod.locator(".mod-notice-report")).to_be_visible()
        await look(mod, "group day, a report arriving (moderator)")
        await mod.goto(f"{base}/groups/{gid}/moderation")
        for summary in await mod.locator("main details > summary").all():
            await summary.click()
        await look(mod, "/groups/<id>/moderation, every form open")
        row = mod.locator(f"#member-{cole.id}")
        await row.locator("textarea[name=reason]").fill("A pause to let things settle.")
        await row.locator("form[action$='/mute'] button[type=submit]").click()
        await expect(mod.locator(".flash")).to_be_visible()
        await look(mod, "/groups/<id>/moderation, after a pause")
        reset = mod.locator(f"#member-{bea.id} details:has(form[action$='/reset-code'])")
        await reset.locator("summary").click()
        await reset.locator("button[type=submit]").click()
        await expect(mod.locator("#reset-code")).to_be_visible()
        await look(mod, "a reset code")
        await mod.goto(f"{base}/groups/{gid}/audit")
        await look(mod, "/groups/<id>/audit, after moderation")
        await mod.goto(f"{base}/groups/{gid}/practice")
        await look(mod, "/groups/<id>/practice (moderator)")
        muted = await b.page(cole, PHONE)
        await muted.goto(day)
        await look(muted, "group day, paused from posting")
    assert b.errors == [], b.errors
    assert not reading.found, "words outside the pseudo-language's markers:\n" + reading.report()


async def test_every_room_phase_reads_in_the_pseudo_language(pseudo_server: LiveServer):
    """A round from the lobby to its end, read by its moderator, practitioner, counterpart
    and an observer at each phase."""
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base, db = pseudo_server.url, pseudo_server.database_url
    people = [await remote_member(base, n) for n in ("maya", "sam", "cole", "olive")]
    maya, sam, cole, olive = people
    choose_language(db)  # before the room opens in its opener's language
    gid = (await remote_group(*people))["id"]
    r = await maya.post(f"/api/v1/groups/{gid}/roleplays", {"title": "Evening practice"})
    assert r.status_code == 201, r.text
    rid = r.json()["room_id"]
    reading = Reading()
    roles = ("moderator", "practitioner", "counterpart", "observer")

    async with async_playwright() as p, Browsers(p, base) as b:
        pages = [await b.page(x, v) for x, v in zip(people, (DESKTOP, PHONE, DESKTOP, PHONE), strict=True)]
        m, s, c, o = pages

        async def everyone(phase: str) -> None:
            for role, page in zip(roles, pages, strict=True):
                await reading.look(page, f"room, {phase} ({role})")

        async def phase_is(name: str) -> None:
            for page in pages:
                await expect(page.locator("#room-phase")).to_have_text(either(name))

        for page in pages:
            await page.goto(f"{base}/groups/{gid}/rooms/{rid}")
        await expect(m.locator("#participants li")).to_have_count(4)
        await everyone("gathering")
        await m.locator(f"#role-for-{sam.id}").select_option("practitioner")
        await m.locator(f"#role-for-{cole.id}").select_option("counterpart")
        await expect(c.locator(".toast-room")).to_be_visible()
        await expect(s.locator(".toast-room")).to_be_visible()
        await everyone("roles given")
        await m.locator("#panel-moderate button[data-command=advance]").click()
        await phase_is("Setting up")
        await everyone("setting up")
        await m.locator("#panel-moderate button[data-command=advance]").click()  # too early
        await expect(m.locator("#panel-moderate [data-error]")).to_be_visible()
        await reading.look(m, "room, starting the rehearsal too early (moderator)")
        await s.locator("#card-select").select_option(index=1)
        await expect(s.locator("#card-preview")).to_be_visible()
        await reading.look(s, "room, a card read before choosing it (practitioner)")
        await s.locator("#card-form button[type=submit]").click()
        await s.locator("#boundary-text").fill("I'm resting this weekend. I can visit next Sunday.")
        await s.locator("#boundary-form button[type=submit]").click()
        await expect(o.locator("#card-boundary")).not_to_be_empty()
        await everyone("card and boundary chosen")
        await m.locator("#panel-moderate button[data-command=advance]").click()
        await phase_is("Rehearsal")
        await everyone("rehearsal")
        await m.locator("#panel-moderate button[data-command=advance]").click()
        await phase_is("Scene")
        await c.locator("#say-text").fill("You always have time for everyone else.")
        await c.locator("#say-form button[type=submit]").click()
        await s.locator("#say-text").fill("I hear you. I'm still resting this weekend.")
        await s.locator("#say-form button[type=submit]").click()
        await o.locator("#cheer-box button[data-command=cheer]").first.click()
        for page in pages:
            await expect(page.locator("#lines li")).to_have_count(2)
        await expect(o.locator("#cheers-held")).not_to_be_empty()
        await everyone("scene")
        await o.locator("#timeout-button").click()
        await phase_is("Time-out")
        await expect(o.locator("#grounding")).to_be_visible()
        await everyone("time-out")
        await m.locator("#panel-paused button[data-command=resume]").click()
        await phase_is("Scene")
        await m.locator("#panel-moderate button[data-command=advance]").click()
        await phase_is("Feedback")
        await everyone("feedback")
        await c.locator("#style-assertive").check()
        await c.locator("#feedback-worked").fill("Calm and kind.")
        await c.locator("#feedback-try-next").fill("Say it once.")
        await c.locator("#feedback-form button[type=submit]").click()
        await expect(c.locator("#feedback-thanks")).to_be_visible()
        await expect(s.locator("#my-feedback")).to_contain_text("Calm and kind.")
        await s.locator("#confidence-3").check()
        await s.locator("#confidence-form button[type=submit]").click()
        await expect(s.locator("#confidence-saved")).to_be_visible()
        await everyone("feedback given")
        await m.locator("#panel-moderate button[data-to=sharing]").click()
        await phase_is("Sharing")
        await o.locator("#hand-raise").click()
        await m.locator(f"#participant-{olive.id} button[data-command=mute]").click()
        await expect(o.locator("#muted-note")).to_be_visible()
        await s.locator("#save-homework").click()
        await expect(s.locator("#save-homework")).to_be_disabled()
        await everyone("sharing")
        await m.locator(f"#participant-{olive.id} button[data-command=unmute]").click()
        await expect(o.locator("#muted-note")).to_be_hidden()
        await m.locator("#panel-moderate button[data-to=setup]").click()
        await phase_is("Setting up")
        await everyone("the next round")
        await m.locator("#panel-moderate details.end-room summary").click()
        await m.locator("#panel-moderate button[data-command=end]").click()
        await phase_is("Ended")
        await everyone("ended")
        await s.goto(f"{base}/me/progress")
        await reading.look(s, "/me/progress after a round (practitioner)")
    assert b.errors == [], b.errors
    assert not reading.found, "words outside the pseudo-language's markers:\n" + reading.report()
