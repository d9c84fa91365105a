"""Fixtures for every test: see tests/fixtures/."""

pytest_plugins = ["tests.fixtures.databases", "tests.fixtures.clients", "tests.fixtures.servers"]


def pytest_configure(config) -> None:
    # Browser assertions wait for what they expect to appear; 30 s is only a last guard
    # (Playwright's 5 s default decides too early on a busy machine).
    try:
        from playwright.async_api import expect
    except ImportError:
        return
    expect.set_options(timeout=30_000)
