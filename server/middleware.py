"""ASGI middleware: security headers (and Secure cookies over https) on every answer, a cap
on request bodies, compression, and live sockets straight to their handlers."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable

from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Handing a websocket on (not awaiting it here) keeps no frame of this layer
        # alive for the socket's lifetime.
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        return self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                if https:  # every cookie, whoever set it, travels only over https
                    headers = [(k, _secure(v) if k.lower() == b"set-cookie" else v)
                               for k, v in headers]
                message["headers"] = headers + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in present
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _secure(cookie: bytes) -> bytes:
    attributes = {part.strip().lower() for part in cookie.split(b";")[1:]}
    return cookie if b"secure" in attributes else cookie + b"; Secure"


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuse bodies over the limit with 413: by Content-Length at once, or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not awaited: see SecurityHeaders.
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        return self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await _refuse(send)
                    return
        seen = 0
        started = exceeded = False

        async def counting_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                # The app turned the interrupted read into an answer of its own (FastAPI
                # makes any failure while reading a body a 400): the client gets the 413.
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _refuse(send)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _refuse(send)


async def _refuse(send: Send) -> None:
    body = json.dumps({"error": "too_large", "detail": "That request is too large."}).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ] + SECURITY_HEADERS})
    await send({"type": "http.response.body", "body": body})


class Compression:
    """gzip for answers of `minimum_size` bytes or more, to clients that accept it: pages,
    style sheets, scripts, JSON. Starlette's GZipMiddleware does the work: it leaves alone
    what is already compressed (images, answers with a Content-Encoding), partial content
    and event streams, flushes each piece of a streamed answer as it goes, and adds
    `Vary: Accept-Encoding`. Behind the proxy, nginx compresses instead (deploy/nginx.conf).

    The CSRF token, the one secret a page repeats, is masked afresh in every answer
    (server/csrf.py), so compression cannot be used to guess it (BREACH).

    A compressed answer's ETag is made weak (W/"..."), as nginx does: its bytes differ from
    the plain answer's, and a strong validator promises the same bytes. A weak one sent back
    in If-None-Match still matches (a 304)."""

    def __init__(self, app: ASGIApp, minimum_size: int = 500, level: int = 4) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=level)

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not awaited: see SecurityHeaders.
        if scope["type"] != "http":
            return self.app(scope, receive, send)

        async def weak_etag_if_compressed(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers") or []
                if (b"content-encoding", b"gzip") in ((k.lower(), v) for k, v in headers):
                    message["headers"] = [
                        (k, b"W/" + v if k.lower() == b"etag" and not v.startswith(b"W/") else v)
                        for k, v in headers]
            await send(message)

        return self.gzip(scope, receive, weak_etag_if_compressed)


SocketEndpoint = Callable[[WebSocket, int], Awaitable[None]]


def socket_endpoints(routes: Iterable[BaseRoute]) -> dict[str, SocketEndpoint]:
    """The app's socket routes as LiveSockets takes them: "/ws/groups/{gid}" is the handler of
    the prefix "/ws/groups/"."""
    return {route.path.rsplit("/", 1)[0] + "/": route.endpoint for route in routes
            if isinstance(route, WebSocketRoute)}


class LiveSockets:
    """A live socket's path goes straight to its handler, past the router and the exception
    layers: each layer a socket passes keeps a frame, closures and objects for the socket's
    whole life, and an open socket is most of what a process holds (and what each full garbage
    collection walks). `endpoints` maps a path's prefix ("/ws/groups/") to the handler of the
    id that follows it. Anything else (pages, the API, a socket path with no plain id) goes on
    through the app as before."""

    def __init__(self, app: ASGIApp, endpoints: dict[str, SocketEndpoint], max_id: int) -> None:
        self.app = app
        self.endpoints = endpoints
        self.max_id = max_id

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] == "websocket":
            path: str = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root):]
            prefix, _, tail = path.rpartition("/")
            endpoint = self.endpoints.get(prefix + "/")
            if endpoint is not None and tail.isascii() and tail.isdigit() and tail[0] != "0":
                found = int(tail)
                if found <= self.max_id:
                    return endpoint(WebSocket(scope, receive, send), found)
        return self.app(scope, receive, send)
