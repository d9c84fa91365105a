"""Smaller hardening: every 405 names the methods the path serves and HEAD is answered
wherever GET is; settings that keep metrics, API docs and forwarded headers private; no
query string or invite code in any log line."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from fastapi import FastAPI, Request
from pydantic import ValidationError
from starlette.routing import Mount, WebSocketRoute

from server.config import Settings
from server.main import create_app, route_entries
from tests.fixtures.clients import Clients, make_settings
from tests.fixtures.servers import LiveServer
from tests.realtime.helpers import next_frame, remote_group, remote_member

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# Headers that may differ between two answers to the same request.
VARYING = {"date", "content-length", "set-cookie"}


@pytest.fixture
async def small_app(sqlite_database_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(sqlite_database_url))
    async with application.router.lifespan_context(application):
        yield application


def every_route(app: FastAPI) -> list[Any]:
    """Every HTTP route and mount of the app, included routers opened up."""
    return [r for r in route_entries(app)
            if not isinstance(getattr(r, "original_route", r), WebSocketRoute)]


def is_mount(route: Any) -> bool:
    return isinstance(getattr(route, "original_route", route), Mount)


def concrete(route: Any) -> str:
    """A real path for a route template: ids are 1, other parts a plausible word."""
    if is_mount(route):
        return route.path + ("/swagger-ui.css" if route.path.endswith("swagger") else
                             "/css/cairn.css")
    return re.sub(r"\{[^}]+\}", "1", route.path_format)


def served_at(app: FastAPI, path: str) -> set[str]:
    """What the route table says the path serves, read from the templates' regexes."""
    methods: set[str] = set()
    for route in every_route(app):
        regex = route.path_regex
        if is_mount(route):
            if regex.match(path):
                methods |= {"GET", "HEAD"}
        elif regex.fullmatch(path):
            methods |= set(route.methods or ())
    if "GET" in methods:
        methods.add("HEAD")
    return methods


async def test_every_405_names_what_the_path_serves_and_head_answers_like_get(
        small_app: FastAPI) -> None:
    clients = Clients(small_app)
    # A failing page is some other test's business; here it only has to fail alike for HEAD.
    clients.transport = httpx.ASGITransport(app=small_app, raise_app_exceptions=False)
    try:
        moderator = await clients.member("walker")
        await clients.group(moderator)  # group 1, so member pages answer 200
        paths = sorted({concrete(r) for r in every_route(small_app)})
        assert len(paths) > 40 and "/groups" in paths and "/api/v1/groups/1" in paths
        problems: list[str] = []
        heads = 0
        for path in paths:
            served = served_at(small_app, path)
            assert served, path
            for method in METHODS:
                if method in served:
                    continue
                r = await moderator.client.request(method, path)
                allow = {m.strip() for m in r.headers.get("allow", "").split(",") if m.strip()}
                if r.status_code != 405 or allow != served:
                    problems.append(f"{method} {path}: {r.status_code}, Allow {sorted(allow)}, "
                                    f"serves {sorted(served)}")
            if "GET" in served:
                got = await moderator.client.get(path)
                head = await moderator.client.head(path)
                heads += 1
                if head.status_code != got.status_code or head.content:
                    problems.append(f"HEAD {path}: {head.status_code} with {len(head.content)} "
                                    f"bytes; GET {got.status_code}")
                differ = {k for k in got.headers.keys() | head.headers.keys()
                          if k not in VARYING and got.headers.get(k) != head.headers.get(k)}
                if differ:
                    problems.append(f"HEAD {path}: headers differ from GET: {sorted(differ)}")
        assert not problems, "\n".join(problems)
        assert heads > 20
    finally:
        await clients.close()


async def test_the_named_405s_of_the_issue(small_app: FastAPI) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=small_app),
                                 base_url="http://testserver") as client:
        for method, path, allow in (("OPTIONS", "/", "GET, HEAD"),
                                    ("PUT", "/groups", "GET, HEAD, POST"),
                                    ("DELETE", "/groups/1", "GET, HEAD"),
                                    ("GET", "/api/v1/groups/join", "POST"),
                                    ("PUT", "/static/css/cairn.css", "GET, HEAD")):
            r = await client.request(method, path)
            assert (r.status_code, r.headers.get("allow")) == (405, allow), (method, path)
        head = await client.head("/healthz")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-type"] == "application/json"


# -- forwarded headers: believed only from the proxies named in CAIRN_TRUSTED_PROXIES ----------

async def peer_seen(app: FastAPI, peer: str, headers: dict[str, str]) -> dict[str, str]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(peer, 50000)),
                                 base_url="http://testserver") as client:
        r = await client.get("/test/peer", headers=headers)
        assert r.status_code == 200, r.text
        return r.json()


def app_showing_the_peer(database_url: str, **overrides: Any) -> FastAPI:
    app = create_app(make_settings(database_url, **overrides))

    async def peer(request: Request) -> dict[str, str]:
        return {"host": request.client.host if request.client else "", "scheme": request.url.scheme}

    app.add_api_route("/test/peer", peer)
    return app


FORWARDED = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}


