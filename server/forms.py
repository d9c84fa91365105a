"""Posted forms: reading one whose CSRF token is checked, and running its action so that a
rule it breaks answers with the page again, the error beside the field, and nothing
half-written."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, overload

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from server import csrf
from server.db import READING
from server.errors import AppError, Invalid
from server.i18n import N_


class NotAWholeNumber(Invalid):
    """A number field out of its range. What the field is (`what`, marked with N_ where the
    form reads it) is said in the reader's language too."""

    code = "invalid_number"

    def said(self, gettext: Callable[[str], str]) -> str:
        return gettext(self.message) % {**self.params, "what": gettext(self.params["what"])}


class Form:
    """A posted form whose CSRF token has been checked; fields read as plain strings."""

    def __init__(self, data: Any) -> None:
        self._data = data

    def text(self, name: str) -> str:
        value = self._data.get(name)
        return value if isinstance(value, str) else ""

    def checked(self, name: str) -> bool:
        return self.text(name).lower() in ("on", "yes", "true", "1")

    @overload
    def whole_number(self, name: str, what: str, low: int, high: int, default: int) -> int: ...

    @overload
    def whole_number(self, name: str, what: str, low: int, high: int,
                     default: None = None) -> int | None: ...

    def whole_number(self, name: str, what: str, low: int, high: int,
                     default: int | None = None) -> int | None:
        """An optional whole number in [low, high]; a clear message for anything else. `what`
        names the field for that message, marked with N_ ("How you feel")."""
        raw = self.text(name).strip()
        if not raw:
            return default
        # ASCII digits only ("²".isdigit() is true, and int() refuses it), and few of them.
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 18) or not low <= int(raw) <= high:
            raise NotAWholeNumber(N_("%(what)s should be a whole number from %(low)s to %(high)s."),
                                  params={"what": what, "low": low, "high": high})
        return int(raw)


async def checked_form(request: Request) -> Form:
    """Read the posted form and check its CSRF token before anything else happens."""
    data = await request.form()
    token = data.get(csrf.FIELD)
    csrf.check(request, token if isinstance(token, str) else None)
    return Form(data)


async def submit(session: AsyncSession, action: Callable[[], Awaitable[Response]],
                 again: Callable[[AppError], Awaitable[Response]]) -> Response:
    """Every form's one way to act: `action()` runs in a savepoint and answers (a redirect,
    usually); if it breaks a rule (AppError), the savepoint rolls back what it wrote and the
    after-commit work it queued (no doorbell for an event never written), and `again(error)`
    answers instead, with the error's headers (Retry-After). `again` may raise to show the
    error page."""
    try:
        if session.info.get(READING):  # a page that only reads has nothing to roll back
            return await action()
        async with session.begin_nested():
            return await action()
    except AppError as exc:
        await _reload(session)
        response = await again(exc)
        for name, value in exc.headers.items():
            response.headers[name] = value
        return response


async def _reload(session: AsyncSession) -> None:
    """Load again the rows the rollback expired (those the action changed), which the page
    shows: an async session cannot load them lazily while rendering."""
    for row in list(session.identity_map.values()):
        if inspect(row).expired_attributes:
            await session.refresh(row)
