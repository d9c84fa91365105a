"""The OpenAPI document: FastAPI's, plus the error answers each operation can give, in the
contract's shape, and how to sign in, so a client (or a fuzzer) can rely on every status."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from server import csrf, deps

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "description": "Every error: a machine code (always English) and a sentence for a person, "
                   "in the language the request reads in (the member's own, else the language "
                   "switch's choice, else Accept-Language). Some errors add fields (`errors` "
                   "for validation, `support` for crisis resources).",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "examples": ["not_found"]},
        "detail": {"type": "string", "examples": ["We could not find that."]},
    },
    "additionalProperties": True,
}
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "title": "ValidationErrorOut",
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "examples": ["invalid"]},
        "detail": {"type": "string", "examples": ["The field text is missing."]},
        "errors": {"type": "array", "items": {
            "type": "object",
            "properties": {"type": {"type": "string"}, "loc": {"type": "array"},
                           "msg": {"type": "string"}},
        }},
    },
    "additionalProperties": True,
}
READY_SCHEMA: dict[str, Any] = {
    "title": "ReadyOut",
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"type": "string", "enum": ["ready", "unavailable"]},
        "checks": {"type": "object", "additionalProperties": {
            "type": "string", "enum": ["ok", "down", "reconnecting"]}},
    },
}

DESCRIPTIONS = {
    "400": "Malformed request (the body is not JSON, or a rule of the request was broken).",
    "401": "Not signed in.",
    "403": "Not allowed: signed in but not a moderator, muted, removed or not the author; or "
           "`csrf_failed`: another site's page sent it, or the session cookie signed it "
           "without the page's `X-CSRF-Token`.",
    "404": "Not found, or not a member (a private group's existence is never revealed).",
    "409": "Conflict (taken, full, already done).",
    "410": "Expired, withdrawn or used up.",
    "413": "The request body is too large.",
    "422": "Validation failed.",
    "429": "Too many tries; see Retry-After.",
    "503": "A dependency (the database) is down; try again shortly.",
}

# Statuses particular to an operation, beyond what its dependencies imply.
EXTRA: dict[tuple[str, str], tuple[str, ...]] = {
    ("post", "/api/v1/auth/register"): ("409",),
    ("post", "/api/v1/auth/login"): ("401", "429"),
    ("post", "/api/v1/auth/recover"): ("401", "429"),
    ("post", "/api/v1/me/recovery-codes"): ("403", "429"),
    ("post", "/api/v1/groups/{gid}/members/{uid}/reset-code"): ("400",),
    ("post", "/api/v1/groups/join"): ("403", "404", "409", "410"),
    ("delete", "/api/v1/me"): ("403", "429"),
    ("post", "/api/v1/me/password"): ("403", "429"),
    ("patch", "/api/v1/me"): ("409",),
    ("post", "/api/v1/groups/{gid}/commitments"): ("409",),
    ("patch", "/api/v1/commitments/{cid}"): ("409",),
    ("post", "/api/v1/groups/{gid}/encouragements"): ("409", "429"),
    ("post", "/api/v1/groups/{gid}/roleplays"): ("409",),
    ("post", "/api/v1/groups/{gid}/hidden"): ("409",),
    ("post", "/api/v1/groups/{gid}/reports"): ("429",),
    ("patch", "/api/v1/groups/{gid}/members/{uid}"): ("409",),
    ("get", "/api/v1/scenarios"): ("403", "404"),
}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _error_statuses(route: APIRoute, method: str) -> set[str]:
    calls = set(_calls(route.dependant))
    statuses: set[str] = set(EXTRA.get((method, route.path_format), ()))
    if deps.get_session in calls:
        statuses.add("503")
    if route.body_field is not None:
        statuses |= {"400", "413", "422"}
    if method in ("post", "put", "patch", "delete"):
        statuses.add("403")  # csrf_failed (server/csrf.py)
    if route.dependant.path_params or route.dependant.query_params:
        statuses.add("422")
    if deps.get_current_user in calls:
        statuses.add("401")
        if route.dependant.path_params:
            statuses |= {"403", "404"}
    if deps.get_group_member in calls:
        statuses |= {"403", "404"}
    return statuses


def _response(status: str) -> dict[str, Any]:
    ref = "ValidationErrorOut" if status == "422" else "Error"
    return {"description": DESCRIPTIONS[status],
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def build(app: FastAPI, routes: list[APIRoute]) -> dict[str, Any]:
    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes)
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas.update({"Error": ERROR_SCHEMA, "ValidationErrorOut": VALIDATION_ERROR_SCHEMA,
                    "ReadyOut": READY_SCHEMA})
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer",
                   "description": "The token that POST /api/v1/auth/login answers."},
        "session": {"type": "apiKey", "in": "cookie", "name": csrf.SESSION_COOKIE,
                    "description": "The session cookie a browser gets at sign-in."},
    }
    for route in routes:
        if not route.include_in_schema:
            continue
        for method in (route.methods or set()) - {"HEAD"}:
            method = method.lower()
            operation = schema["paths"].get(route.path_format, {}).get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(_error_statuses(route, method)):
                responses[status] = _response(status)
            if deps.get_current_user in set(_calls(route.dependant)):
                operation["security"] = [{"bearer": []}, {"session": []}]
    ready = schema["paths"].get("/readyz", {}).get("get")
    if ready is not None:
        body = {"application/json": {"schema": {"$ref": "#/components/schemas/ReadyOut"}}}
        ready["responses"] = {
            "200": {"description": "The database (and Redis, if configured) answer.", "content": body},
            "503": {"description": "A dependency is down; `checks` says which.", "content": body},
        }
    return schema


def install(app: FastAPI, routers: list[APIRouter]) -> None:
    """Serve the completed document; `routers` are those the app includes (their routes
    carry their full paths and dependencies)."""
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app, routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
