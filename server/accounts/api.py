"""JSON routes for accounts: /api/v1/auth/* and /api/v1/me."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from server import i18n
from server.accounts import privacy, recovery
from server.accounts import service as accounts
from server.accounts.schemas import (
    LoginIn,
    LoginOut,
    NewRecoveryCodesIn,
    NewRecoveryCodesOut,
    PasswordIn,
    ProfileIn,
    RecoverIn,
    RecoveryCodesOut,
    RegisteredOut,
    RegisterIn,
    ResetNoticeOut,
    UserOut,
)
from server.csrf import SESSION_COOKIE
from server.deps import (
    CurrentUser,
    SessionDep,
    SettingsDep,
    client_address,
    current_auth_session,
)

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def set_session_cookie(response: Response, request: Request, token: str, days: int) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=days * 86400, httponly=True, samesite="lax",
        secure=request.url.scheme == "https", path="/",
    )


@router.post("/auth/register", status_code=status.HTTP_201_CREATED, response_model=RegisteredOut)
async def register(body: RegisterIn, request: Request, session: SessionDep) -> RegisteredOut:
    """Public: create an account. No email or real name is ever asked for; instead the answer
    carries the member's recovery codes, this once. Its language is `language`, else the one
    the request reads in (the language switch's choice, else Accept-Language)."""
    user, shown = await recovery.register(session, username=body.username, password=body.password,
                                          display_name=body.display_name, timezone=body.timezone,
                                          language=body.language or i18n.language_of(request))
    return RegisteredOut(**UserOut.model_validate(user).model_dump(), recovery_codes=shown)


def _notice_out(notice: recovery.ResetNotice | None) -> ResetNoticeOut | None:
    if notice is None:
        return None
    return ResetNoticeOut(by=notice.by or "a former moderator", group=notice.group, at=notice.at)


@router.post("/auth/login", response_model=LoginOut)
async def login(
    body: LoginIn, request: Request, response: Response, session: SessionDep,
    settings: SettingsDep,
) -> LoginOut:
    """Public: sign in; answers a bearer token and sets the session cookie."""
    signed_in = await accounts.login(session, settings, username=body.username,
                                     password=body.password, address=client_address(request))
    notice = await recovery.take_notice(session, signed_in.user)
    set_session_cookie(response, request, signed_in.token, settings.session_days)
    return LoginOut(token=signed_in.token, user=UserOut.model_validate(signed_in.user),
                    password_reset=_notice_out(notice))


@router.post("/auth/recover", response_model=LoginOut)
async def recover(
    body: RecoverIn, request: Request, response: Response, session: SessionDep,
    settings: SettingsDep,
) -> LoginOut:
    """Public: forgot the password? Set a new one with a recovery code or a moderator's reset
    code, and sign in as /auth/login does. The code is spent and every other session of the
    account ends. Tries count with failed sign-ins (429 with Retry-After when there were too
    many); a wrong, used, expired or void code and an unknown username all answer 401
    `bad_credentials`."""
    done = await recovery.recover(session, settings, username=body.username, code=body.code,
                                  new_password=body.new_password, address=client_address(request))
    set_session_cookie(response, request, done.token, settings.session_days)
    return LoginOut(token=done.token, user=UserOut.model_validate(done.user),
                    password_reset=_notice_out(done.notice))


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    if (auth := current_auth_session(request)) is not None:
        await accounts.end_session(session, auth)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.patch("/me", response_model=UserOut)
async def update_me(body: ProfileIn, user: CurrentUser, session: SessionDep) -> UserOut:
    await accounts.update_profile(session, user, display_name=body.display_name,
                                  timezone=body.timezone, receive_only=body.receive_only,
                                  language=body.language)
    return UserOut.model_validate(user)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    body: PasswordIn, request: Request, user: CurrentUser, session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """Change the password; every other session of this member ends. Wrong current passwords
    count with failed sign-ins (429 with Retry-After when there were too many)."""
    await accounts.change_password(session, settings, user, current_auth_session(request),
                                   current_password=body.current_password,
                                   new_password=body.new_password, address=client_address(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me/recovery-codes", response_model=RecoveryCodesOut)
async def recovery_codes(user: CurrentUser, session: SessionDep) -> RecoveryCodesOut:
    """How many of my recovery codes are left (never the codes: only their hashes are kept)."""
    return RecoveryCodesOut(remaining=await recovery.remaining(session, user.id))


@router.post("/me/recovery-codes", status_code=status.HTTP_201_CREATED,
             response_model=NewRecoveryCodesOut)
async def new_recovery_codes(
    body: NewRecoveryCodesIn, request: Request, user: CurrentUser, session: SessionDep,
    settings: SettingsDep,
) -> NewRecoveryCodesOut:
    """A new set of recovery codes, shown this once; the old set stops working. Needs the
    password; wrong ones count with failed sign-ins (429 with Retry-After when there were too
    many)."""
    codes = await recovery.replace_codes(session, settings, user, body.password,
                                         address=client_address(request))
    return NewRecoveryCodesOut(recovery_codes=codes)


class DeleteIn(BaseModel):
    password: str = Field(min_length=1, max_length=1024)


@router.get("/me/export")
async def export_me(user: CurrentUser, session: SessionDep) -> JSONResponse:
    """Everything of mine, as JSON."""
    data = await privacy.export(session, user)
    return JSONResponse(data, headers={
        "Content-Disposition": f'attachment; filename="cairn-{user.username}.json"'})


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT)
async def delete_me(body: DeleteIn, request: Request, user: CurrentUser, session: SessionDep,
                    settings: SettingsDep) -> Response:
    """Delete my account and personal data, at once; every session ends. Wrong passwords
    count with failed sign-ins (429 with Retry-After when there were too many)."""
    await privacy.delete_account(session, settings, user, body.password,
                                 address=client_address(request))
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