@pytest.mark.parametrize("trusted, peer, seen", [
    (None, "203.0.113.9", {"host": "203.0.113.9", "scheme": "http"}),     # default: loopback only
    (None, "127.0.0.1", {"host": "198.51.100.7", "scheme": "https"}),
    (None, "::1", {"host": "198.51.100.7", "scheme": "https"}),
    ("172.30.57.0/24", "172.30.57.10", {"host": "198.51.100.7", "scheme": "https"}),
    ("172.30.57.0/24", "172.30.58.10", {"host": "172.30.58.10", "scheme": "http"}),
    ("172.30.57.0/24", "127.0.0.1", {"host": "127.0.0.1", "scheme": "http"}),
])
async def test_forwarded_headers_count_only_from_a_trusted_proxy(
        sqlite_database_url: str, trusted: str | None, peer: str, seen: dict[str, str]) -> None:
    overrides = {"trusted_proxies": trusted} if trusted else {}
    app = app_showing_the_peer(sqlite_database_url, **overrides)
    assert await peer_seen(app, peer, FORWARDED) == seen
    # Without forwarded headers, everyone is who they are.
    assert (await peer_seen(app, peer, {}))["host"] == peer


def test_trusting_every_address_is_refused() -> None:
    with pytest.raises(ValidationError, match="CAIRN_TRUSTED_PROXIES"):
        Settings(_env_file=None, trusted_proxies="*")
    assert Settings(_env_file=None).trusted_proxies == ["127.0.0.1", "::1"]


# -- metrics need their token; the API docs are off in production unless switched on -----------

METRICS_TOKEN = "m" * 32


async def answers(app: FastAPI, *requests: tuple[str, dict[str, str]]) -> list[int]:
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        return [(await client.get(path, headers=headers)).status_code
                for path, headers in requests]


async def test_metrics_answer_only_the_metrics_token(sqlite_database_url: str) -> None:
    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    without = create_app(make_settings(sqlite_database_url))
    assert await answers(without, ("/metrics", {}), ("/metrics", bearer)) == [404, 404]
    with_token = create_app(make_settings(sqlite_database_url, metrics_token=METRICS_TOKEN))
    assert await answers(with_token, ("/metrics", {}),
                         ("/metrics", {"Authorization": "Bearer " + "x" * 32}),
                         ("/metrics", {"Authorization": METRICS_TOKEN}),
                         ("/metrics", bearer)) == [401, 401, 401, 200]
    with pytest.raises(ValidationError, match="CAIRN_METRICS_TOKEN"):
        Settings(_env_file=None, metrics_token="short")


@pytest.mark.parametrize("env, switch, served", [
    ("development", None, True), ("test", None, True), ("production", None, False),
    ("production", True, True), ("development", False, False),
])
async def test_api_docs_only_where_switched_on(sqlite_database_url: str, env: str,
                                               switch: bool | None, served: bool) -> None:
    settings = Settings(_env_file=None, database_url=sqlite_database_url, env=env,
                        secret_key="t" * 40, api_docs=switch)
    codes = await answers(create_app(settings), ("/docs", {}),
                          ("/static/swagger/swagger-ui-bundle.js", {}), ("/openapi.json", {}))
    # The OpenAPI document is the API's contract, public either way.
    assert codes == ([200, 200, 200] if served else [404, 404, 200])


# -- no query string in any log line ----------------------------------------------------------

async def test_no_query_string_reaches_the_log(sqlite_database_url: str, tmp_path: Path) -> None:
    """A real `cairn serve`, logging at info: uvicorn's own lines about sockets and Cairn's
    request lines name paths, never what followed the `?`, and an invite link's route by its
    template, never its code."""
    log_path = tmp_path / "server.log"
    server = LiveServer(sqlite_database_url, log_path=log_path,
                        env={"CAIRN_LOG_LEVEL": "info"}).start()
    try:
        member = await remote_member(server.url)
        group = await remote_group(member)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            for path in ("/healthz?secret=http-one", "/groups?secret=http-two",
                         "/api/v1/groups?token=http-three", "/nowhere?secret=http-four"):
                await client.get(path, headers=member.headers)
            # An invite link, opened signed out and on to signing in: the code is in its path.
            code = group["invite_code"]
            for path in (f"/invite/{code}", f"/login?next=/invite/{code}", f"/signup?next=/invite/{code}"):
                assert (await client.get(path)).status_code == 200
        url = f"{server.ws_url}/ws/groups/{group['id']}?last_seq=0&secret=socket-one"
        async with websockets.connect(url, additional_headers=member.headers,
                                      open_timeout=30) as ws:
            assert (await next_frame(ws))["type"] == "welcome"
        # Signed out: refused, and logged by uvicorn as refused.
        with pytest.raises(websockets.exceptions.WebSocketException):
            async with websockets.connect(
                    f"{server.ws_url}/ws/groups/{group['id']}?last_seq=0&secret=socket-two",
                    open_timeout=30) as ws:
                await next_frame(ws)
    finally:
        server.stop()  # every line is written once the process has ended
    text = log_path.read_text("utf-8")
    assert f"/ws/groups/{group['id']}" in text, "uvicorn's socket lines are missing"
    assert '"event": "request"' in text
    assert '"route": "/invite/{code}"' in text
    for secret in ("http-one", "http-two", "http-three", "http-four", "socket-one", "socket-two",
                   "last_seq=", code):
        assert secret not in text, f"{secret} is in the log:\n{text}"
    assert not re.search(r"\?\w+=", text), text
