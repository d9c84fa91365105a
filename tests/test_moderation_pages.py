"""The moderation pages, reporting from the group's day, crisis support on the next page, the
help page's crisis lines, and downloading or deleting one's data from settings."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from server.deps import SESSION_COOKIE
from server.main import create_app
from tests.fixtures.clients import PASSWORD, Clients, make_settings
from tests.test_pages import (
    Browser,
    _FormAudit,
    create_group,
    join,
    post_commitment,
    sign_up,
)

CRISIS_FILE = Path(__file__).resolve().parents[1] / "server" / "data" / "crisis_resources.json"

def plain(html: str) -> str:
    """A page without the marks around members' own words (`data-member-words`)."""
    html = re.sub(r"<span data-member-words>([^<]*)</span>", r"\1", html)
    return html.replace(" data-member-words", "")



async def circle(clients: Clients, n: int = 3) -> tuple[list[Browser], int]:
    """A moderator and n - 1 members, each in their own browser."""
    people = [await sign_up(clients) for _ in range(n)]
    gid, code = await create_group(people[0])
    for person in people[1:]:
        assert (await join(person, code)).status_code == 303
    return people, gid


async def user_id(browser: Browser) -> int:
    return (await browser.client.get("/api/v1/me")).json()["id"]


def article(page: str, cid: int) -> str:
    return page.split(f'id="c{cid}"', 1)[1].split("</article>", 1)[0]


async def report(browser: Browser, gid: int, target_type: str, target_id: int, reason: str,
                 **where: str) -> httpx.Response:
    return await browser.submit(f"/groups/{gid}/reports", {
        "target_type": target_type, "target_id": str(target_id), "reason": reason, **where})


async def open_reports(browser: Browser, gid: int) -> list[dict]:
    r = await browser.client.get(f"/api/v1/groups/{gid}/reports?status=open")
    assert r.status_code == 200, r.text
    return r.json()


# --- reporting and the moderators' page --------------------------------------------------------

async def test_a_report_from_the_day_reaches_the_moderation_page(clients):
    (mod, author, reader), gid = await circle(clients)
    cid = await post_commitment(author, gid, "Tell my brother no")
    page = (await reader.get(f"/groups/{gid}")).text
    mine = article(page, cid)
    # The day links to the form; the card's page (or the day's script) draws it when opened.
    assert f'href="/groups/{gid}/commitments/{cid}?open=report"' in mine
    assert "?open=hide" not in mine  # hiding is for moderators
    assert "?open=report" not in article((await author.get(f"/groups/{gid}")).text, cid)
    assert 'class="card-form"' not in page and "Send the report" not in page
    card = (await reader.get(f"/groups/{gid}/commitments/{cid}?open=report")).text
    opened = article(card, cid)
    assert f'<div class="card-form" id="c{cid}-report">' in opened
    assert f'action="/groups/{gid}/reports"' in opened and f'name="anchor" value="c{cid}"' in opened
    assert 'class="card-form"' not in article(
        (await author.get(f"/groups/{gid}/commitments/{cid}?open=report")).text, cid)

    # A reason is required: the form comes back with the message and nothing is filed.
    r = await report(reader, gid, "commitment", cid, "   ", back="day", anchor=f"c{cid}")
    assert r.status_code == 422 and "Give a reason" in r.text
    assert f'<div class="card-form" id="c{cid}-report"><p class="form-error"' in r.text
    assert await open_reports(mod, gid) == []

    r = await report(reader, gid, "commitment", cid, "This felt like a dig at me.",
                     back="day", anchor=f"c{cid}")
    assert r.status_code == 303 and r.headers["location"] == f"/groups/{gid}#c{cid}"
    assert "moderators will look at it." in (await reader.get(r.headers["location"])).text
    # Something that is not on the page (or not in the group): the message shows on top.
    r = await report(reader, gid, "commitment", 999999, "Where did it go?", back="day")
    assert r.status_code == 404 and "We could not find that in this group." in r.text
    # Where a form may send someone back to is decided by the server, not the form.
    r = await report(reader, gid, "commitment", cid, "again", anchor="//evil.example", day="x")
    assert r.status_code == 303 and r.headers["location"] == f"/groups/{gid}"

    day = (await mod.get(f"/groups/{gid}")).text
    assert 'data-open-reports="2"' in day and f'href="/groups/{gid}/moderation"' in day
    page = plain((await mod.get(f"/groups/{gid}/moderation")).text)
    assert "This felt like a dig at me." in page and "Tell my brother no" in page
    assert f"<strong>{reader.name.title()}</strong>" in page and f"<strong>{author.name.title()}</strong>" in page
    assert f'action="/groups/{gid}/hidden"' in page and "/dismiss" in page

    # Members and outsiders do not get the moderators' page.
    assert (await reader.get(f"/groups/{gid}/moderation", ok=False)).status_code == 403
    outsider = await sign_up(clients)
    assert (await outsider.get(f"/groups/{gid}/moderation", ok=False)).status_code == 404
    assert (await report(outsider, gid, "commitment", cid, "x")).status_code == 404


