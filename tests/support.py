"""Helpers for the API tests: watch every answer for 500s and bad error shapes, move the clock."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import event

from server import clock

UTC = dt.UTC


@dataclass
class Answer:
    method: str
    path: str
    status: int
    content_type: str
    body: bytes


@dataclass
class Recorder:
    """Wraps the ASGI app behind the test clients and keeps every answer it gave."""

    app: Any
    answers: list[Answer] = field(default_factory=list)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seen: dict[str, Any] = {"status": 0, "type": "", "body": b""}

        async def recording_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                headers = {k.lower(): v for k, v in message.get("headers", [])}
                seen["type"] = headers.get(b"content-type", b"").decode()
            elif message["type"] == "http.response.body":
                seen["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            self.answers.append(Answer(scope["method"], scope["path"], seen["status"], seen["type"],
                                       seen["body"]))

    def problems(self) -> list[str]:
        """Every 5xx, and every JSON 4xx without the contract's {error, detail} shape."""
        found = []
        for a in self.answers:
            where = f"{a.method} {a.path} -> {a.status}"
            if a.status >= 500 or a.status == 0:
                found.append(f"{where}: {a.body[:300]!r}")
            elif a.status >= 400:
                if not a.content_type.startswith("application/json"):
                    found.append(f"{where}: not JSON ({a.content_type})")
                    continue
                body = json.loads(a.body)
                if not (isinstance(body, dict) and isinstance(body.get("error"), str)
                        and isinstance(body.get("detail"), str) and body["error"] and body["detail"]):
                    found.append(f"{where}: error shape {body!r}")
        return found


def watch(clients: Any) -> Iterator[Recorder]:
    """For an autouse fixture: record every answer; fail the test on a 500 or a bad error body."""
    transport: httpx.ASGITransport = clients.transport
    recorder = Recorder(transport.app)
    transport.app = recorder
    yield recorder
    transport.app = recorder.app
    problems = recorder.problems()
    assert not problems, "answers that break the contract:\n" + "\n".join(problems)


def travel_to(when: dt.datetime) -> None:
    """Make server.clock.now() read `when` (it then runs on with real time)."""
    assert when.tzinfo is not None
    clock.travel(when - dt.datetime.now(UTC))


def travel_on(delta: dt.timedelta) -> None:
    """Move Cairn's clock `delta` past what it reads now (not past a fixed start: a busy
    machine may have spent seconds since then)."""
    travel_to(clock.now() + delta)


def reset_clock() -> None:
    clock.travel(dt.timedelta(0))


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def assert_error(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The answer is the contract's JSON error with this status (and code)."""
    assert r.status_code == status, f"{r.status_code} {r.text}"
    body = r.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    assert isinstance(body.get("detail"), str) and body["detail"], body
    if code is not None:
        assert body["error"] == code, body
    return body


def parse_time(value: str) -> dt.datetime:
    """An ISO 8601 UTC time as the contract writes it: with a Z."""
    assert value.endswith("Z"), f"not a UTC time with Z: {value}"
    return dt.datetime.fromisoformat(value)


def cheap_contexts() -> dict[str, Any]:
    """argon2id as cheap as it goes, for tests whose subject is not passwords: the real
    parameters cost ~100 ms of CPU per sign-up and ~40 ms per sign-in, and the suite signs
    up thousands of people. Tests marked `real_hashing` keep the real ones and check them."""
    from passlib.context import CryptContext

    cheap = CryptContext(schemes=["argon2"], argon2__type="ID", argon2__memory_cost=64,
                         argon2__rounds=1, argon2__parallelism=1)
    return {"context": cheap, "code_context": cheap,
            # an unknown name or a missing code costs what a known one does, as it does for real
            "_DUMMY_HASH": cheap.hash("not-a-real-password-at-all"),
            "_DUMMY_CODE_HASH": cheap.hash("NOTACODE00")}


def cheap_hashing(monkeypatch: Any) -> None:
    from server.accounts import passwords

    for name, value in cheap_contexts().items():
        monkeypatch.setattr(passwords, name, value)


CSRF_META = re.compile(r'<meta name="csrf-token" content="([A-Za-z0-9_-]+)">')


async def page_csrf(client: httpx.AsyncClient) -> str:
    """The token a page shown to this client carries, for its own fetch calls."""
    r = await client.get("/help")
    found = CSRF_META.search(r.text)
    assert r.status_code == 200 and found, r.text[:300]
    return found.group(1)


def app_routes(app: Any) -> Iterator[Any]:
    """Every route the app serves, inside included routers too (the routes themselves, not
    the app's entries for them)."""
    from server.main import route_entries

    for entry in route_entries(app):
        yield getattr(entry, "original_route", entry)


@contextlib.contextmanager
def statements_of(app: Any) -> Iterator[list[str]]:
    """Every statement the app's database runs meanwhile, its whitespace folded."""
    seen: list[str] = []
    engine = app.state.db.engine.sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
