"""How tall the group's day and the practice room are, and how much HTML they send: each page's
full height in CSS pixels in Chromium at a phone's and a desktop's width, and the size of its
HTML (as sent, and gzipped for information), for three readers of one busy group.

    python -m bench.page_sizes                           # this checkout
    python -m bench.page_sizes --json sizes.json         # also write the figures
    python -m bench.page_sizes --beside ../old-checkout  # the same, side by side with
                                                         # another checkout's code
    python -m bench.page_sizes --html pages/             # also keep each page's HTML

The group: 12 members (capacity 12), 3 commitments each for today, about half checked in with
a short note, a few encouragements with notes, and a practice room open with half the group
joined. Everything is written through the public JSON API and the room's socket, on a fresh
SQLite database migrated by the checkout measured. The readers: the moderator, a member, and
a member who has chosen to receive only. Height is `document.documentElement.scrollHeight`
once the page's live connection says live.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import websockets

from bench.common import LOAD_CORE, ROOT, Server, cairn_server, create_database, pin_to

T = TypeVar("T")

PASSWORD = "a quiet river bend"  # noqa: S105 - the seeded members' password
CHROMIUM = os.environ.get("CAIRN_BENCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
SESSION_COOKIE = "cairn_session"
MEMBERS = 12
ROOM_JOINERS = 6  # the moderator and five members

NAMES = ["Robin", "Sam", "Alex", "Jordan", "Priya", "Tomás", "Mei", "Noor", "Kofi", "Ines",
         "Dana", "Lukas"]
# (category, text): 36 commitments of 40-120 characters, three per member.
COMMITMENTS = [
    ("water", "Drink a full glass of water before my first coffee, and another with lunch"),
    ("rest", "Take a proper lunch break away from my desk, phone in my bag"),
    ("boundary", "Say no to the extra shift on Saturday without explaining myself three times"),
    ("sleep", "Lights out by eleven, with the phone charging in the kitchen, not by the bed"),
    ("movement", "Walk around the park after work, even if it is only one lap"),
    ("closeness", "Call my sister back and actually listen instead of planning what to say"),
    ("nourishing_food", "Cook a real dinner with vegetables instead of eating crackers standing up"),
    ("self_soothing", "Ten minutes of slow breathing on the balcony when the afternoon dip comes"),
    ("assertive_communication", "Tell my manager the deadline on Friday is not realistic, "
                                "and propose Tuesday"),
    ("play", "Play the piano for twenty minutes just for fun, no practising scales"),
    ("water", "Keep the big bottle on my desk and finish it by four o'clock"),
    ("boundary", "Leave the group chat on mute during dinner with the kids"),
    ("rest", "Sit down with a cup of tea and do nothing for fifteen minutes after I get home"),
    ("closeness", "Have breakfast with my partner at the table instead of apart on our phones"),
    ("sleep", "No screens in the last half hour before bed; read the library book instead"),
    ("movement", "Stretch my back and shoulders for ten minutes between the morning meetings"),
    ("assertive_communication", "Ask my flatmate calmly to do the dishes he left since Sunday"),
    ("self_soothing", "Take a warm shower and put on the soft jumper when I feel wound up"),
    ("nourishing_food", "Pack a lunch the night before so I do not skip eating again tomorrow"),
    ("play", "Do the crossword with my dad on the phone, the way we used to"),
    ("boundary", "Not answer work email after seven, and leave the laptop closed in the bag"),
    ("water", "A glass of water every time I refill the kettle"),
    ("rest", "Lie down for twenty minutes after the school run instead of cleaning right away"),
    ("closeness", "Write a short message to an old friend I have been meaning to reach for months"),
    ("movement", "Cycle to work instead of taking the bus if it is not pouring with rain"),
    ("sleep", "Get up at the same time as on weekdays, even though it is my day off"),
    ("assertive_communication", "Tell my mother I will visit on Sunday, not Saturday, "
                                "and keep it short"),
    ("self_soothing", "Listen to the album I love with headphones on, eyes closed, all the way"),
    ("nourishing_food", "Eat a proper breakfast: porridge with fruit, sitting down"),
    ("play", "Draw something silly in the notebook during the train ride home"),
    ("boundary", "Keep Sunday morning for myself and not agree to help with the move"),
    ("water", "Drink water instead of the third coffee this afternoon"),
    ("rest", "Take the full hour of lunch and eat it outside on the bench by the river"),
    ("closeness", "Hug the kids properly before school instead of rushing them out the door"),
    ("movement", "Do the short yoga video in the living room before breakfast"),
    ("self_soothing", "When the worry comes back tonight, write it down and close the notebook"),
]
NOTES = ["Done, and it felt good.", "Harder than I thought, but I did it.",
         "Only partly: the afternoon got away from me.", "Yes! First time this week.",
         "Did it, though I had to remind myself twice.", "Small win, still counts."]
CHEERS = [("proud", "So proud of you for saying no, that takes real courage."),
          ("proud", "That is a big one. Well done for sticking with it."),
          ("proud", "Love this. I am going to try the same tomorrow."),
          ("proud", "You did it even on a hard day, that matters."),
          ("proud", "Cheering for you from here!")]


@dataclass
class Person:
    name: str
    token: str
    user_id: int


@dataclass
class Seeded:
    gid: int
    rid: int
    readers: dict[str, Person]  # "moderator", "member", "receive-only"


# -- the database and the server, from the checkout measured ---------------------------------

# -- seeding, through the public API --------------------------------------------------------

async def _ok(response: httpx.Response) -> dict:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.method} {response.request.url.path}: "
                           f"{response.status_code} {response.text}")
    return response.json() if response.content else {}


def _auth(person: Person) -> dict[str, str]:
    return {"Authorization": f"Bearer {person.token}"}


async def _person(client: httpx.AsyncClient, i: int) -> Person:
    username = f"{NAMES[i].lower().replace('á', 'a')}{i}"
    await _ok(await client.post("/api/v1/auth/register", json={
        "username": username, "password": PASSWORD, "display_name": NAMES[i]}))
    body = await _ok(await client.post("/api/v1/auth/login",
                                       json={"username": username, "password": PASSWORD}))
    return Person(NAMES[i], body["token"], body["user"]["id"])


async def _join_room(server: Server, people: list[Person], rid: int) -> None:
    """Each joins the room over its socket; sockets close once the room counts them all."""
    sockets = []
    try:
        for person in people:
            ws = await websockets.connect(f"{server.ws_url}/ws/roleplays/{rid}",
                                          additional_headers=_auth(person), open_timeout=10)
            sockets.append(ws)
            await ws.send(json.dumps({"type": "join"}))
        watcher = sockets[0]
        while True:  # the room's frames until one shows everyone joined
            frame = json.loads(await asyncio.wait_for(watcher.recv(), 30))
            if len(frame.get("participants") or []) >= len(people):
                return
    finally:
        for ws in sockets:
            await ws.close()


async def seed(server: Server) -> Seeded:
    base = f"http://127.0.0.1:{server.port}"
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        people = list(await asyncio.gather(*(_person(client, i) for i in range(MEMBERS))))
        moderator = people[0]
        group = await _ok(await client.post("/api/v1/groups", headers=_auth(moderator), json={
            "name": "Tuesday evening circle", "capacity": MEMBERS}))
        gid = group["id"]
        for person in people[1:]:
            await _ok(await client.post("/api/v1/groups/join", headers=_auth(person), json={
                "invite_code": group["invite_code"], "accept_agreement": True}))
        commitments: list[tuple[Person, int]] = []
        for n, (category, text) in enumerate(COMMITMENTS):
            person = people[n // 3]
            c = await _ok(await client.post(f"/api/v1/groups/{gid}/commitments",
                                            headers=_auth(person),
                                            json={"category": category, "text": text}))
            commitments.append((person, c["id"]))
        for n, (person, cid) in enumerate(commitments):
            if n % 2 == 0:  # about half checked in
                await _ok(await client.post(f"/api/v1/commitments/{cid}/checkin",
                                            headers=_auth(person),
                                            json={"status": "done", "note": NOTES[n % len(NOTES)]}))
        for n, (kind, text) in enumerate(CHEERS):  # a few, each from the next person along
            owner, cid = commitments[n * 7 % len(commitments)]
            giver = people[(people.index(owner) + 1) % MEMBERS]
            await _ok(await client.post(f"/api/v1/groups/{gid}/encouragements",
                                        headers=_auth(giver),
                                        json={"kind": kind, "text": text, "commitment_id": cid}))
        room = await _ok(await client.post(f"/api/v1/groups/{gid}/roleplays",
                                           headers=_auth(moderator),
                                           json={"title": "Thursday practice"}))
        rid = room["room_id"]
        await _join_room(server, people[:ROOM_JOINERS], rid)
        quiet = people[2]  # chooses to receive only, after writing their day
        await _ok(await client.patch("/api/v1/me", headers=_auth(quiet),
                                     json={"receive_only": True}))
    return Seeded(gid, rid, {"moderator": moderator, "member": people[1], "receive-only": quiet})


# -- measuring -------------------------------------------------------------------------------

async def measure(server: Server, seeded: Seeded, keep: Path | None = None) -> list[dict]:
    from playwright.async_api import async_playwright

    base = f"http://127.0.0.1:{server.port}"
    pages = {"day": (f"/groups/{seeded.gid}", "#live-status"),
             "room": (f"/groups/{seeded.gid}/rooms/{seeded.rid}", "#room-connection")}
    rows = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as client, async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                          args=CHROMIUM_ARGS)
        try:
            for page_name, (path, status) in pages.items():
                for reader, person in seeded.readers.items():
                    r = await client.get(path, cookies={SESSION_COOKIE: person.token})
                    if r.status_code != 200:
                        raise RuntimeError(f"GET {path} as {reader}: {r.status_code}")
                    html = r.content
                    if keep is not None:
                        (keep / f"{page_name}-{reader}.html").write_bytes(html)  # noqa: ASYNC240
                    for viewport_name, viewport in VIEWPORTS.items():
                        context = await browser.new_context(viewport=viewport)
                        await context.add_cookies([{"name": SESSION_COOKIE, "value": person.token,
                                                    "url": base}])
                        page = await context.new_page()
                        await page.goto(base + path)
                        await page.wait_for_selector(f'{status}[data-state="live"]',
                                                     state="attached", timeout=15000)
                        await page.evaluate("document.fonts.ready.then(() => true)")
                        height = await page.evaluate("document.documentElement.scrollHeight")
                        await context.close()
                        rows.append({"page": page_name, "reader": reader,
                                     "viewport": viewport_name, "height_px": height,
                                     "html_bytes": len(html),
                                     "gzip_bytes": len(gzip.compress(html, 6))})
        finally:
            await browser.close()
    return rows


def on_seeded_tree(tree: Path, measure_: Callable[[Server, Seeded], Awaitable[T]],
                   db: str = "sqlite") -> T:
    """Serve the checkout `tree` on a new database of kind `db` ("sqlite" or "postgres"),
    seed it through the API, and measure it; everything made is removed afterwards."""
    database = create_database(db, tree)
    folder = Path(tempfile.mkdtemp(prefix="cairn-pages-"))
    server = cairn_server(database.url, folder)
    server.cwd = tree  # `python -m` imports the package from the working directory
    try:
        server.start()
        try:
            return asyncio.run(_seed_then(server, measure_))
        finally:
            server.stop()
    finally:
        database.drop()
        shutil.rmtree(folder, ignore_errors=True)


async def _seed_then(server: Server, measure_: Callable[[Server, Seeded], Awaitable[T]]) -> T:
    return await measure_(server, await seed(server))


def run(tree: Path, keep: Path | None = None) -> list[dict]:
    return on_seeded_tree(tree, lambda server, seeded: measure(server, seeded, keep))


# -- output ----------------------------------------------------------------------------------

def _key(row: dict) -> tuple[str, str, str]:
    return row["page"], row["reader"], row["viewport"]


def table(runs: dict[str, list[dict]]) -> str:
    labels = list(runs)
    head = f"{'page':5} {'reader':13} {'viewport':9}"
    for label in labels:
        head += f" | {label + ' height px':>16} {'HTML bytes':>11} {'gzip bytes':>10}"
    lines = [head, "-" * len(head)]
    by_label = {label: {_key(r): r for r in rows} for label, rows in runs.items()}
    for key in (_key(r) for r in runs[labels[-1]]):
        line = f"{key[0]:5} {key[1]:13} {key[2]:9}"
        for label in labels:
            r = by_label[label].get(key)
            if r is None:
                line += f" | {'-':>16} {'-':>11} {'-':>10}"
            else:
                line += f" | {r['height_px']:>16,} {r['html_bytes']:>11,} {r['gzip_bytes']:>10,}"
        lines.append(line)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--beside", type=Path, default=None,
                        help="another checkout whose pages are measured right before this one's")
    parser.add_argument("--html", type=Path, default=None,
                        help="a folder to keep each page's HTML in (this checkout's)")
    args = parser.parse_args()
    if not os.access(CHROMIUM, os.X_OK):
        sys.exit(f"no Chromium at {CHROMIUM} (set CAIRN_BENCH_CHROMIUM)")
    pin_to(LOAD_CORE)
    runs: dict[str, list[dict]] = {}
    if args.beside is not None:
        runs["beside"] = run(args.beside.resolve())
    if args.html is not None:
        args.html.mkdir(parents=True, exist_ok=True)
    runs["this"] = run(ROOT, args.html)
    print(table(runs))
    if args.json is not None:
        with contextlib.suppress(FileExistsError):
            args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(runs, indent=2) + "\n")


if __name__ == "__main__":
    main()
