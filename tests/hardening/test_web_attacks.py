"""Web attacks on a live server: stored markup in every text a member can write comes back
escaped on every page and as plain text in every live frame; the JavaScript never turns
member text into HTML; a signed-out session is dead on sockets too; an oversized body is
refused before it is read, whatever Content-Length says.

(CSRF, session fixation, sign-out and sign-in throttling over HTTP are in
tests/test_pages.py and tests/test_accounts_api.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import socket
from typing import Any

import httpx
import pytest
import websockets

from tests.fixtures.clients import PASSWORD
from tests.fixtures.databases import ROOT
from tests.realtime.helpers import close_code, next_frame, remote_member, until_closed
from tests.roleplay.test_room_socket import connect

pytestmark = [pytest.mark.slow]

# What a page must never carry raw: the start of an element or handler from a payload.
RAW = re.compile(r"<script>x\(|<img src=x|<[a-z][^<>]*\sonerror=x\(|<svg/onload|</script><img|"
                 r"javascript:x", re.I)


def xss(mark: str, room: int = 80) -> str:
    """Markup that would run if a page or script put it in as HTML; `mark` finds it again."""
    payload = f'<script>x("{mark}")</script><img src=x onerror=x("{mark}")>"\'<svg/onload=x()>'
    return payload[:room]


def ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code in (200, 201), r.text
    return r.json()


async def test_stored_markup_is_text_on_every_page_and_in_every_frame(quick_room_server):
    base, ws_base = quick_room_server.url, quick_room_server.ws_url
    mod = await remote_member(base, "xmod", xss("dnm", 40))
    prac = await remote_member(base, "xprac", xss("dnp", 40))
    counter = await remote_member(base, "xcounter", xss("dnc", 40))
    group = ok(await mod.post("/api/v1/groups", {"name": xss("gn"), "description": xss("gd", 1000),
                                                 "capacity": 8}))
    gid = group["id"]
    written: dict[str, str] = {"dnm": xss("dnm", 40), "dnp": xss("dnp", 40), "dnc": xss("dnc", 40),
                               "gn": xss("gn"), "gd": xss("gd", 1000)}

    async with mod.socket(ws_base, gid) as watch:
        assert (await next_frame(watch))["type"] == "welcome"
        for m in (prac, counter):
            ok(await m.post("/api/v1/groups/join", {"invite_code": group["invite_code"],
                                                    "accept_agreement": True}))
        c = ok(await prac.post(f"/api/v1/groups/{gid}/commitments",
                               {"category": "boundary", "text": xss("ct", 200)}))
        ok(await prac.post(f"/api/v1/commitments/{c['id']}/checkin",
                           {"status": "partly", "note": xss("cn", 200), "feeling": 3}))
        cheer = ok(await counter.post(f"/api/v1/groups/{gid}/encouragements",
                                      {"kind": "proud", "text": xss("en", 200),
                                       "commitment_id": c["id"]}))
        written |= {"ct": xss("ct", 200), "cn": xss("cn", 200), "en": xss("en", 200)}
        frames = [await next_frame(watch) for _ in range(5)]
    # Live frames carry the words as they were written: plain JSON text, not HTML.
    by_kind = {f["kind"]: f for f in frames}
    joined = [f["data"]["display_name"] for f in frames if f["kind"] == "member.joined"]
    assert sorted(joined) == sorted([written["dnp"], written["dnc"]])
    assert by_kind["commitment.created"]["data"]["text"] == written["ct"]
    assert by_kind["commitment.checked_in"]["data"]["note"] == written["cn"]
    assert by_kind["encouragement.sent"]["data"]["text"] == written["en"]
    assert by_kind["encouragement.sent"]["actor"]["display_name"] == written["dnc"]

    # The role-play texts: a card of the group's own, a room title, a boundary, lines, feedback.
    card = {"title": xss("st"), "situation": xss("ss", 1000), "opening_line": xss("so", 500),
            "intensities": [xss("i1", 500), xss("i2", 500), xss("i3", 500)]}
    card_id = ok(await mod.post(f"/api/v1/groups/{gid}/scenarios", card))["id"]
    rid = ok(await mod.post(f"/api/v1/groups/{gid}/roleplays", {"title": xss("rt")}))["id"]
    written |= {"st": card["title"], "ss": card["situation"], "so": card["opening_line"],
                "i1": card["intensities"][0], "rt": xss("rt")}
    m, p, k = [await connect(x, ws_base, rid) for x in (mod, prac, counter)]
    try:
        for person in (m, p, k):
            await person.send("join")
        await m.until(lambda r: len(r["participants"]) == 3)
        await m.send("assign_role", user_id=prac.id, role="practitioner")
        await m.send("assign_role", user_id=counter.id, role="counterpart")
        await m.until(lambda r: r["roles"].get("counterpart") == counter.id)
        await m.send("advance")
        await p.until(lambda r: r["phase"] == "setup")
        await p.send("choose_scenario", scenario_id=card_id, intensity=1)
        await p.send("state_boundary", text=xss("bd", 300))
        room = await k.until(lambda r: r["boundary"] and r["scenario"])
        assert room["boundary"] == xss("bd", 300)
        assert room["scenario"]["counterpart_line"] == card["intensities"][0]
        await m.send("advance")
        await p.until(lambda r: r["phase"] == "scene")
        await k.send("say", text=xss("l1", 300))
        await p.send("say", text=xss("l2", 300))
        room = await m.until(lambda r: len(r["lines"]) == 2)
        assert sorted(line["text"] for line in room["lines"]) == [xss("l1", 300), xss("l2", 300)]
        await m.send("advance")
        await k.until(lambda r: r["phase"] == "feedback")
        await k.send("feedback", style="assertive", worked=xss("fw", 300), try_next=xss("fn", 300))
        await p.until(lambda r: len(r.get("my_feedback", [])) == 1)
        await p.send("save_homework")
        await asyncio.sleep(0.3)
        assert not (m.errors or p.errors or k.errors), (m.errors, p.errors, k.errors)
    finally:
        for person in (m, p, k):
            await person.ws.close()
            person.task.cancel()
    written |= {"bd": xss("bd", 300), "l1": xss("l1", 300), "l2": xss("l2", 300),
                "fw": xss("fw", 300), "fn": xss("fn", 300)}

    # Moderation texts: a report's reason, a hiding's reason, a mute's reason.
    ok(await counter.post(f"/api/v1/groups/{gid}/reports", {
        "target_type": "commitment", "target_id": c["id"], "reason": xss("rr", 200)}))
    ok(await mod.post(f"/api/v1/groups/{gid}/hidden", {
        "target_type": "encouragement", "target_id": cheer["data"]["encouragement_id"],
        "reason": xss("hr", 200)}))
    async with httpx.AsyncClient(base_url=base, headers=mod.headers) as http:
        ok(await http.put(f"/api/v1/groups/{gid}/members/{counter.id}/mute",
                          json={"minutes": 5, "reason": xss("mr", 200)}))
    written |= {"rr": xss("rr", 200), "hr": xss("hr", 200), "mr": xss("mr", 200)}

    today = dt.datetime.now(dt.UTC).date().isoformat()
    pages = ["/", "/help", "/groups", f"/groups/{gid}", f"/groups/{gid}?day={today}",
             f"/groups/{gid}/rooms/{rid}", f"/groups/{gid}/moderation", f"/groups/{gid}/audit",
             "/me/progress", "/settings"]
    seen = ""
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for who in (mod, prac, counter):
            for path in pages:
                r = await http.get(path, headers=who.headers)
                assert r.status_code in (200, 403, 404), (path, r.status_code)
                found = RAW.search(r.text)
                assert found is None, (path, r.text[max(0, found.start() - 200):found.end() + 100])
                seen += r.text
    # Each text is shown somewhere, so the check above looked at it.
    shown = {mark for mark in written if f"x(&#34;{mark}&#34;)" in seen
             or f'x(\\"{mark}\\")' in seen or f"x(&quot;{mark}&quot;)" in seen}
    # Hidden words are gone for everyone but their author; the mute reason is the moderators'.
    missing = set(written) - shown - {"hr", "mr", "en"}
    assert not missing, sorted(missing)


def test_the_javascript_inserts_text_never_html():
    """Member text reaches the page through textContent and attributes, or inside markup the
    server rendered (and escaped): live.js places the server's fragments, in one place, and
    no script builds HTML from data itself."""
    sinks = re.compile(r"\.(innerHTML|outerHTML)\s*[+]?=|insertAdjacentHTML|document\.write|"
                       r"\beval\s*\(|new\s+Function\s*\(|createContextualFragment|\.srcdoc\s*=|"
                       r"setAttribute\(\s*['\"]on", re.I)
    # The one sink: an inert <template> parsing a fragment from a frame's `html`.
    fragment_sink = ("live.js", 'template.innerHTML = html || "";')
    scripts = sorted((ROOT / "web" / "static" / "js").glob("*.js"))
    assert scripts
    found, allowed = [], []
    for path in scripts:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if sinks.search(line):
                where = allowed if (path.name, line.strip()) == fragment_sink else found
                where.append(f"{path.name}:{number}: {line.strip()}")
            # A link built from data must not be able to become javascript:.
            if re.search(r"\.href\s*=", line) and "javascript" in line.lower():
                found.append(f"{path.name}:{number}: {line.strip()}")
    assert not found, "HTML sinks in the JavaScript:\n" + "\n".join(found)
    assert len(allowed) == 1, allowed
    text_writes = sum(p.read_text().count("textContent") for p in scripts)
    assert text_writes > 10  # the scripts do write text, by the safe route


def test_fragments_are_rendered_with_autoescape():
    """What live.js places was rendered by Jinja with autoescape on: member words arrive as
    text even inside a fragment."""
    from server.groups import live

    card = live.Card(id=1, user_id=2, day="2026-11-30", step="care", category="rest",
                     author="<img src=x onerror=alert(1)>", own=False,
                     text="<script>alert(1)</script>")
    html = str(live._day().entry(live.Reader(gid=1, day="2026-11-30", moderator=True,
                                             receive_only=False), card))
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x" in html


async def test_a_signed_out_session_is_dead_on_sockets_at_once(live_server):
    base, ws_base = live_server.url, live_server.ws_url
    a = await remote_member(base, "leaving", "Leaving")
    b = await remote_member(base, "staying", "Staying")
    group = ok(await a.post("/api/v1/groups", {"name": "Circle"}))
    ok(await b.post("/api/v1/groups/join", {"invite_code": group["invite_code"],
                                            "accept_agreement": True}))
    gid = group["id"]
    async with a.socket(ws_base, gid) as open_socket, b.socket(ws_base, gid) as other:
        assert (await next_frame(open_socket))["type"] == "welcome"
        assert (await next_frame(other))["type"] == "welcome"
        r = await a.post("/api/v1/auth/logout")
        assert r.status_code == 204
        # The socket opened before is closed at once, with nothing more sent to it.
        frames, code = await until_closed(open_socket)
        assert code == 4401 and [f for f in frames if f["type"] == "event"] == []
        # The other member's socket carries on.
        await other.send('{"type":"ping"}')
        assert (await next_frame(other))["type"] == "pong"
    # Neither the token nor the same value as a cookie opens a socket any more.
    async with websockets.connect(f"{ws_base}/ws/groups/{gid}", additional_headers=a.headers) as ws:
        assert await close_code(ws) == 4401
    async with websockets.connect(f"{ws_base}/ws/groups/{gid}", additional_headers={
            "Cookie": f"cairn_session={a.token}", "Origin": base}) as ws:
        assert await close_code(ws) == 4401
    async with httpx.AsyncClient(base_url=base) as http:
        assert (await http.get("/api/v1/me", headers=a.headers)).status_code == 401
    async with httpx.AsyncClient(base_url=base, cookies={"cairn_session": a.token}) as browser:
        page = await browser.get("/groups")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
    events = ok(await b.get(f"/api/v1/groups/{gid}/commitments"))
    assert events == []  # the refused command wrote nothing


def _raw_request(port: int, head: bytes, body_chunks: list[bytes], pause: float = 0.0) -> tuple[
        bytes, int]:
    """Send a request by hand; the answer, and how many body bytes went out before it came."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head)
        s.settimeout(0.05)
        answer = b""
        for chunk in body_chunks:
            with contextlib.suppress(TimeoutError):
                answer += s.recv(65536)
            if answer:
                break
            try:
                s.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        s.settimeout(10)
        try:
            while b"\r\n\r\n" not in answer:
                data = s.recv(65536)
                if not data:
                    break
                answer += data
        except (ConnectionResetError, TimeoutError):
            pass
    return answer, sent