async def test_hiding_from_the_moderation_page_and_the_audit_log(clients):
    (mod, author, reader), gid = await circle(clients)
    cid = await post_commitment(author, gid, "Some unkind words about my sister")
    await report(reader, gid, "commitment", cid, "Unkind about someone not here.")
    r = await mod.submit(f"/groups/{gid}/hidden", {"target_type": "commitment", "target_id": str(cid),
                                                   "reason": "", "back": "moderation"})
    assert r.status_code == 422 and "Give a reason" in r.text and "Moderation" in r.text
    r = await mod.submit(f"/groups/{gid}/hidden", {"target_type": "commitment", "target_id": str(cid),
                                                   "reason": "Kept to our agreement.", "back": "moderation"})
    assert r.status_code == 303 and r.headers["location"] == f"/groups/{gid}/moderation"
    page = (await mod.get(f"/groups/{gid}/moderation")).text
    assert "No open reports" in page and "Reports already dealt with (1)" in page

    seen = article((await reader.get(f"/groups/{gid}")).text, cid)
    assert "Some unkind words" not in seen and "Hidden by a moderator." in seen
    assert "data-report-for" not in seen
    own = article((await author.get(f"/groups/{gid}")).text, cid)
    assert "Some unkind words" in own and (
        "A moderator hid this from the group: <span data-member-words>Kept to our agreement.</span>" in own)

    # Hiding it again says so, on the page, with no second entry in the log.
    r = await mod.submit(f"/groups/{gid}/hidden", {"target_type": "commitment", "target_id": str(cid),
                                                   "reason": "again", "back": "moderation"})
    assert r.status_code == 409 and "already hidden" in r.text

    # Every member reads the log, linked from the group's day; it never names the reporter.
    day = (await reader.get(f"/groups/{gid}")).text
    assert f'href="/groups/{gid}/audit"' in day
    log = (await reader.get(f"/groups/{gid}/audit")).text
    assert f"<strong>{mod.name.title()}</strong>" in plain(log) and "hid" in log
    assert f"commitment #{cid}" in log and "Kept to our agreement." in log
    assert reader.name.title() not in log.split("<main", 1)[1].split("</main>", 1)[0]
    outsider = await sign_up(clients)
    assert (await outsider.get(f"/groups/{gid}/audit", ok=False)).status_code == 404
    anon = Browser(clients.anonymous())
    r = await anon.get(f"/groups/{gid}/audit", ok=False)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next=/groups/{gid}/audit"


