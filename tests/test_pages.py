"""The server-rendered pages, used like a person with a browser and like an attacker would."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import httpx

from server import clock
from server.assets import static_url
from server.config import Settings
from server.db import Database
from server.deps import SESSION_COOKIE
from server.main import create_app
from server.web import CSRF_COOKIE
from tests.fixtures.clients import PASSWORD, Clients

TOKEN_RE = re.compile(r'name="csrf_token" value="([A-Za-z0-9_-]+)"')
INVITE_RE = re.compile(r'data-invite-code="([A-Z0-9]+)"')
# The way on from the recovery codes shown after sign-up.
SAVED_RE = re.compile(r'<a class="button" href="([^"]+)">I have saved them</a>')
RECOVERY_CODE_RE = re.compile(r'<code class="recovery-code">([A-Z0-9-]+)</code>')
_count = iter(range(1, 10_000))


class Browser:
    """One person's browser: a cookie jar, the CSRF token its pages carry, and forms."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.token = ""
        self.token_session: str | None = None  # the session the token was made for

    async def get(self, url: str, *, ok: bool = True) -> httpx.Response:
        r = await self.client.get(url)
        assert r.status_code < 500, (url, r.status_code, r.text[:500])
        if ok:
            assert r.status_code == 200, (url, r.status_code, r.text[:500])
        if found := TOKEN_RE.search(r.text):
            self.token, self.token_session = found.group(1), self.session_cookie
        return r

    async def submit(self, url: str, data: dict[str, Any], *, csrf: str | None = None) -> httpx.Response:
        """Post a form as the page would, with this browser's token unless told otherwise."""
        if not self.token or self.token_session != self.session_cookie:
            await self.get("/help")  # as a browser shows a new page after signing in or out
        fields = {"csrf_token": self.token if csrf is None else csrf, **data}
        r = await self.client.post(url, data={k: v for k, v in fields.items() if v is not None})
        assert r.status_code < 500, (url, r.status_code, r.text[:500])
        return r

    @property
    def session_cookie(self) -> str | None:
        return self.client.cookies.get(SESSION_COOKIE)


async def sign_up(clients: Clients, name: str | None = None, **extra: str) -> Browser:
    name = name or f"person{next(_count)}"
    browser = Browser(clients.anonymous())
    await browser.get("/signup")
    r = await browser.submit("/signup", {"username": name, "display_name": name.title(),
                                         "password": PASSWORD, "password_again": PASSWORD,
                                         "timezone": "UTC", **extra})
    # Signed in, and shown the recovery codes once before going on.
    assert r.status_code == 200, r.text
    assert "Your recovery codes" in r.text and SAVED_RE.search(r.text).group(1).startswith("/groups")
    assert browser.session_cookie
    browser.name = name  # type: ignore[attr-defined]
    browser.codes = RECOVERY_CODE_RE.findall(r.text)  # type: ignore[attr-defined]
    return browser


async def create_group(browser: Browser, name: str = "Tuesday circle") -> tuple[int, str]:
    r = await browser.submit("/groups", {"name": name, "description": "We meet on Tuesdays.",
                                         "capacity": "8"})
    assert r.status_code == 303, r.text
    gid = int(re.match(r"/groups/(\d+)", r.headers["location"]).group(1))
    page = await browser.get(f"/groups/{gid}")
    code = INVITE_RE.search(page.text).group(1)
    return gid, code


async def join(browser: Browser, code: str) -> httpx.Response:
    return await browser.submit("/groups/join", {"code": code, "accept_agreement": "yes"})


async def post_commitment(browser: Browser, gid: int, text: str, category: str = "water",
                          visibility: str = "group") -> int:
    r = await browser.submit(f"/groups/{gid}/commitments",
                             {"category": category, "text": text, "visibility": visibility})
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("#c", 1)[1])


async def two_people_in_a_group(clients: Clients) -> tuple[Browser, Browser, int]:
    a, b = await sign_up(clients), await sign_up(clients)
    gid, code = await create_group(a)
    assert (await join(b, code)).status_code == 303
    return a, b, gid


# --- the path a new member takes ---------------------------------------------------------------

