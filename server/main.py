"""The Cairn ASGI app: create_app() wires settings, database, hub, routers and error pages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi import routing as fastapi_routing
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from server import app_shell, collector, docs, i18n, observability, openapi, retention
from server.accounts import api as accounts_api
from server.accounts import pages as accounts_pages
from server.accounts import service as accounts_service
from server.assets import assets
from server.commitments import api as commitments_api
from server.commitments import pages as commitments_pages
from server.config import Settings, get_settings
from server.csrf import RequestOrigin
from server.db import Database, transaction
from server.db import epoch as db_epoch
from server.deps import MAX_ID
from server.encouragements import api as encouragements_api
from server.encouragements import live as encouragements_live
from server.errors import AppError, Invalid, NotSignedIn, TooLarge, Unavailable
from server.groups import api as groups_api
from server.groups import live as groups_live
from server.groups import pages as groups_pages
from server.groups import service as groups_service
from server.middleware import (
    BodyLimit,
    BodyTooLarge,
    Compression,
    LiveSockets,
    SecurityHeaders,
    socket_endpoints,
)
from server.models import Membership
from server.moderation import api as moderation_api
from server.moderation import pages as moderation_pages
from server.observability import AccessLog
from server.practice import api as practice_api
from server.practice import pages as practice_pages
from server.practice import sessions as practice_sessions
from server.realtime import wiring
from server.realtime import ws as realtime_ws
from server.realtime.hub import create_hub
from server.reminders import api as reminders_api
from server.reminders import pages as reminders_pages
from server.reminders import push as reminders_push
from server.reminders import service as reminders
from server.roleplay import api as roleplay_api
from server.roleplay import pages as roleplay_pages
from server.roleplay import service as roleplay_service
from server.roleplay import ws as roleplay_ws
from server.web import render

log = logging.getLogger("cairn")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/ws/")) or request.url.path in (
        "/healthz", "/readyz")


def _error_page(request: Request, exc: AppError) -> Response:
    if isinstance(exc, NotSignedIn):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
    return render(request, "error.html", status_code=exc.status, error=exc)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        if _wants_json(request):
            body = {**exc.body(), "detail": i18n.say(request, exc)}
            return JSONResponse(body, status_code=exc.status, headers=exc.headers)
        return _error_page(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()]
        if any(e.get("type") == "json_invalid" for e in errors):
            err = AppError(i18n.N_("The request body is not valid JSON."), code="malformed")
            return JSONResponse({**err.body(), "detail": i18n.say(request, err), "errors": errors},
                                status_code=400)
        err = validation_problem(exc.errors())
        if not _wants_json(request):
            return render(request, "error.html", status_code=422, error=err)
        return JSONResponse({**err.body(), "detail": i18n.say(request, err), "errors": errors},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        detail = {404: i18n.N_("We could not find that."),
                  405: i18n.N_("That cannot be done here.")}.get(exc.status_code,
                                                                 i18n.N_("That did not work."))
        err = AppError(detail, code=code)
        err.status = exc.status_code
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        if _wants_json(request):
            body = {**err.body(), "detail": i18n.say(request, err)}
            return JSONResponse(body, status_code=exc.status_code, headers=headers)
        page = render(request, "error.html", status_code=exc.status_code, error=err)
        page.headers.update(headers or {})
        return page

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge) -> Response:
        err = TooLarge()
        return JSONResponse({**err.body(), "detail": i18n.say(request, err)}, status_code=413,
                            headers={"Connection": "close"})

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    @app.exception_handler(OSError)
    async def dependency_down(request: Request, exc: Exception) -> Response:
        log.warning("dependency unavailable: %s", type(exc).__name__)
        err = Unavailable()
        if _wants_json(request):
            return JSONResponse({**err.body(), "detail": i18n.say(request, err)}, status_code=503,
                                headers={"Retry-After": "5"})
        return render(request, "error.html", status_code=503, error=err)


METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def route_entries(app: FastAPI) -> list[BaseRoute]:
    """Every route of the app, with included routers opened up."""
    walk = getattr(fastapi_routing, "iter_route_contexts", None)
    return list(walk(app.router.routes)) if walk else list(app.router.routes)


def methods_at(app: FastAPI, scope: Scope) -> set[str]:
    """Every method some route serves at this scope's path; HEAD wherever GET is."""
    methods: set[str] = set()
    # A mount (static files) that refused the method has made the scope its own: start again
    # from the app's root.
    scope = {**scope, "root_path": scope.get("app_root_path", scope.get("root_path", ""))}
    for route in route_entries(app):
        # A mount (static files) owns its paths whatever the method, and serves GET and HEAD.
        if isinstance(getattr(route, "original_route", route), Mount):
            if route.matches(scope)[0] != Match.NONE:
                methods |= {"GET", "HEAD"}
            continue
        served = getattr(route, "methods", None) or set()
        if served and route.matches({**scope, "method": next(iter(served))})[0] != Match.NONE:
            methods |= served
    if "GET" in methods:
        methods.add("HEAD")
    return methods