async def test_a_report_can_be_dismissed_with_a_note(clients):
    (mod, author, reader), gid = await circle(clients)
    cid = await post_commitment(author, gid, "Say no to overtime")
    await report(reader, gid, "commitment", cid, "Not sure this is allowed?")
    [filed] = await open_reports(mod, gid)
    assert (await reader.submit(f"/groups/{gid}/reports/{filed['id']}/dismiss", {})).status_code == 403
    r = await mod.submit(f"/groups/{gid}/reports/{filed['id']}/dismiss", {"note": "It is a fine boundary."})
    assert r.status_code == 303 and r.headers["location"] == f"/groups/{gid}/moderation"
    assert await open_reports(mod, gid) == []
    r = await mod.submit(f"/groups/{gid}/reports/{filed['id']}/dismiss", {})
    assert r.status_code == 409 and "already been dealt with" in r.text
    assert (await mod.submit(f"/groups/{gid}/reports/999999/dismiss", {})).status_code == 404
    audit = (await reader.client.get(f"/api/v1/groups/{gid}/audit")).json()
    assert [(a["action"], a["target"], a["reason"]) for a in audit] == [
        ("dismiss", f"a report about commitment #{cid}", "It is a fine boundary.")]
    # The words stay for everyone.
    assert "Say no to overtime" in article((await reader.get(f"/groups/{gid}")).text, cid)


async def test_check_in_notes_and_encouragement_notes_can_be_reported_and_hidden(clients):
    (mod, author, reader), gid = await circle(clients)
    cid = await post_commitment(author, gid, "Go for a walk")
    await author.submit(f"/groups/{gid}/commitments/{cid}/checkin",
                        {"status": "done", "note": "A note some found hurtful"})
    checkin_id = (await author.client.get(f"/api/v1/groups/{gid}/commitments")).json()[0]["checkin"]["id"]
    await reader.submit(f"/groups/{gid}/encourage", {"kind": "proud", "commitment_id": str(cid),
                                                     "text": "A pushy note"})
    sent = (await author.client.get("/api/v1/me/encouragements")).json()
    eid = sent[0]["id"]

    # The card's one report (and hide) form asks which: the commitment or its check-in note.
    seen = article((await reader.get(f"/groups/{gid}/commitments/{cid}?open=report")).text, cid)
    assert f'value="commitment-{cid}" checked' in seen and f'value="checkin-{checkin_id}"' in seen
    as_mod = article((await mod.get(f"/groups/{gid}/commitments/{cid}?open=hide")).text, cid)
    assert f'action="/groups/{gid}/hidden"' in as_mod and f'value="checkin-{checkin_id}"' in as_mod
    # The receiver finds the note beside their commitment and on their progress page,
    # each with a way to report it.
    own = article((await author.get(f"/groups/{gid}")).text, cid)
    assert "Encouragement for you" in own and "A pushy note" in own
    assert f'?open=report-encouragement-{eid}"' in own
    progress = (await author.get("/me/progress")).text
    assert f'data-report-for="encouragement-{eid}"' in progress
    r = await report(author, gid, "encouragement", eid, " ", back="progress")
    assert r.status_code == 422 and "Give a reason" in r.text
    r = await report(author, gid, "encouragement", eid, "Felt like pressure.", back="progress")
    assert r.status_code == 303 and r.headers["location"] == "/me/progress#encouragement"

    # A choice that names nothing real comes back with the form open and the words kept.
    r = await mod.submit(f"/groups/{gid}/hidden", {"target": f"checkin-{checkin_id}x",
                                                   "reason": "Hurtful.", "day": "", "anchor": f"c{cid}"})
    assert r.status_code == 422 and "could not tell what this is about" in r.text
    r = await mod.submit(f"/groups/{gid}/hidden", {"target": f"checkin-{checkin_id}",
                                                   "reason": "Hurtful.", "day": "", "anchor": f"c{cid}"})
    assert r.status_code == 303 and r.headers["location"] == f"/groups/{gid}#c{cid}"
    seen = article((await reader.get(f"/groups/{gid}")).text, cid)
    assert "A note some found hurtful" not in seen and "Hidden by a moderator." in seen
    assert "Go for a walk" in seen  # only the note is hidden
    r = await mod.submit(f"/groups/{gid}/hidden", {"target_type": "encouragement", "target_id": str(eid),
                                                   "reason": "Pressure.", "back": "moderation"})
    assert r.status_code == 303
    own = article((await author.get(f"/groups/{gid}")).text, cid)
    assert "A pushy note" not in own and "The note was hidden by a moderator." in own
    assert "A pushy note" not in (await author.get("/me/progress")).text


# --- muting, roles, removal --------------------------------------------------------------------