async def test_sign_up_log_in_create_join_post_check_in(clients):
    a = await sign_up(clients, "robin")
    r = await a.get("/groups")
    assert "Your groups" in r.text and "You are not in a group yet" in r.text

    # Sign out, and back in through the form, with the page's CSRF token and cookie.
    r = await a.submit("/logout", {})
    assert r.status_code == 303 and a.session_cookie is None
    r = await a.get("/groups", ok=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/groups"
    page = await a.get("/login?next=/groups")
    assert 'name="next" value="/groups"' in page.text
    assert a.client.cookies.get(CSRF_COOKIE)
    r = await a.submit("/login", {"username": "Robin", "password": PASSWORD, "next": "/groups"})
    assert r.status_code == 303 and r.headers["location"] == "/groups"

    gid, code = await create_group(a, "Evening circle")
    page = await a.get(f"/groups/{gid}")
    assert "Evening circle" in page.text and "Moderator" in page.text

    # Joining needs the agreement: without it, a clear message and no membership.
    b = await sign_up(clients, "sam")
    page = await b.get("/groups")
    assert "What is shared here stays here." in page.text
    r = await b.submit("/groups/join", {"code": code})
    assert r.status_code == 400
    assert "Please read and accept the group agreement to join." in r.text
    assert (await b.get(f"/groups/{gid}", ok=False)).status_code == 404
    r = await join(b, code.lower())
    assert r.status_code == 303 and r.headers["location"].startswith(f"/groups/{gid}")

    cid = await post_commitment(b, gid, "Drink a glass of water with each meal")
    r = await b.submit(f"/groups/{gid}/commitments/{cid}/checkin",
                       {"status": "done", "note": "Easier than I thought", "feeling": "4"})
    assert r.status_code == 303, r.text
    page = await b.get(f"/groups/{gid}")
    assert "You felt: Good" in page.text

    page = await a.get(f"/groups/{gid}")
    assert "Drink a glass of water with each meal" in page.text
    assert f'<article id="c{cid}"' in page.text
    article = page.text.split(f'id="c{cid}"', 1)[1].split("</article>", 1)[0]
    assert 'data-status="done"' in article and "Easier than I thought" in article
    assert "You felt" not in article  # the feeling is only ever shown to its author
    assert "Encourage <span data-member-words>Sam</span>" in article

    # The same state, as the API sees it.
    api = await a.client.get(f"/api/v1/groups/{gid}/commitments")
    assert [c["checkin"]["status"] for c in api.json()] == ["done"]


async def test_group_page_carries_hooks_for_live_updates(clients):
    a, b, gid = await two_people_in_a_group(clients)
    cid = await post_commitment(b, gid, "Rest for ten minutes", category="rest")
    page = (await a.get(f"/groups/{gid}")).text
    day = re.search(r'<section id="day"[^>]*>', page).group(0)
    api = (await a.client.get("/api/v1/me")).json()
    assert f'data-group-id="{gid}"' in day and f'data-user-id="{api["id"]}"' in day
    assert re.search(r'data-last-seq="\d+"', day)
    assert '<p id="live-status" class="live-status" role="status">' in page
    assert f'<article id="c{cid}"' in page and f'/commitments/{cid}?open=encourage"' in page
    # The cheer's form, as the day's script takes it from the card: the kind words are its buttons.
    card = (await a.get(f"/groups/{gid}/commitments/{cid}?open=encourage&part=card")).text
    assert card.startswith(f'<li id="entry-{cid}">') and "<html" not in card
    assert f'<div class="card-form" id="c{cid}-encourage">' in card and f'data-encourage-for="{cid}"' in card
    assert '<button type="submit" name="kind" value="proud"' in card
    assert f'<script src="{static_url("js/live.js")}" defer></script>' in page
    assert f'<script src="{static_url("js/day.js")}" defer></script>' in page
    # The live script's words come from the page, in a data block the CSP need not allow.
    words = json.loads(re.search(r'<script type="application/json" id="live-words">(.*?)</script>',
                                 page, re.S).group(1))
    assert words["live"] == "Live" and "{seconds}" in words["reconnecting"]
    assert "role_observer" not in words  # the practice room's words stay on its own page


# --- attackers ----------------------------------------------------------------------------------

async def test_posts_without_the_right_csrf_token_are_refused_and_write_nothing(clients):
    a = await sign_up(clients)
    other = await sign_up(clients)  # a token that is valid, but for another browser
    await a.get("/groups")
    for token in ("", "0" * 64, other.token):
        r = await a.submit("/groups", {"name": "Sneaky"}, csrf=token)
        assert r.status_code == 403, token
        assert "This form has expired" in r.text
    r = await a.client.post("/groups", data={"name": "No token at all"})
    assert r.status_code == 403
    assert (await a.client.get("/api/v1/groups")).json() == []

    # Without the CSRF cookie the token alone is not enough either.
    a.client.cookies.delete(CSRF_COOKIE)
    assert (await a.submit("/groups", {"name": "Sneaky"})).status_code == 403
    assert (await a.client.get("/api/v1/groups")).json() == []

    # Sign-in and sign-up forms are covered too (login CSRF).
    anon = Browser(clients.anonymous())
    r = await anon.client.post("/login", data={"username": "x", "password": "y"})
    assert r.status_code == 403
    r = await anon.client.post("/signup", data={"username": "planted", "password": PASSWORD,
                                                "password_again": PASSWORD})
    assert r.status_code == 403
    assert (await anon.client.post("/api/v1/auth/login", json={
        "username": "planted", "password": PASSWORD})).status_code == 401


async def test_signed_out_visitors_are_sent_to_sign_in(clients):
    anon = Browser(clients.anonymous())
    for path in ("/groups", "/me/progress", "/settings", "/groups/1", "/groups/1?day=2025-01-02"):
        r = await anon.get(path, ok=False)
        assert r.status_code == 303, path
        assert r.headers["location"] == f"/login?next={quote(path, safe='/')}"
        assert httpx.URL(r.headers["location"]).params["next"] == path
    r = await anon.client.post("/groups/1/commitments", data={"text": "x"})
    assert r.status_code in (303, 403)


async def test_non_members_see_the_404_page_and_cannot_write(clients):
    a, b, gid = await two_people_in_a_group(clients)
    cid = await post_commitment(b, gid, "A private walk", category="movement")
    stranger = await sign_up(clients)
    for path in (f"/groups/{gid}", f"/groups/{gid}?day=2020-01-01", "/groups/999999",
                 "/groups/99999999999999", "/groups/0", "/groups/nope"):
        r = await stranger.get(path, ok=False)
        assert r.status_code == 404, path
        assert "text/html" in r.headers["content-type"]
        assert "Tuesday circle" not in r.text
    await stranger.get("/groups")
    attempts = [
        (f"/groups/{gid}/commitments", {"category": "rest", "text": "I was here"}),
        (f"/groups/{gid}/commitments/{cid}/checkin", {"status": "not_today"}),
        (f"/groups/{gid}/encourage", {"kind": "proud", "commitment_id": str(cid)}),
        (f"/groups/{gid}/invites", {}),
        (f"/groups/{gid}/leave", {}),
    ]
    for url, data in attempts:
        assert (await stranger.submit(url, data)).status_code == 404, url
    commitments = (await a.client.get(f"/api/v1/groups/{gid}/commitments")).json()
    assert [(c["text"], c["checkin"]) for c in commitments] == [("A private walk", None)]


async def test_members_cannot_check_in_for_someone_else_or_moderate(clients):
    a, b, gid = await two_people_in_a_group(clients)
    cid = await post_commitment(a, gid, "Say no to the extra shift", category="boundary")
    r = await b.submit(f"/groups/{gid}/commitments/{cid}/checkin", {"status": "not_today"})
    assert r.status_code == 403
    assert "Only the person who made a commitment can check in on it." in r.text
    page = await a.get(f"/groups/{gid}")
    code = INVITE_RE.search(page.text).group(1)
    assert (await b.submit(f"/groups/{gid}/invites", {"expires_in_days": "3"})).status_code == 403
    assert (await b.submit(f"/groups/{gid}/invites/{code}/revoke", {})).status_code == 403
    me_a = (await a.client.get("/api/v1/me")).json()["id"]
    assert (await b.submit(f"/groups/{gid}/members/{me_a}/remove", {})).status_code == 403
    assert "data-invite-code" not in (await b.get(f"/groups/{gid}")).text
    assert code in (await a.get(f"/groups/{gid}")).text


async def test_stored_markup_comes_back_escaped(clients):
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    a = await sign_up(clients)
    b = await sign_up(clients, display_name='"><script>alert(3)</script>')
    gid, code = await create_group(a, name="<b>Circle</b>")
    await join(b, code)
    cid = await post_commitment(b, gid, evil)
    await b.submit(f"/groups/{gid}/commitments/{cid}/checkin", {"status": "partly", "note": evil})
    await a.submit(f"/groups/{gid}/encourage", {"kind": "proud", "commitment_id": str(cid),
                                               "text": evil})
    for browser, path in ((a, f"/groups/{gid}"), (b, f"/groups/{gid}"), (b, "/me/progress"),
                          (a, "/groups"), (b, "/settings")):
        page = (await browser.get(path)).text
        assert "<script>alert" not in page and "<img src=x" not in page, path
        assert "<b>Circle</b>" not in page
    page = (await a.get(f"/groups/{gid}")).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;Circle&lt;/b&gt;" in page
    assert "&#34;&gt;&lt;script&gt;alert(3)" in page
    assert "&lt;script&gt;alert(1)" in (await b.get("/me/progress")).text


async def test_every_page_sends_the_security_headers_and_no_inline_code(clients):
    a, b, gid = await two_people_in_a_group(clients)
    cid = await post_commitment(b, gid, "Call my sister", category="closeness")
    await b.submit(f"/groups/{gid}/commitments/{cid}/checkin", {"status": "done"})
    anon = Browser(clients.anonymous())
    pages = [(anon, p) for p in ("/", "/help", "/login", "/signup", "/no-such-page")]
    pages += [(a, p) for p in ("/", "/help", "/groups", f"/groups/{gid}", "/me/progress",
                               "/settings", "/groups/424242")]
    for browser, path in pages:
        r = await browser.get(path, ok=False)
        assert r.status_code in (200, 404), path
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp, path
        assert "style-src 'self'" in csp and "'unsafe-inline'" not in csp, path
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        html = r.text
        assert not re.search(r"\sstyle\s*=", html, re.I), f"inline style on {path}"
        assert not re.search(r"<style", html, re.I), f"style element on {path}"
        scripts = re.findall(r"<script\b[^>]*>", html, re.I)
        assert all(' src="/static/' in t or 'type="application/json"' in t for t in scripts), path
        assert not re.search(r"\son[a-z]+\s*=", html, re.I), f"event handler attribute on {path}"
        assert not re.search(r"(src|href)=\"(https?:)?//", html), f"another origin on {path}"
        assert "Need help now?" in html and 'href="/help"' in html, path


class _FormAudit(HTMLParser):
    """Collects forms, fields and labels to check what every page promises."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.labels: set[str] = set()
        self.fields: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"method": (a.get("method") or "get").lower(), "csrf": False})
        elif tag == "label" and a.get("for"):
            self.labels.add(a["for"])
        elif tag in ("input", "select", "textarea"):
            if a.get("name") == "csrf_token" and self.forms:
                self.forms[-1]["csrf"] = True
            if a.get("type") not in ("hidden", "submit"):
                self.fields.append((a.get("name") or "", a.get("id") or ""))


async def test_every_post_form_carries_csrf_and_every_field_a_label(clients):
    a, b, gid = await two_people_in_a_group(clients)
    await post_commitment(a, gid, "Go to bed by eleven", category="sleep")
    await post_commitment(b, gid, "Ask for what I need", category="assertive_communication")
    anon = Browser(clients.anonymous())
    for browser, path in ((anon, "/login"), (anon, "/signup"), (a, "/groups"),
                          (a, f"/groups/{gid}"), (b, f"/groups/{gid}"), (a, "/settings"),
                          (a, "/me/progress"), (a, "/")):
        audit = _FormAudit()
        audit.feed((await browser.get(path)).text)
        posts = [f for f in audit.forms if f["method"] == "post"]
        assert all(f["csrf"] for f in posts), path
        for name, field_id in audit.fields:
            assert field_id and field_id in audit.labels, (path, name)


async def test_session_id_changes_at_every_login(clients):
    a = await sign_up(clients, "kim")
    seen = {a.session_cookie}
    for _ in range(2):
        old = a.session_cookie
        await a.get("/login", ok=False)  # signed in already: sent on, and may sign in again
        r = await a.submit("/login", {"username": "kim", "password": PASSWORD})
        assert r.status_code == 303
        assert a.session_cookie not in seen
        seen.add(a.session_cookie)
        # The session this browser had before has ended.
        stale = await clients.anonymous().get("/api/v1/me", headers={"Authorization": f"Bearer {old}"})
        assert stale.status_code == 401
    # A session id planted before sign-in (fixation) is never adopted.
    victim = Browser(clients.anonymous())
    victim.client.cookies.set(SESSION_COOKIE, "planted-by-an-attacker", domain="testserver.local")
    await victim.get("/login")
    await victim.submit("/login", {"username": "kim", "password": PASSWORD})
    assert victim.session_cookie not in (None, "planted-by-an-attacker")


async def test_login_next_stays_on_this_site(clients):
    await sign_up(clients, "lee")
    for evil in ("//evil.example", "https://evil.example/", "/\\evil.example", "evil.example"):
        browser = Browser(clients.anonymous())
        page = await browser.get(f"/login?next={evil}")
        assert 'name="next" value="/groups"' in page.text, evil
        r = await browser.submit("/login", {"username": "lee", "password": PASSWORD, "next": evil})
        assert r.status_code == 303 and r.headers["location"] == "/groups", evil
    browser = Browser(clients.anonymous())
    await browser.get("/login?next=/me/progress")
    r = await browser.submit("/login", {"username": "lee", "password": PASSWORD,
                                        "next": "/me/progress"})
    assert r.headers["location"] == "/me/progress"


async def test_wrong_password_and_throttling_show_kind_messages(clients):
    await sign_up(clients, "ash")
    browser = Browser(clients.anonymous())
    await browser.get("/login")
    for _ in range(5):
        r = await browser.submit("/login", {"username": "ash", "password": "not the password"})
        assert r.status_code == 401
        assert "That username and password do not match." in r.text
        assert 'value="ash"' in r.text and browser.session_cookie is None
    r = await browser.submit("/login", {"username": "ash", "password": PASSWORD})
    assert r.status_code == 429
    assert "Too many tries that did not match" in r.text
    assert int(r.headers["retry-after"]) > 0
    assert browser.session_cookie is None
    r = await browser.submit("/login", {"username": "", "password": ""})
    assert r.status_code == 400 and "Please fill in your username" in r.text


async def test_invalid_fields_get_clear_messages_not_errors(clients):
    a, b, gid = await two_people_in_a_group(clients)
    cid = await post_commitment(a, gid, "Stretch for five minutes", category="movement")
    cases = [
        (a, f"/groups/{gid}/commitments/{cid}/checkin", {"status": "done", "feeling": "abc"},
         "How you feel should be a whole number from 1 to 5."),
        (a, f"/groups/{gid}/commitments/{cid}/checkin", {"status": "done", "feeling": "9"},
         "How you feel should be a whole number from 1 to 5."),
        (a, f"/groups/{gid}/commitments/{cid}/checkin", {"status": "great"},
         "Please choose how it went"),
        (a, f"/groups/{gid}/commitments", {"category": "nap", "text": "Nap"},
         "Please choose what kind of care this is"),
        (a, f"/groups/{gid}/commitments", {"category": "rest", "text": "   "},
         "Write a few words about what you will do."),
        (a, f"/groups/{gid}/commitments", {"category": "rest", "text": "x" * 281},
         "at most 280 characters"),
        (a, f"/groups/{gid}/commitments", {"category": "rest", "text": "Rest", "day": "someday"},
         "We could not read that date."),
        (a, f"/groups/{gid}/commitments", {"category": "rest", "text": "Rest", "day": "2001-01-01"},
         "Commitments are for yesterday, today or tomorrow."),
        (a, f"/groups/{gid}/invites", {"expires_in_days": "forever"},
         "Days until the code expires should be a whole number from 1 to 90."),
        (a, f"/groups/{gid}/invites", {"expires_in_days": "5", "max_uses": "0"},
         "The number of uses should be a whole number from 1 to 100."),
        (a, "/groups", {"name": "Circle", "capacity": "lots"},
         "A group&#39;s size should be a whole number from 3 to 20."),
        (a, "/groups", {"name": "   "}, "A group name needs 1 to 80 characters."),
        (b, "/groups/join", {"code": "NOPE-NOPE", "accept_agreement": "yes"},
         "That invite code is not one we know."),
        (b, f"/groups/{gid}/encourage", {"kind": "hooray", "commitment_id": str(cid)},
         "Please choose one of the encouragements"),
        (b, f"/groups/{gid}/encourage", {"kind": "proud", "commitment_id": "x"},
         "The commitment should be a whole number"),
        (b, f"/groups/{gid}/encourage", {"kind": "proud", "commitment_id": str(cid), "text": "y" * 281},
         "A note can be at most 280 characters."),
        (a, f"/groups/{gid}/encourage", {"kind": "proud", "commitment_id": str(cid)},
         "Encouragement goes to someone else"),
        (a, "/settings", {"display_name": "   ", "timezone": "UTC"},
         "A display name needs 1 to 40 characters."),
        (a, "/settings", {"display_name": "Al", "timezone": "Mars/Olympus"},
         "That is not a timezone we know"),
        (a, "/settings/password", {"current_password": PASSWORD, "new_password": "short",
                                   "new_password_again": "short"}, "Use at least 10 characters."),
        (a, "/settings/password", {"current_password": "wrong wrong", "new_password": "a new long phrase",
                                   "new_password_again": "a new long phrase"},
         "Your current password is not right."),
        (a, "/settings/password", {"current_password": PASSWORD, "new_password": "a new long phrase",
                                   "new_password_again": "a new long phrasf"}, "are not the same"),
    ]
    for browser, url, data, message in cases:
        r = await browser.submit(url, data)
        assert 400 <= r.status_code < 500, (url, data, r.status_code)
        assert r.headers["content-type"].startswith("text/html"), (url, data)
        assert message in r.text, (url, data, re.findall(r'role="alert">([^<]*)', r.text))
    # What was typed is kept, and nothing was written.
    r = await a.submit(f"/groups/{gid}/commitments", {"category": "rest", "text": "x" * 281})
    assert "x" * 281 in r.text
    commitments = (await a.client.get(f"/api/v1/groups/{gid}/commitments")).json()
    assert [(c["text"], c["checkin"]) for c in commitments] == [("Stretch for five minutes", None)]
    assert (await a.client.get("/api/v1/me")).json()["display_name"] != "Al"

    page = await a.get(f"/groups/{gid}?day=not-a-date")
    assert "We could not read that date, so here is today." in page.text


async def test_day_navigation_and_posting_for_yesterday(clients):
    a, b, gid = await two_people_in_a_group(clients)
    yesterday = clock.local_today("UTC") - dt.timedelta(days=1)
    r = await a.submit(f"/groups/{gid}/commitments", {"category": "play", "text": "Played guitar",
                                                      "day": yesterday.isoformat()})
    assert r.status_code == 303 and f"day={yesterday.isoformat()}" in r.headers["location"]
    today = (await a.get(f"/groups/{gid}")).text
    assert "Played guitar" not in today and "Nothing shared for this day yet." in today
    before = (await a.get(f"/groups/{gid}?day={yesterday.isoformat()}")).text
    assert "Played guitar" in before and "Yesterday" in before and "Back to today" in before
    long_ago = (await a.get(f"/groups/{gid}?day=2020-02-03")).text
    assert "Monday 3 February 2020" in long_ago and f'action="/groups/{gid}/commitments"' not in long_ago


async def test_private_commitments_stay_private(clients):
    a, b, gid = await two_people_in_a_group(clients)
    await post_commitment(b, gid, "Journal about the fight", category="self_soothing",
                          visibility="private")
    assert "Journal about the fight" in (await b.get(f"/groups/{gid}")).text
    assert "Only you can see this" in (await b.get(f"/groups/{gid}")).text
    assert "Journal about the fight" not in (await a.get(f"/groups/{gid}")).text


async def test_three_commitments_a_day_then_a_gentle_note(clients):
    a = await sign_up(clients)
    gid, _ = await create_group(a)
    for n in range(3):
        await post_commitment(a, gid, f"Small thing {n}")
    page = (await a.get(f"/groups/{gid}")).text
    assert "That is plenty: be gentle with yourself." in page
    r = await a.submit(f"/groups/{gid}/commitments", {"category": "rest", "text": "A fourth"})
    assert r.status_code == 409 and "Three is plenty" in r.text


async def test_encouragement_and_receive_only(clients):
    a, b, gid = await two_people_in_a_group(clients)
    cid = await post_commitment(b, gid, "Keep my Sunday free", category="boundary")
    r = await a.submit(f"/groups/{gid}/encourage", {"kind": "boundary_matters",
                                                    "commitment_id": str(cid),
                                                    "text": "This one is hard. Go you."})
    assert r.status_code == 303 and r.headers["location"].endswith(f"#c{cid}")
    page = (await b.get("/me/progress")).text
    received = page.split('id="encouragement"', 1)[1]
    assert "Your boundary matters" in received and "This one is hard. Go you." in received
    assert "Tuesday circle" in received

    # Receive only: no prompts to send encouragement.
    r = await a.submit("/settings", {"display_name": "Quiet A", "timezone": "UTC",
                                     "receive_only": "yes"})
    assert r.status_code == 303
    page = (await a.get(f"/groups/{gid}")).text
    assert "?open=encourage" not in page and "receive-only mode" in page
    assert 'class="card-form"' not in (await a.get(f"/groups/{gid}/commitments/{cid}?open=encourage")).text
    assert "Quiet A" in page
    settings = (await a.get("/settings")).text
    assert re.search(r'name="receive_only" value="yes" checked', settings)


async def test_the_card_offers_edit_while_it_can_and_withdraw_after_asking(clients):
    """Its author's card: Edit while nobody has responded, Withdraw after asking (without
    JavaScript; the API's rules are in tests/test_edit_withdraw.py)."""
    a, b = await sign_up(clients), await sign_up(clients)
    gid, code = await create_group(a)
    assert (await join(b, code)).status_code == 303
    r = await b.submit(f"/groups/{gid}/commitments", {"category": "rest", "text": "Nap after lunch",
                                                      "visibility": "group"})
    cid = int(r.headers["location"].rsplit("#c", 1)[1])
    day = (await b.get(f"/groups/{gid}")).text
    card = _card(day, cid)
    assert f'/commitments/{cid}?open=edit"' in card and f'/commitments/{cid}?open=withdraw"' in card
    assert "card-form" not in card
    # Others get neither.
    assert "?open=edit" not in _card((await a.get(f"/groups/{gid}")).text, cid)
    assert "?open=withdraw" not in _card((await a.get(f"/groups/{gid}")).text, cid)
    assert f'id="c{cid}-edit"' not in (await a.get(f"/groups/{gid}/commitments/{cid}?open=edit")).text

    # The form, opened without JavaScript: the words to change, ready.
    form = (await b.get(f"/groups/{gid}/commitments/{cid}?open=edit")).text
    assert f'action="/groups/{gid}/commitments/{cid}/edit"' in form and ">Nap after lunch</textarea>" in form
    r = await b.submit(f"/groups/{gid}/commitments/{cid}/edit", {"text": ""})
    assert r.status_code == 422 and "Write a few words" in _card(r.text, cid) and f'id="c{cid}-edit"' in r.text
    r = await b.submit(f"/groups/{gid}/commitments/{cid}/edit", {"text": "Nap after lunch, phone away"})
    assert r.status_code == 303 and r.headers["location"] == f"/groups/{gid}#c{cid}"
    day = (await b.get(r.headers["location"])).text
    assert "Your new words are saved." in day and "Nap after lunch, phone away" in _card(day, cid)
    # Missing the token: refused, nothing changed.
    r = await b.submit(f"/groups/{gid}/commitments/{cid}/edit", {"text": "Sneaky"}, csrf="")
    assert r.status_code == 403

    # Once cheered, the words stay: no Edit, and a late form says why, kindly, on top.
    assert (await a.submit(f"/groups/{gid}/encourage", {"kind": "proud", "commitment_id": str(cid)})
            ).status_code == 303
    assert "?open=edit" not in _card((await b.get(f"/groups/{gid}")).text, cid)
    assert f'id="c{cid}-edit"' not in (await b.get(f"/groups/{gid}/commitments/{cid}?open=edit")).text
    r = await b.submit(f"/groups/{gid}/commitments/{cid}/edit", {"text": "Later words"})
    assert r.status_code == 409 and "already responded to this commitment" in r.text
    assert "Later words" not in r.text

    # Withdrawing asks first, gently, and can be kept.
    ask = (await b.get(f"/groups/{gid}/commitments/{cid}?open=withdraw")).text
    assert "Withdraw this commitment? It will no longer show to your group." in ask
    assert "Keep it</a>" in ask and f'action="/groups/{gid}/commitments/{cid}/withdraw"' in ask
    assert (await a.submit(f"/groups/{gid}/commitments/{cid}/withdraw", {})).status_code == 403
    r = await b.submit(f"/groups/{gid}/commitments/{cid}/withdraw", {})
    assert r.status_code == 303 and r.headers["location"] == f"/groups/{gid}"
    day = (await b.get(r.headers["location"])).text
    assert "Your commitment is withdrawn." in day and f'id="c{cid}"' not in day
    assert 'data-days-from-today="0">Nothing shared for this day yet.' in day  # shown, not hidden
    assert "Nap after lunch" not in (await a.get(f"/groups/{gid}")).text
    assert (await b.submit(f"/groups/{gid}/commitments/{cid}/withdraw", {})).status_code == 404


def _card(page: str, cid: int) -> str:
    found = re.search(rf'<li id="entry-{cid}">.*?</article>\s*</li>', page, re.S)
    assert found, f"no card {cid}"
    return found.group(0)


async def test_progress_page_draws_the_heatmap(clients):
    a = await sign_up(clients)
    gid, _ = await create_group(a)
    done = await post_commitment(a, gid, "Drink water")
    partly = await post_commitment(a, gid, "Lunch outside", category="nourishing_food")
    await a.submit(f"/groups/{gid}/commitments/{done}/checkin", {"status": "done"})
    await a.submit(f"/groups/{gid}/commitments/{partly}/checkin", {"status": "partly"})
    today = clock.local_today("UTC").isoformat()
    page = (await a.get("/me/progress")).text
    svg = re.search(r'<svg class="heatmap".*?</svg>', page, re.S).group(0)
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert re.search(rf'class="heatmap-cell level-done is-today" data-day="{today}"', svg)
    assert svg.count("<rect") >= 78  # twelve weeks, ending today
    assert "You practised on 1 of the" in page
    assert "1 done, 1 partly" in page  # the list alternative
    stats = page.split('class="stats"', 1)[1].split("</div>", 1)[0]
    assert re.search(r'<p class="stat-number">1</p>', stats)  # streak of one day


async def test_moderator_invites_removal_and_leaving(clients):
    a, b, gid = await two_people_in_a_group(clients)
    r = await a.submit(f"/groups/{gid}/invites", {"expires_in_days": "2", "max_uses": "1"})
    assert r.status_code == 303
    new_code = re.search(r"New invite code: ([A-Z0-9]+)",
                         (await a.get(r.headers["location"])).text).group(1)
    page = (await a.get(f"/groups/{gid}")).text
    assert f'data-invite-code="{new_code}"' in page and "used 0 of 1 times" in page
    assert (await a.submit(f"/groups/{gid}/invites/{new_code}/revoke", {})).status_code == 303
    assert f'data-invite-code="{new_code}"' not in (await a.get(f"/groups/{gid}")).text
    c = await sign_up(clients)
    r = await join(c, new_code)
    assert r.status_code == 410 and "That invite code was withdrawn." in r.text

    me_b = (await b.client.get("/api/v1/me")).json()["id"]
    me_a = (await a.client.get("/api/v1/me")).json()["id"]
    r = await a.submit(f"/groups/{gid}/members/{me_a}/remove", {})
    assert r.status_code == 400 and "leave the group instead" in r.text
    assert (await a.submit(f"/groups/{gid}/members/{me_b}/remove", {})).status_code == 303
    assert (await b.get(f"/groups/{gid}", ok=False)).status_code == 404

    r = await a.submit(f"/groups/{gid}/leave", {})
    assert r.status_code == 303 and r.headers["location"] == "/groups"
    assert (await a.get(f"/groups/{gid}", ok=False)).status_code == 404


async def test_settings_and_password_change(clients):
    a = await sign_up(clients, "joan")
    page = (await a.get("/settings")).text
    assert '<option value="UTC" translate="no" selected>UTC</option>' in page
    r = await a.submit("/settings", {"display_name": "  Jo   B ", "timezone": "Europe/Madrid"})
    assert r.status_code == 303
    me = (await a.client.get("/api/v1/me")).json()
    assert (me["display_name"], me["timezone"], me["receive_only"]) == ("Jo B", "Europe/Madrid", False)
    assert '<option value="Europe/Madrid" translate="no" selected>Madrid</option>' in (await a.get("/settings")).text

    other_device = Browser(clients.anonymous())
    await other_device.get("/login")
    await other_device.submit("/login", {"username": "joan", "password": PASSWORD})
    new = "a brand new quiet phrase"
    r = await a.submit("/settings/password", {"current_password": PASSWORD, "new_password": new,
                                              "new_password_again": new})
    assert r.status_code == 303
    assert (await a.get("/settings")).status_code == 200  # this browser stays signed in
    assert (await other_device.get("/settings", ok=False)).status_code == 303  # others do not
    fresh = Browser(clients.anonymous())
    await fresh.get("/login")
    assert (await fresh.submit("/login", {"username": "joan", "password": new})).status_code == 303


async def test_signup_problems_are_explained(clients):
    await sign_up(clients, "taken")
    browser = Browser(clients.anonymous())
    await browser.get("/signup")
    cases = [
        ({"username": "taken", "password": PASSWORD, "password_again": PASSWORD}, "That username is taken."),
        ({"username": "ok_name", "password": PASSWORD, "password_again": "different!"}, "not the same"),
        ({"username": "x", "password": PASSWORD, "password_again": PASSWORD}, "A username has 3 to 32"),
        ({"username": "fine_name", "password": "password123", "password_again": "password123"},
         "easy to guess"),
        ({"username": "tz_name", "password": PASSWORD, "password_again": PASSWORD, "timezone": "Nowhere"},
         "That is not a timezone we know"),
    ]
    for data, message in cases:
        r = await browser.submit("/signup", data)
        assert 400 <= r.status_code < 500 and message in r.text, (data, r.status_code)
        assert browser.session_cookie is None
    assert 'value="tz_name"' in r.text  # what was typed is kept


async def test_landing_and_help_are_public(clients):
    anon = Browser(clients.anonymous())
    page = (await anon.get("/")).text
    for words in ("Take care of yourself", "Protect yourself", "Communicate well"):
        assert words in page
    help_page = (await anon.get("/help")).text
    assert "call your local emergency number" in help_page
    assert "grounding" in help_page


async def test_help_page_works_when_the_database_is_down(sqlite_database_url):
    app = create_app(Settings(database_url=sqlite_database_url, env="test", secret_key="t" * 40))
    async with app.router.lifespan_context(app):
        # The database goes away while Cairn runs.
        working = app.state.db
        app.state.db = Database(Settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:9/none",
                                         env="test", secret_key="t" * 40))
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                client.cookies.set(SESSION_COOKIE, "some-session")
                r = await client.get("/help")
                assert r.status_code == 200 and "call your local emergency number" in r.text
                r = await client.get("/groups")
                assert r.status_code == 503 and "cannot reach its database" in r.text
                assert 'href="/help"' in r.text
        finally:
            await app.state.db.dispose()
            app.state.db = working


