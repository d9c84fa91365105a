"""Cairn as an installable app: the manifest, the service worker, the offline page and the
icons, as a browser fetches them (the browser itself: tests/browser/test_installable_browser.py)."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import httpx
import pytest

from server import app_shell
from server.main import create_app
from server.web import SUPPORT_COOKIE
from tests.fixtures.clients import Clients, make_settings
from tests.test_page_headers import header_problems, html_problems
from tests.test_pages import sign_up
from tools import icons as icon_tool

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "web" / "static" / "icons"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def database_url(sqlite_database_url: str) -> str:
    """Nothing here is about the database: the shared app and clients, on SQLite alone."""
    return sqlite_database_url


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG's own header (the IHDR chunk comes first)."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert head[12:16] == b"IHDR", f"{path.name} does not start with its header"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def css_palette() -> dict[str, str]:
    root = re.search(r":root\s*{([^}]*)}", (ROOT / "web/static/css/cairn.css").read_text()).group(1)
    return dict(re.findall(r"--([\w-]+):\s*([^;]+);", root))


# -- the icons ----------------------------------------------------------------------------------

def test_every_icon_png_is_the_size_it_says():
    """Each PNG make icons writes is committed and has the pixel size it is listed with.
    (Whether the PNGs are current with the SVGs is not checked: run `make icons` after
    changing an SVG.)"""
    for png in icon_tool.PNGS:
        path = ICONS / png.name
        assert path.is_file(), f"{png.name} is missing: run make icons and commit it"
        assert png_size(path) == (png.size, png.size), png.name
        assert (ICONS / png.source).is_file()
    sizes = {png.size for png in icon_tool.PNGS}
    assert {32, 180, 192, 512} <= sizes


def test_the_size_check_reads_the_header():
    assert png_size(ICONS / "favicon-32.png") == (32, 32)
    with pytest.raises(AssertionError):
        png_size(ICONS / "cairn.svg")


# -- the manifest --------------------------------------------------------------------------------

async def test_the_manifest_has_what_an_install_needs(clients: Clients):
    anon = clients.anonymous()
    r = await anon.get("/manifest.webmanifest")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/manifest+json"
    assert r.headers["cache-control"] == "no-cache"
    assert "set-cookie" not in r.headers
    assert not header_problems(r), header_problems(r)
    manifest = json.loads(r.text)
    assert manifest["name"] == "Cairn" and manifest["short_name"] == "Cairn" and manifest["description"]
    assert manifest["start_url"] == "/groups" and manifest["scope"] == "/"
    assert manifest["start_url"].startswith(manifest["scope"])
    assert manifest["display"] == "standalone"
    palette = css_palette()
    assert manifest["theme_color"] == palette["surface"]
    assert manifest["background_color"] == palette["bg"]

    pngs = {(i["sizes"], i["purpose"]) for i in manifest["icons"] if i["type"] == "image/png"}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= pngs
    for icon in manifest["icons"]:
        got = await anon.get(icon["src"])
        assert got.status_code == 200, icon["src"]
        assert got.headers["content-type"] == icon["type"], icon["src"]
        if icon["type"] == "image/png":
            width, height = (int(n) for n in icon["sizes"].split("x"))
            assert struct.unpack(">II", got.content[16:24]) == (width, height), icon["src"]


async def test_every_page_links_the_manifest_and_the_icons(clients: Clients):
    page = (await clients.anonymous().get("/")).text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert '<link rel="icon" href="/static/icons/favicon-32.png" sizes="32x32" type="image/png">' in page
    assert '<link rel="apple-touch-icon" href="/static/icons/apple-touch-icon.png">' in page
    assert f'<meta name="theme-color" content="{app_shell.THEME_COLOR}">' in page
    assert 'href="data:,"' not in page
    for href in re.findall(r'<link rel="(?:icon|apple-touch-icon)" href="([^"]+)"', page):
        assert (await clients.anonymous().get(href)).status_code == 200, href


# -- the service worker --------------------------------------------------------------------------

async def test_the_service_worker_is_served_from_the_root_never_stale(clients: Clients):
    anon = clients.anonymous()
    r = await anon.get("/sw.js")
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == "text/javascript"
    assert r.headers["cache-control"] == "no-cache"
    assert "service-worker-allowed" not in r.headers  # its own scope, the root, is enough
    assert "set-cookie" not in r.headers
    assert not header_problems(r), header_problems(r)
    source = r.text
    version = re.search(r'const VERSION = "([0-9a-f]{16})";', source).group(1)
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", source).group(1))
    assert shell == [*app_shell.shell(), "/offline", "/offline?lang=en", "/offline?lang=es"]
    # Everything it keeps is there for anyone, and is no page of a member's.
    for path in shell:
        assert path.startswith("/static/") or path.split("?lang=")[0] == "/offline", path
        assert (await anon.get(path)).status_code == 200, path
    assert 'credentials: "omit"' in source
    assert 'request.method !== "GET"' in source
    assert 'addEventListener("push"' in source  # reminders (tests/browser/test_reminders_browser.py)
    # The same bytes each time, so the browser does not reinstall it for nothing.
    assert (await anon.get("/sw.js")).text == source
    assert version


async def test_a_new_shell_is_a_new_service_worker(sqlite_database_url, tmp_path):
    """The worker's version follows what it keeps: here the offline page's crisis lines."""
    lines = tmp_path / "lines.json"
    lines.write_text(json.dumps({
        "general": {"message": "Call 112 where you are."},
        "countries": {"PT": {"name": "Portugal", "lines": [{"name": "SOS Voz Amiga", "phone": "213 544 545"}]}},
        "grounding": ["Notice five things you can see."]}), "utf-8")
    versions = []
    for overrides in ({}, {"crisis_resources_file": str(lines)}):
        app = create_app(make_settings(sqlite_database_url, **overrides))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                source = (await client.get("/sw.js")).text
                offline = (await client.get("/offline")).text
        versions.append(re.search(r'const VERSION = "(\w+)";', source).group(1))
        assert ("SOS Voz Amiga" in offline) == bool(overrides)
    assert versions[0] != versions[1]


async def test_page_js_registers_the_worker_for_the_whole_site(clients: Clients):
    js = (await clients.anonymous().get("/static/js/page.js")).text
    assert 'navigator.serviceWorker.register("/sw.js", { scope: "/"' in js


# -- the offline page ----------------------------------------------------------------------------

async def test_the_offline_page_is_calm_and_shows_the_crisis_lines(clients: Clients):
    anon = clients.anonymous()
    r = await anon.get("/offline")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "set-cookie" not in r.headers
    assert not header_problems(r) and not html_problems(r.text), (header_problems(r), html_problems(r.text))
    page = r.text
    words = " ".join(page.split())
    assert '<h1 id="offline-title">You are offline</h1>' in page
    assert "what you wrote is kept on that page and sent when you are back" in words
    assert "Phone calls and texts work without an internet connection" in words
    # Help is on the page itself: /help cannot be reached offline.
    assert '<a class="help-link" href="#help">' in page and 'href="/help"' not in page
    help_page = (await anon.get("/help")).text
    # The same crisis lines and grounding steps as /help, tel: links and all.
    for piece in ('id="lines"', "Samaritans", 'href="tel:116123"', 'class="grounding"'):
        assert piece in page and piece in help_page, piece
    lines = re.search(r'<section class="panel" id="lines".*?</section>', page, re.S).group(0)
    assert lines == re.search(r'<section class="panel" id="lines".*?</section>', help_page, re.S).group(0)
    # Nothing to sign in to, no forms: only the way back and the way to help.
    assert "<form" not in page and 'name="csrf-token"' not in page and "Sign in" not in page


async def test_the_offline_page_is_the_same_for_everyone(clients: Clients):
    """What the worker keeps holds no one's name, whoever's cookies came with it."""
    anon = clients.anonymous()
    member = await sign_up(clients, "quietwillow")
    member.client.cookies.set(SUPPORT_COOKIE, "1")
    as_member = await member.client.get("/offline")
    as_visitor = await anon.get("/offline")
    assert as_member.text == as_visitor.text
    assert "Quietwillow" not in as_member.text and "Signed in as" not in as_member.text
    assert 'id="support"' not in as_member.text
    assert "set-cookie" not in as_member.headers  # the help notice waits for a real page
    assert "Signed in as <span data-member-words>Quietwillow</span>" in (await member.client.get("/help")).text


async def test_head_is_answered_like_get(clients: Clients):
    anon = clients.anonymous()
    for path in ("/manifest.webmanifest", "/sw.js", "/offline"):
        r = await anon.head(path)
        assert r.status_code == 200 and r.content == b"", path
