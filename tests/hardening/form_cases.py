"""What the form fuzzer posts: the form routes found in the app's route table, the fields
their pages' forms carry (and the fields their handlers read), hostile values for those
fields and path parameters, and the bodies a browser or an attacker could send them."""

from __future__ import annotations

import inspect
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote_plus, unquote_to_bytes

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Route as PlainRoute

from server.main import route_entries

# GET routes that answer programs, not people.
NOT_PAGES = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/calendar/{token}.ics"}
_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")


class Raw(str):
    """A value already percent-encoded: it goes into the body as it is (so it can carry
    bytes that are not UTF-8)."""


def raw_bytes(value: str) -> bytes:
    if isinstance(value, Raw):
        return unquote_to_bytes(str(value))
    return value.encode("utf-8", "surrogatepass")


# --- the route table ----------------------------------------------------------------------

@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "int" or "str": the route's convertor
    key: str  # what it names: the path segment before it ("groups", "members", ...)


@dataclass(frozen=True)
class FormRoute:
    template: str  # with convertors, as the route declares it: /groups/{gid:int}/leave
    params: tuple[Param, ...]
    access: str  # "group": a member of the group in the path; "account": signed in; "public"
    handler: Any = field(compare=False, hash=False, repr=False)

    @property
    def path(self) -> str:
        return _PARAM.sub(lambda m: "{" + m.group(1) + "}", self.template)

    def url(self, values: dict[str, Any]) -> str:
        return _PARAM.sub(lambda m: str(values[m.group(1)]), self.template)

    def matches(self, path: str) -> bool:
        pattern = _PARAM.sub(lambda m: "[0-9]+" if m.group(2) == "int" else "[^/]+",
                             re.escape(self.template).replace(r"\{", "{").replace(r"\}", "}"))
        return re.fullmatch(pattern, path) is not None


def _calls(dependant: Any) -> Iterator[Any]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _walk(app: FastAPI) -> Iterator[tuple[Any, Any]]:
    """(entry, route) for every route, included routers walked into."""
    for entry in route_entries(app):
        yield entry, getattr(entry, "original_route", entry)


def _params(template: str) -> tuple[Param, ...]:
    segments = template.split("/")
    found = []
    for i, segment in enumerate(segments):
        if m := _PARAM.fullmatch(segment):
            key = segments[i - 1] if i > 0 and not _PARAM.fullmatch(segments[i - 1]) else m.group(1)
            found.append(Param(m.group(1), m.group(2) or "str", key))
    return tuple(found)


def form_routes(app: FastAPI) -> list[FormRoute]:
    """Every route outside the JSON API that takes a POST: the form routes."""
    from server.accounts.pages import get_page_user
    from server.groups.pages import get_page_member

    found = []
    for entry, route in _walk(app):
        if not isinstance(route, APIRoute | PlainRoute) or "POST" not in (entry.methods or ()):
            continue
        template = entry.path
        if template.startswith(("/api/", "/ws/", "/static/")):
            continue
        calls = set(_calls(route.dependant)) if isinstance(route, APIRoute) else set()
        params = _params(template)
        if get_page_member in calls or any(p.key == "groups" for p in params):
            access = "group"
        elif get_page_user in calls:
            access = "account"
        else:
            access = "public"
        found.append(FormRoute(template, params, access, getattr(route, "endpoint", None)))
    return sorted(found, key=lambda r: r.template)


def page_templates(app: FastAPI) -> list[tuple[str, tuple[Param, ...]]]:
    """Every GET route that serves a page for people, to find the forms on it."""
    found = []
    for entry, route in _walk(app):
        if not isinstance(route, APIRoute | PlainRoute) or "GET" not in (entry.methods or ()):
            continue
        template = entry.path
        if template.startswith(("/api/", "/ws/", "/static/")) or template in NOT_PAGES:
            continue
        found.append((template, _params(template)))
    return sorted(found)