async def test_logout_needs_csrf_too(clients):
    a = await sign_up(clients)
    r = await a.client.post("/logout")
    assert r.status_code == 403 and a.session_cookie
    assert (await a.get("/groups")).status_code == 200


# --- the heatmap, pure ------------------------------------------------------------------------

def test_heatmap_lays_out_weeks_from_monday_to_today():
    from server.commitments import heatmap
    from server.commitments.progress import Day

    today = dt.date(2025, 3, 13)  # a Thursday
    n = heatmap.span(today)
    days = [Day(today - dt.timedelta(days=i)) for i in range(n)]
    days[0].done = 2
    days[1].partly = 1
    days[2].not_today = 1
    days[3].done = 1
    m = heatmap.build(days)
    assert m.first.weekday() == 0 and m.last == today and m.total == n == 7 * 11 + 4
    assert len({(c.x, c.y) for c in m.cells}) == n  # one square a day, none on top of another
    cells = {c.day: c for c in m.cells}
    assert cells[today].level == "done-many" and cells[today].label == "Thursday 13 March: 2 done"
    assert cells[today - dt.timedelta(days=1)].level == "partly"
    # "Not today" is an honest answer, not a failure: it is not coloured as one.
    assert cells[today - dt.timedelta(days=2)].level == "none"
    assert cells[today - dt.timedelta(days=2)].label.endswith("1 not today")
    assert cells[today - dt.timedelta(days=3)].level == "done"
    assert cells[today - dt.timedelta(days=4)].label.endswith("no check-ins")
    assert {c.fill for c in m.cells} <= set(heatmap.FILLS.values())
    assert m.practised == 3 and "You practised on 3 of the 81 days" in m.summary
    assert all(x2 - x1 >= 2 * (heatmap.CELL + heatmap.GAP) for (x1, _), (x2, _) in itertools.pairwise(m.months))
    assert [name for _, name in m.months] == ["Jan", "Feb", "Mar"]  # "Dec" gave way to "Jan" a column later
    assert max(c.x for c in m.cells) + heatmap.CELL <= m.width
    assert max(c.y for c in m.cells) + heatmap.CELL <= m.height