async def test_a_muted_member_reads_sees_until_when_and_cannot_post(clients):
    (mod, quiet, other), gid = await circle(clients)
    quiet_id = await user_id(quiet)
    cid = await post_commitment(other, gid, "Drink water")
    own_cid = await post_commitment(quiet, gid, "Sleep early")
    page = (await mod.get(f"/groups/{gid}/moderation")).text
    assert f'action="/groups/{gid}/members/{quiet_id}/mute"' in page

    r = await mod.submit(f"/groups/{gid}/members/{quiet_id}/mute", {"minutes": "60", "reason": ""})
    assert r.status_code == 422 and "Give a reason" in r.text
    r = await mod.submit(f"/groups/{gid}/members/{quiet_id}/mute", {"minutes": "forever", "reason": "x"})
    assert r.status_code == 422 and "How long should be a whole number" in r.text
    r = await mod.submit(f"/groups/{gid}/members/{quiet_id}/mute",
                         {"minutes": "60", "reason": "Let us all cool down."})
    assert r.status_code == 303 and r.headers["location"] == f"/groups/{gid}/moderation#members"
    assert "can read but not post until" in (await mod.get(r.headers["location"])).text

    page = (await quiet.get(f"/groups/{gid}")).text
    note = re.search(r'<div class="muted-note" data-muted-note>(.*?)</div>', page, re.S)
    assert note and "paused your posting in this group until" in note.group(1)
    assert "Let us all cool down." in note.group(1)
    assert re.search(r'data-muted-until="\d{4}-\d\d-\d\dT[\d:.]+Z"', page)
    # Posting, checking in and encouraging are replaced by the note; reporting stays.
    assert re.search(r'<div data-posting hidden>\s*<p class="small">One small', page)
    assert '?open=check-in" data-posting hidden>Check in</a>' in article(page, own_cid)
    assert '?open=encourage" data-posting hidden>' in article(page, cid)
    assert '?open=report">Report' in article(page, cid)
    r = await quiet.submit(f"/groups/{gid}/commitments", {"category": "rest", "text": "x"})
    assert r.status_code == 403 and "paused your posting" in r.text
    assert (await report(quiet, gid, "commitment", cid, "Worried.")).status_code == 303
    # The others' page is as always.
    assert '<div class="muted-note" data-muted-note hidden>' in (await other.get(f"/groups/{gid}")).text

    r = await mod.submit(f"/groups/{gid}/members/{quiet_id}/unmute", {})
    assert r.status_code == 303
    page = (await quiet.get(f"/groups/{gid}")).text
    assert '<div class="muted-note" data-muted-note hidden>' in page
    assert await post_commitment(quiet, gid, "Back to it gently")
    assert [a["action"] for a in (await other.client.get(f"/api/v1/groups/{gid}/audit")).json()] == [
        "unmute", "mute"]

    # A moderator is not muted; nor is anyone by a member.
    mod_id = await user_id(mod)
    assert (await other.submit(f"/groups/{gid}/members/{quiet_id}/mute",
                               {"minutes": "60", "reason": "x"})).status_code == 403
    r = await mod.submit(f"/groups/{gid}/members/{mod_id}/mute", {"minutes": "60", "reason": "x"})
    assert r.status_code == 400 and "You cannot mute yourself." in r.text


