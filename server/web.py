"""What every page shares: templates, the CSRF token, flash messages and redirects."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from server import csrf, formats, i18n
from server.assets import static_url
from server.config import ROOT
from server.moderation import crisis

CSRF_COOKIE = csrf.NONCE_COOKIE
FLASH_COOKIE = "cairn_flash"
# Set when the member's own words suggested they may be in danger: the next page they see
# gently shows where to find help. It carries no words, only "show the resources".
SUPPORT_COOKIE = "cairn_support"
# The longest flash message shown (a translation may run longer than its English).
FLASH_MAX = 400
CSRF_FIELD = csrf.FIELD

ResponseT = TypeVar("ResponseT", bound=Response)

templates = Jinja2Templates(directory=str(ROOT / "web" / "templates"))
# Style sheets and scripts by their content-hashed names (server/assets.py).
templates.env.globals["static_url"] = static_url
# Messages in {% trans %} and _() read in the request's language: render() passes that
# language's gettext functions in the context (server/i18n.py). What is rendered outside a
# request (a fragment for many readers, the offline page) reads in English.
templates.env.add_extension("jinja2.ext.i18n")
templates.env.policies["ext.i18n.trimmed"] = True
templates.env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]


def _in_reader_language(format_: Callable[..., str]) -> Callable[..., str]:
    """A server/formats.py function as a template global, in the render's language."""
    @pass_context
    def in_language(context: Any, value: Any, *args: Any) -> str:
        return format_(value, *args, context.get("language") or i18n.SOURCE)
    return in_language


# Dates, weekdays, months, times, durations and numbers as the reader's language says them:
# {{ day_label(d) }}, {{ short_day(d) }}, {{ weekday(d) }}, {{ month_name(d) }},
# {{ time_label(t) }}, {{ ago(delta) }}, {{ number(n) }}; moment(at, timezone).
templates.env.globals.update({
    "day_label": _in_reader_language(formats.day),
    "short_day": _in_reader_language(formats.short_day),
    "day_of_month": _in_reader_language(formats.day_of_month),
    "weekday": _in_reader_language(lambda d, language: formats.weekday(d, language)),
    "short_weekday": _in_reader_language(
        lambda d, language: formats.weekday(d, language, "abbreviated")),
    "month_name": _in_reader_language(lambda d, language: formats.month(d, language)),
    "short_month": _in_reader_language(
        lambda d, language: formats.month(d, language, "abbreviated")),
    "time_label": _in_reader_language(formats.time_of_day),
    "moment": _in_reader_language(formats.moment),
    "ago": _in_reader_language(formats.ago),
    "number": _in_reader_language(formats.number),
})


def macros(template: str, language: str = i18n.SOURCE) -> Any:
    """A template's macros in one language, to render a fragment once for many readers of it:
    its forms carry an empty CSRF token, which the page that places the fragment fills with
    its own. Made once per template and language from the installed catalogues."""
    found = i18n.installed()
    key = (template, language)
    module = found.modules.get(key)
    if module is None:
        module = found.modules[key] = templates.env.get_template(template).make_module(
            {"csrf_token": "", "language": language, **found.template_words(language)})
    return module


def _nonce(request: Request) -> str:
    """The browser's CSRF nonce: from its cookie, or a new one to set on this answer."""
    nonce = getattr(request.state, "csrf_nonce", None)
    if nonce is None:
        nonce = request.cookies.get(CSRF_COOKIE)
        if not nonce or len(nonce) > 64:
            nonce = secrets.token_urlsafe(24)
            request.state.csrf_new = True
        request.state.csrf_nonce = nonce
    return nonce


def csrf_token(request: Request) -> str:
    """The token this page's forms and fetch calls carry (see server/csrf.py)."""
    return csrf.new_token(request.app.state.settings.secret_key, _nonce(request),
                          request.cookies.get(csrf.SESSION_COOKIE))


def _with_csrf_cookie(request: Request, response: ResponseT) -> ResponseT:
    if getattr(request.state, "csrf_new", False):
        response.set_cookie(CSRF_COOKIE, request.state.csrf_nonce, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https", path="/")
    return response


def _in_language(request: Request, context: dict[str, Any]) -> None:
    """The request's language (for <html lang>) and its gettext functions for the templates."""
    language = i18n.language_of(request)
    found = i18n.catalogues(request)
    context["language"] = language
    # The language switch's choices (base.html), each named in itself.
    context["languages"] = i18n.offered_of(found)
    context.update(found.template_words(language))
    # {{ said(error) }}: an AppError's detail in this language.
    context["said"] = lambda error: error.said(found.for_language(language).gettext)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("user", getattr(request.state, "page_user", None))
    _in_language(request, context)
    context["csrf_token"] = csrf_token(request)
    flash = request.cookies.get(FLASH_COOKIE)
    context["flash"] = unquote(flash)[:FLASH_MAX] if flash else None
    wants_support = request.cookies.get(SUPPORT_COOKIE) in ("1", "private")
    if wants_support and context.get("user") is not None:
        context.setdefault("support", {**support_resources(request),
                                       "moderators_told": request.cookies.get(SUPPORT_COOKIE) == "1"})
    response: HTMLResponse = templates.TemplateResponse(request, template, context,
                                                        status_code=status_code)
    response.headers["Content-Language"] = context["language"]
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    if wants_support:
        response.delete_cookie(SUPPORT_COOKIE, path="/")
    return _with_csrf_cookie(request, response)


def render_part(request: Request, template: str, **context: Any) -> HTMLResponse:
    """A piece of a page fetched by the page's script: the page's token for its forms, and the
    flash and help notices left for the next whole page."""
    context["csrf_token"] = csrf_token(request)
    _in_language(request, context)
    return _with_csrf_cookie(request, templates.TemplateResponse(request, template, context))


def _from_deployment_file(request: Request, read: Callable[[str | None], dict[str, Any]]
                          ) -> dict[str, Any]:
    """read() the deployment's crisis file, or the shipped one if that cannot be read, so
    help never fails to show."""
    try:
        return read(request.app.state.settings.crisis_resources_file)
    except (OSError, ValueError, KeyError, TypeError):
        return read(None)


def crisis_resources(request: Request, language: str | None = None) -> dict[str, Any]:
    """The crisis lines and grounding steps, in the reader's language's wording."""
    language = language or i18n.language_of(request)
    return _from_deployment_file(request, lambda path: crisis.resources(None, path, language))


def support_resources(request: Request) -> dict[str, Any]:
    """What a member whose words suggested danger is shown, as the API's `support`."""
    language = i18n.language_of(request)
    return _from_deployment_file(request, lambda path: crisis.support(path, language))


def redirect(url: str, message: str | None = None, *,
             support: dict[str, Any] | None = None) -> RedirectResponse:
    """303 to url; the message is shown once on the next page. It travels in a short-lived
    cookie, not the URL, so nobody can craft a link that puts their words on Cairn's page.
    `support` (the writer's pending support, if their words called for it): the next page
    also shows crisis lines, saying whether the moderators were told."""
    response = RedirectResponse(url, status_code=303)
    if message:
        response.set_cookie(FLASH_COOKIE, quote(message), max_age=60, httponly=True,
                            samesite="lax", path="/")
    if support:
        told = support.get("moderators_told", True)
        response.set_cookie(SUPPORT_COOKIE, "1" if told else "private", max_age=600, httponly=True,
                            samesite="lax", path="/")
    return response


def safe_next(url: str | None, default: str = "/groups") -> str:
    """Only local paths, so a sign-in link cannot send someone to another site."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return default
