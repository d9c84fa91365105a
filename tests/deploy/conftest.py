"""The image built once for the deployment tests that run containers (tests/deploy/containers.py)."""

from __future__ import annotations

import pytest

from tests.deploy.containers import build_image, need_podman, standins

IMAGE = "localhost/cairn:local"  # what docker-compose.yml's `image:` names


@pytest.fixture(scope="session")
def image() -> str:
    """The Dockerfile built from this checkout on the stand-in base images."""
    need_podman()
    standins()
    build_image(IMAGE)
    return IMAGE