def test_oversized_bodies_are_refused_before_they_are_read(live_server):
    port = live_server.port
    a = httpx.post(f"{live_server.url}/api/v1/auth/register",
                   json={"username": "bigsender", "password": PASSWORD})
    assert a.status_code == 201
    token = httpx.post(f"{live_server.url}/api/v1/auth/login",
                       json={"username": "bigsender", "password": PASSWORD}).json()["token"]
    auth = f"Authorization: Bearer {token}\r\n".encode()
    limit = 64 * 1024
    mib = 1024 * 1024

    # An honest Content-Length of 8 MiB: refused at once, nothing of the body read.
    head = (b"POST /api/v1/groups HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + auth + f"Content-Length: {8 * mib}\r\n\r\n".encode())
    answer, sent = _raw_request(port, head, [b"x" * 65536] * 128)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 2 * mib, sent

    # Chunked, with no length at all: refused once the limit is passed, long before 8 MiB.
    head = (b"POST /api/v1/groups HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + auth + b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (16384, b"x" * 16384)
    answer, sent = _raw_request(port, head, [chunk] * 512)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 2 * mib, sent

    # A Content-Length that lies low, followed by far more: the server reads only what it
    # was promised and answers that (a 4xx), never the rest as a body.
    head = (b"POST /api/v1/groups HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + auth + b"Content-Length: 10\r\n\r\n")
    answer, sent = _raw_request(port, head, [b'{"name": "' + b"x" * (limit * 4)])
    assert re.match(rb"HTTP/1.1 4\d\d", answer), answer[:200]

    # Over the form pages too.
    head = (b"POST /groups HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + auth + b"Transfer-Encoding: chunked\r\n\r\n")
    answer, sent = _raw_request(port, head, [chunk] * 512)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 2 * mib, sent
    # The server is well afterwards.
    assert httpx.get(f"{live_server.url}/healthz").status_code == 200
    groups = httpx.get(f"{live_server.url}/api/v1/groups",
                       headers={"Authorization": f"Bearer {token}"}).json()
    assert groups == []


@pytest.mark.browser
async def test_live_updates_in_a_browser_stay_text(live_server):
    """A member's page in Chromium while others write markup: it shows up as words, and no
    element from it ever enters the page."""
    from playwright.async_api import async_playwright

    from tests.browser.test_foundation_browser import CHROMIUM, CHROMIUM_ARGS, need_chromium

    need_chromium()
    base = live_server.url
    viewer = await remote_member(base, "viewer", "Viewer")
    writer = await remote_member(base, "writer", xss("lw", 40))
    group = ok(await viewer.post("/api/v1/groups", {"name": "Live circle"}))
    gid = group["id"]
    injected = ("document.querySelectorAll('main img[src=\"x\"], main svg[onload], "
                "main script:not([src]):not([type]), [onerror]').length")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context()
            await context.add_cookies([{"name": "cairn_session", "value": viewer.token,
                                        "url": base}])
            page = await context.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda d: dialogs.append(d.message))
            await page.goto(f"{base}/groups/{gid}")
            await asyncio.sleep(1)  # the page's socket opens
            ok(await writer.post("/api/v1/groups/join", {"invite_code": group["invite_code"],
                                                         "accept_agreement": True}))
            c = ok(await writer.post(f"/api/v1/groups/{gid}/commitments",
                                     {"category": "rest", "text": xss("lc", 200)}))
            ok(await writer.post(f"/api/v1/commitments/{c['id']}/checkin",
                                 {"status": "done", "note": xss("ln", 200)}))
            ok(await writer.post(f"/api/v1/groups/{gid}/encouragements",
                                 {"kind": "proud", "text": xss("le", 200), "to_user_id": viewer.id}))
            for mark in ("lc", "ln", "le"):
                await page.wait_for_function("t => document.body.textContent.includes(t)",
                                             arg=xss(mark, 200), timeout=10_000)
            await page.wait_for_function("t => document.body.textContent.includes(t)",
                                         arg=xss("lw", 40), timeout=10_000)
            assert await page.evaluate(injected) == 0
            assert dialogs == []
            html = await page.content()
            assert RAW.search(html) is None
        finally:
            await browser.close()
