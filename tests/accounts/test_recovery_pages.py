"""A way back in without email, on the pages: the codes shown once after sign-up, the "Forgot
your password?" form, a new set from Settings, and a moderator's reset code from the
moderation page, with the notice at the member's next sign-in."""

from __future__ import annotations

import re

from sqlalchemy import delete, select

from server.models import RecoveryCode, User
from tests.fixtures.clients import PASSWORD, Clients
from tests.test_pages import RECOVERY_CODE_RE, SAVED_RE, Browser, create_group, join, sign_up

NEW = "a slow boat up the river"
RESET_RE = re.compile(r'<code class="reset-code" id="reset-code">([A-Z0-9-]+)</code>')


def main(page: str) -> str:
    return page.split("<main", 1)[1].split("</main>", 1)[0]

def plain(html: str) -> str:
    """A page without the marks around members' own words (`data-member-words`)."""
    html = re.sub(r"<span data-member-words>([^<]*)</span>", r"\1", html)
    return html.replace(" data-member-words", "")



async def forgot(browser: Browser, username: str, code: str, new: str = NEW,
                 again: str | None = None):
    await browser.get("/forgot")
    return await browser.submit("/forgot", {"username": username, "code": code, "new_password": new,
                                            "new_password_again": new if again is None else again})


async def signed_in(browser: Browser) -> bool:
    r = await browser.get("/settings", ok=False)
    return r.status_code == 200


async def test_the_codes_are_shown_once_after_sign_up_and_open_the_way_back(clients: Clients):
    robin = await sign_up(clients, "robin")
    codes = robin.codes  # type: ignore[attr-defined]
    assert len(codes) == 10 and len(set(codes)) == 10
    # The codes page itself: never cached, nothing on it but the way on.
    fresh = Browser(clients.anonymous())
    await fresh.get("/signup")
    r = await fresh.submit("/signup", {"username": "quinn", "password": PASSWORD,
                                       "password_again": PASSWORD, "timezone": "UTC"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert "<form" not in r.text and "Welcome to Cairn, <span data-member-words>quinn</span>." in r.text
    assert len(RECOVERY_CODE_RE.findall(r.text)) == 10 and SAVED_RE.search(r.text).group(1) == "/groups"
    # Nowhere else are they shown again.
    settings = (await robin.get("/settings")).text
    assert not any(code in settings for code in codes)

    # Signed out elsewhere, Robin finds the way from the sign-in page.
    other = Browser(clients.anonymous())
    assert 'href="/forgot"' in (await other.get("/login")).text
    page = (await other.get("/forgot")).text
    assert "Forgot your password?" in page and 'name="code"' in page
    r = await forgot(other, "robin", "ABCDE-FGHJK")
    assert r.status_code == 401 and "That username and code do not match." in r.text
    assert 'value="robin"' in r.text and other.session_cookie is None
    r = await forgot(other, "robin", codes[0], again="not the same one")
    assert r.status_code == 400 and "not the same" in r.text
    r = await forgot(other, "robin", "", "")
    assert r.status_code == 400 and "Please fill in" in r.text
    r = await forgot(other, "robin", "ABC")
    assert r.status_code == 422 and "A code has 10 letters and digits" in r.text
    r = await forgot(other, "robin", codes[0], "password")
    assert r.status_code == 422 and "at least 10 characters" in r.text

    r = await forgot(other, "robin", codes[0])
    assert r.status_code == 303 and r.headers["location"] == "/groups"
    assert other.session_cookie
    assert "Your new password is set" in (await other.get("/groups")).text
    assert not await signed_in(robin)  # the earlier session ended
    r = await forgot(Browser(clients.anonymous()), "robin", codes[0])
    assert r.status_code == 401  # spent


async def test_settings_count_the_codes_and_make_a_new_set(clients: Clients, app):
    ari = await sign_up(clients, "ari")
    page = (await ari.get("/settings")).text
    assert 'id="recovery-codes"' in page and "<strong>10</strong> unused recovery codes" in page
    r = await ari.submit("/settings/recovery-codes", {"password": "not my password"})
    assert r.status_code == 403 and "no new codes were made" in r.text
    r = await ari.submit("/settings/recovery-codes", {"password": PASSWORD})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    new_codes = RECOVERY_CODE_RE.findall(r.text)
    assert len(new_codes) == 10 and not set(new_codes) & set(ari.codes)  # type: ignore[attr-defined]
    assert SAVED_RE.search(r.text).group(1) == "/settings#recovery-codes"
    assert "Welcome" not in r.text
    assert (await forgot(Browser(clients.anonymous()), "ari", ari.codes[0])).status_code == 401  # type: ignore[attr-defined]

    # With few codes left, the way back in leads to Settings to make more.
    async with app.state.db.session(write=True) as session:
        uid = await session.scalar(select(User.id).where(User.username == "ari"))
        keep = (await session.scalars(select(RecoveryCode.id).where(RecoveryCode.user_id == uid)
                                      .order_by(RecoveryCode.id))).all()[:3]
        await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == uid,
                                                         RecoveryCode.id.not_in(keep)))
        await session.commit()
    back = Browser(clients.anonymous())
    r = await forgot(back, "ari", new_codes[0])
    assert r.status_code == 303 and r.headers["location"] == "/settings#recovery-codes"
    page = (await back.get("/settings")).text
    assert "You have 2 recovery codes left: you can make a new set here." in page
    assert "<strong>2</strong> unused recovery codes" in page

    # A member who signed up before there were codes is invited to make some.
    async with app.state.db.session(write=True) as session:
        await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == uid))
        await session.commit()
    assert "You have no recovery codes yet." in (await back.get("/settings")).text


