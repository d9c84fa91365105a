"""What the harnesses share: pinned server processes, throwaway databases, seeded members."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get("CAIRN_BENCH_POSTGRES_URL",
                                    "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
# High enough that the per-member limit never refuses a bench encouragement.
ENCOURAGEMENTS_PER_MINUTE = int(os.environ.get("CAIRN_BENCH_ENCOURAGEMENTS_PER_MINUTE", "1000000"))
SERVER_CORE, LOAD_CORE = 0, 1


# -- the machine -----------------------------------------------------------------------------

def checkouts(beside: Path | None) -> dict[str, Path]:
    """The checkouts a bench measures by label: this one, and another one first if asked for."""
    trees = {"this": ROOT}
    return {"beside": beside.resolve(), **trees} if beside is not None else trees


def json_from(tree: Path, argv: list[str]) -> Any:
    """Run `python argv` in a process that imports that checkout's code; the JSON of its last
    line."""
    done = subprocess.run([sys.executable, *argv], cwd=tree,
                          env={**os.environ, "PYTHONPATH": str(tree)},
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def pin_to(core: int) -> None:
    """Pin this process (and the threads it starts later) to one core, when there is one."""
    if hasattr(os, "sched_setaffinity") and core < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {core})


def raise_open_files(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = psutil.virtual_memory().total / 2**30
    return (f"{os.cpu_count()} cores ({model}), {mem:.0f} GiB RAM, Python "
            f"{sys.version.split()[0]}, {os.uname().sysname} {os.uname().release}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# -- server processes ------------------------------------------------------------------------

@dataclass
class Server:
    """A uvicorn process pinned to the server core: Cairn (`cairn serve`) or the bare relay."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    cwd: Path = ROOT  # whose code `python -m server.cli` runs
    open_files: int = 65536  # the process's open-files limit (sockets), up to the hard limit
    process: subprocess.Popen | None = None
    # PostgreSQL only: the database's backends serving this server, pinned to its core too
    database_name: str | None = None
    _helpers: dict[int, psutil.Process] = field(default_factory=dict)
    _helper_cpu: dict[int, float] = field(default_factory=dict)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 30) -> Server:
        env = {**os.environ, "CAIRN_LOG_LEVEL": "warning", **self.env}
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        argv = [*self.argv, "--host", "127.0.0.1", "--port", str(self.port)]

        def prepare() -> None:  # in the child, before exec: every thread it starts inherits
            pin_to(SERVER_CORE)
            raise_open_files(self.open_files)

        self.process = subprocess.Popen(argv, cwd=self.cwd, env=env, stdout=log, stderr=log,
                                        preexec_fn=prepare)  # noqa: PLW1509
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}"
                                   + self._log_tail())
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.5):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not start in time" + self._log_tail())

    def _log_tail(self) -> str:
        if self.log_path and self.log_path.exists():
            return ":\n" + "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
        return ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def rss(self) -> int:
        return psutil.Process(self.pid).memory_info().rss

    def pin_helpers(self) -> None:
        """Find this server's PostgreSQL backends and pin them to the server core, so that
        "the server" (app and database) gets one core and the load the other. Backends come
        and go (the pool's overflow connections), so this is called again and again."""
        if not self.database_name:
            return
        marker = f" {self.database_name} "
        for proc in psutil.process_iter(["cmdline"]):
            cmdline = " ".join(proc.info["cmdline"] or [])
            if proc.pid not in self._helpers and marker in cmdline and cmdline.startswith("postgres:"):
                with contextlib.suppress(psutil.Error, OSError):
                    os.sched_setaffinity(proc.pid, {SERVER_CORE})
                    self._helpers[proc.pid] = proc

    def cpu_seconds(self) -> float:
        """CPU time of the server process and of its database backends (those that have
        exited keep the last reading, so the total never runs backwards)."""
        return sum(self.cpu_parts())

    def cpu_parts(self) -> tuple[float, float]:
        """CPU time of the server process, and of its database backends, apart."""
        t = psutil.Process(self.pid).cpu_times()
        for pid, proc in list(self._helpers.items()):
            try:
                h = proc.cpu_times()
                self._helper_cpu[pid] = h.user + h.system
            except psutil.Error:
                pass
        return t.user + t.system, sum(self._helper_cpu.values())

    def helpers_seen(self) -> int:
        return len(self._helpers)


