"""docker-compose.yml, deploy/nginx.conf, the Dockerfile and requirements.lock, read and
checked as the tools that use them would: no Docker engine runs on the test machines."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from server.cli import WS_OPTIONS
from tests.deploy.common import (
    APP_SERVICES,
    ENV_EXAMPLE,
    LOCK_FILE,
    NGINX_CONF,
    Directive,
    app_environment,
    compose,
    dockerfile_instructions,
    interpolate,
    parse_nginx,
    read_env_file,
    seconds,
    settings_names,
)
from tests.fixtures.databases import ROOT

# The server pings every ws_ping_interval and gives up ws_ping_timeout later.
HEARTBEAT = WS_OPTIONS["ws_ping_interval"] + WS_OPTIONS["ws_ping_timeout"]
APP_PORT = 8000
# What a deployment changes from Cairn's laptop defaults.
DEPLOYMENT_DEFAULTS = {"CAIRN_ENV", "CAIRN_DATABASE_URL", "CAIRN_REDIS_URL", "CAIRN_TRUSTED_PROXIES"}
FILLED_IN = {"POSTGRES_PASSWORD": "0123456789abcdef", "CAIRN_SECRET_KEY": "k" * 48}


def services() -> dict:
    return compose()["services"]


# -- compose: services, health, order, volumes ----------------------------------------------

def test_the_services():
    found = services()
    assert {"postgres", "redis", "app1", "app2", "proxy"} <= set(found)
    for name in APP_SERVICES:
        assert found[name]["build"] == "."
        assert "ports" not in found[name], f"{name} must be reached only through the proxy"
    assert found["postgres"]["image"].startswith("postgres:")
    assert found["redis"]["image"].startswith("redis:")
    assert found["proxy"]["image"].startswith("nginx:")
    published = [interpolate(p, {}) for p in found["proxy"]["ports"]]
    assert sorted(published) == ["443:443", "80:80"]


def test_every_long_running_service_has_a_health_check_and_restarts():
    for name, service in services().items():
        if service.get("profiles"):  # one-off tools, run by hand
            continue
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"
        assert service.get("restart") == "unless-stopped", name
    assert "pg_isready" in " ".join(services()["postgres"]["healthcheck"]["test"])
    assert services()["redis"]["healthcheck"]["test"][-1] == "ping"
    for name in APP_SERVICES:
        assert "/healthz" in " ".join(services()[name]["healthcheck"]["test"])


def test_each_service_starts_after_what_it_needs_is_healthy():
    def waits_for(name: str) -> dict[str, str]:
        return {k: v["condition"] for k, v in services()[name]["depends_on"].items()}

    for name in APP_SERVICES:
        assert waits_for(name) == {"postgres": "service_healthy", "redis": "service_healthy"}
    assert waits_for("proxy") == {name: "service_healthy" for name in APP_SERVICES}


def test_named_volumes_hold_the_database_and_the_certificates():
    declared = set(compose()["volumes"])
    used: set[str] = set()
    for name, service in services().items():
        for mount in service.get("volumes", []):
            source, target = mount.split(":")[:2]
            if not source.startswith((".", "/", "$")):
                assert source in declared, f"{name} mounts undeclared volume {source}"
                used.add(source)
    assert declared == used, f"declared but unused: {declared - used}"
    assert "pgdata:/var/lib/postgresql/data" in services()["postgres"]["volumes"]
    proxy = services()["proxy"]["volumes"]
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in proxy
    assert "letsencrypt:/etc/letsencrypt:ro" in proxy


# -- compose: settings from the environment ---------------------------------------------------

def test_the_apps_take_every_setting_from_the_environment():
    env1, env2 = (app_environment(name) for name in APP_SERVICES)
    assert env1 == env2
    for name, value in env1.items():
        if name.startswith("CAIRN_"):
            assert re.fullmatch(rf"\$\{{{name}(:[-?].*)?\}}", value), (
                f"{name} is not taken from the environment: {value}")
    # Secure cookies and the websocket's wss scheme need the proxy's X-Forwarded-Proto,
    # believed from the proxy's own address and nobody else's.
    assert "FORWARDED_ALLOW_IPS" not in env1
    proxy_address = services()["proxy"]["networks"]["default"]["ipv4_address"]
    assert interpolate(env1["CAIRN_TRUSTED_PROXIES"], {}) == proxy_address
    (subnet,) = [c["subnet"] for c in compose()["networks"]["default"]["ipam"]["config"]]
    assert ipaddress.ip_address(proxy_address) in ipaddress.ip_network(subnet)


def test_compose_refuses_to_start_without_the_secrets():
    env = app_environment()
    interpolate(env["CAIRN_SECRET_KEY"], FILLED_IN)
    with pytest.raises(KeyError, match="CAIRN_SECRET_KEY"):
        interpolate(env["CAIRN_SECRET_KEY"], {**FILLED_IN, "CAIRN_SECRET_KEY": ""})
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        interpolate(env["CAIRN_DATABASE_URL"], {"CAIRN_SECRET_KEY": "k" * 48})
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        interpolate(services()["postgres"]["environment"]["POSTGRES_PASSWORD"], {})


def settings_from(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    from server.config import Settings

    for name in list(os.environ):
        if name.startswith("CAIRN_"):
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


def test_the_compose_environment_makes_valid_production_settings(monkeypatch):
    from server.config import Settings

    given = {**read_env_file(ENV_EXAMPLE), **FILLED_IN}
    resolved = {k: interpolate(v, given) for k, v in app_environment().items()}
    settings = settings_from(resolved, monkeypatch)
    assert settings.env == "production"
    assert settings.database_url == "postgresql+asyncpg://cairn:0123456789abcdef@postgres:5432/cairn"
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.allowed_origins == ["https://cairn.example.org"]
    # Every other default in the compose file is Cairn's own, so they cannot drift apart.
    laptop = settings_from({}, monkeypatch)
    for name in Settings.model_fields:
        if "CAIRN_" + name.upper() in DEPLOYMENT_DEFAULTS | {"CAIRN_SECRET_KEY", "CAIRN_ALLOWED_ORIGINS"}:
            continue
        assert (getattr(settings, name) or None) == (getattr(laptop, name) or None), (
            f"docker-compose.yml's default for CAIRN_{name.upper()} differs from server/config.py")


def test_a_value_set_in_the_environment_wins(monkeypatch):
    env = app_environment()
    given = {**FILLED_IN, "CAIRN_SESSION_DAYS": "7", "CAIRN_DATABASE_URL": "postgresql+asyncpg://x@db/y"}
    resolved = {k: interpolate(v, given) for k, v in env.items()}
    assert resolved["CAIRN_SESSION_DAYS"] == "7"
    assert resolved["CAIRN_DATABASE_URL"] == "postgresql+asyncpg://x@db/y"
    assert {k for k in resolved if k.startswith("CAIRN_")} >= settings_names()


# -- health checks that really run ------------------------------------------------------------

def dockerfile_healthcheck() -> list[str]:
    (rest,) = [rest for word, rest in dockerfile_instructions() if word == "HEALTHCHECK"]
    return json.loads(rest[rest.index("CMD") + 3:].strip())


def run_check(command: list[str], port: int) -> int:
    assert command[0] == "python"
    env = {**os.environ, "CAIRN_PORT": str(port)}
    return subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True,
                          timeout=20).returncode


@pytest.mark.slow
def test_the_app_health_checks_pass_on_a_live_process_and_fail_on_a_dead_one(live_server):
    from tests.fixtures.servers import free_port

    compose_check = services()["app1"]["healthcheck"]["test"]
    assert compose_check[0] == "CMD"
    for command in (compose_check[1:], dockerfile_healthcheck()):
        assert run_check(command, live_server.port) == 0
        assert run_check(command, free_port()) != 0


# -- the proxy --------------------------------------------------------------------------------

def nginx() -> Directive:
    return parse_nginx(NGINX_CONF.read_text("utf-8"))


def is_tls(server: Directive) -> bool:
    return any("ssl" in d.args for d in server.find("listen"))


def tls_server() -> Directive:
    (server,) = [s for s in nginx().find("server") if is_tls(s)]
    return server


def test_the_proxy_sends_to_every_app_process():
    upstream = nginx().one("upstream", "cairn")
    assert [d.args[0] for d in upstream.find("server")] == [f"{n}:{APP_PORT}" for n in APP_SERVICES]
    for location in tls_server().find("location"):
        if location.value("proxy_pass"):
            assert location.value("proxy_pass") == "http://cairn"


def test_the_proxy_upgrades_websockets_and_outwaits_the_heartbeat():
    upgrade_map = nginx().one("map", "$http_upgrade", "$connection_upgrade")
    assert {d.name: d.args for d in upgrade_map.block} == {"default": ["upgrade"], "": ["close"]}
    server = tls_server()
    sockets = server.one("location", "/ws/")
    assert sockets.value("proxy_pass") == "http://cairn"
    # proxy_set_header in a location replaces the server's whole list: keep them in one place.
    assert not sockets.find("proxy_set_header")
    assert server.value("proxy_http_version") == "1.1"
    headers = server.headers()
    assert headers["upgrade"] == "$http_upgrade"
    assert headers["connection"] == "$connection_upgrade"
    assert headers["x-forwarded-proto"] == "$scheme"
    assert headers["host"] in ("$host", "$http_host")
    assert seconds(sockets.value("proxy_read_timeout")) > HEARTBEAT
    assert seconds(sockets.value("proxy_send_timeout")) > HEARTBEAT
    assert sockets.value("proxy_buffering") == "off"


def test_the_proxy_terminates_tls_and_keeps_metrics_private():
    server = tls_server()
    assert server.value("ssl_certificate").startswith("/etc/letsencrypt/live/cairn/")
    assert server.value("ssl_certificate_key").startswith("/etc/letsencrypt/live/cairn/")
    assert "TLSv1" not in server.value("ssl_protocols").split()
    assert server.one("location", "=", "/metrics").value("return") == "404"
    (plain,) = [s for s in nginx().find("server") if not is_tls(s)]
    assert plain.one("location", "/").value("return").startswith("301 https://")
    assert plain.one("location", "/.well-known/acme-challenge/").value("root") == "/var/www/acme"
    assert "acme:/var/www/acme:ro" in services()["proxy"]["volumes"]
    # The body limit is Cairn's to enforce (with its JSON 413), not nginx's.
    assert server.value("client_max_body_size") == "1m"


def test_the_proxy_compresses_text_and_finds_either_releases_static_files():
    server = tls_server()
    assert server.value("gzip") == "on" and server.value("gzip_vary") == "on"
    assert server.value("gzip_proxied") == "any"
    types = set(server.one("gzip_types").args)  # text/html: always, when gzip is on
    assert {"text/css", "text/javascript", "application/javascript", "application/json"} <= types
    # Cairn is asked for plain answers: the proxy compresses them on its own core.
    assert server.headers()["accept-encoding"] == ""
    static = server.one("location", "/static/")
    assert static.value("proxy_pass") == "http://cairn" and not static.find("proxy_set_header")
    assert "http_404" in static.one("proxy_next_upstream").args


# -- the image --------------------------------------------------------------------------------

def test_the_image_is_slim_runs_as_a_user_and_serves():
    steps = dockerfile_instructions()
    bases = [rest.split()[0] for word, rest in steps if word == "FROM"]
    assert bases and all(re.fullmatch(r"python:3\.11-slim(-\w+)?", base) for base in bases)
    assert len(set(bases)) == 1, "the build stage and the image must share their Python"
    users = [rest for word, rest in steps if word == "USER"]
    assert users and users[-1] not in ("root", "0"), "the app must not run as root"
    (command,) = [json.loads(rest) for word, rest in steps if word == "CMD"]
    assert command == ["cairn", "serve"]  # migrations first, under PostgreSQL's lock
    env = " ".join(rest for word, rest in steps if word == "ENV")
    assert f"CAIRN_PORT={APP_PORT}" in env and "CAIRN_HOST=0.0.0.0" in env
    assert ("EXPOSE", str(APP_PORT)) in steps
    assert "/healthz" in " ".join(dockerfile_healthcheck())


def test_the_image_holds_every_file_cairn_reads_beside_its_package():
    """Cairn finds templates, static files and migrations from the source folder (ROOT):
    each such path the code names must be copied into the image."""
    copied = set()
    for word, rest in dockerfile_instructions():
        if word == "COPY" and not rest.startswith("--from="):  # from the build stage
            *sources, _ = rest.split()
            copied |= {src.rstrip("/") for src in sources if not src.startswith("--")}
    for src in copied:
        assert (ROOT / src).exists(), f"the Dockerfile copies {src}, which is not there"
    named = set()
    for path in (ROOT / "server").rglob("*.py"):
        named |= set(re.findall(r"\bROOT / [\"']([^\"'/]+)", path.read_text("utf-8")))
    assert {"alembic", "alembic.ini", "web"} <= named
    named.discard("var")  # made in the image, owned by the app's user
    assert named <= copied, f"the image lacks {sorted(named - copied)}"
    assert {"server", "pyproject.toml", "requirements.lock"} <= copied


def test_the_image_installs_only_hash_pinned_wheels():
    installs = [rest for word, rest in dockerfile_instructions()
                if word == "RUN" and "pip install" in rest]
    assert installs
    commands = [c for rest in installs for c in re.findall(r"pip install[^&;]*", rest)]
    for command in commands:
        from_lock = "--require-hashes" in command and re.search(r"-r \S+\.lock\b", command)
        local_only = "--no-index" in command and "--no-deps" in command
        assert from_lock or local_only, f"unpinned install: {command}"
        if "--no-binary" in command:  # built from source: with the pinned setuptools only
            assert "--no-build-isolation" in command, command
    assert any("--only-binary=:all:" in c for c in commands)
    # The locks installed are requirements.lock, split: wheels, and the few sources.
    split = [rest for word, rest in dockerfile_instructions() if word == "RUN" and "awk" in rest]
    assert len(split) == 1 and "requirements.lock" in split[0]
    locks = set(re.findall(r"-r (\S+\.lock)\b", " ".join(commands)))
    assert locks <= {"wheels.lock", "sources.lock", "requirements.lock"}, locks
    ignored = (ROOT / ".dockerignore").read_text("utf-8").split()
    assert {".env", ".git", ".venv", "var"} <= set(ignored)


def lock() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) from requirements.lock."""
    text = re.sub(r"\\\n", " ", LOCK_FILE.read_text("utf-8"))
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *options = line.split()
        name, _, version = requirement.partition("==")
        assert version, f"not pinned: {requirement}"
        hashes = [o.removeprefix("--hash=") for o in options if o.startswith("--hash=sha256:")]
        assert hashes, f"no hash for {requirement}"
        pins[canonicalize_name(name)] = (version, hashes)
    return pins


def test_the_lock_pins_every_dependency_with_a_hash():
    import tomllib

    pins = lock()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is in pyproject.toml but not in requirements.lock: regenerate it"
        assert requirement.specifier.contains(pins[name][0], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name][0]}, outside {requirement.specifier}")
    build = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["build-system"]
    for spec in build["requires"]:  # the image installs Cairn without build isolation
        requirement = Requirement(spec)
        assert requirement.specifier.contains(pins[canonicalize_name(requirement.name)][0])
