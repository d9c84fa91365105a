"""Lighter transfers: answers compressed for clients that accept gzip, and static files under
names that carry their content's hash, cached for a year (server/assets.py, the Compression
middleware in server/middleware.py)."""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

import httpx
import pytest

from server import assets
from server.assets import BRIEFLY, IMMUTABLE, Assets, hashed_name, static_url
from server.middleware import Compression
from tests.fixtures.clients import Clients
from tests.test_pages import create_group, sign_up

ROOT = Path(__file__).resolve().parent.parent
GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}
# A style sheet or script named by its plain path in markup or code that pages serve.
PLAIN_REFERENCE = re.compile(r"(?<![\w/.])/static/(?:css|js)/[\w.-]+?(?<!\.[0-9a-f]{12})\.(?:css|js)\b")
STATIC_URL_CALL = re.compile(r"""static_url\(\s*['"]([^'"]+)['"]\s*\)""")


@pytest.fixture
def database_url(sqlite_database_url: str) -> str:
    """Nothing here is about the database: the shared app and clients, on SQLite alone."""
    return sqlite_database_url


async def raw_get(client: httpx.AsyncClient, path: str, headers: dict[str, str]
                  ) -> tuple[httpx.Response, bytes]:
    """GET, and the body's bytes as sent: not decoded, whatever the encoding."""
    async with client.stream("GET", path, headers=headers) as r:
        return r, b"".join([chunk async for chunk in r.aiter_raw()])


# -- compression ------------------------------------------------------------------------------

async def test_pages_styles_scripts_and_json_are_compressed_when_the_client_accepts_gzip(
        clients: Clients):
    member = await sign_up(clients, "brightfern")
    gid, _ = await create_group(member)
    client = member.client
    for path in (f"/groups/{gid}", "/groups", "/help", "/settings", static_url("css/cairn.css"),
                 static_url("js/day.js"), "/static/js/live.js", "/api/v1/help/resources",
                 "/manifest.webmanifest", "/sw.js"):
        packed, packed_bytes = await raw_get(client, path, GZIP)
        plain, plain_bytes = await raw_get(client, path, IDENTITY)
        assert packed.status_code == plain.status_code == 200, path
        assert packed.headers["content-encoding"] == "gzip", path
        assert int(packed.headers["content-length"]) == len(packed_bytes), path
        assert "content-encoding" not in plain.headers, path
        assert int(plain.headers["content-length"]) == len(plain_bytes), path
        for r in (packed, plain):  # a cache keeps the two apart
            assert "accept-encoding" in r.headers["vary"].lower(), path
        body = gzip.decompress(packed_bytes)
        assert len(packed_bytes) * 2 < len(body), (path, len(packed_bytes), len(body))
        if path.startswith("/static/"):
            assert body == plain_bytes, path
        else:  # pages differ only by their per-answer CSRF tokens
            token = re.compile(rb'(name="csrf_token" value=|name="csrf-token" content=)"[\w-]+"')
            assert token.sub(b"", body) == token.sub(b"", plain_bytes), path
        # HEAD says what GET would send (a page's length moves with its token).
        head = await client.head(path, headers=GZIP)
        assert head.headers["content-encoding"] == "gzip", path
        if path.startswith("/static/"):
            assert head.headers["content-length"] == packed.headers["content-length"], path


async def test_small_answers_and_images_are_sent_as_they_are(clients: Clients):
    anon = clients.anonymous()
    for path in ("/healthz", "/static/icons/cairn-512.png", static_url("icons/favicon-32.png")):
        r, _ = await raw_get(anon, path, GZIP)
        assert r.status_code == 200, path
        assert "content-encoding" not in r.headers, path
    _, png = await raw_get(anon, "/static/icons/cairn-512.png", GZIP)
    assert png == (assets.DIRECTORY / "icons" / "cairn-512.png").read_bytes()


async def test_a_streamed_answer_goes_out_piece_by_piece_and_a_socket_passes_untouched():
    """What is streamed is not held back until the end: each piece is flushed, so the client
    can read it before the next is made. A websocket is handed on as it is, with no frame of
    the middleware kept for its lifetime."""
    first_sent = []

    async def streaming(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/calendar")]})
        await send({"type": "http.response.body", "body": b"BEGIN:VCALENDAR\r\n" * 64,
                    "more_body": True})
        first_sent.append(True)
        await send({"type": "http.response.body", "body": b"END:VCALENDAR\r\n", "more_body": False})

    seen: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.body" and not first_sent:
            # The first piece, complete and readable before the second is made.
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            assert inflater.decompress(message["body"]) == b"BEGIN:VCALENDAR\r\n" * 64
        seen.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"accept-encoding", b"gzip")]}
    await Compression(streaming)(scope, receive, send)
    start = seen[0]
    assert (b"content-encoding", b"gzip") in start["headers"]
    assert gzip.decompress(b"".join(m.get("body", b"") for m in seen[1:])) == (
        b"BEGIN:VCALENDAR\r\n" * 64 + b"END:VCALENDAR\r\n")

    handed_on = object()
    middleware = Compression(lambda scope, receive, send: handed_on)  # type: ignore[arg-type,return-value]
    assert middleware({"type": "websocket"}, receive, send) is handed_on