async def test_promote_demote_and_remove_from_the_moderation_page(clients):
    (mod, deputy, leaving), gid = await circle(clients)
    deputy_id, leaving_id = await user_id(deputy), await user_id(leaving)
    r = await mod.submit(f"/groups/{gid}/members/{deputy_id}/role", {"role": "moderator"})
    assert r.status_code == 303
    assert "is now a moderator" in (await mod.get(r.headers["location"])).text
    assert (await deputy.get(f"/groups/{gid}/moderation")).status_code == 200
    r = await mod.submit(f"/groups/{gid}/members/{deputy_id}/role", {"role": "owner"})
    assert r.status_code == 422 and "role is moderator or member" in r.text
    r = await deputy.submit(f"/groups/{gid}/members/{deputy_id}/role", {"role": "member"})
    assert r.status_code == 303 and r.headers["location"] == f"/groups/{gid}"
    assert (await deputy.get(f"/groups/{gid}/moderation", ok=False)).status_code == 403

    r = await mod.submit(f"/groups/{gid}/members/{leaving_id}/remove", {"back": "moderation"})
    assert r.status_code == 303 and r.headers["location"] == f"/groups/{gid}/moderation#members"
    assert (await leaving.get(f"/groups/{gid}", ok=False)).status_code == 404
    r = await mod.submit(f"/groups/{gid}/members/{leaving_id}/remove", {"back": "moderation"})
    assert r.status_code == 303  # already gone: back to the page, with the reason as the message
    assert "not a member of this group" in (await mod.get(r.headers["location"])).text
    actions = [a["action"] for a in (await deputy.client.get(f"/api/v1/groups/{gid}/audit")).json()]
    assert actions == ["remove", "demote", "promote"]
    log = (await deputy.get(f"/groups/{gid}/audit")).text
    assert "a moderator" in log and "a member again" in log and "from the group" in log


async def test_new_forms_carry_csrf_and_labels_and_refuse_without_it(clients):
    (mod, author, reader), gid = await circle(clients)
    cid = await post_commitment(author, gid, "Rest")
    await report(reader, gid, "commitment", cid, "Hmm.")
    await author.submit(f"/groups/{gid}/commitments/{cid}/checkin", {"status": "done", "note": "ok"})
    await reader.submit(f"/groups/{gid}/encourage", {"kind": "proud", "commitment_id": str(cid), "text": "hi"})
    for browser, path in ((mod, f"/groups/{gid}/moderation"), (mod, f"/groups/{gid}"),
                          (reader, f"/groups/{gid}"), (author, f"/groups/{gid}"),
                          (reader, f"/groups/{gid}/audit"), (author, "/me/progress"), (author, "/settings")):
        audit = _FormAudit()
        audit.feed((await browser.get(path)).text)
        posts = [f for f in audit.forms if f["method"] == "post"]
        assert posts and all(f["csrf"] for f in posts), path
        ids = [field_id for _, field_id in audit.fields]
        assert len(ids) == len(set(ids)), (path, sorted(i for i in ids if ids.count(i) > 1))
        for name, field_id in audit.fields:
            assert field_id and field_id in audit.labels, (path, name)
    author_id = await user_id(author)
    for browser, url, data in (
        (reader, f"/groups/{gid}/reports", {"target_type": "commitment", "target_id": str(cid), "reason": "x"}),
        (mod, f"/groups/{gid}/hidden", {"target_type": "commitment", "target_id": str(cid), "reason": "x"}),
        (mod, f"/groups/{gid}/members/{author_id}/mute", {"minutes": "60", "reason": "x"}),
        (mod, f"/groups/{gid}/members/{author_id}/role", {"role": "moderator"}),
        (author, "/settings/delete", {"password": PASSWORD}),
    ):
        for forged in ("0" * 64, (browser.token or "") + "¿'\"(", "ñ" * 64):
            r = await browser.submit(url, data, csrf=forged)
            assert r.status_code == 403 and "This form has expired" in r.text, (url, forged)
    assert len(await open_reports(mod, gid)) == 1
    assert (await author.client.get("/api/v1/me")).status_code == 200


# --- safety --------------------------------------------------------------------------------------

