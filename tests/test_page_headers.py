"""Every page the app serves, found by walking its route table and fetched with real ids,
carries the strict security headers, and no page's HTML points at another origin."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI, routing
from fastapi.routing import APIRoute
from starlette.routing import Route as PlainRoute

from server.middleware import CSP
from tests.fixtures.clients import Clients
from tests.test_pages import Browser, create_group, join, post_commitment, sign_up

# GET routes that answer JSON or text for programs, not pages for people (the manifest and
# the service worker have their own checks, headers included, in tests/test_app_shell.py).
# The calendar feed answers calendar apps (tests/practice).
NOT_PAGES = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/manifest.webmanifest", "/sw.js",
             "/calendar/{token}.ics"}
# The only sources the Content-Security-Policy may name: this origin, nothing, and data:
# URLs (images).
ALLOWED_SOURCES = {"'self'", "'none'", "data:"}
# Attributes that make the browser fetch, navigate to or post to a URL.
URL_ATTRIBUTES = {"src", "href", "action", "formaction", "poster", "data", "srcset", "xlink:href",
                  "background", "cite", "ping", "manifest"}
LOCAL_SCHEMES = {"", "tel", "mailto"}


def page_routes(app: FastAPI) -> list[str]:
    """The path template of every GET route that serves a page."""
    walk = getattr(routing, "iter_route_contexts", None)
    found = []
    for entry in walk(app.routes) if walk else app.routes:
        route = getattr(entry, "original_route", entry)
        if not isinstance(route, APIRoute | PlainRoute) or "GET" not in (entry.methods or ()):
            continue
        path = entry.path_format
        if path.startswith(("/api/", "/ws/", "/static/")) or path in NOT_PAGES:
            continue
        found.append(path)
    return sorted(found)


def csp_problems(header: str) -> list[str]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    problems = [f"{name} allows {source}" for name, sources in directives.items()
                for source in sources if source not in ALLOWED_SOURCES]
    for name, wanted in (("default-src", ["'self'"]), ("script-src", ["'self'"]),
                         ("style-src", ["'self'"]), ("connect-src", ["'self'"]),
                         ("object-src", ["'none'"]), ("base-uri", ["'none'"]),
                         ("form-action", ["'self'"]), ("frame-ancestors", ["'none'"])):
        if directives.get(name) != wanted:
            problems.append(f"{name} is {directives.get(name)}, not {wanted}")
    return problems


def header_problems(r: httpx.Response) -> list[str]:
    h = r.headers
    problems = csp_problems(h.get("content-security-policy", ""))
    if h.get("referrer-policy") != "no-referrer":
        problems.append(f"Referrer-Policy {h.get('referrer-policy')!r}")
    if h.get("x-content-type-options") != "nosniff":
        problems.append(f"X-Content-Type-Options {h.get('x-content-type-options')!r}")
    if h.get("x-frame-options") != "DENY":
        problems.append(f"X-Frame-Options {h.get('x-frame-options')!r}")
    return problems


class _Links(HTMLParser):
    """Every URL an element names, and anything the CSP would block (and so break)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v or "" for k, v in attrs}
        for name, value in a.items():
            if name in URL_ATTRIBUTES:
                values = [v.split()[0] for v in value.split(",") if v.strip()] if name == "srcset" else [value]
                self.urls += [(tag, name, v.strip()) for v in values]
            if name.startswith("on"):
                self.inline.append(f"<{tag} {name}=...>")
            if name == "style":
                self.inline.append(f"<{tag} style=...>")
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            self.urls.append((tag, "content", a.get("content", "").partition("url=")[2]))
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script":
            self._in_script = not a.get("src") and a.get("type") != "application/json"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("an inline <script>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def html_problems(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    problems = list(parser.inline)
    for tag, attr, url in parser.urls:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if url.startswith("//") or scheme in ("http", "https", "ws", "wss"):
            if parts.netloc != "testserver":
                problems.append(f"<{tag} {attr}={url!r}> points at another origin")
        elif scheme == "data" and tag == "link" and attr == "href":
            continue  # a blank favicon
        elif scheme not in LOCAL_SCHEMES:
            problems.append(f"<{tag} {attr}={url!r}> uses the {scheme}: scheme")
    return problems


async def a_full_group(clients: Clients) -> tuple[Browser, Browser, dict[str, int]]:
    """A moderator and a member with one of everything a page can show: commitments, a
    check-in, encouragement, a report, a hidden item, a mute, an open practice room."""
    mod, member = await sign_up(clients), await sign_up(clients)
    gid, code = await create_group(mod)
    assert (await join(member, code)).status_code == 303
    cid = await post_commitment(member, gid, "Say no kindly", category="boundary")
    await member.submit(f"/groups/{gid}/commitments/{cid}/checkin", {"status": "done", "note": "I did it"})
    mod_cid = await post_commitment(mod, gid, "Sleep by eleven", category="sleep")
    await member.submit(f"/groups/{gid}/encourage", {"kind": "proud", "commitment_id": str(mod_cid),
                                                     "text": "You can do this"})
    await mod.submit(f"/groups/{gid}/encourage", {"kind": "with_you", "commitment_id": str(cid), "text": "Yes!"})
    await member.submit(f"/groups/{gid}/reports", {"target_type": "commitment", "target_id": str(mod_cid),
                                                   "reason": "Just checking."})
    hidden = await post_commitment(member, gid, "Something to hide")
    await mod.submit(f"/groups/{gid}/hidden", {"target_type": "commitment", "target_id": str(hidden),
                                               "reason": "Kept to the agreement."})
    r = await mod.submit(f"/groups/{gid}/rooms", {"title": "Practice"})
    assert r.status_code == 303, r.text
    rid = int(re.search(r"/rooms/(\d+)", r.headers["location"]).group(1))
    return mod, member, {"gid": gid, "rid": rid, "cid": cid, "code": code}


async def test_every_page_sends_strict_headers_and_names_no_other_origin(app, clients):
    mod, member, ids = await a_full_group(clients)
    anon = Browser(clients.anonymous())
    templates = page_routes(app)
    # Pages only a moderator or a visitor sees, so every route is fetched as someone who sees it.
    assert "/groups/{gid}/moderation" in templates and "/help" in templates and "/settings" in templates
    assert "/offline" in templates
    problems: list[str] = []
    for template in templates:
        names = set(re.findall(r"{(\w+)}", template))
        unknown = names - ids.keys()
        assert not unknown, f"{template}: give the test a real id for {sorted(unknown)}"
        path = template.format(**ids)
        shown = False
        for who, browser in (("moderator", mod), ("visitor", anon)):
            r = await browser.client.get(path)
            assert r.status_code < 500, (path, who, r.status_code)
            problems += [f"{path} as {who}: {p}" for p in header_problems(r)]
            if r.status_code == 200 and r.headers["content-type"].startswith("text/html"):
                problems += [f"{path} as {who}: {p}" for p in html_problems(r.text)]
                shown = True
        assert shown, f"{path} showed no page to the moderator or a visitor"

    # Error pages, redirects and the member's own views too.
    for browser, path in ((anon, "/no-such-page"), (mod, "/groups/999999"), (anon, "/groups"),
                          (member, f"/groups/{ids['gid']}/moderation"), (member, f"/groups/{ids['gid']}"),
                          (member, "/me/progress")):
        r = await browser.client.get(path)
        problems += [f"{path}: {p}" for p in header_problems(r)]
        if r.headers.get("content-type", "").startswith("text/html"):
            problems += [f"{path}: {p}" for p in html_problems(r.text)]

    # What the pages load: the style sheets name no other origin either.
    for sheet in ("/static/css/cairn.css", "/static/css/room.css"):
        css = (await anon.client.get(sheet)).text
        problems += [f"{sheet}: {m}" for m in re.findall(r"(?:url\(|@import)\s*['\"]?(?:https?:)?//[^)'\"\s]+", css)]
    assert not problems, "\n".join(problems)


def test_the_checks_catch_what_they_are_for():
    """The checks themselves fail on the things they look for."""
    assert html_problems('<img src="https://cdn.example/x.png">')
    assert html_problems('<script src="//cdn.example/x.js"></script>')
    assert html_problems('<a href="http://tracker.example/">x</a>')
    assert html_problems('<form action="https://evil.example/post"></form>')
    assert html_problems('<a href="javascript:alert(1)">x</a>')
    assert html_problems('<button onclick="x()">x</button>') and html_problems("<script>x()</script>")
    assert html_problems('<meta http-equiv="refresh" content="0; url=https://elsewhere.example/">')
    assert not html_problems('<a href="/help">h</a><a href="tel:116123">c</a><link rel="icon" href="data:,">'
                             '<script type="application/json">{"a": 1}</script><a href="#main">s</a>')
    assert csp_problems("default-src 'self' https://cdn.example; script-src 'self'")
    assert csp_problems("default-src 'self'; script-src 'self' 'unsafe-inline'")
    assert not csp_problems(CSP)
