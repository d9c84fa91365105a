"""An upgrade from the first release (commit db68a58) to this one, on SQLite and PostgreSQL:
that release's own code makes its schema and its demo group, this release's migrations take
them to head, and every row comes through, readable by this release."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from server.main import create_app
from tests.fixtures.clients import PASSWORD, make_settings
from tests.fixtures.databases import (
    ROOT,
    create_postgres_database,
    drop_postgres_database,
    migrate,
    need_postgres,
    sqlite_url,
)

pytestmark = pytest.mark.slow

FIRST_RELEASE = "db68a58"
# What the first release held, by table: the columns that must come through unchanged.
KEPT = {
    "users": "id, username, display_name, timezone",
    "groups": "id, name, description, capacity, last_seq",
    "memberships": "id, group_id, user_id, role, state",
    "invites": "id, group_id, code",
    "commitments": "id, group_id, user_id, day, category, text, visibility",
    "checkins": "id, commitment_id, status, note, feeling",
    "encouragements": "id, group_id, from_user_id, kind, text, commitment_id",
    "events": "id, group_id, seq, kind",
}


@pytest.fixture(scope="module")
def first_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first release's source, from this repository's history."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", FIRST_RELEASE, "server",
                              "alembic", "alembic.ini", "web"], capture_output=True)
    if archive.returncode != 0:
        pytest.skip(f"commit {FIRST_RELEASE} is not in this clone's history: "
                    f"{archive.stderr.decode().strip()[:200]}")
    folder = tmp_path_factory.mktemp("first-release")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return folder


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "cairn.db")
        return
    need_postgres()
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


SEED = """
import asyncio, sys
import server
assert server.__file__.startswith(sys.argv[2]), server.__file__  # the first release's code
from server.cli import migrate
from server.demo import seed
migrate(sys.argv[1])
print(",".join(asyncio.run(seed(sys.argv[1]))))
"""


async def rows(url: str) -> dict[str, list[tuple]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return {table: [tuple(r) for r in (await conn.execute(
                        text(f"SELECT {columns} FROM {table} ORDER BY id"))).all()]  # noqa: S608
                    for table, columns in KEPT.items()}
    finally:
        await engine.dispose()


def test_the_first_release_upgrades_with_everything_intact(first_release: Path,
                                                           empty_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(first_release), "CAIRN_LOG_LEVEL": "warning"}
    made = subprocess.run([sys.executable, "-c", SEED, empty_url, str(first_release)],
                          cwd=first_release, env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr[-3000:]
    assert made.stdout.split()[-1] == "robin,sam,ari,jude"
    before = asyncio.run(rows(empty_url))
    assert all(before[t] for t in ("users", "commitments", "checkins", "encouragements", "events"))

    first_head = asyncio.run(version(empty_url))
    migrate(empty_url)  # this release's migrations, to head
    assert asyncio.run(version(empty_url)) != first_head
    after = asyncio.run(rows(empty_url))
    assert after == before
    asyncio.run(read_as_robin(empty_url, before))


async def version(url: str) -> str:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return str((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar())
    finally:
        await engine.dispose()


async def read_as_robin(url: str, before: dict[str, list[tuple]]) -> None:
    """This release serves what the first one wrote: robin signs in with the password set
    then, and finds the group, its day and its log."""
    app = create_app(make_settings(url))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        r = await client.post("/api/v1/auth/login", json={"username": "robin", "password": PASSWORD})
        assert r.status_code == 200, r.text
        client.headers["Authorization"] = f"Bearer {r.json()['token']}"
        groups = (await client.get("/api/v1/groups")).json()
        assert [g["name"] for g in groups] == ["Tuesday evening circle"]
        page = await client.get(f"/groups/{groups[0]['id']}")
        assert page.status_code == 200
        for commitment in before["commitments"]:
            if commitment[2] == r.json()["user"]["id"]:
                assert commitment[5] in page.text  # robin's own commitments, on the day
