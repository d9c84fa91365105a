"""The Dockerfile built from this checkout and run with podman, as an operator would: it runs
as the unprivileged user, can change nothing of its own code, migrates its database, answers
its health check, and is measured (the layers Cairn adds; the base is a local stand-in)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.deploy.common import dockerfile_instructions
from tests.deploy.containers import mib, own_layers, podman, wait_until
from tests.fixtures.servers import free_port

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def running(image: str) -> Iterator[tuple[str, int]]:
    """The image as it comes, on its SQLite default, its root file system read-only: only
    its data folder (a volume) and /tmp can be written."""
    name = f"cairn-image-{uuid.uuid4().hex[:8]}"
    port = free_port()
    podman("run", "-d", "--name", name, "--read-only", "--tmpfs", "/tmp",  # noqa: S108 - the container's
           "-v", f"{name}-var:/app/var", "-p", f"127.0.0.1:{port}:8000",
           "-e", "CAIRN_SECRET_KEY=" + "k" * 48, image)
    try:
        wait_until(lambda: _answers(port), "the container to answer /healthz")
        yield name, port
    finally:
        logs = podman("logs", name, check=False).stdout
        podman("rm", "-f", "-t", "5", name, check=False)
        podman("volume", "rm", "-f", f"{name}-var", check=False)
        print(logs[-2000:])


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_it_runs_as_cairn_and_cannot_change_its_own_code(running: tuple[str, int],
                                                         image: str) -> None:
    name, _ = running
    assert podman("exec", name, "id", "-u").stdout.strip() == "10001"
    assert podman("exec", name, "id", "-un").stdout.strip() == "cairn"
    assert podman("exec", name, "touch", "/app/var/x").returncode == 0  # its data folder
    # Even without --read-only, nothing of the code or its packages is the user's to change.
    writable = podman("run", "--rm", "--entrypoint", "sh", image, "-c",
                      "find /app /opt/venv -writable ! -path '/app/var*' | head -n 5").stdout
    assert not writable.strip(), f"the user can write: {writable}"


def test_it_migrates_and_answers_its_health_checks(running: tuple[str, int]) -> None:
    name, port = running
    check = podman("exec", name, "cairn", "check")
    assert "ok   database: sqlite reachable; migrations at head" in check.stdout
    assert podman("healthcheck", "run", name).returncode == 0  # the Dockerfile's HEALTHCHECK
    ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
    assert ready.json() == {"status": "ready", "checks": {"database": "ok"}}
    assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    for line in podman("logs", name).stdout.splitlines():  # every line, start-up's too, is JSON
        if line.strip():
            json.loads(line)


def test_what_the_image_holds_and_its_size(image: str, record_property, capsys) -> None:
    config = json.loads(podman("image", "inspect", image).stdout)[0]
    assert config["Config"]["User"] == "cairn"
    assert "/healthz" in " ".join(config["Healthcheck"]["Test"]), "HEALTHCHECK lost"
    names = podman("run", "--rm", "--entrypoint", "ls", image, "/app").stdout.split()
    assert {"server", "web", "alembic"} <= set(names)
    assert not {"tests", ".git", "bench"} & set(names), "tests or git history in the image"
    mine = own_layers(image, _base_of())
    total = sum(int(layer["size"]) for layer in mine)  # type: ignore[call-overload]
    size = int(config["Size"])
    report = {"cairn_layers_bytes": total, "image_bytes": size,
              "layers": [(mib(int(layer["size"])), str(layer["created_by"])[:70])  # type: ignore[call-overload]
                         for layer in mine if int(layer["size"])]}  # type: ignore[call-overload]
    record_property("image_size", json.dumps(report))
    with capsys.disabled():  # the figure is for whoever runs the tests
        print(f"\nimage: Cairn's own layers {mib(total)} (the whole image {mib(size)}, on a "
              "stand-in base)")
        for layer_size, created_by in report["layers"]:
            print(f"  {layer_size:>10}  {created_by}")
    assert total < 150 * 2**20, report


def _base_of() -> str:
    """The image the Dockerfile's first stage starts from, as podman names it."""
    name = next(rest.split()[0] for word, rest in dockerfile_instructions() if word == "FROM")
    return name if "/" in name else f"docker.io/library/{name}"
