"""Fixtures for every test: see tests/fixtures/."""

pytest_plugins = ["tests.fixtures.databases", "tests.fixtures.clients", "tests.fixtures.servers"]