def test_heatmap_with_nothing_yet_is_kind():
    from server.commitments import heatmap
    from server.commitments.progress import Day

    m = heatmap.build([Day(dt.date(2025, 1, 6) + dt.timedelta(days=i)) for i in range(10)])
    assert m.practised == 0 and "Your first will show here." in m.summary
    assert heatmap.build([]).cells == []


async def test_ids_and_days_out_of_every_range_are_not_500s(clients):
    """int() refuses more than 4,300 digits and the day before 0001-01-01 does not exist: both
    reached Python unguarded (500s the form fuzzer found)."""
    browser = await sign_up(clients)
    gid, _ = await create_group(browser)
    huge = "9" * 5000
    assert (await browser.get(f"/groups/{huge}", ok=False)).status_code == 404
    r = await browser.submit(f"/groups/{huge}/invites", {})
    assert r.status_code == 404
    r = await browser.submit("/groups", {"name": "Big", "capacity": huge})
    assert r.status_code == 422 and "whole number" in r.text
    r = await browser.submit("/groups", {"name": "Odd", "capacity": "²"})
    assert r.status_code == 422 and "whole number" in r.text
    for day in ("0001-01-01", "9999-12-31"):
        r = await browser.get(f"/groups/{gid}?day={day}")  # an impossible day shows today
        assert "Today" in r.text
