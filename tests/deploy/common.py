"""What the deployment files say, read the way docker compose and nginx would read them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.fixtures.databases import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
README = ROOT / "README.md"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
LOCK_FILE = ROOT / "requirements.lock"
APP_SERVICES = ("app1", "app2")
NAME = re.compile(r"\bCAIRN_[A-Z0-9_]*[A-Z0-9]")


def settings_names() -> set[str]:
    """Every field of Settings, as the environment names it."""
    from server.config import Settings

    prefix = Settings.model_config["env_prefix"]
    return {prefix + name.upper() for name in Settings.model_fields}


def serve_names() -> set[str]:
    """The few CAIRN_ names the command line reads itself (host, port, log level)."""
    source = (ROOT / "server" / "cli.py").read_text("utf-8")
    return set(re.findall(r"os\.environ\.get\(\"(CAIRN_[A-Z0-9_]+)\"", source))


def suite_switch_names() -> set[str]:
    """The CAIRN_TEST_ names the suite itself reads (which services and checks it runs)."""
    found: set[str] = set()
    for path in (ROOT / "tests").rglob("*.py"):
        found |= set(re.findall(r"\bCAIRN_TEST_[A-Z0-9_]*[A-Z0-9]", path.read_text("utf-8")))
    return found


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text("utf-8"))


def app_environment(service: str = "app1") -> dict[str, str]:
    env = compose()["services"][service]["environment"]
    if isinstance(env, list):  # the "- NAME=value" form
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def readme_configuration() -> str:
    text = README.read_text("utf-8")
    start = text.index("\n## Configuration")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def env_example_names() -> set[str]:
    """Names given a value in .env.example, set or shown commented out with the default."""
    return set(re.findall(r"^#?\s*(CAIRN_[A-Z0-9_]+)=", ENV_EXAMPLE.read_text("utf-8"), re.M))


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default}, ${NAME:?error} and ${NAME:+alt}, nested too."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2) or "", match.group(3) or ""
        have = env.get(name)
        present = have is not None and (have != "" or ":" not in op)
        if op.endswith("-"):
            return have if present else interpolate(arg, env)
        if op.endswith("?"):
            if not present:
                raise KeyError(f"{name}: {interpolate(arg, env)}")
            return have
        if op.endswith("+"):
            return interpolate(arg, env) if present else ""
        return have or ""

    return _VAR.sub(one, value).replace("$$", "$")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines, as compose reads .env (comments and blank lines skipped)."""
    env = {}
    for line in path.read_text("utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip()
    return env


_NGINX_TOKEN = re.compile(r"""
      "(?:[^"\\]|\\.)*"   # a double-quoted string
    | '[^']*'             # a single-quoted string
    | \#[^\n]*            # a comment
    | [{};]
    | [^\s{};#]+          # a word
""", re.X)


class Directive:
    """One nginx directive: its name, its arguments and, for a block, what it holds."""

    def __init__(self, name: str, args: list[str], block: list[Directive] | None) -> None:
        self.name, self.args, self.block = name, args, block

    def find(self, name: str, *args: str) -> list[Directive]:
        """Directives directly inside this block, by name (and first arguments)."""
        return [d for d in self.block or [] if d.name == name and d.args[:len(args)] == list(args)]

    def one(self, name: str, *args: str) -> Directive:
        found = self.find(name, *args)
        assert len(found) == 1, f"expected one {name} {' '.join(args)}, found {len(found)}"
        return found[0]

    def value(self, name: str) -> str | None:
        found = self.find(name)
        return " ".join(found[-1].args) if found else None

    def headers(self) -> dict[str, str]:
        return {d.args[0].lower(): " ".join(d.args[1:]) for d in self.find("proxy_set_header")}


def parse_nginx(text: str) -> Directive:
    """nginx's configuration syntax: words and quoted strings, `;` ends a directive,
    `{ ... }` holds a block, `#` starts a comment."""
    tokens = [t for t in _NGINX_TOKEN.findall(text) if not t.startswith("#")]
    position = 0

    def block() -> list[Directive]:
        nonlocal position
        out: list[Directive] = []
        words: list[str] = []
        while position < len(tokens):
            token = tokens[position]
            position += 1
            if token == ";":
                out.append(Directive(words[0], words[1:], None))
                words = []
            elif token == "{":
                out.append(Directive(words[0], words[1:], block()))
                words = []
            elif token == "}":
                assert not words, f"unterminated directive {words}"
                return out
            else:
                words.append(token[1:-1] if token[0] in "\"'" else token)
        assert not words, f"unterminated directive {words}"
        return out

    return Directive("main", [], block())


def seconds(value: str) -> float:
    """nginx's time values: 90, 90s, 2m, 1h, 500ms."""
    match = re.fullmatch(r"(\d+)(ms|s|m|h)?", value)
    assert match, f"not an nginx time: {value}"
    return int(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text("utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out
