"""Schemathesis against Cairn's own OpenAPI document, on a live server and PostgreSQL, signed in
as the moderator of a real group with real ids: every operation through the examples,
coverage and fuzzing phases. No server error, every answer as documented, negative data
refused with a 4xx.

Reproduce a run with the same seed: CAIRN_FUZZ_SEED (default below); CAIRN_FUZZ_EXAMPLES
sets the fuzzing phase's examples per operation.
"""

from __future__ import annotations

import collections
import os
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.clients import PASSWORD
from tests.fixtures.databases import (
    create_postgres_database,
    drop_postgres_database,
    migrate,
    need_postgres,
)
from tests.fixtures.servers import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SEED = int(os.environ.get("CAIRN_FUZZ_SEED", "20261128"))
EXAMPLES = int(os.environ.get("CAIRN_FUZZ_EXAMPLES", "60"))


@dataclass
class World:
    """The fuzzer's identity and the real things it can reach."""

    base: str
    username: str
    token: str = ""
    # An account whose username no answer shows, so the fuzzer cannot lock it with wrong
    # passwords: each sign-out the fuzzer tries ends one of its sessions, not the fuzzer's.
    leaver: str = ""
    helper_token: str = ""
    ids: dict[str, list[Any]] = field(default_factory=dict)
    restored: collections.Counter = field(default_factory=collections.Counter)

    def login(self, username: str | None = None) -> str:
        r = httpx.post(f"{self.base}/api/v1/auth/login",
                       json={"username": username or self.username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return r.json()["token"]


def _call(base: str, token: str, method: str, path: str, body: Any = None,
          expect: int | tuple[int, ...] = (200, 201)) -> Any:
    r = httpx.request(method, base + path, json=body, timeout=30,
                      headers={"Authorization": f"Bearer {token}"})
    expected = (expect,) if isinstance(expect, int) else expect
    assert r.status_code in expected, (method, path, r.status_code, r.text)
    return r.json() if r.content else None


def build_world(base: str) -> World:
    """A moderator (the fuzzer), a helper member who can restore what the fuzzer undoes, two
    more members to act on, and one of everything: commitment, check-in, encouragement,
    scenario card, room, report, invite."""
    tag = uuid.uuid4().hex[:6]
    names = {k: f"{k}{tag}" for k in ("fuzzer", "helper", "target", "other")}
    for name in names.values():
        r = httpx.post(f"{base}/api/v1/auth/register",
                       json={"username": name, "password": PASSWORD, "display_name": name.title()})
        assert r.status_code == 201, r.text
    world = World(base, names["fuzzer"])
    world.token = world.login()
    world.leaver = f"leaver{tag}"
    r = httpx.post(f"{base}/api/v1/auth/register",
                   json={"username": world.leaver, "password": PASSWORD, "display_name": "Quiet"})
    assert r.status_code == 201, r.text
    world.helper_token = world.login(names["helper"])
    tokens = {k: world.login(v) for k, v in names.items() if k in ("target", "other")}
    me = _call(base, world.token, "GET", "/api/v1/me")
    group = _call(base, world.token, "POST", "/api/v1/groups",
                  {"name": "Fuzz circle", "description": "Real ids for the fuzzer", "capacity": 20})
    gid = group["id"]
    for token in (world.helper_token, *tokens.values()):
        _call(base, token, "POST", "/api/v1/groups/join",
              {"invite_code": group["invite_code"], "accept_agreement": True})
    members = _call(base, world.token, "GET", f"/api/v1/groups/{gid}/members")
    by_name = {m["display_name"].lower(): m["user_id"] for m in members}
    mine = _call(base, world.token, "POST", f"/api/v1/groups/{gid}/commitments",
                 {"category": "rest", "text": "Nap after lunch"})
    theirs = _call(base, tokens["target"], "POST", f"/api/v1/groups/{gid}/commitments",
                   {"category": "boundary", "text": "Say no to the extra shift"})
    _call(base, world.token, "POST", f"/api/v1/commitments/{mine['id']}/checkin",
          {"status": "partly", "note": "Twenty minutes", "feeling": 4})
    cheer = _call(base, world.token, "POST", f"/api/v1/groups/{gid}/encouragements",
                  {"kind": "proud", "text": "Well said", "commitment_id": theirs["id"]})
    card = _call(base, world.token, "POST", f"/api/v1/groups/{gid}/scenarios",
                 {"title": "Extra shift", "situation": "Your manager asks again.",
                  "opening_line": "Can you cover Saturday?",
                  "intensities": ["Fine, thanks.", "After all I did?", "Then don't come Monday."]})
    room = _call(base, world.token, "POST", f"/api/v1/groups/{gid}/roleplays", {"title": "Practice"})
    report = _call(base, tokens["other"], "POST", f"/api/v1/groups/{gid}/reports",
                   {"target_type": "commitment", "target_id": theirs["id"], "reason": "Unkind"})
    invite = _call(base, world.token, "POST", f"/api/v1/groups/{gid}/invites", {"max_uses": 20})
    plan = _call(base, world.token, "POST", f"/api/v1/groups/{gid}/practice-plans",
                 {"starts": "18:30", "weekday": 3, "zone": "Europe/Berlin"})
    world.ids = {
        "gid": [gid], "cid": [mine["id"], theirs["id"]], "rid": [room["id"]],
        "uid": [me["id"], by_name[names["target"].lower()], by_name[names["other"].lower()]],
        "code": [invite["code"]], "group_id": [gid], "pid": [plan["id"]],
        "target_id": [mine["id"], theirs["id"], cheer["data"]["encouragement_id"], card["id"],
                      report["target_id"]],
    }
    world.ids["helper"] = [by_name[names["helper"].lower()]]
    world.ids["fuzzer"] = [me["id"]]
    return world


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    need_postgres()
    url = create_postgres_database()
    migrate(url)
    log = Path(tmp_path_factory.mktemp("fuzz")) / "server.log"
    server = LiveServer(url, log_path=log).start()
    try:
        yield server
    finally:
        server.stop()
        drop_postgres_database(url)


def _install_hooks(world: World) -> list[Any]:
    """Point valid ids at real things half the time, and undo what would lock the fuzzer
    out for the rest of the run (sign-out, leaving the group)."""
    from schemathesis.hooks import GLOBAL_HOOK_DISPATCHER as hooks

    rng = random.Random(SEED)
    gid = world.ids["gid"][0]

    def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        label = case.operation.label
        params = case.path_parameters or {}
        for name, value in list(params.items()):
            choices = world.ids.get(name)
            if name == "uid" and label.startswith(("PATCH", "DELETE")):
                choices = world.ids["uid"][1:]  # the fuzzer keeps its own role and place
            if choices and isinstance(value, int) and 1 <= value < 2**31 and rng.random() < 0.6:
                params[name] = rng.choice(choices)
        query = case.query or {}
        if isinstance(query.get("group_id"), int) and query["group_id"] >= 1 and rng.random() < 0.6:
            query["group_id"] = gid

    def after_call(context: Any, case: Any, response: Any) -> None:
        label = case.operation.label
        if response.status_code >= 300:
            return
        if label == "POST /api/v1/auth/logout":
            world.restored["signed out"] += 1
        elif label == "POST /api/v1/groups/{gid}/leave" and case.path_parameters.get("gid") == gid:
            invite = _call(world.base, world.helper_token, "POST",
                           f"/api/v1/groups/{gid}/invites", {"max_uses": 1})
            _call(world.base, world.token, "POST", "/api/v1/groups/join",
                  {"invite_code": invite["code"], "accept_agreement": True})
            _call(world.base, world.helper_token, "PATCH",
                  f"/api/v1/groups/{gid}/members/{world.ids['fuzzer'][0]}", {"role": "moderator"})
            world.restored["rejoined"] += 1

    hooks.register_hook_with_name(before_call, "before_call")
    hooks.register_hook_with_name(after_call, "after_call")
    return [before_call, after_call]


def test_every_operation_survives_the_fuzzer(fuzz_server):
    import schemathesis
    from schemathesis.config import SchemathesisConfig
    from schemathesis.engine import Status, events, from_schema
    from schemathesis.hooks import GLOBAL_HOOK_DISPATCHER

    base = fuzz_server.url
    world = build_world(base)
    # The helper is the second moderator who can let the fuzzer back in after it leaves.
    _call(base, world.token, "PATCH", f"/api/v1/groups/{world.ids['gid'][0]}/members/"
          f"{world.ids['helper'][0]}", {"role": "moderator"})
    config = SchemathesisConfig.from_dict({
        "seed": SEED,
        "color": False,
        "generation": {"max-examples": EXAMPLES, "database": "none"},
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True},
                   "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
        "checks": {
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_headers_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "negative_data_rejection": {"enabled": True},
            "ignored_auth": {"enabled": True},
            "unsupported_method": {"enabled": True},
            "allow_header_conformance": {"enabled": True},
            # Schema-valid is not always acceptable: a password's strength, an IANA timezone,
            # a day within reach or an id that exists are rules no JSON Schema can state.
            "positive_data_acceptance": {"enabled": False},
        },
        "continue-on-failure": True,
        "request-timeout": 30,
    })
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json", config=config)

    @schema.auth(refresh_interval=None)
    class Bearer:
        def get(self, case: Any, context: Any) -> str:
            if case.operation.label == "POST /api/v1/auth/logout":
                return world.login(world.leaver)
            return world.token

        def set(self, case: Any, token: str, context: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}

    hooks = _install_hooks(world)
    cases: collections.Counter = collections.Counter()
    statuses: collections.Counter = collections.Counter()
    operations: set[str] = set()
    failures: dict[tuple[str, str], str] = {}
    errors: list[str] = []
    started = time.monotonic()
    try:
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                recorder = event.recorder
                operations.add(recorder.label)
                cases[str(event.phase)] += len(recorder.cases)
                for interaction in recorder.interactions.values():
                    if interaction.response is not None:
                        statuses[interaction.response.status_code] += 1
                for checks in recorder.checks.values():
                    for check in checks:
                        if check.status == Status.FAILURE and check.failure_info is not None:
                            info = check.failure_info
                            failures.setdefault((recorder.label, check.name), (
                                f"{info.failure}".strip()[:600] + f"\n    {info.code_sample}"))
                if event.status == Status.ERROR:
                    errors.append(f"{recorder.label}: error in {event.phase}")
            elif isinstance(event, events.NonFatalError):
                errors.append(f"{event.label}: {event.value!r}"[:600])
            elif isinstance(event, events.FatalError):
                errors.append(f"fatal: {event.exception!r}")
    finally:
        for hook in hooks:
            GLOBAL_HOOK_DISPATCHER.unregister(hook)
    took = time.monotonic() - started
    sent = sum(statuses.values())
    print(f"\nfuzz: seed {SEED}, {len(operations)} operations, cases by phase {dict(cases)}, "
          f"{sent} requests in {took:.0f}s; statuses {dict(sorted(statuses.items()))}; "
          f"restored {dict(world.restored)}; failures {len(failures)}")
    report = "\n".join(f"{label} [{check}]: {text}" for (label, check), text in failures.items())
    assert not errors, "\n".join(errors)
    assert not failures, f"{len(failures)} findings:\n{report}"
    spec = httpx.get(f"{base}/openapi.json").json()
    documented = {f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops}
    assert operations == documented, documented - operations
    assert all(cases[p] > 0 for p in ("examples", "coverage", "fuzzing")), cases
    assert not any(s >= 500 for s in statuses), statuses
    # The run reached real things, not only 404s and 401s.
    assert sum(n for s, n in statuses.items() if 200 <= s < 300) > 100, statuses
    health = httpx.get(f"{base}/healthz")
    assert health.status_code == 200