# -- static files by content ------------------------------------------------------------------

async def test_hashed_names_are_cached_for_a_year_and_serve_the_files_bytes(clients: Clients):
    anon = clients.anonymous()
    for name in ("css/cairn.css", "css/room.css", "js/page.js", "js/live.js", "js/day.js",
                 "js/room.js", "js/reminders.js", "icons/cairn.svg"):
        content = (assets.DIRECTORY / name).read_bytes()
        url = static_url(name)
        stem, suffix = name.rsplit(".", 1)
        assert re.fullmatch(rf"/static/{stem}\.[0-9a-f]{{12}}\.{suffix}", url), url
        r = await anon.get(url)
        assert r.status_code == 200, url
        assert r.headers["cache-control"] == IMMUTABLE == "public, max-age=31536000, immutable"
        assert r.content == content, url
        # Asked again by its validator, still a year.
        again = await anon.get(url, headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304 and again.headers["cache-control"] == IMMUTABLE
        # The plain name keeps working, cached briefly: the manifest's icons, old pages.
        plain = await anon.get(f"/static/{name}")
        assert plain.status_code == 200 and plain.content == content
        assert plain.headers["cache-control"] == BRIEFLY == "public, max-age=300"


async def test_a_compressed_file_has_a_weak_validator_and_still_answers_304(clients: Clients):
    """Its gzip bytes are not the plain file's: a strong ETag shared by both would promise
    they are. The weak one, sent back, still spares the download."""
    anon = clients.anonymous()
    url = static_url("css/cairn.css")
    plain = await anon.get(url, headers={"Accept-Encoding": "identity"})
    packed = await anon.get(url, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers and packed.headers["content-encoding"] == "gzip"
    strong = plain.headers["etag"]
    assert strong.startswith('"') and packed.headers["etag"] == f"W/{strong}"
    for validator in (packed.headers["etag"], strong):
        again = await anon.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": validator})
        assert again.status_code == 304, validator


async def test_another_releases_hash_is_not_found(clients: Clients):
    """Today's bytes under another release's name would be cached for a year as that
    release's file: a name the process does not know is a 404, never cached long."""
    anon = clients.anonymous()
    current = static_url("css/cairn.css")
    stale = re.sub(r"\.[0-9a-f]{12}\.", ".0123456789ab.", current)
    assert stale != current
    for path in (stale, "/static/css/cairn.0123456789ab.css", "/static/css/nothing.css"):
        r = await anon.get(path)
        assert r.status_code == 404, path
        assert "immutable" not in r.headers.get("cache-control", ""), path


def test_names_follow_the_content(tmp_path: Path):
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "site.min.css").write_bytes(b"body{}")
    (tmp_path / "README").write_bytes(b"x")
    made = Assets(tmp_path)
    assert made.url("css/site.min.css") == "/static/" + hashed_name("css/site.min.css", b"body{}")
    assert re.fullmatch(r"/static/css/site\.min\.[0-9a-f]{12}\.css", made.url("css/site.min.css"))
    assert re.fullmatch(r"/static/README\.[0-9a-f]{12}", made.url("README"))
    assert hashed_name("a.css", b"one") != hashed_name("a.css", b"two")
    with pytest.raises(LookupError):
        made.url("css/missing.css")


def test_pages_name_style_sheets_and_scripts_only_by_their_hashed_names():
    """Every template, and the pages Python writes itself, load style sheets and scripts by
    static_url(...), which names a file that exists."""
    problems = []
    sources = [*(ROOT / "web" / "templates").rglob("*.html"), *(ROOT / "web" / "templates").rglob("*.js"),
               *(ROOT / "server").rglob("*.py")]
    for path in sources:
        text = path.read_text("utf-8")
        problems += [f"{path.relative_to(ROOT)}: {m}" for m in PLAIN_REFERENCE.findall(text)]
        for name in STATIC_URL_CALL.findall(text):
            if name not in assets.assets().hashed:
                problems.append(f"{path.relative_to(ROOT)}: static_url({name!r}) names no file")
    assert not problems, "\n".join(problems)
    # The check finds what it is for.
    assert PLAIN_REFERENCE.findall('<script src="/static/js/day.js" defer></script>')
    assert PLAIN_REFERENCE.findall("<link href='/static/css/cairn.css'>")
    assert not PLAIN_REFERENCE.findall("# web/static/css/cairn.css, /static/icons/cairn.svg")
    assert not PLAIN_REFERENCE.findall('<script src="/static/js/day.0123456789ab.js" defer>')


async def test_every_page_loads_its_styles_and_scripts_by_hashed_name(clients: Clients):
    member = await sign_up(clients, "stillpond")
    page = (await member.client.get("/groups")).text
    assert f'<link rel="stylesheet" href="{static_url("css/cairn.css")}">' in page
    assert f'<script src="{static_url("js/page.js")}" defer></script>' in page
    assert not PLAIN_REFERENCE.findall(page)
