"""Interactive API docs at /docs, served from Cairn itself (no CDN), only where CAIRN_API_DOCS
switches them on (by default everywhere but production)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from server.assets import static_url

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Cairn API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/swagger/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/static/swagger/swagger-ui-bundle.js"></script>
<script src="{docs_js}"></script></body></html>"""


@router.get("/docs")
async def api_docs() -> HTMLResponse:
    """Public: the API documentation."""
    return HTMLResponse(PAGE.format(docs_js=static_url("js/docs.js")))


def mount_assets(app: FastAPI) -> None:
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:  # docs assets are optional; the API works without them
        return
    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_path), name="swagger")