async def test_crisis_words_gently_show_help_to_the_writer_alone(clients):
    (mod, writer), gid = await circle(clients, 2)
    r = await writer.submit(f"/groups/{gid}/commitments",
                            {"category": "rest", "text": "Rest, because I can't go on like this"})
    assert r.status_code == 303
    page = (await writer.get(r.headers["location"])).text
    support = re.search(r'<section class="panel panel-urgent support" id="support".*?</section>', page, re.S)
    assert support, "the writer is shown where to find help"
    assert "Help, if you need it now" in support.group(0)
    assert "Samaritans" in support.group(0) and 'href="tel:116123"' in support.group(0)
    assert 'href="/help"' in support.group(0)
    # Once: the next page is as usual, and nobody else sees it.
    assert 'id="support"' not in (await writer.get(f"/groups/{gid}")).text
    assert 'id="support"' not in (await mod.get(f"/groups/{gid}")).text
    assert "moderators were told" in support.group(0)

    # Private words (here the moderator's own): the same help, and it says truly that
    # nobody else was told.
    r = await mod.submit(f"/groups/{gid}/commitments", {
        "category": "rest", "text": "I can't go on like this", "visibility": "private"})
    assert r.status_code == 303
    page = (await mod.get(r.headers["location"])).text
    support = re.search(r'<section class="panel panel-urgent support" id="support".*?</section>', page, re.S)
    assert support and "nobody else was told" in support.group(0)
    assert "moderators were told" not in support.group(0)

    # A check-in note and an encouragement note do the same; ordinary words do not.
    cid = await post_commitment(writer, gid, "Drink water")
    r = await writer.submit(f"/groups/{gid}/commitments/{cid}/checkin",
                            {"status": "partly", "note": "quiero morir hoy"})
    assert 'id="support"' in (await writer.get(r.headers["location"])).text
    mod_cid = await post_commitment(mod, gid, "Walk")
    r = await writer.submit(f"/groups/{gid}/encourage", {"kind": "proud", "commitment_id": str(mod_cid),
                                                         "text": "I want to die some days too"})
    assert r.status_code == 303 and 'id="support"' in (await writer.get(r.headers["location"])).text
    r = await writer.submit(f"/groups/{gid}/commitments",
                            {"category": "play", "text": "Killing it at board games tonight"})
    assert 'id="support"' not in (await writer.get(r.headers["location"])).text


async def test_help_lists_every_line_from_the_data_file_and_the_grounding_steps(clients):
    data = json.loads(CRISIS_FILE.read_text("utf-8"))
    anon = Browser(clients.anonymous())
    page = (await anon.get("/help")).text
    assert "call your local emergency number" in page
    assert data["general"]["message"] in page.replace("&#39;", "'")
    for code, country in data["countries"].items():
        block = re.search(rf'<li class="crisis-country" id="lines-{code.lower()}".*?</ul>', page, re.S)
        assert block, code
        for line in country["lines"]:
            assert line["name"].replace("&", "&amp;") in block.group(0), (code, line["name"])
            if "phone" in line:
                assert f'href="tel:{line["phone"].replace(" ", "")}"' in block.group(0)
    for step in data["grounding"]:
        assert step in page
    assert "findahelpline.com" in page and 'href="https://findahelpline.com' not in page


