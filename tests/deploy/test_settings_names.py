"""One list of setting names: server/config.py, docker-compose.yml, the README's
configuration table and .env.example name the same CAIRN_ settings, so none drifts."""

from __future__ import annotations

import re

import pytest

from tests.deploy.common import (
    APP_SERVICES,
    COMPOSE_FILE,
    DEPLOY_DOC,
    ENV_EXAMPLE,
    NAME,
    app_environment,
    env_example_names,
    readme_configuration,
    serve_names,
    settings_names,
    suite_switch_names,
)


def named_in(source: str) -> set[str]:
    if source == "docker-compose.yml":
        names = set()
        for service in APP_SERVICES:
            names |= {k for k in app_environment(service) if k.startswith("CAIRN_")}
        return names
    if source == "README.md":
        return set(NAME.findall(readme_configuration()))
    return env_example_names()


SOURCES = ["docker-compose.yml", "README.md", ".env.example"]


def test_the_settings_and_the_serve_options_are_found():
    settings = settings_names()
    assert {"CAIRN_DATABASE_URL", "CAIRN_SECRET_KEY", "CAIRN_REDIS_URL",
            "CAIRN_ALLOWED_ORIGINS", "CAIRN_ENCOURAGEMENTS_PER_MINUTE"} <= settings
    assert len(settings) >= 15
    assert serve_names() == {"CAIRN_HOST", "CAIRN_PORT", "CAIRN_LOG_LEVEL"}


@pytest.mark.parametrize("source", SOURCES)
def test_every_setting_is_named(source):
    missing = settings_names() - named_in(source)
    assert not missing, f"{source} does not name {sorted(missing)}"


@pytest.mark.parametrize("source", SOURCES)
def test_no_name_that_is_not_a_setting(source):
    unknown = named_in(source) - settings_names() - serve_names()
    assert not unknown, f"{source} names {sorted(unknown)}, which Cairn does not read"


def test_the_readme_also_names_the_serve_options():
    missing = serve_names() - named_in("README.md")
    assert not missing, f"README.md's configuration does not name {sorted(missing)}"


@pytest.mark.parametrize("path", [COMPOSE_FILE, ENV_EXAMPLE, DEPLOY_DOC],
                         ids=lambda p: p.name)
def test_every_cairn_name_anywhere_in_the_file_is_real(path):
    """A misspelt ${CAIRN_...} in a value, or a stale name in the prose, is caught too; the
    operator's guide may also name the suite's own switches."""
    known = settings_names() | serve_names() | (suite_switch_names() if path == DEPLOY_DOC else set())
    unknown = set(NAME.findall(path.read_text("utf-8"))) - known
    assert not unknown, f"{path.name} mentions {sorted(unknown)}, which Cairn does not read"


def test_the_readme_table_has_one_row_per_setting():
    rows = re.findall(r"^\| `(CAIRN_[A-Z0-9_]+)` \|", readme_configuration(), re.M)
    assert sorted(rows) == sorted(set(rows)), "a setting has two rows"
    assert set(rows) == settings_names()
