"""Podman for the deployment tests: the image built from the checkout, and docker-compose.yml
brought up on local stand-ins for its base images (tests/deploy/standins). These tests take
minutes, so they run only when asked: CAIRN_TEST_CONTAINERS=1 (.ci/run's own step)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
WANTED = os.environ.get("CAIRN_TEST_CONTAINERS") == "1"
CONTAINERS_CONF = HERE / "podman" / "containers.conf"
STANDINS = HERE / "standins" / "build.sh"
BUILD_IMAGE = HERE / "podman" / "build-image.sh"
CA_BUNDLE = Path(os.environ.get("CAIRN_TEST_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"))
COMPOSE_VERSION = (1, 6)


def env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}


def _missing(reason: str) -> None:
    if WANTED:
        pytest.fail(f"{reason}, and CAIRN_TEST_CONTAINERS=1")
    pytest.skip(reason)


def need_podman() -> str:
    if not WANTED:
        pytest.skip("building the image and bringing compose up take minutes: they run with "
                    "CAIRN_TEST_CONTAINERS=1 (.ci/run does, after make test)")
    found = shutil.which("podman")
    if found is None:
        _missing("podman is not installed (Debian: apt-get install podman runc mmdebstrap)")
    return str(found)


def need_compose() -> str:
    need_podman()
    here = Path(sys.executable).parent
    found = shutil.which("podman-compose", path=f"{here}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        _missing("podman-compose is not installed (pip install 'podman-compose==1.6.0')")
    out = subprocess.run([str(found), "--version"], capture_output=True, text=True, env=env())
    version = re.search(r"podman-compose version (\d+)\.(\d+)", out.stdout + out.stderr)
    if version is None or tuple(map(int, version.groups())) < COMPOSE_VERSION:
        _missing(f"podman-compose {'.'.join(map(str, COMPOSE_VERSION))} or newer is needed "
                 f"(found: {out.stdout.strip() or out.stderr.strip()}); Debian's 1.0 misreads "
                 "the compose file")
    return str(found)


def run(*args: str, check: bool = True, timeout: float = 120,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(args), capture_output=True, text=True, env=env(),
                            timeout=timeout, input=stdin)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}:\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def podman(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return run("podman", *args, **kw)  # type: ignore[arg-type]


def standins() -> str:
    """Make (or find, cached) the stand-in base images; what build.sh said."""
    return run("bash", str(STANDINS), timeout=900).stdout.strip()


def build_image(tag: str) -> None:
    assert CA_BUNDLE.is_file(), f"no CA bundle at {CA_BUNDLE} (CAIRN_TEST_CA_BUNDLE)"
    run("bash", str(BUILD_IMAGE), tag, timeout=900)


def layers(image: str) -> list[dict[str, object]]:
    """The image's layers, newest first: size in bytes and the instruction that made it."""
    out = podman("history", "--no-trunc", "--format", "json", image).stdout
    return [{"size": int(h.get("size", 0)), "created_by": h.get("createdBy") or h.get("CreatedBy", "")}
            for h in json.loads(out)]


def own_layers(image: str, base: str) -> list[dict[str, object]]:
    """The layers the Dockerfile adds on top of its base image."""
    mine, theirs = layers(image), layers(base)
    return mine[:len(mine) - len(theirs)]


def wait_until(check: Callable[[], bool], what: str, timeout: float = 90) -> None:
    """Poll a condition the containers can only be asked about (no event to wait on), every
    half second, for at most timeout seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.5)


def mib(size: float) -> str:
    return f"{size / 2**20:.1f} MiB"
