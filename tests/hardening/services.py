"""Private PostgreSQL and Redis servers that a test may stop and start at will (the shared
ones are never touched)."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import inspect
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.servers import free_port


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"PostgreSQL's {name} is not installed")
    return path


def _as_postgres(args: list[str], **kw) -> subprocess.CompletedProcess:
    """initdb and pg_ctl refuse to run as root: run them as the postgres user then."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=True, capture_output=True, timeout=60, **kw)


def _wait_port(port: int, up: bool, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            is_up = s.connect_ex(("127.0.0.1", port)) == 0
        if is_up == up:
            return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} still {'down' if up else 'up'}")


@dataclass
class PrivatePostgres:
    """A throwaway PostgreSQL cluster in a temporary folder, on a port of its own."""

    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cairn-pg-")))

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> PrivatePostgres:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        _as_postgres([_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                      "--no-sync", "-E", "UTF8"])
        return self

    def start(self) -> None:
        _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
                      "-w", "-t", "60", "-o",
                      f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                      "-c fsync=off -c max_connections=60", "start"])
        _wait_port(self.port, up=True)

    def stop(self, mode: str = "immediate") -> None:
        _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])
        _wait_port(self.port, up=False)

    def create_database(self, name: str) -> str:
        _as_postgres([_pg_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                      "-c", f'CREATE DATABASE "{name}"'])
        return self.url(name)

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, TimeoutError):
            self.stop()  # unless stopped already
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class PrivateRedis:
    """A redis-server keeping nothing on disk, on a port of its own."""

    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cairn-redis-")))
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.port, up=True)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        _wait_port(self.port, up=False)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


async def wait_for(check: Callable[[], Any], timeout: float, step: float = 0.05) -> float:
    """Poll a check (a condition, or a coroutine giving one) until it holds; the seconds it
    took. For what no event announces: another process's state, seen from outside."""
    started = time.monotonic()
    while not await _value(check()):
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout}s")
        await asyncio.sleep(step)
    return time.monotonic() - started


async def _value(result: Any) -> Any:
    return await result if inspect.isawaitable(result) else result
