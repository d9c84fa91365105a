"""docker-compose.yml brought up whole with podman-compose, on local stand-ins for its base
images: the certificate put in place as docs/deploy.md says, five services started together
(the apps waiting for PostgreSQL themselves), a real flow through nginx over https (sign up,
join, a cheer arriving live on a second socket), a rolling restart of one app with nothing
lost or repeated, then `down -v` leaving nothing behind."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.deploy.containers import need_compose, podman, run, wait_until
from tests.deploy.test_proxy_topology import (
    FIRST_MIGRATION,
    Member,
    Reader,
    Writers,
    a_cheer_arrives_live,
    next_frame,
    open_socket,
    sign_up,
    start_group,
)
from tests.deploy.test_proxy_topology import wait_until as async_wait_until
from tests.fixtures.clients import PASSWORD
from tests.fixtures.databases import ROOT
from tests.fixtures.servers import free_port

pytestmark = pytest.mark.slow

SERVICES = ("postgres", "redis", "app1", "app2", "proxy")


@dataclass
class ComposeProxy:
    """The compose proxy as the shared helpers see a proxy: its https origin and its CA."""

    http_port: int
    https_port: int
    cafile: Path

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def ws_origin(self) -> str:
        return f"wss://127.0.0.1:{self.https_port}"

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cafile))


@dataclass
class Stack:
    compose: str
    project: str
    proxy: ComposeProxy
    env: dict[str, str]

    def run(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([self.compose, "-p", self.project, "-f", str(ROOT / "docker-compose.yml"),
                                 *args], capture_output=True, text=True, timeout=timeout, env=self.env,
                                cwd=ROOT)
        if check and result.returncode != 0:
            raise AssertionError(f"podman-compose {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def container(self, service: str) -> str:
        found = podman("ps", "-a", "--format", "{{.Names}}",
                       "--filter", f"label=com.docker.compose.project={self.project}",
                       "--filter", f"label=com.docker.compose.service={service}").stdout.split()
        assert len(found) == 1, f"{service}: {found}"
        return found[0]

    def healthy(self, service: str) -> bool:
        return podman("healthcheck", "run", self.container(service), check=False).returncode == 0

    def logs(self, service: str) -> str:
        return podman("logs", self.container(service), check=False).stdout

    def psql(self, sql: str) -> str:
        return podman("exec", self.container("postgres"), "psql", "-U", "cairn", "-d", "cairn",
                      "-At", "-c", sql).stdout.strip()


@pytest.fixture(scope="module")
def stack(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from tests.deploy.containers import env as podman_env

    compose = need_compose()
    folder = tmp_path_factory.mktemp("compose")
    tls = folder / "tls"
    tls.mkdir()
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-keyout", str(tls / "privkey.pem"), "-out", str(tls / "fullchain.pem"))
    proxy = ComposeProxy(free_port(), free_port(), tls / "fullchain.pem")
    env = {**podman_env(), "POSTGRES_PASSWORD": uuid.uuid4().hex, "CAIRN_SECRET_KEY": "s" * 48,
           "PROXY_HTTP_PORT": str(proxy.http_port), "PROXY_HTTPS_PORT": str(proxy.https_port),
           "CAIRN_ALLOWED_ORIGINS": proxy.origin,
           # The rolling restart's writers post far more often than a person.
           "CAIRN_ENCOURAGEMENTS_PER_MINUTE": "100000"}
    stack = Stack(compose, f"cairn-test-{uuid.uuid4().hex[:6]}", proxy, env)
    try:
        # docs/deploy.md, step 4: a certificate you were given, copied into the volume.
        # (podman-compose runs a service of a profile only with the profile named)
        stack.run("--profile", "tools", "run", "--rm", "--entrypoint", "sh", "-v", f"{tls}:/in:ro", "certbot", "-c",
                  "mkdir -p /etc/letsencrypt/live/cairn && "
                  "cp /in/fullchain.pem /in/privkey.pem /etc/letsencrypt/live/cairn/")
        stack.run("up", "-d", "--no-build")
        wait_until(lambda: all(stack.healthy(s) for s in SERVICES), "all five services healthy",
                   timeout=120)
        yield stack
    finally:
        for service in ("app1", "app2", "proxy"):
            print(f"--- {service}\n" + stack.logs(service)[-1500:] if _exists(stack, service) else "")
        stack.run("down", "-v", "-t", "5", check=False)


def _exists(stack: Stack, service: str) -> bool:
    try:
        stack.container(service)
    except AssertionError:
        return False
    return True


def test_the_apps_started_beside_the_database_and_migrated_once(stack: Stack) -> None:
    """Started together, the apps waited for PostgreSQL themselves: neither had to be
    restarted (podman cannot wait for a health check), and one of them migrated."""
    for app in ("app1", "app2"):
        restarts = podman("inspect", "--format", "{{.RestartCount}}", stack.container(app))
        assert restarts.stdout.strip() == "0", f"{app} failed at start and was restarted"
        read_only = podman("inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}",
                           stack.container(app))
        assert read_only.stdout.strip() == "true"
        assert podman("exec", stack.container(app), "id", "-u").stdout.strip() == "10001"
    logs = [stack.logs(app) for app in ("app1", "app2")]
    assert sum(len(FIRST_MIGRATION.findall(log)) for log in logs) == 1, \
        "both apps ran the first migration"
    head = stack.psql("SELECT version_num FROM alembic_version")
    check = podman("exec", stack.container("app1"), "cairn", "check").stdout
    assert f"ok   database: postgresql reachable; migrations at head ({head})" in check
    assert "ok   redis: reachable" in check
    for line in "\n".join(logs).splitlines():  # every line, the start-up's included, is JSON
        if line.strip():
            json.loads(line)


async def test_a_real_flow_through_nginx_over_https(stack: Stack) -> None:
    proxy = stack.proxy
    async with httpx.AsyncClient(base_url=proxy.origin, verify=proxy.tls(), timeout=15) as c:
        ready = await c.get("/readyz")
        assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}
        assert ready.headers["strict-transport-security"].startswith("max-age=")
        assert (await c.get("/metrics")).status_code == 404
    async with httpx.AsyncClient(timeout=5) as c:
        plain = await c.get(f"http://127.0.0.1:{proxy.http_port}/groups")
    assert plain.status_code == 301 and plain.headers["location"].startswith("https://")

    async with a_cheer_arrives_live(stack) as (a, *_):
        # The session cookie came over https through the proxy: Secure.
        assert "secure" in a.cookie.lower()


def restart(stack: Stack, service: str) -> None:
    """docs/deploy.md's rolling restart of one app: restart it, wait until it is healthy,
    and have nginx look up its address again."""
    podman("restart", "-t", "30", stack.container(service), timeout=120)
    wait_until(lambda: stack.healthy(service), f"{service} healthy again", timeout=90)
    reload_proxy(stack)


def reload_proxy(stack: Stack) -> None:
    """nginx looks up the apps' addresses again. Just after an app starts, the network's
    name server may not know it yet, and nginx refuses the reload: asked again until it can."""
    wait_until(lambda: run("podman", "exec", stack.container("proxy"), "nginx", "-s", "reload",
                           check=False).returncode == 0, "nginx to find the apps", timeout=60)


async def test_a_rolling_restart_of_one_app_loses_and_repeats_nothing(stack: Stack,
                                                                     record_property,
                                                                     capsys) -> None:
    people = [await sign_up(stack) for _ in range(3)]
    gid = await start_group(stack, *people)
    start_seq = int(stack.psql(f"SELECT last_seq FROM groups WHERE id = {gid}"))
    readers = [Reader(stack, p, gid) for p in people]
    for r in readers:
        await asyncio.wait_for(r.connected.wait(), 20)
    writers = Writers(stack, people[:2], gid)
    await async_wait_until(lambda: writers.ok >= 10, "no cheer got through")
    await asyncio.to_thread(restart, stack, "app1")
    after_restart = writers.ok
    await async_wait_until(lambda: writers.ok >= after_restart + 10, "cheers stopped after the restart")
    await writers.stop()

    committed = [int(s) for s in stack.psql(
        f"SELECT seq FROM events WHERE group_id = {gid} AND seq > {start_seq} "
        "AND stream = 'group' ORDER BY seq").split()]
    cheers = int(stack.psql(f"SELECT count(*) FROM events WHERE group_id = {gid} "
                            "AND kind = 'encouragement.sent'"))
    await async_wait_until(lambda: all(r.seqs and r.seqs[-1] >= committed[-1] for r in readers),
                 "a reader never caught up", timeout=60)
    for r in readers:
        await r.stop()
    figures = {"sent": writers.ok, "committed": cheers, "retried": len(writers.failed),
               "failures": sorted(set(writers.failed)),
               "reconnects": [r.reconnects for r in readers],
               "longest_socket_gap_s": round(max(r.longest_gap for r in readers), 2)}
    record_property("compose_rolling_restart", json.dumps(figures))
    with capsys.disabled():
        print("\ncompose rolling restart:", json.dumps(figures))
    assert cheers == writers.ok, figures  # each 201 is one event; no failed post left one
    for r in readers:
        assert r.seqs == committed, figures  # every event once, in order


async def test_a_backup_restored_as_the_guide_says(stack: Stack, tmp_path: Path) -> None:
    """docs/deploy.md's backup and restore in compose: pg_dump and pg_restore in the database
    container, then Cairn migrates; what came after the backup is gone, the deletion made
    since is made again from the log, everyone signs in again, and an open page's seq from
    before the restore makes it reload (a new database epoch)."""
    a, b, leaving = await sign_up(stack), await sign_up(stack), await sign_up(stack)
    gid = await start_group(stack, a, b, leaving)
    async with open_socket(stack, a, gid) as ws:
        before = await next_frame(ws)
    dump = tmp_path / "cairn.dump"
    await asyncio.to_thread(back_up, stack, dump)
    # After the backup: a cheer, and an account deleted.
    async with httpx.AsyncClient(base_url=stack.proxy.origin, verify=stack.proxy.tls(),
                                 timeout=15) as c:
        r = await c.post(f"/api/v1/groups/{gid}/encouragements", headers=b.headers,
                         json={"kind": "with_you", "text": "after the backup"})
        assert r.status_code == 201
        r = await c.request("DELETE", "/api/v1/me", headers=leaving.headers,
                            json={"password": PASSWORD})
        assert r.status_code == 204
    deleted = [json.loads(line)["user_id"] for app in ("app1", "app2")
               for line in stack.logs(app).splitlines() if '"account.deleted"' in line]
    assert deleted == [leaving.id]

    said = await asyncio.to_thread(restore_as_the_guide_says, stack, dump, deleted)
    assert f"account {leaving.id}: deleted, with its personal data" in said

    # The cheer after the backup is gone; the deletion made again is the group's next event.
    assert stack.psql(f"SELECT kind FROM events WHERE group_id = {gid} AND seq > "
                      f"{before['last_seq']} ORDER BY seq") == "member.left"
    assert stack.psql(f"SELECT count(*) FROM users WHERE id = {leaving.id}") == "0"
    async with httpx.AsyncClient(base_url=stack.proxy.origin, verify=stack.proxy.tls(),
                                 timeout=15) as c:
        assert (await c.get("/api/v1/me", headers=a.headers)).status_code == 401
    a = await sign_in(stack, a)
    # A page that had seen the cheer made after the backup: its seq now names the leaving.
    seen = before["last_seq"] + 1
    async with open_socket(stack, a, gid, last_seq=seen) as ws:
        by_seqs_alone = await next_frame(ws)
    assert (by_seqs_alone["recovered"], by_seqs_alone["missed"]) == (True, 0)  # would skip it
    assert by_seqs_alone["epoch"] != before["epoch"]
    async with open_socket(stack, a, gid, last_seq=seen, epoch=before["epoch"]) as ws:
        assert (await next_frame(ws))["recovered"] is False  # so the page reloads


def back_up(stack: Stack, dump: Path) -> None:
    """docs/deploy.md: pg_dump in the database container, so the tools are the server's."""
    with dump.open("wb") as out:
        subprocess.run(["podman", "exec", stack.container("postgres"), "pg_dump", "-U", "cairn",
                        "-d", "cairn", "--format=custom"], stdout=out, check=True, env=stack.env,
                       timeout=120)


