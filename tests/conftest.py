"""Fixtures for every test: see tests/fixtures/."""

import pytest

from tests import support

pytest_plugins = ["tests.fixtures.databases", "tests.fixtures.clients", "tests.fixtures.servers"]


@pytest.fixture(autouse=True)
def _cheap_hashing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Passwords and recovery codes hashed with the cheapest argon2id in this process (and in
    the servers tests start: tests/fixtures/serve.py), unless a test is about the hashing."""
    if request.node.get_closest_marker("real_hashing") is None:
        support.cheap_hashing(monkeypatch)


def pytest_configure(config) -> None:
    # Browser assertions wait for what they expect to appear; 30 s is only a last guard
    # (Playwright's 5 s default decides too early on a busy machine).
    try:
        from playwright.async_api import expect
    except ImportError:
        return
    expect.set_options(timeout=30_000)