def _allowed_methods(request: Request) -> str:
    """The Allow header of a 405 (Starlette names only the first route's methods)."""
    order = list(METHOD_ORDER)
    methods = methods_at(request.app, request.scope)
    return ", ".join(sorted(methods, key=lambda m: order.index(m) if m in order else len(order)))


class HeadLikeGet:
    """HEAD is answered wherever GET is: the GET's status and headers, without its body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not awaited: a websocket keeps no frame of this layer (see server.middleware).
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return self.app(scope, receive, send)
        return self._head(scope, receive, send)

    async def _head(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body"):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


# The request-validation errors people meet most, by pydantic's error `type`, each said in
# the reader's language: the field's name as the API spells it, and the limit from the
# error's `ctx`. Any other type is "not valid"; the answer's `errors` keep pydantic's own.
N_ = i18n.N_
VALIDATION_MESSAGES: dict[str, tuple[str, str | None]] = {
    "missing": (N_("The field %(field)s is missing."), None),
    "string_too_long": (N_("The field %(field)s should have at most %(limit)s characters."),
                        "max_length"),
    "string_too_short": (N_("The field %(field)s should have at least %(limit)s characters."),
                         "min_length"),
    "too_long": (N_("The field %(field)s should have at most %(limit)s items."), "max_length"),
    "too_short": (N_("The field %(field)s should have at least %(limit)s items."), "min_length"),
    "string_type": (N_("The field %(field)s should be text."), None),
    "int_type": (N_("The field %(field)s should be a whole number."), None),
    "int_parsing": (N_("The field %(field)s should be a whole number."), None),
    "int_from_float": (N_("The field %(field)s should be a whole number."), None),
    "float_type": (N_("The field %(field)s should be a number."), None),
    "float_parsing": (N_("The field %(field)s should be a number."), None),
    "bool_type": (N_("The field %(field)s should be true or false."), None),
    "bool_parsing": (N_("The field %(field)s should be true or false."), None),
    "list_type": (N_("The field %(field)s should be a list."), None),
    "dict_type": (N_("The field %(field)s should be an object."), None),
    "model_type": (N_("The field %(field)s should be an object."), None),
    "model_attributes_type": (N_("The field %(field)s should be an object."), None),
    "greater_than_equal": (N_("The field %(field)s should be at least %(limit)s."), "ge"),
    "greater_than": (N_("The field %(field)s should be more than %(limit)s."), "gt"),
    "less_than_equal": (N_("The field %(field)s should be at most %(limit)s."), "le"),
    "less_than": (N_("The field %(field)s should be less than %(limit)s."), "lt"),
    "literal_error": (N_("The field %(field)s should be one of: %(limit)s."), "expected"),
    "enum": (N_("The field %(field)s should be one of: %(limit)s."), "expected"),
    "string_pattern_mismatch": (N_("The field %(field)s is not in the form it should be."), None),
    "extra_forbidden": (N_("The field %(field)s is not one this accepts."), None),
}
NOT_VALID = N_("The field %(field)s is not valid.")


def validation_problem(errors: Sequence[Any]) -> AppError:
    """The first of a request's validation errors as an `invalid` error, said in the reader's
    language by its type."""
    if not errors:
        return Invalid(N_("Some fields are not valid."))
    first = errors[0]
    field = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
    message, limit_key = VALIDATION_MESSAGES.get(first.get("type", ""), (NOT_VALID, None))
    params: dict[str, Any] = {"field": field}
    if limit_key is not None:
        limit = (first.get("ctx") or {}).get(limit_key)
        if limit is None:
            message = NOT_VALID
        elif limit_key == "min_length" and limit == 1:
            message = N_("The field %(field)s should not be empty.")
        else:
            params["limit"] = limit
    return Invalid(message, params=params)


def wire_live() -> None:
    """Lend the live sockets what the domains know; realtime imports none of them."""
    wiring.lend(authenticate=accounts_service.authenticate,
                authenticate_in_group=accounts_service.authenticate_in_group,
                membership=_membership)
    encouragements_live.register()
    groups_live.register()


async def _membership(session: AsyncSession, group_id: int, user_id: int) -> Membership:
    return (await groups_service.membership_of(session, group_id, user_id))[1]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    wire_live()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings)
        hub = create_hub(settings, db)
        db.doorbell, db.sessions_ended = hub.ring, hub.sessions_ended
        app.state.db, app.state.hub = db, hub
        await hub.start()
        async with transaction(db) as session:
            await roleplay_service.sync_builtin_cards(session)
            db.epoch = await db_epoch(session)
        roleplay_ws.start(app.state, db)
        pruner = (asyncio.create_task(retention.run_forever(db))
                  if settings.prune_interval_minutes else None)
        pusher = reminders_push.Pusher(settings)
        app.state.pusher = pusher
        reminding = (asyncio.create_task(reminders.run_forever(db, pusher))
                     if settings.reminder_interval_seconds and pusher.ready else None)
        practising = (asyncio.create_task(practice_sessions.run_forever(db))
                      if settings.reminder_interval_seconds else None)
        collecting = (collector.schedule(settings.full_collection_minutes * 60)
                      if settings.full_collection_minutes else None)
        try:
            yield
        finally:
            jobs = [job for job in (pruner, reminding, practising, collecting) if job]
            for job in jobs:
                job.cancel()
            # A pass cut short rolls back and gives its connection back before the pool closes.
            await asyncio.gather(*jobs, return_exceptions=True)
            roleplay_ws.stop(app.state)
            await hub.stop()
            await db.dispose()

    app = FastAPI(
        title="Cairn", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
        description="A private place for small codependency recovery groups.",
    )
    app.state.settings = settings
    app.state.catalogues = i18n.load()  # every language's compiled messages, read once
    i18n.install(app.state.catalogues)
    _install_error_handlers(app)
    # Innermost: HEAD (below) answers with the headers of the compressed GET.
    app.add_middleware(Compression)
    app.add_middleware(HeadLikeGet)
    app.add_middleware(RequestOrigin)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog)
    app.add_api_route("/metrics", observability.metrics, include_in_schema=False)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Public: the process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    async def readyz(request: Request) -> JSONResponse:
        """Public: 200 when the database (and Redis, if configured) answer; else 503."""
        checks = {"database": "ok"}
        try:
            async with request.app.state.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            checks["database"] = "down"
        hub_state = await request.app.state.hub.health()
        if hub_state is not None:
            checks["redis"] = hub_state
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ready else "unavailable", "checks": checks},
                            status_code=200 if ready else 503)

    api = (accounts_api, groups_api, commitments_api, encouragements_api, roleplay_api,
           moderation_api, reminders_api, practice_api)
    pages = (groups_pages, commitments_pages, accounts_pages, roleplay_pages, moderation_pages,
             reminders_pages, practice_pages, app_shell, *((docs,) if settings.api_docs_on else ()))
    # A request is matched against each route in turn, router by router: the pages, which
    # members ask for most (the group's day first), before the API, whose paths all begin
    # with /api/v1 and so never meet a page's: a page is no longer tried against every API
    # route first, about 0.12 ms a page (docs/performance.md, `python -m bench.routing`).
    for module in (*pages, *api):
        app.include_router(module.router)
    openapi.install(app, [app.router, *(m.router for m in (*api, *pages))])
    app.include_router(realtime_ws.router)
    app.include_router(roleplay_ws.router)
    # Outside the layers above: each socket route's handler, by the route's own path.
    app.add_middleware(LiveSockets, max_id=MAX_ID, endpoints=socket_endpoints(
        [*realtime_ws.router.routes, *roleplay_ws.router.routes]))
    # Outermost: every layer sees the client's own address and scheme, taken from forwarded
    # headers only when the peer is one of CAIRN_TRUSTED_PROXIES.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    if settings.api_docs_on:
        docs.mount_assets(app)  # before /static, which would otherwise shadow /static/swagger
    app.mount("/static", assets(), name="static")
    return app


app = create_app()