def record_stacks(server: Server, out: Path, *, duration: float | None = None,
                  rate: int = 500) -> subprocess.Popen | None:
    """py-spy recording the server's stacks into `out` (raw format, for bench.profile_summary)
    for `duration` seconds, or until interrupted (SIGINT: it writes what it has)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("  (py-spy is not installed: no profile)")
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"  profiling {server.name} into {out}", flush=True)
    return subprocess.Popen([spy, "record", "--pid", str(server.pid), "--rate", str(rate),
                             *(["--duration", str(int(duration))] if duration else []),
                             "--format", "raw", "--nonblocking", "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def relay_server(workdir: Path, *, deflate: bool = False) -> Server:
    return Server("relay", [sys.executable, "-m", "bench.relay", *(["--deflate"] if deflate else [])],
                  log_path=workdir / "relay.log")


def cairn_server(database_url: str, workdir: Path, *, deflate: bool = False,
                 checkout: Path = ROOT) -> Server:
    """`cairn serve` as in production, with the per-member encouragement limit lifted.

    With deflate, the same app and options through bench.relay's launcher, compression on."""
    env = {
        "CAIRN_DATABASE_URL": database_url,
        "CAIRN_ENV": "production",
        "CAIRN_SECRET_KEY": secrets.token_urlsafe(48),
        "CAIRN_ENCOURAGEMENTS_PER_MINUTE": str(ENCOURAGEMENTS_PER_MINUTE),
    }
    kind = "postgres" if database_url.startswith("postgresql") else "sqlite"
    argv = ([sys.executable, "-m", "bench.relay", "--app", "server.main:app", "--deflate"] if deflate
            else [sys.executable, "-m", "server.cli", "serve", "--no-migrate"])
    name = f"cairn-{kind}" if checkout == ROOT else f"before-{kind}"
    return Server(name, argv, cwd=checkout,
                  env=env, log_path=workdir / f"{name}.log",
                  database_name=database_url.rsplit("/", 1)[1] if kind == "postgres" else None)


# -- databases -------------------------------------------------------------------------------

@dataclass
class BenchDatabase:
    """A fresh, migrated database that is thrown away afterwards."""

    kind: str  # "sqlite" or "postgres"
    url: str
    folder: Path | None = None

    def drop(self) -> None:
        if self.kind == "postgres":
            name = self.url.rsplit("/", 1)[1]
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        elif self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)


async def _pg_admin(sql: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_ADMIN_URL)
    conn = await asyncpg.connect(host=url.host, port=url.port or 5432, user=url.username,
                                 password=url.password, database=url.database)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def postgres_available() -> bool:
    try:
        asyncio.run(_pg_admin("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not here"
        return False
    return True


def create_database(kind: str, checkout: Path = ROOT) -> BenchDatabase:
    """A new database, migrated by the checkout's own code."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="cairn-bench-"))
        db = BenchDatabase(kind, f"sqlite+aiosqlite:///{folder / 'cairn.db'}", folder)
    elif kind == "postgres":
        name = f"cairn_bench_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        db = BenchDatabase(kind, POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name)
    else:
        raise ValueError(f"unknown database {kind!r}")
    try:
        subprocess.run([sys.executable, "-m", "server.cli", "migrate"], cwd=checkout, check=True,
                       env={**os.environ, "CAIRN_DATABASE_URL": db.url},
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except subprocess.CalledProcessError as exc:
        db.drop()
        raise RuntimeError("migration failed:\n" + exc.stderr.decode(errors="replace")) from exc
    return db


# -- members ---------------------------------------------------------------------------------

@dataclass
class SeededMember:
    user_id: int
    token: str


@dataclass
class SeededGroup:
    group_id: int
    members: list[SeededMember]


async def seed(database_url: str, groups: int, per_group: int,
               timezones: Sequence[str] = ("UTC",)) -> list[SeededGroup]:
    """Members, groups and signed-in sessions written straight into the database (member i
    lives in timezones[i % len(timezones)]).

    Registering 10,000 people over HTTP would spend minutes in argon2 for nothing the
    benchmark measures, so the rows are inserted directly: every member shares one
    argon2id hash computed once with Cairn's own parameters, and each gets a session
    whose token is known here (only its SHA-256 is stored, as Cairn stores it). The
    sockets then authenticate with those tokens through the real socket path.
    """
    from sqlalchemy import insert
    from sqlalchemy.ext.asyncio import create_async_engine

    from server.accounts.passwords import context
    from server.accounts.service import token_hash
    from server.models import AuthSession, Group, Membership, User

    password_hash = context.hash("a quiet river bend")
    now = dt.datetime.now(dt.UTC)
    expires = now + dt.timedelta(days=30)
    total = groups * per_group
    tag = uuid.uuid4().hex[:6]
    users = [{"username": f"b{tag}{i}", "display_name": f"Bench member {i}",
              "password_hash": password_hash, "timezone": timezones[i % len(timezones)], "receive_only": False,
              "created_at": now} for i in range(total)]
    tokens = [secrets.token_urlsafe(32) for _ in range(total)]
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            user_ids = list((await conn.execute(
                insert(User).returning(User.id, sort_by_parameter_order=True), users)).scalars())
            await conn.execute(insert(AuthSession), [
                {"token_hash": token_hash(t), "user_id": u, "created_at": now, "expires_at": expires}
                for u, t in zip(user_ids, tokens, strict=True)])
            group_ids = list((await conn.execute(
                insert(Group).returning(Group.id, sort_by_parameter_order=True),
                [{"name": f"Bench circle {g}", "description": "", "capacity": max(per_group, 3),
                  "created_by": user_ids[g * per_group], "created_at": now, "last_seq": 0}
                 for g in range(groups)])).scalars())
            await conn.execute(insert(Membership), [
                {"group_id": group_ids[i // per_group], "user_id": user_ids[i],
                 "role": "moderator" if i % per_group == 0 else "member", "state": "active",
                 "joined_at": now, "agreed_at": now}
                for i in range(total)])
    finally:
        await engine.dispose()
    return [SeededGroup(group_ids[g], [SeededMember(user_ids[i], tokens[i])
                                       for i in range(g * per_group, (g + 1) * per_group)])
            for g in range(groups)]