async def test_a_moderator_makes_a_reset_code_on_the_moderation_page(clients: Clients):
    sam = await sign_up(clients, "sam")
    gid, code = await create_group(sam, "Harbour")
    lee = await sign_up(clients, "lee")
    assert (await join(lee, code)).status_code == 303
    lee_id = int(re.search(r'data-user-id="(\d+)"[^>]*>\s*<p class="member-line"><span class="name">Lee',
                           plain((await sam.get(f"/groups/{gid}/moderation")).text)).group(1))
    page = plain((await sam.get(f"/groups/{gid}/moderation")).text)
    assert "Make a password reset code for Lee" in page
    assert f'action="/groups/{gid}/members/{lee_id}/reset-code"' in page
    assert "Make a password reset code for Sam" not in page  # not for oneself

    r = await sam.submit(f"/groups/{gid}/members/{lee_id}/reset-code", {})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert "A reset code for Lee" in plain(r.text) and "Cairn shows it only now." in r.text
    reset = RESET_RE.search(r.text).group(1)
    log = main((await lee.get(f"/groups/{gid}/audit")).text)
    assert "made a password reset code for <strong>a member</strong>" in plain(log) and "Lee" not in log
    # Not for themselves, even by hand: the moderation page says why.
    sam_id = int(re.search(r'data-user-id="(\d+)"', page).group(1))
    r = await sam.submit(f"/groups/{gid}/members/{sam_id}/reset-code", {})
    assert r.status_code == 400 and "To change your own password, use Settings." in r.text

    # Lee uses it on the forgot page: signed out everywhere, signed in here.
    phone = Browser(clients.anonymous())
    r = await forgot(phone, "lee", reset.lower())
    assert r.status_code == 303
    assert not await signed_in(lee)
    assert "Your password was reset" not in (await phone.get("/groups")).text
    # At the next sign-in by password, Lee is told who made the code; once.
    laptop = Browser(clients.anonymous())
    await laptop.get("/login")
    r = await laptop.submit("/login", {"username": "lee", "password": NEW})
    assert r.status_code == 303 and r.headers["location"] == "/groups"
    told = (await laptop.get("/groups")).text
    assert "Your password was reset on" in told and "made for you by Sam, a moderator of Harbour." in told
    again = Browser(clients.anonymous())
    await again.get("/login")
    await again.submit("/login", {"username": "lee", "password": NEW})
    assert "Your password was reset" not in (await again.get("/groups")).text
    assert (await forgot(Browser(clients.anonymous()), "lee", reset)).status_code == 401
