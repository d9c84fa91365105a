"""Cross-site request forgery: every request a browser's cookie signs proves it came from
one of Cairn's own pages.

Two proofs, both required where they apply:
- **Where it came from.** An unsafe request (POST, PUT, PATCH, DELETE) that a browser sends
  from another site says so in `Sec-Fetch-Site`, or failing that in `Origin`; either one
  naming another site is refused, with or without a cookie. Clients that are not browsers
  send neither and are unaffected; bearer-token calls are never cookie-signed.
- **A token only Cairn's pages know.** Every unsafe request that the session cookie signs
  carries it: forms in the `csrf_token` field, the pages' own `fetch` calls in the
  `X-CSRF-Token` header. It is checked where the signed-in member is looked up
  (server/deps.py), so no route can forget it; anonymous forms check it where the form is
  read. The token is an HMAC of the browser's CSRF nonce cookie and its session cookie, so
  it is worthless with another browser or another session, and it is masked with fresh
  random bytes on every page (its bytes never repeat across answers, which defeats
  compression side channels such as BREACH).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Mapping

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from server.errors import AppError

NONCE_COOKIE = "cairn_csrf"
SESSION_COOKIE = "cairn_session"
FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SIZE = 32  # bytes of HMAC-SHA256
REFUSED = "This form has expired. Please go back, reload the page and try again."


def _raw(key: str, nonce: str, session: str | None) -> bytes:
    message = b"\0".join((b"csrf", nonce.encode(), (session or "").encode()))
    return hmac.new(key.encode(), message, hashlib.sha256).digest()


def new_token(key: str, nonce: str, session: str | None) -> str:
    """A token for this browser and session, masked with fresh random bytes."""
    pad = secrets.token_bytes(_SIZE)
    masked = bytes(a ^ b for a, b in zip(pad, _raw(key, nonce, session), strict=True))
    return base64.urlsafe_b64encode(pad + masked).decode().rstrip("=")


def token_matches(key: str, nonce: str | None, session: str | None, submitted: str | None) -> bool:
    """Whether a submitted token was made for this browser's nonce and session."""
    if not nonce or not submitted or len(submitted) > 200:
        return False
    try:
        blob = base64.urlsafe_b64decode(submitted.encode("ascii") + b"==")
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return False
    if len(blob) != 2 * _SIZE:
        return False
    unmasked = bytes(a ^ b for a, b in zip(blob[:_SIZE], blob[_SIZE:], strict=True))
    return hmac.compare_digest(unmasked, _raw(key, nonce, session))


def same_origin(origin: str, scheme: str, host: str, allowed: list[str]) -> bool:
    """An `Origin` header names this site: one of the configured origins, or failing a list,
    the origin the request itself was made to (scheme and Host)."""
    origin = origin.rstrip("/")
    if allowed:
        return origin in allowed
    return bool(host) and origin == f"{scheme}://{host}"


def foreign(headers: Mapping[str, str], scheme: str, allowed: list[str]) -> bool:
    """A browser says this request was made by another site's page."""
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is None:
        return False
    return not same_origin(origin, scheme, headers.get("host", ""), allowed)


class CsrfFailed(AppError):
    status, code, detail = 403, "csrf_failed", REFUSED


def check(request: Request, submitted: str | None) -> None:
    """Refuse (403) unless `submitted` is the token this browser's pages carry."""
    if not token_matches(request.app.state.settings.secret_key, request.cookies.get(NONCE_COOKIE),
                         request.cookies.get(SESSION_COOKIE), submitted):
        raise CsrfFailed()


class RequestOrigin:
    """ASGI middleware: unsafe requests that a browser says another site made are refused."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            reason = self._refusal(scope)
            if reason is not None:
                return _refuse(send, reason)
        return self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> str | None:
        headers = {name.decode("latin-1"): value.decode("latin-1")
                   for name, value in scope.get("headers", [])}
        if headers.get("authorization", "").lower().startswith("bearer "):
            return None  # not signed by a cookie: a browser cannot be made to send this
        settings = scope["app"].state.settings
        if foreign(headers, scope.get("scheme", "http"), settings.allowed_origins):
            return "This request came from another site, so Cairn did not act on it."
        return None


async def _refuse(send: Send, detail: str) -> None:
    body = json.dumps({"error": "csrf_failed", "detail": detail}).encode()
    await send({"type": "http.response.start", "status": 403, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
