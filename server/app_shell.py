"""Cairn as an installable app: the web app manifest and the offline page.

The offline page is rendered for nobody in particular (no session is read, no cookie set),
so that it can be kept on a phone without holding a member's name or words.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

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


def offline_html(request: Request) -> str:
    """The offline page: calm words and the crisis lines. Rendered for nobody: no user, no
    CSRF token, no flash or help notice read from cookies."""
    return templates.env.get_template("offline.html").render(
        request=request, user=None, csrf_token="", flash=None, support=None,
        resources=crisis_resources(request))


@router.get(OFFLINE_PAGE)
async def offline_page(request: Request) -> HTMLResponse:
    """Public: the page the service worker shows when a page cannot be reached."""
    return HTMLResponse(offline_html(request), headers={"Cache-Control": "no-cache"})