def restore_as_the_guide_says(stack: Stack, dump: Path, deleted: list[int]) -> str:
    """docs/deploy.md's restore in compose, then the deletions since the backup made again
    before the apps start; what `cairn delete-account` said."""
    postgres = stack.container("postgres")
    stack.run("stop", "app1", "app2")
    podman("exec", postgres, "dropdb", "-U", "cairn", "cairn")
    podman("exec", postgres, "createdb", "-U", "cairn", "-O", "cairn", "cairn")
    with dump.open("rb") as given:
        subprocess.run(["podman", "exec", "-i", postgres, "pg_restore", "-U", "cairn", "-d",
                        "cairn", "--no-owner", "--no-acl", "--exit-on-error",
                        "--single-transaction"], stdin=given, check=True, env=stack.env,
                       timeout=120)
    stack.run("run", "--rm", "--no-deps", "app1", "cairn", "migrate")
    podman("exec", postgres, "psql", "-U", "cairn", "-d", "cairn", "-c", "DELETE FROM sessions")
    said = stack.run("run", "--rm", "--no-deps", "app1", "cairn", "delete-account",
                     *[f"--user-id={uid}" for uid in deleted]).stdout
    stack.run("start", "app1", "app2")
    wait_until(lambda: stack.healthy("app1") and stack.healthy("app2"), "apps back", timeout=90)
    reload_proxy(stack)
    return said


async def sign_in(stack: Stack, member: Member) -> Member:
    async with httpx.AsyncClient(base_url=stack.proxy.origin, verify=stack.proxy.tls(),
                                 timeout=15) as c:
        r = await c.post("/api/v1/auth/login", json={"username": member.user["username"],
                                                      "password": PASSWORD})
        assert r.status_code == 200, r.text
        return Member(r.json()["user"], r.json()["token"], r.headers["set-cookie"])


def test_down_removes_everything_it_made(stack: Stack) -> None:
    stack.run("down", "-v", "-t", "10")
    left = podman("ps", "-a", "--format", "{{.Names}}",
                  "--filter", f"label=com.docker.compose.project={stack.project}").stdout.split()
    volumes = [v for v in podman("volume", "ls", "--format", "{{.Name}}").stdout.split()
               if v.startswith(stack.project)]
    assert (left, volumes) == ([], [])
