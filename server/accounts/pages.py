"""HTML pages for accounts (sign up, sign in and out, a forgotten password, settings), the
landing and help pages, and what every page route shares: who is looking (forms are read and
run by server.forms)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from server import i18n, zones
from server.accounts import privacy, recovery
from server.accounts import service as accounts
from server.accounts.api import set_session_cookie
from server.csrf import SESSION_COOKIE
from server.deps import (
    OptionalUser,
    SessionDep,
    SettingsDep,
    client_address,
    current_auth_session,
    request_token,
)
from server.errors import AppError, BadRequest, Forbidden, NotSignedIn
from server.forms import checked_form, submit
from server.i18n import N_
from server.models import User
from server.web import crisis_resources, redirect, render, safe_next

router = APIRouter(include_in_schema=False)

# Longest password we will hash at sign-in; the API allows the same.
PASSWORD_INPUT_MAX = 1024


# --- shared by every page route -------------------------------------------------------

@dataclass(frozen=True)
class Viewer:
    """The signed-in member as the page templates see them.

    A copy, not the ORM row: an error page is rendered after the request's session has
    rolled back and closed, when the row can no longer load its attributes.
    """

    id: int
    username: str
    display_name: str
    timezone: str
    receive_only: bool
    language: str


def remember_viewer(request: Request, user: User) -> None:
    request.state.page_user = Viewer(user.id, user.username, user.display_name, user.timezone,
                                     bool(user.receive_only), user.language)
    request.state.member_language = user.language  # server/i18n.py: their pages read in it


async def get_page_visitor(request: Request, user: OptionalUser) -> User | None:
    """Public pages: the member if signed in (so the header can greet them), else None."""
    if user is not None:
        remember_viewer(request, user)
    return user


async def get_page_user(request: Request, user: OptionalUser) -> User:
    """Members' pages: a visitor is sent to /login?next=... by the NotSignedIn handler."""
    if user is None:
        raise NotSignedIn()
    remember_viewer(request, user)
    return user


PageVisitor = Annotated[User | None, Depends(get_page_visitor)]
PageUser = Annotated[User, Depends(get_page_user)]


# --- landing and help ------------------------------------------------------------------

@router.get("/")
async def landing(request: Request, visitor: PageVisitor) -> HTMLResponse:
    """Public: what Cairn is, and the three steps."""
    return render(request, "landing.html")


@router.get("/help")
async def help_page(request: Request) -> HTMLResponse:
    """Public: crisis lines and grounding. Works even when the database does not answer."""
    await _viewer_if_possible(request)
    return render(request, "help.html", resources=crisis_resources(request))


async def _viewer_if_possible(request: Request) -> None:
    token = request_token(request)
    if not token:
        return
    try:
        async with request.app.state.db.session() as session:
            found = await accounts.authenticate(session, token)
            if found is not None:
                remember_viewer(request, found[0])
    except Exception:  # noqa: BLE001, S110 - help must show whatever else is broken
        pass


# --- sign up, sign in, sign out ---------------------------------------------------------

def _signup_page(request: Request, status: int = 200, *, form: dict[str, str], next_url: str,
                 detect: bool, error: str | None = None) -> HTMLResponse:
    """The sign-up form. `detect`: the page's script chooses the zone this device is in (a
    first visit; a form sent back keeps what was chosen)."""
    return render(request, "accounts/signup.html", status_code=status, error=error, form=form,
                  zones=zones.choices(form.get("timezone"), i18n.language_of(request)), detect_zone=detect,
                  zone_aliases=zones.aliases() if detect else None, next=next_url)


@router.get("/signup")
async def signup_page(
    request: Request, visitor: PageVisitor,
    next_url: Annotated[str | None, Query(alias="next")] = None,
) -> Response:
    """Public: the sign-up form; `next` is where to go afterwards (local paths only)."""
    if visitor is not None:
        return redirect(safe_next(next_url))
    return _signup_page(request, form={"timezone": zones.UTC}, next_url=_next_or_none(next_url),
                        detect=True)


