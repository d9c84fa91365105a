"""docker-compose.yml's topology with native processes: deploy/nginx.conf (TLS, websocket
upgrades) in front of two Cairn processes on PostgreSQL and Redis that migrate as they start.
Requests, sockets and a browser go through the proxy, and a rolling restart of both app
processes loses and duplicates nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import websockets
from sqlalchemy.engine import make_url

from tests.deploy.common import NGINX_CONF
from tests.fixtures.clients import PASSWORD
from tests.fixtures.databases import (
    REDIS_URL,
    REQUIRE_SERVICES,
    ROOT,
    create_postgres_database,
    drop_postgres_database,
    need_postgres,
    need_redis,
)
from tests.fixtures.servers import METRICS_HEADERS, METRICS_TOKEN, LiveServer, free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

NGINX = os.environ.get("CAIRN_TEST_NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
CHROMIUM = os.environ.get("CAIRN_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FIRST_MIGRATION = re.compile(r"Running upgrade\s+->")


def need(tool: str, path: str | None) -> str:
    if path and os.access(path, os.X_OK):
        return path
    reason = f"no {tool} found (Debian: apt-get install nginx-light openssl)"
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason}, and CAIRN_TEST_REQUIRE_SERVICES=1")
    pytest.skip(reason)


# -- the processes ----------------------------------------------------------------------------

@dataclass
class AppProcess(LiveServer):
    """`cairn serve` as the container runs it: migrations first, then uvicorn."""

    def launch(self) -> None:
        env = {**os.environ, "CAIRN_DATABASE_URL": self.database_url, "CAIRN_LOG_LEVEL": "info",
               "CAIRN_HOST": "127.0.0.1", "CAIRN_PORT": str(self.port), **self.env}
        log = open(self.log_path, "ab")  # noqa: SIM115 - the process holds it
        self.process = subprocess.Popen([sys.executable, "-m", "server.cli", "serve"], cwd=ROOT,
                                        env=env, stdout=log, stderr=log)
        log.close()

    def wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"app did not start in time:\n{self.log_tail()}")

    def start(self, timeout: float = 30) -> AppProcess:
        self.launch()
        self.wait_healthy(timeout)
        return self

    def log_tail(self) -> str:
        return self.log_path.read_text("utf-8", "replace")[-3000:]

    def proxied_requests(self) -> int:
        """Requests this process answered, leaving out our own /healthz and /metrics polls."""
        text = httpx.get(self.url + "/metrics", headers=METRICS_HEADERS, timeout=5).text
        total = 0.0
        for line in text.splitlines():
            if line.startswith("cairn_request_duration_seconds_count{"):
                route = re.search(r'route="([^"]*)"', line).group(1)
                if route not in ("/healthz", "/metrics"):
                    total += float(line.rsplit(" ", 1)[1])
        return int(total)


@dataclass
class Proxy:
    """nginx running deploy/nginx.conf as it is, but for addresses, ports and paths."""

    prefix: Path
    app_ports: list[int]
    http_port: int = field(default_factory=free_port)
    https_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def ws_origin(self) -> str:
        return f"wss://127.0.0.1:{self.https_port}"

    def site_config(self) -> str:
        text = NGINX_CONF.read_text("utf-8")
        swaps = {
            "server app1:8000 ": f"server 127.0.0.1:{self.app_ports[0]} ",
            "server app2:8000 ": f"server 127.0.0.1:{self.app_ports[1]} ",
            "listen 80;": f"listen 127.0.0.1:{self.http_port};",
            "listen 443 ssl;": f"listen 127.0.0.1:{self.https_port} ssl;",
            "/etc/letsencrypt/live/cairn/fullchain.pem;": f"{self.prefix}/tls/fullchain.pem;",
            "/etc/letsencrypt/live/cairn/privkey.pem;": f"{self.prefix}/tls/privkey.pem;",
            "root /var/www/acme;": f"root {self.prefix}/acme;",
        }
        for old, new in swaps.items():
            assert text.count(old) == 1, f"deploy/nginx.conf changed shape: {old!r}"
            text = text.replace(old, new)
        return text

    def main_config(self) -> str:
        p = self.prefix
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers need to reach the temp paths
        temp = "".join(f"    {kind}_temp_path {p}/temp/{kind};\n"
                       for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        return (f"{user}daemon off;\nworker_processes 1;\npid {p}/nginx.pid;\n"
                f"error_log {p}/error.log info;\nevents {{ worker_connections 1024; }}\n"
                f"http {{\n    access_log {p}/access.log;\n{temp}    include {p}/cairn.conf;\n}}\n")

    def start(self) -> Proxy:
        for folder in ("tls", "acme", "temp"):
            (self.prefix / folder).mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-keyout", str(self.prefix / "tls" / "privkey.pem"),
             "-out", str(self.prefix / "tls" / "fullchain.pem")],
            check=True, capture_output=True)
        (self.prefix / "cairn.conf").write_text(self.site_config(), "utf-8")
        (self.prefix / "nginx.conf").write_text(self.main_config(), "utf-8")
        config = ["-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf"),
                  "-e", str(self.prefix / "error.log")]
        checked = subprocess.run([NGINX, "-t", *config], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        self.process = subprocess.Popen([NGINX, *config], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.error_log()
            try:
                if httpx.get(f"http://127.0.0.1:{self.http_port}/proxy-health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not start:\n{self.error_log()}")

    def reload(self) -> None:
        """`nginx -s reload`: new workers read the configuration again (and, in compose,
        resolve app1 and app2 afresh); old ones finish the connections they hold."""
        self.process.send_signal(signal.SIGHUP)

    def error_log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text("utf-8", "replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.prefix / "tls" / "fullchain.pem"))


@dataclass
class Topology:
    database_url: str
    apps: list[AppProcess]
    proxy: Proxy


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    need("nginx", NGINX)
    need("openssl", shutil.which("openssl"))
    need_postgres()
    need_redis()
    folder = tmp_path_factory.mktemp("topology")
    url = create_postgres_database()  # empty: the apps migrate it as they start
    apps: list[AppProcess] = []
    proxy = Proxy(folder / "nginx", [free_port(), free_port()])
    env = {"CAIRN_ENV": "production", "CAIRN_SECRET_KEY": "s" * 48, "CAIRN_REDIS_URL": REDIS_URL,
           "CAIRN_REDIS_PREFIX": f"cairn-test-{uuid.uuid4().hex[:8]}",
           "CAIRN_ALLOWED_ORIGINS": proxy.origin, "CAIRN_ENCOURAGEMENTS_PER_MINUTE": "100000",
           "CAIRN_PRUNE_INTERVAL_MINUTES": "0", "CAIRN_METRICS_TOKEN": METRICS_TOKEN}
    try:
        apps = [AppProcess(url, env=env, port=port, log_path=folder / f"app{i + 1}.log")
                for i, port in enumerate(proxy.app_ports)]
        for app in apps:  # both at once, as two containers would
            app.launch()
        for app in apps:
            app.wait_healthy()
        proxy.start()
        yield Topology(url, apps, proxy)
    finally:
        proxy.stop()
        for app in apps:
            app.stop()
        drop_postgres_database(url)


# -- clients through the proxy ----------------------------------------------------------------

@dataclass
class Member:
    user: dict
    token: str
    cookie: str

    @property
    def id(self) -> int:
        return self.user["id"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def client(topology: Topology, **kw) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=topology.proxy.origin, verify=topology.proxy.tls(),
                             timeout=15, **kw)


async def sign_up(topology: Topology, name: str | None = None) -> Member:
    name = name or f"p{uuid.uuid4().hex[:10]}"
    async with client(topology) as c:
        r = await c.post("/api/v1/auth/register", json={"username": name, "password": PASSWORD,
                                                        "display_name": name.title()})
        assert r.status_code == 201, r.text
        r = await c.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return Member(r.json()["user"], r.json()["token"], r.headers["set-cookie"])


async def start_group(topology: Topology, moderator: Member, *members: Member) -> int:
    async with client(topology) as c:
        r = await c.post("/api/v1/groups", json={"name": "Proxy circle", "capacity": 20},
                         headers=moderator.headers)
        assert r.status_code == 201, r.text
        group = r.json()
        for m in members:
            r = await c.post("/api/v1/groups/join", json={"invite_code": group["invite_code"],
                                                          "accept_agreement": True}, headers=m.headers)
            assert r.status_code == 200, r.text
    return group["id"]


def open_socket(topology: Topology, member: Member, gid: int, last_seq: int | None = None,
                epoch: str | None = None, **kw):
    url = f"{topology.proxy.ws_origin}/ws/groups/{gid}"
    if last_seq is not None:
        url += f"?last_seq={last_seq}" + (f"&epoch={epoch}" if epoch else "")
    kw.setdefault("additional_headers", member.headers)
    return websockets.connect(url, ssl=topology.proxy.tls(), open_timeout=10, **kw)


async def next_frame(ws, timeout: float = 5) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if frame["type"] != "presence":
            return frame


async def committed_seqs(database_url: str, gid: int, kind: str | None = None) -> list[int]:
    u = make_url(database_url)
    conn = await asyncpg.connect(host=u.host, port=u.port or 5432, user=u.username,
                                 password=u.password, database=u.database)
    try:
        rows = await conn.fetch("SELECT seq FROM events WHERE group_id = $1 AND ($2::text IS NULL "
                                "OR kind = $2) ORDER BY seq", gid, kind)
        return [r["seq"] for r in rows]
    finally:
        await conn.close()


# -- the tests --------------------------------------------------------------------------------

def test_both_apps_migrate_once_and_serve_through_the_proxy(topology):
    logs = [app.log_path.read_text("utf-8") for app in topology.apps]
    assert sum(len(FIRST_MIGRATION.findall(log)) for log in logs) == 1, (
        "both processes ran the first migration: the advisory lock did not hold")
    proxy = topology.proxy
    with httpx.Client(base_url=proxy.origin, verify=proxy.tls(), timeout=10) as c:
        ready = c.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}
        landing = c.get("/")
        assert landing.status_code == 200 and "text/html" in landing.headers["content-type"]
        assert landing.headers["strict-transport-security"].startswith("max-age=")
        assert landing.headers["x-content-type-options"] == "nosniff"  # Cairn's own headers pass
        # The proxy compresses pages and style sheets (Cairn is asked for them plain), and
        # passes on how long a style sheet by its hashed name may be kept.
        assert landing.headers["content-encoding"] == "gzip"
        assert "accept-encoding" in landing.headers["vary"].lower()
        sheet = c.get(re.search(r'<link rel="stylesheet" href="([^"]+)"', landing.text).group(1))
        assert sheet.status_code == 200 and sheet.headers["content-encoding"] == "gzip"
        assert sheet.headers["etag"].startswith('W/"')  # nginx's mark: it compressed, not Cairn
        assert sheet.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert c.get("/metrics").status_code == 404
        before = [app.proxied_requests() for app in topology.apps]
        for _ in range(8):
            assert c.get("/api/v1/help/resources").status_code == 200
        after = [app.proxied_requests() for app in topology.apps]
        assert all(a > b for a, b in zip(after, before, strict=True)), "one app got no requests"
        # Cairn sees the request came over https (X-Forwarded-Proto), so the cookie is Secure.
        name = f"p{uuid.uuid4().hex[:10]}"
        c.post("/api/v1/auth/register", json={"username": name, "password": PASSWORD})
        login = c.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        assert login.status_code == 200 and "secure" in login.headers["set-cookie"].lower()
    plain = httpx.get(f"http://127.0.0.1:{proxy.http_port}/groups?x=1", timeout=5)
    assert plain.status_code == 301
    assert plain.headers["location"] == "https://127.0.0.1/groups?x=1"
    for app in topology.apps:
        assert "cairn_open_sockets" in httpx.get(app.url + "/metrics", headers=METRICS_HEADERS,
                                                 timeout=5).text


@contextlib.asynccontextmanager
async def a_cheer_arrives_live(topology: Any) -> AsyncIterator[tuple[Member, Member, int, Any, Any, dict]]:
    """Two new members of a new group, each with a socket through the proxy (this topology's
    or compose's); the second's cheer arrives live on the first's socket. Yields them, the
    group, both sockets and the cheer's frame."""
    a, b = await sign_up(topology), await sign_up(topology)
    gid = await start_group(topology, a, b)
    async with open_socket(topology, a, gid) as wa, open_socket(topology, b, gid) as wb:
        assert (await next_frame(wa))["type"] == "welcome"
        assert (await next_frame(wb))["type"] == "welcome"
        await wb.send(json.dumps({"type": "encourage", "kind": "proud", "to_user_id": a.id}))
        cheer = await next_frame(wa)
        assert cheer["kind"] == "encouragement.sent" and cheer["data"]["to_user_id"] == a.id
        assert cheer["actor"]["id"] == b.id
        yield a, b, gid, wa, wb, cheer


async def test_sockets_through_the_proxy_get_live_events(topology):
    async with a_cheer_arrives_live(topology) as (a, b, gid, wa, wb, by_socket):
        async with client(topology) as c:
            r = await c.post(f"/api/v1/groups/{gid}/encouragements",
                             json={"kind": "with_you", "text": "through nginx"}, headers=a.headers)
        assert r.status_code == 201
        for ws in (wa, wb):
            frame = await next_frame(ws)
            if frame["seq"] == by_socket["seq"]:  # b's own encouragement comes back to b first
                frame = await next_frame(ws)
            assert frame["data"]["text"] == "through nginx" and frame["seq"] == by_socket["seq"] + 1
        await wa.send(json.dumps({"type": "ping"}))
        assert (await next_frame(wa))["type"] == "pong"
    # The session cookie works through the proxy from the site's own origin, and only there.
    cookie = {"Cookie": a.cookie.split(";", 1)[0]}
    async with open_socket(topology, a, gid, additional_headers=cookie,
                           origin=topology.proxy.origin) as ws:
        assert (await next_frame(ws))["type"] == "welcome"
    async with open_socket(topology, a, gid, additional_headers=cookie,
                           origin="https://elsewhere.example") as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await next_frame(ws)
        assert closed.value.rcvd.code == 1008


class Reader:
    """A member's socket through the proxy that records every event and, whenever it drops,
    resumes with last_seq, as the page's script does."""

    def __init__(self, topology: Topology, member: Member, gid: int) -> None:
        self.topology, self.member, self.gid = topology, member, gid
        self.seqs: list[int] = []
        self.reconnects = 0
        self.longest_gap = 0.0
        self.connected = asyncio.Event()
        self._stop = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        lost_at, up = 0.0, False
        while not self._stop.is_set():
            try:
                async with open_socket(self.topology, self.member, self.gid,
                                       last_seq=self.seqs[-1] if self.seqs else None) as ws:
                    welcome = await next_frame(ws)
                    assert welcome["type"] == "welcome" and welcome["recovered"], welcome
                    if self.connected.is_set():
                        self.longest_gap = max(self.longest_gap, time.monotonic() - lost_at)
                    up = True
                    self.connected.set()
                    while not self._stop.is_set():
                        try:
                            frame = json.loads(await asyncio.wait_for(ws.recv(), 0.2))
                        except TimeoutError:
                            continue
                        if frame["type"] == "event":
                            self.seqs.append(frame["seq"])
            except (OSError, websockets.ConnectionClosed, websockets.InvalidHandshake, TimeoutError):
                if up:
                    lost_at, up = time.monotonic(), False
                self.reconnects += 1
                await asyncio.sleep(0.05 + random.random() * 0.1)

    async def stop(self) -> None:
        self._stop.set()
        await self.task


@dataclass
class Writers:
    """Members posting encouragements through the proxy until told to stop; a failed
    request is tried again, as a person pressing the button again would."""

    topology: Topology
    members: list[Member]
    gid: int
    ok: int = 0
    failed: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stopping = asyncio.Event()
        self.tasks = [asyncio.create_task(self._write(m)) for m in self.members]

    async def _write(self, member: Member) -> None:
        async with client(self.topology) as c:
            i = 0
            while not self.stopping.is_set():
                try:
                    r = await c.post(f"/api/v1/groups/{self.gid}/encouragements", headers=member.headers,
                                     json={"kind": "with_you", "text": f"{member.id}-{i}"})
                    if r.status_code == 201:
                        self.ok += 1
                        i += 1
                    else:
                        self.failed.append(str(r.status_code))
                except httpx.HTTPError as exc:
                    self.failed.append(type(exc).__name__)
                await asyncio.sleep(0.03)

    async def stop(self) -> None:
        self.stopping.set()
        await asyncio.gather(*self.tasks)


async def wait_until(predicate, failure: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, failure
        await asyncio.sleep(0.05)


async def restart(app: AppProcess, proxy: Proxy) -> tuple[float, float]:
    """docs/deploy.md's rolling restart of one app: SIGTERM, start again, reload the proxy;
    wait until the proxy sends it requests. (down, back in rotation) in seconds."""
    began = time.monotonic()
    await asyncio.to_thread(app.stop)
    # uvicorn finishes in-flight requests, then ends by the signal it caught (not a SIGKILL).
    assert app.process.returncode in (0, -signal.SIGTERM), f"app did not stop cleanly:\n{app.log_tail()}"
    assert "Application shutdown complete" in app.log_tail()
    await asyncio.to_thread(app.start)
    down = time.monotonic() - began
    proxy.reload()
    # A new process counts from zero.
    await wait_until(lambda: app.proxied_requests() > 0, "the proxy sent the restarted app nothing")
    return down, time.monotonic() - began


async def test_a_rolling_restart_behind_the_proxy_loses_and_duplicates_nothing(topology, record_property):
    people = [await sign_up(topology) for _ in range(4)]
    gid = await start_group(topology, *people)
    start_seq = (await committed_seqs(topology.database_url, gid))[-1]
    readers = [Reader(topology, p, gid) for p in people]
    for r in readers:
        await asyncio.wait_for(r.connected.wait(), 10)
    writers = Writers(topology, people[:3], gid)
    await wait_until(lambda: writers.ok >= 20, "no encouragement got through")
    timings = [await restart(app, topology.proxy) for app in topology.apps]
    sent_before_end = writers.ok
    await wait_until(lambda: writers.ok >= sent_before_end + 20, "writes stopped after the restart")
    await writers.stop()

    committed = [s for s in await committed_seqs(topology.database_url, gid) if s > start_seq]
    encouragements = await committed_seqs(topology.database_url, gid, "encouragement.sent")
    await wait_until(lambda: all(r.seqs and r.seqs[-1] >= committed[-1] for r in readers),
                     "a reader never caught up")
    for r in readers:
        await r.stop()

    figures = {
        "sent": writers.ok, "committed": len(encouragements), "retried": len(writers.failed),
        "failures": sorted(set(writers.failed)),
        "received": [len(r.seqs) for r in readers],
        "lost": [len(set(committed) - set(r.seqs)) for r in readers],
        "duplicated": [len(r.seqs) - len(set(r.seqs)) for r in readers],
        "reconnects": [r.reconnects for r in readers],
        "longest_socket_gap_s": round(max(r.longest_gap for r in readers), 2),
        "restart_s": [round(down, 2) for down, _ in timings],
        "back_in_rotation_s": [round(back, 2) for _, back in timings],
    }
    record_property("rolling_restart", json.dumps(figures))
    print("rolling restart:", json.dumps(figures))
    # Every request that got a 201 is one event, and no failed request left one behind.
    assert len(encouragements) == writers.ok
    for r in readers:
        assert r.seqs == committed, figures
        assert r.reconnects >= 1, "every socket was on a process that restarted"


async def test_a_browser_through_the_proxy_is_live(topology):
    from playwright.async_api import async_playwright, expect

    need("Chromium", CHROMIUM)
    alex, bea = await sign_up(topology), await sign_up(topology)
    gid = await start_group(topology, alex, bea)
    origin = topology.proxy.origin
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(ignore_https_errors=True, base_url=origin)
            # Signing in sets the Secure session cookie for the proxy's https origin.
            r = await context.request.post("/api/v1/auth/login",
                                           data={"username": alex.user["username"], "password": PASSWORD})
            assert r.status == 200
            page = await context.new_page()
            await page.goto(f"/groups/{gid}")
            await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
            async with client(topology) as c:
                r = await c.post(f"/api/v1/groups/{gid}/encouragements", headers=bea.headers,
                                 json={"kind": "proud", "text": "seen through nginx", "to_user_id": alex.id})
                assert r.status_code == 201
            await expect(page.locator(".toast-encouragement")).to_contain_text("seen through nginx")
        finally:
            await browser.close()


async def test_the_proxy_slows_a_sign_in_guesser(topology):
    """Posts to the sign-in routes from one address beyond a burst get 429 from the proxy
    (argon2 costs ~16 ms of CPU a try); the page itself and other routes are not limited."""
    async with client(topology) as c:
        answers = await asyncio.gather(*(
            c.post("/api/v1/auth/login", json={"username": f"nobody{i}", "password": "x" * 12})
            for i in range(60)))
        codes = [r.status_code for r in answers]
        assert 429 in codes and 401 in codes, codes
        assert set(codes) <= {401, 429}, codes
        assert codes.count(401) <= 25  # the burst (20) and what the rate refilled meanwhile
        assert (await c.get("/login")).status_code == 200
        assert (await c.get("/api/v1/help/resources")).status_code == 200
