"""Cairn as an installable app: the web app manifest, the service worker and the offline page.

The service worker (web/templates/sw.js) keeps only the app shell: shell() below and the
offline page, which is rendered for nobody in particular (no session is read, no cookie
set), so no cached answer can hold a member's name or words.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from server import i18n
from server.assets import PREFIX, static_url
from server.web import crisis_resources, templates

router = APIRouter(include_in_schema=False)

OFFLINE_PAGE = "/offline"

# The palette of web/static/css/cairn.css (:root): the header's surface for the browser's
# bars, so they run on into the page's header; the page's background for the splash screen.
THEME_COLOR = "#ffffff"       # --surface
BACKGROUND_COLOR = "#f6f4ef"  # --bg

# (file under web/static/icons, size in pixels, purpose) for the manifest.
ICONS = (
    ("cairn-192.png", 192, "any"),
    ("cairn-512.png", 512, "any"),
    ("cairn-maskable-192.png", 192, "maskable"),
    ("cairn-maskable-512.png", 512, "maskable"),
)
# What pages load, kept by the service worker so pages open fast and the offline page can show:
# style sheets and scripts by the hashed names pages load them by (server/assets.py), so each
# release's worker keeps that release's files; icons by the plain names the manifest and the
# pages give them.
SHELL_FILES = (
    "css/cairn.css",
    "css/room.css",
    "js/page.js",
    "js/live.js",
    "js/day.js",
    "js/room.js",
)
SHELL_ICONS = (
    "icons/cairn.svg",
    "icons/favicon-32.png",
    "icons/apple-touch-icon.png",
    "icons/cairn-192.png",
    "icons/cairn-512.png",
    "icons/cairn-maskable-192.png",
    "icons/cairn-maskable-512.png",
)


def shell() -> list[str]:
    """The addresses the worker keeps, the offline page aside."""
    return ([static_url(name) for name in SHELL_FILES]
            + [PREFIX + name for name in SHELL_ICONS])


def manifest() -> dict[str, Any]:
    return {
        "id": "/",
        "name": "Cairn",
        "short_name": "Cairn",
        "description": "A private place for small recovery groups to practise taking care of "
                       "themselves, protecting themselves and communicating well, together.",
        "lang": "en",
        "dir": "ltr",
        "start_url": "/groups",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "categories": ["health", "lifestyle", "social"],
        "icons": [
            {"src": f"/static/icons/{name}", "sizes": f"{size}x{size}", "type": "image/png",
             "purpose": purpose}
            for name, size, purpose in ICONS
        ] + [{"src": "/static/icons/cairn.svg", "sizes": "any", "type": "image/svg+xml",
              "purpose": "any"}],
    }


@router.get("/manifest.webmanifest")
async def web_app_manifest() -> JSONResponse:
    """Public: what a phone needs to put Cairn on its home screen."""
    return JSONResponse(manifest(), media_type="application/manifest+json",
                        headers={"Cache-Control": "no-cache"})


def offline_language(request: Request, lang: str | None = None) -> str:
    """The offline page's language: `?lang=` if Cairn offers it, else the one the browser's
    Accept-Language prefers. Never a member's setting or a cookie: it is kept for anyone."""
    found = i18n.catalogues(request)
    return lang if lang in found.offered else found.negotiate(request.headers.get("accept-language"))


def offline_pages(request: Request) -> dict[str, str]:
    """The offline pages the worker keeps, by language: the browser's own language's at
    OFFLINE_PAGE, and where Cairn offers more than one, each language's (`?lang=`), so the
    worker can show the one of the page that could not load (sw.js)."""
    offered = i18n.catalogues(request).offered
    if len(offered) < 2:
        return {}
    return {code: f"{OFFLINE_PAGE}?lang={code}" for code in offered}


def offline_html(request: Request, language: str | None = None) -> str:
    """The offline page: calm words and the crisis lines, in one language. Rendered for
    nobody: no user, no CSRF token, no flash or help notice read from cookies."""
    language = language or offline_language(request)
    return templates.env.get_template("offline.html").render(
        request=request, user=None, csrf_token="", flash=None, support=None,
        language=language, **i18n.catalogues(request).template_words(language),
        resources=crisis_resources(request, language))


@router.get(OFFLINE_PAGE)
async def offline_page(request: Request, lang: str | None = None) -> HTMLResponse:
    """Public: the page the service worker shows when a page cannot be reached; `?lang=` one
    of the offered languages (else the browser's Accept-Language chooses)."""
    language = offline_language(request, lang)
    return HTMLResponse(offline_html(request, language),
                        headers={"Cache-Control": "no-cache", "Content-Language": language,
                                 "Vary": "Accept-Language"})


def shell_version(request: Request, worker: str) -> str:
    """A digest of everything the worker keeps, and of the worker itself: a change to any
    of them makes a new worker, which replaces the old cache. Each file's content is in
    its hashed name, computed once at start-up."""
    digest = hashlib.sha256(worker.encode())
    for name in (*SHELL_FILES, *SHELL_ICONS):
        digest.update(static_url(name).encode() + b"\0")
    digest.update(offline_html(request).encode())
    for language in offline_pages(request):
        digest.update(offline_html(request, language).encode())
    return digest.hexdigest()[:16]


def worker_source(request: Request) -> str:
    """web/templates/sw.js with what it keeps, and the version of that."""
    template = templates.env.get_template("sw.js")

    by_language = offline_pages(request)

    def render(version: str) -> str:
        return template.render(version=version, offline_page=OFFLINE_PAGE,
                               offline_pages=by_language,
                               kept=[*shell(), OFFLINE_PAGE, *by_language.values()])

    return render(shell_version(request, render("")))


@router.get("/sw.js")
async def service_worker(request: Request) -> Response:
    """Public: the service worker, served from the root so that its scope is every page."""
    return Response(worker_source(request), media_type="text/javascript",
                    headers={"Cache-Control": "no-cache"})