@pytest.mark.parametrize("broken", [False, True])
async def test_a_deployment_s_own_crisis_lines_are_shown(database_url, tmp_path, broken):
    path = tmp_path / "lines.json"
    if broken:
        path.write_text("{ not json", "utf-8")
    else:
        path.write_text(json.dumps({
            "general": {"message": "Call 112 where you are."},
            "countries": {"PT": {"name": "Portugal", "lines": [{"name": "SOS Voz Amiga", "phone": "213 544 545"}]}},
            "grounding": ["Notice five things you can see."]}), "utf-8")
    app = create_app(make_settings(database_url, crisis_resources_file=str(path)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            r = await client.get("/help")
    assert r.status_code == 200
    if broken:  # the shipped lines, rather than no help at all
        assert "Samaritans" in r.text and "Portugal" not in r.text
    else:
        assert "SOS Voz Amiga" in r.text and 'href="tel:213544545"' in r.text
        assert "Notice five things you can see." in r.text and "Samaritans" not in r.text


# --- your data -----------------------------------------------------------------------------------

async def test_settings_download_and_delete_my_account(clients):
    (mod, me), gid = await circle(clients, 2)
    await post_commitment(me, gid, "Journal for ten minutes")
    page = (await me.get("/settings")).text
    assert '<a class="button button-quiet" href="/api/v1/me/export" download>Download my data</a>' in page
    r = await me.client.get("/api/v1/me/export")  # the session cookie is enough
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert r.json()["account"]["username"] == me.name
    assert [c["text"] for c in r.json()["commitments"]] == ["Journal for ten minutes"]

    r = await me.submit("/settings/delete", {"password": "not my password"})
    assert r.status_code == 403 and "your account was not deleted" in r.text
    assert (await me.client.get("/api/v1/me")).status_code == 200

    token = me.session_cookie
    r = await me.submit("/settings/delete", {"password": PASSWORD})
    assert r.status_code == 200 and "Your account is deleted" in r.text
    assert "Sign in" in r.text and "Sign out" not in r.text
    assert me.session_cookie is None
    r = await me.get("/groups", ok=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    anon = Browser(clients.anonymous())
    await anon.get("/login")
    r = await anon.submit("/login", {"username": me.name, "password": PASSWORD})
    assert r.status_code == 401
    members = (await mod.client.get(f"/api/v1/groups/{gid}/members")).json()
    assert len(members) == 1
    # The session the browser had stops working at once, even if someone kept the cookie.
    stale = clients.anonymous()
    stale.cookies.set(SESSION_COOKIE, token)
    assert (await stale.get("/api/v1/me")).status_code == 401


# --- a card's own page: its forms, opened -----------------------------------------------------

async def test_a_cards_page_shows_what_the_day_shows_and_opens_only_its_own_forms(clients):
    (mod, author, reader), gid = await circle(clients)
    cid = await post_commitment(author, gid, "Ask for the weekend off")
    private = await post_commitment(author, gid, "Cry in the bath", visibility="private")
    hidden = await post_commitment(author, gid, "Words that were hidden")
    r = await mod.submit(f"/groups/{gid}/hidden", {"target_type": "commitment", "target_id": str(hidden),
                                                   "reason": "Kept to the agreement."})
    assert r.status_code == 303

    # Another's private commitment, an unknown one, or one seen through another group: the 404 page.
    for path in (f"/groups/{gid}/commitments/{private}?open=report", f"/groups/{gid}/commitments/999999",
                 f"/groups/{gid}/commitments/{private}?part=card"):
        r = await reader.get(path, ok=False)
        assert r.status_code == 404 and "Cry in the bath" not in r.text, path
    other_gid, _ = await create_group(mod)
    r = await mod.get(f"/groups/{other_gid}/commitments/{cid}", ok=False)
    assert r.status_code == 404 and "Ask for the weekend off" not in r.text

    # Hidden words stay hidden here too, with nothing to open; their author reads why.
    page = (await reader.get(f"/groups/{gid}/commitments/{hidden}?open=report")).text
    assert "Words that were hidden" not in page and "Hidden by a moderator." in page
    card = page.split("<main", 1)[1].split("</main>", 1)[0]  # the footer's switch returns here
    assert 'class="card-form"' not in card and "?open=" not in card
    page = (await author.get(f"/groups/{gid}/commitments/{hidden}")).text
    assert "Words that were hidden" in page and "Kept to the agreement." in page

    # Only a form the card has opens: hiding is for moderators, checking in for the author,
    # and anything else is ignored.
    for who, wanted, opens in ((reader, "hide", False), (mod, "hide", True), (reader, "check-in", False),
                               (author, "check-in", True), (author, "encourage", False),
                               (reader, "encourage", True), (reader, "report-encouragement-1", False),
                               (reader, "<script>", False), (reader, "report" * 50, False)):
        r = await who.get(f"/groups/{gid}/commitments/{cid}?open={quote(wanted)}")
        assert ('class="card-form"' in r.text) is opens, wanted
        assert "<script>" not in r.text.split("</main>")[0]
    # The page goes back to the card on its day, and a form sent from it returns there too.
    page = (await reader.get(f"/groups/{gid}/commitments/{cid}?open=encourage")).text
    assert f'href="/groups/{gid}#c{cid}">Back to' in page
    r = await reader.submit(f"/groups/{gid}/encourage", {"kind": "with_you", "commitment_id": str(cid),
                                                         "text": "Rooting for you"})
    assert r.status_code == 303 and r.headers["location"] == f"/groups/{gid}#c{cid}"
    # A former member sees nothing of the group's cards.
    await reader.submit(f"/groups/{gid}/leave", {})
    assert (await reader.get(f"/groups/{gid}/commitments/{cid}", ok=False)).status_code == 404
