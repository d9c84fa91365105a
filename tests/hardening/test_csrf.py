"""Every request a browser's cookie signs proves it came from one of Cairn's own pages:
bodyless posts and JSON calls included, the token bound to the session and masked on every
page, another site's requests refused by what the browser says of them."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from server.deps import get_optional_user
from tests import support
from tests.fixtures.clients import PASSWORD, Clients

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
FORM_TOKEN = re.compile(r'name="csrf_token" value="([A-Za-z0-9_-]+)"')


def _signs_in(route: APIRoute) -> bool:
    """Whether the route looks up the signed-in member (anywhere in its dependencies)."""
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        if dependant.call is get_optional_user:
            return True
        stack.extend(dependant.dependencies)
    return False


def _unsafe_routes(app: Any) -> list[tuple[str, str, APIRoute]]:
    return [(method, route.path, route) for route in support.app_routes(app)
            if isinstance(route, APIRoute) for method in sorted(route.methods & UNSAFE)]


async def _browser(clients: Clients, username: str) -> httpx.AsyncClient:
    """A browser signed in by cookie, holding a page (so its CSRF nonce cookie is set)."""
    browser = clients.anonymous()
    r = await browser.post("/api/v1/auth/register", json={"username": username,
                                                          "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = await browser.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200 and browser.cookies.get("cairn_session"), r.text
    await support.page_csrf(browser)
    return browser


async def test_every_cookie_signed_unsafe_route_needs_the_token(clients):
    browser = await _browser(clients, "cookie_only")
    token = await support.page_csrf(browser)
    r = await browser.post("/api/v1/groups", json={"name": "Ours"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 201, r.text
    gid = r.json()["id"]

    public = set()
    for method, path, route in _unsafe_routes(clients.app):
        if not _signs_in(route):
            public.add(path)
            continue
        url = re.sub(r"\{gid(:int)?\}", str(gid), path)
        url = re.sub(r"\{[a-z_]+(:int)?\}", "1", url)
        body: dict[str, Any] = {}
        if path.startswith("/api/"):
            body["json"] = {}
        else:
            body["data"] = {"name": "x"}
        r = await browser.request(method, url, **body)
        assert r.status_code == 403, (method, url, r.status_code, r.text[:200])
        assert "csrf_failed" in r.text or "This form has expired" in r.text, (method, url)
    # Only sign-up, sign-in and a forgotten password act without a signed-in member (their
    # forms check the token where they are read; see below), and a reminder's one-tap stop,
    # which its own token authorises (tests/reminders/test_reminders_api.py), never a cookie.
    assert public == {"/api/v1/auth/register", "/api/v1/auth/login", "/signup", "/login",
                      "/api/v1/auth/recover", "/forgot", "/api/v1/reminders/stop"}, public

    # Nothing was done: the group and the session are as they were.
    me = await browser.get("/api/v1/me")
    assert me.status_code == 200
    groups = (await browser.get("/api/v1/groups")).json()
    assert [g["id"] for g in groups] == [gid]


async def test_a_bodyless_post_needs_the_token_and_a_bearer_call_does_not(clients):
    browser = await _browser(clients, "leaving_one")
    token = await support.page_csrf(browser)
    gid = (await browser.post("/api/v1/groups", json={"name": "Ours"},
                              headers={"X-CSRF-Token": token})).json()["id"]
    # A form content type with no body, as another site's page could send it.
    forged = await browser.post(f"/api/v1/groups/{gid}/leave",
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    support.assert_error(forged, 403, "csrf_failed")
    assert (await browser.get(f"/api/v1/groups/{gid}")).status_code == 200

    # A bearer call carries no cookie authority and needs no page token.
    login = await clients.anonymous().post("/api/v1/auth/login",
                                           json={"username": "leaving_one", "password": PASSWORD})
    api = clients.anonymous()
    api.headers["Authorization"] = f"Bearer {login.json()['token']}"
    r = await api.post("/api/v1/auth/logout")
    assert r.status_code == 204, r.text


async def test_the_token_is_bound_to_the_session_and_masked_on_every_page(clients):
    one = await _browser(clients, "first_person")
    two = await _browser(clients, "second_person")
    first, again = await support.page_csrf(one), await support.page_csrf(one)
    assert first != again  # masked afresh on every page ...
    for token in (first, again):  # ... and each one works
        r = await one.patch("/api/v1/me", json={"display_name": "First"},
                            headers={"X-CSRF-Token": token})
        assert r.status_code == 200, r.text
    # Another session's token, even with this browser's nonce cookie copied, does not.
    two.cookies.set("cairn_csrf", one.cookies["cairn_csrf"])
    r = await two.patch("/api/v1/me", json={"display_name": "Forged"}, headers={"X-CSRF-Token": first})
    support.assert_error(r, 403, "csrf_failed")
    # Nor does a token that is not a token at all, non-ASCII included (never a 500).
    for junk in ("", "0" * 64, first + "¿'\"(", "ñ" * 86, first[:-2]):
        r = await one.patch("/api/v1/me", json={"display_name": "Junk"},
                            headers={"X-CSRF-Token": junk.encode()})
        support.assert_error(r, 403, "csrf_failed")
    # A form token from before signing in is worth nothing after it.
    anonymous = clients.anonymous()
    page = await anonymous.get("/login")
    before = FORM_TOKEN.search(page.text).group(1)
    r = await anonymous.post("/login", data={"csrf_token": before, "username": "first_person",
                                             "password": PASSWORD})
    assert r.status_code == 303, r.text
    r = await anonymous.post("/groups", data={"csrf_token": before, "name": "Stale"})
    assert r.status_code == 403


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # not about the database
async def test_a_compressed_page_never_repeats_the_tokens_bytes(clients):
    """Pages go out gzipped (server/middleware.py), so a secret that came back byte for byte
    in every answer could be guessed from their sizes (BREACH). The form token is masked
    afresh in each answer: two renders of the same page share none of it, both work, and a
    token altered by one character does not."""
    browser = await _browser(clients, "careful_one")
    renders = []
    for _ in range(2):
        r = await browser.get("/groups", headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
        on_page = set(FORM_TOKEN.findall(r.text)) | {support.CSRF_META.search(r.text).group(1)}
        assert len(on_page) == 1  # one token per answer, in each of its forms
        renders.append(on_page.pop())
    first, second = renders
    halves = [base64.urlsafe_b64decode(t + "==") for t in renders]
    assert first != second
    assert halves[0][:32] != halves[1][:32] and halves[0][32:] != halves[1][32:]
    for n, token in enumerate(renders):
        r = await browser.post("/groups", data={"csrf_token": token, "name": f"Circle {n}"})
        assert r.status_code == 303, r.text
    # One character changed, in the mask or in the masked token: refused, and nothing made.
    for at in (3, len(first) - 5):
        tampered = first[:at] + ("A" if first[at] != "A" else "B") + first[at + 1:]
        r = await browser.post("/groups", data={"csrf_token": tampered, "name": "Tampered"})
        assert r.status_code == 403, r.text
    mine = (await browser.get("/api/v1/groups", headers={"X-CSRF-Token": first})).json()
    assert sorted(g["name"] for g in mine) == ["Circle 0", "Circle 1"]


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "https://elsewhere.example"},
    {"Origin": "null"},
    {"Origin": "http://testserver.elsewhere.example"},
])
async def test_another_sites_request_is_refused_even_with_the_token(clients, headers):
    browser = await _browser(clients, "visited_elsewhere")
    token = await support.page_csrf(browser)
    r = await browser.patch("/api/v1/me", json={"display_name": "Forged"},
                            headers={"X-CSRF-Token": token, **headers})
    support.assert_error(r, 403, "csrf_failed")
    # Sign-in from another site's page is refused too (no cookie involved).
    r = await clients.anonymous().post("/api/v1/auth/login", headers=headers,
                                       json={"username": "visited_elsewhere", "password": PASSWORD})
    support.assert_error(r, 403, "csrf_failed")
    assert (await browser.get("/api/v1/me")).json()["display_name"] != "Forged"


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "same-origin"},
    {"Sec-Fetch-Site": "none"},
    {"Origin": "http://testserver"},
    {},
])
async def test_cairns_own_pages_get_through(clients, headers):
    browser = await _browser(clients, "at_home")
    token = await support.page_csrf(browser)
    r = await browser.patch("/api/v1/me", json={"display_name": "At home"},
                            headers={"X-CSRF-Token": token, **headers})
    assert r.status_code == 200, r.text


async def test_every_cookie_is_secure_over_https(clients):
    browser = httpx.AsyncClient(transport=clients.transport, base_url="https://testserver")
    async with browser:
        page = await browser.get("/login")
        token = FORM_TOKEN.search(page.text).group(1)
        await clients.anonymous().post("/api/v1/auth/register", json={"username": "secure_one",
                                                                      "password": PASSWORD})
        r = await browser.post("/login", data={"csrf_token": token, "username": "secure_one",
                                               "password": PASSWORD})
        assert r.status_code == 303, r.text
        r = await browser.get("/settings")
        token = FORM_TOKEN.search(r.text).group(1)
        r = await browser.post("/settings", data={"csrf_token": token, "display_name": "Secure",
                                                  "timezone": "UTC"})
        cookies = [page.headers.get_list("set-cookie"), r.headers.get_list("set-cookie")]
        names = set()
        for line in (c for group in cookies for c in group):
            names.add(line.split("=", 1)[0])
            assert "; secure" in line.lower(), line
        assert {"cairn_csrf", "cairn_flash"} <= names, names