def _next_or_none(next_url: str | None) -> str:
    """A local path to go to after signing up, or "" for the usual welcome at /groups."""
    return safe_next(next_url, default="")


@router.post("/signup")
async def signup(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Public: create an account and sign in."""
    form = await checked_form(request)
    values = {k: form.text(k) for k in ("username", "display_name", "timezone")}
    password = form.text("password")
    next_url = _next_or_none(form.text("next") or None)

    async def act() -> Response:
        if password != form.text("password_again"):
            raise BadRequest(N_("The two passwords are not the same. Please type them again."),
                             code="passwords_differ")
        user, shown = await recovery.register(
            session, username=values["username"], password=password,
            display_name=values["display_name"].strip() or None,
            timezone=values["timezone"] or "UTC", language=i18n.language_of(request))
        token = await accounts.start_session(session, settings, user)
        remember_viewer(request, user)
        # The codes are shown in this answer, never kept to show later: the welcome follows.
        response = recovery_codes_page(request, shown, next_url or "/groups", welcome=True)
        set_session_cookie(response, request, token, settings.session_days)
        return response

    async def again(exc: AppError) -> Response:
        return _signup_page(request, exc.status, form=values, next_url=next_url, detect=False,
                            error=i18n.say(request, exc))

    return await submit(session, act, again)


def recovery_codes_page(request: Request, codes: list[str], next_url: str, *,
                        welcome: bool) -> HTMLResponse:
    """The recovery codes, shown this once (after sign-up, or a new set from Settings); never
    kept by a browser's cache. Its only way on is a link, so nothing on it is a form signed
    with a session the browser gets only with this answer."""
    response = render(request, "accounts/recovery_codes.html", codes=codes, next=next_url,
                      welcome=welcome)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/login")
async def login_page(
    request: Request, visitor: PageVisitor,
    next_url: Annotated[str | None, Query(alias="next")] = None,
) -> Response:
    """Public: the sign-in form; `next` is where to go afterwards (local paths only)."""
    if visitor is not None:
        return redirect(safe_next(next_url))
    return render(request, "accounts/login.html", next=safe_next(next_url), username="")


@router.post("/login")
async def login(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Public: sign in. Every sign-in gets a new session id, whatever the browser sent."""
    form = await checked_form(request)
    username, password = form.text("username").strip(), form.text("password")
    next_url = safe_next(form.text("next") or None)

    async def act() -> Response:
        if not username or not password:
            raise BadRequest(N_("Please fill in your username and your password."),
                             code="credentials_required")
        if len(password) > PASSWORD_INPUT_MAX:
            raise NotSignedIn(N_("That username and password do not match."), code="bad_credentials")
        signed_in = await accounts.login(session, settings, username=username,
                                         password=password, address=client_address(request))
        await _end_this_browsers_session(request, session)
        notice = await recovery.take_notice(session, signed_in.user)
        language = i18n.spoken(signed_in.user.language)
        response = (redirect(next_url, notice.words(signed_in.user.timezone, language)) if notice
                    else RedirectResponse(next_url, status_code=303))
        set_session_cookie(response, request, signed_in.token, settings.session_days)
        return response

    async def again(exc: AppError) -> Response:
        return render(request, "accounts/login.html", status_code=exc.status, error=i18n.say(request, exc),
                      username=username[:64], next=next_url)

    return await submit(session, act, again)


async def _end_this_browsers_session(request: Request, session: AsyncSession) -> None:
    """A session this browser already had ends: one browser, one live session."""
    if (old := request.cookies.get(SESSION_COOKIE)) and (found := await accounts.authenticate(
            session, old)) is not None:
        await accounts.end_session(session, found[1])


# The fewest recovery codes left before the page after a recovery suggests a new set.
FEW_CODES = 2


@router.get("/forgot")
async def forgot_page(request: Request, visitor: PageVisitor) -> HTMLResponse:
    """Public: forgot your password? A recovery code or a moderator's reset code lets you set a
    new one."""
    return render(request, "accounts/forgot.html", username="")


@router.post("/forgot")
async def forgot(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Public: set a new password with a recovery code or a reset code, and sign in; the code
    is spent and every other session of the account ends."""
    form = await checked_form(request)
    username, code, new = form.text("username").strip(), form.text("code"), form.text("new_password")

    async def act() -> Response:
        if not username or not code.strip() or not new:
            raise BadRequest(N_("Please fill in your username, a code and a new password."),
                             code="fields_required")
        if new != form.text("new_password_again"):
            raise BadRequest(N_("The two new passwords are not the same. Please type them again."),
                             code="passwords_differ")
        done = await recovery.recover(session, settings, username=username, code=code[:64],
                                      new_password=new, address=client_address(request))
        await _end_this_browsers_session(request, session)
        notice = done.notice
        left = await recovery.remaining(session, done.user.id)
        language = i18n.spoken(done.user.language)
        if notice is not None:
            message = notice.words(done.user.timezone, language)
        elif left <= FEW_CODES:
            message = i18n.ngettext(
                "Your new password is set and you are signed in. Any other devices were signed "
                "out. You have %(num)s recovery code left: you can make a new set here.",
                "Your new password is set and you are signed in. Any other devices were signed "
                "out. You have %(num)s recovery codes left: you can make a new set here.",
                left, language=language)
        else:
            message = i18n.gettext(language, N_(
                "Your new password is set and you are signed in. Any other devices were signed "
                "out."))
        response = redirect("/settings#recovery-codes" if left <= FEW_CODES else "/groups", message)
        set_session_cookie(response, request, done.token, settings.session_days)
        return response

    async def again(exc: AppError) -> Response:
        return render(request, "accounts/forgot.html", status_code=exc.status, error=i18n.say(request, exc),
                      username=username[:64])

    return await submit(session, act, again)


@router.post("/logout")
async def logout(request: Request, user: OptionalUser, session: SessionDep) -> Response:
    """Sign out: this browser's session stops working at once."""
    await checked_form(request)
    if user is not None and (auth := current_auth_session(request)) is not None:
        await accounts.end_session(session, auth)
    response = redirect("/", i18n.translate(
        request, N_("You are signed out. Take good care of yourself.")))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- settings ---------------------------------------------------------------------------

async def _settings_page(request: Request, session: AsyncSession, user: User, status: int = 200,
                         **context: Any) -> HTMLResponse:
    context.setdefault("profile", {"display_name": user.display_name, "timezone": user.timezone,
                                   "receive_only": bool(user.receive_only),
                                   "language": user.language})
    return render(request, "accounts/settings.html", status_code=status,
                  zones=zones.choices(context["profile"]["timezone"], i18n.language_of(request)),
                  codes_left=await recovery.remaining(session, user.id), **context)


@router.get("/settings")
async def settings_page(request: Request, user: PageUser, session: SessionDep) -> HTMLResponse:
    return await _settings_page(request, session, user)


@router.post("/settings")
async def save_settings(request: Request, user: PageUser, session: SessionDep) -> Response:
    """Save the profile: display name, timezone, receive only."""
    form = await checked_form(request)
    profile = {"display_name": form.text("display_name"), "timezone": form.text("timezone"),
               "receive_only": form.checked("receive_only"),
               "language": form.text("language") or user.language}

    async def act() -> Response:
        await accounts.update_profile(session, user, display_name=form.text("display_name"),
                                      timezone=form.text("timezone") or user.timezone,
                                      receive_only=form.checked("receive_only"),
                                      language=form.text("language") or None)
        # Said in the language just chosen: the page it leads to reads in it.
        response = redirect("/settings", i18n.gettext(i18n.spoken(user.language),
                                                      N_("Your settings are saved.")))
        remember_language(response, request, user.language)
        return response

    async def again(exc: AppError) -> Response:
        return await _settings_page(request, session, user, exc.status, profile=profile,
                                    profile_error=i18n.say(request, exc))

    return await submit(session, act, again)


@router.post("/settings/password")
async def change_password(request: Request, user: PageUser, session: SessionDep,
                          settings: SettingsDep) -> Response:
    """Change the password; every other session of this member ends."""
    form = await checked_form(request)
    current, new = form.text("current_password"), form.text("new_password")

    async def act() -> Response:
        if new != form.text("new_password_again"):
            raise BadRequest(N_("The two new passwords are not the same. Please type them again."),
                             code="passwords_differ")
        if len(current) > PASSWORD_INPUT_MAX:
            raise BadRequest(N_("Your current password is not right."), code="wrong_password")
        await accounts.change_password(session, settings, user, current_auth_session(request),
                                       current_password=current, new_password=new,
                                       address=client_address(request))
        return redirect("/settings", i18n.translate(
            request, N_("Your password is changed. Any other devices were signed out.")))

    async def again(exc: AppError) -> Response:
        return await _settings_page(request, session, user, exc.status, security_error=i18n.say(request, exc))

    return await submit(session, act, again)


@router.post("/settings/recovery-codes")
async def new_recovery_codes(request: Request, user: PageUser, session: SessionDep,
                             settings: SettingsDep) -> Response:
    """A new set of recovery codes, with the password, shown this once; the old set stops
    working."""
    form = await checked_form(request)
    password = form.text("password")

    async def act() -> Response:
        if len(password) > PASSWORD_INPUT_MAX:
            raise Forbidden(N_("That password is not right, so no new codes were made. Your codes "
                            "are as they were."), code="bad_credentials")
        codes = await recovery.replace_codes(session, settings, user, password,
                                             address=client_address(request))
        return recovery_codes_page(request, codes, "/settings#recovery-codes", welcome=False)

    async def again(exc: AppError) -> Response:
        return await _settings_page(request, session, user, exc.status, recovery_error=i18n.say(request, exc))

    return await submit(session, act, again)


@router.post("/settings/delete")
async def delete_account(request: Request, user: PageUser, session: SessionDep,
                         settings: SettingsDep) -> Response:
    """Delete the account and personal data for good, with the password; then a farewell."""
    form = await checked_form(request)
    password = form.text("password")
    if len(password) > PASSWORD_INPUT_MAX:
        password = ""

    async def act() -> Response:
        await privacy.delete_account(session, settings, user, password,
                                     address=client_address(request))
        request.state.page_user = None
        response = render(request, "accounts/farewell.html", user=None)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def again(exc: AppError) -> Response:
        return await _settings_page(request, session, user, exc.status, delete_error=i18n.say(request, exc))

    return await submit(session, act, again)


# --- the language switch ----------------------------------------------------------------

def remember_language(response: Response, request: Request, language: str) -> None:
    """This browser reads Cairn in `language` from now on, signed in or not (server/i18n.py)."""
    response.set_cookie(i18n.COOKIE, language, max_age=i18n.COOKIE_DAYS * 86400, httponly=True,
                        samesite="lax", secure=request.url.scheme == "https", path="/")


@router.post("/language")
async def choose_language(request: Request, visitor: PageVisitor, session: SessionDep) -> Response:
    """Public: the language switch on every page. A visitor's choice is remembered by this
    browser; a member's is also their own setting. Back to the page it was chosen on."""
    form = await checked_form(request)
    language = accounts.check_language(form.text("language"))
    if visitor is not None:
        await accounts.update_profile(session, visitor, language=language)
    response = redirect(safe_next(form.text("next") or None, default="/"))
    remember_language(response, request, language)
    return response