def fields_read(handler: Any) -> set[str]:
    """The form fields a handler reads by name (form.text("x"), for k in ("a", "b"))."""
    try:
        source = inspect.getsource(handler)
    except (OSError, TypeError):
        return set()
    names = set(re.findall(r"\.(?:text|checked|whole_number)\(\s*\"(\w+)\"", source))
    for group in re.findall(r"for \w+ in \(([^)]*)\)", source):
        names |= set(re.findall(r"\"(\w+)\"", group))
    return names


# --- the forms on the pages ------------------------------------------------------------------

@dataclass
class FormField:
    kind: str
    values: list[str] = field(default_factory=list)


class FormParser(HTMLParser):
    """Every form on a page: its method, action and fields (with the values a person could
    choose: options, radio buttons, hidden values)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._select: str | None = None
        self._option: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"method": a.get("method", "get").lower(), "action": a.get("action", ""),
                               "fields": {}})
            return
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            f = fields.setdefault(name, FormField(kind))
            if kind in ("checkbox",) and not a.get("value"):
                f.values.append("on")
            elif a.get("value") or kind in ("hidden", "radio"):
                f.values.append(a.get("value", ""))
            for bound in ("min", "max"):
                if a.get(bound):
                    f.values.append(a[bound])
        elif tag == "textarea" and name:
            fields.setdefault(name, FormField("textarea"))
        elif tag == "select" and name:
            fields.setdefault(name, FormField("select"))
            self._select = name
        elif tag == "option" and self._select:
            if "value" in a:
                fields[self._select].values.append(a["value"])
            else:
                self._option = ""  # the option's text is its value

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" and self._option is not None and self._select and self.forms:
            self.forms[-1]["fields"][self._select].values.append(self._option.strip())
            self._option = None
        if tag == "select":
            self._select = None


def forms_on(html: str) -> list[dict[str, Any]]:
    parser = FormParser()
    parser.feed(html)
    return [f for f in parser.forms if f["method"] == "post"]


# --- hostile values --------------------------------------------------------------------------

# Tried on fields one at a time from a valid form, so each reaches the check it is aimed at:
# every field gets the first ones, and a few of the rest in turn (all of them across routes).
# Fields a page fills for the member (numbers, choices, hidden ids and dates) get the
# numeric ones; free text the text ones.
NUMERIC_SHARP: list[str] = ["", "²", "①", "9" * 5000, "-1", "99999999999999999999", "0001-01-01",
                            "9999-12-31"]
TEXT_SHARP: list[str] = ["", "x" * 5000]
SHARP_ROTATION: list[str] = ["٣", "\x00", "\ud800", Raw("%FF%FE"), "Grüße 心 🌱", "0", "3.5",
                             "  ", "\r\n", "0x10", "1e3", "\u202e"]

# Inputs that still make Cairn answer 500, left out of the run until they are fixed: delete
# an entry to try it again, or set CAIRN_FORM_FUZZ_PENDING=1 to try them all.
PENDING: dict[str, str] = {}


# Drawn from at random, with the values the page itself offers.
POOL: list[str] = [
    " ", "\t\r\n", "0", "1", "5", "6", "101", "1e3", "3.5", " 3 ", "+3", "0x10", "０", "1_000",
    "2**64", "NaN", "-0", "x" * 20000, "a\x00b", "\ud83c", "\udfff", Raw("%C0%AF"),
    Raw("%E2%82"), Raw("%"), Raw("%zz"), Raw("%ED%A0%80"), Raw("caf%E9"), "\u202egnp.exe",
    "\ufeffBOM", "e\u0301", "ﬀ", "İ", "ß" * 300, "🌱" * 3000, "{{7*7}}", "{% raw %}", "${7*7}",
    "' OR '1'='1", "\"; DROP TABLE users;--", "x\r\nSet-Cookie: a=b", "../../../../etc/passwd",
    "//evil.example/", "/\\evil.example", "javascript:alert(1)", "https://evil.example",
    "<script>alert(1)</script>", "c1", "c99999999999", "moderation", "progress", "on", "true",
    "moderator", "member", "admin", "None", "null", "[]", "2025-02-30", "2025-13-01", "20250101",
    "2025-01-01T00:00:00", "２０２５-０１-０１", "today",
]

# Path parameters that name nothing, or something out of reach.
INT_PATHS: list[Any] = [0, 999_999, 2**31, 2**63, 10**30, "9" * 5000, "-1", "1.0", "abc", "%00",
                        "%FF", "1%20"]
STR_PATHS: list[str] = ["", "x" * 300, "%00", "%FF%FE", "%ED%A0%80", "%2F", "%2e%2e", "caf%C3%A9",
                        "a%0D%0Ab", "{{7*7}}", "NONEXISTENT"]


# --- bodies ----------------------------------------------------------------------------------

Pairs = list[tuple[str, str]]


def urlencoded(pairs: Pairs) -> bytes:
    return "&".join(
        (k if isinstance(k, Raw) else quote_plus(raw_bytes(k))) + "="
        + (v if isinstance(v, Raw) else quote_plus(raw_bytes(v)))
        for k, v in pairs).encode("ascii")


def multipart(pairs: Pairs, file_field: str | None = None) -> tuple[bytes, str]:
    boundary = "fuzz" + secrets.token_hex(8)
    body = b""
    for k, v in pairs:
        disposition = f'form-data; name="{k}"'
        extra = b""
        if k == file_field:
            disposition += '; filename="../../x.txt"'
            extra = b"Content-Type: application/octet-stream\r\n"
        body += (f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
                 + extra + b"\r\n" + raw_bytes(v) + b"\r\n")
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def body_for(mode: str, pairs: Pairs, max_body: int) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a post in one of the ways a client can send fields."""
    form = "application/x-www-form-urlencoded"
    if mode == "form":
        return urlencoded(pairs), {"Content-Type": form}
    if mode == "multipart":
        body, ctype = multipart(pairs)
        return body, {"Content-Type": ctype}
    if mode == "multipart-file":
        names = [k for k, _ in pairs if k != "csrf_token"]
        body, ctype = multipart(pairs, names[0] if names else None)
        return body, {"Content-Type": ctype}
    if mode == "multipart, the token as a file":
        body, ctype = multipart(pairs, "csrf_token")
        return body, {"Content-Type": ctype}
    if mode == "json":
        import json
        return json.dumps({k: raw_bytes(v).decode("utf-8", "replace") for k, v in pairs}).encode(), {
            "Content-Type": "application/json"}
    if mode == "text/plain":
        return urlencoded(pairs), {"Content-Type": "text/plain"}
    if mode == "no content type":
        return urlencoded(pairs), {}
    if mode == "latin-1":
        body = "&".join(f"{k}={v}" for k, v in pairs if not isinstance(v, Raw))
        return body.encode("latin-1", "replace"), {"Content-Type": form + "; charset=iso-8859-1"}
    if mode == "raw bytes":
        return urlencoded(pairs) + b"&text=\xff\xfe\x00\xe9", {"Content-Type": form}
    if mode == "gzip label":
        return urlencoded(pairs), {"Content-Type": form, "Content-Encoding": "gzip"}
    if mode == "bad boundary":
        body, _ = multipart(pairs)
        return body, {"Content-Type": "multipart/form-data; boundary=nothere"}
    if mode == "oversize":
        return urlencoded(pairs) + b"&pad=" + b"x" * (max_body + 1), {"Content-Type": form}
    raise ValueError(mode)


# Ways to send a valid form that never reach the handler's logic intact.
ODD_MODES = ["json", "text/plain", "no content type", "latin-1", "raw bytes", "gzip label",
             "bad boundary", "oversize"]
