"""One error hierarchy for services, turned into JSON for the API and into pages for people."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.i18n import N_


class AppError(Exception):
    """A failure a client can cause or fix; never a 500."""

    status = 400
    code = "bad_request"
    detail = N_("The request could not be understood.")

    def __init__(
        self, detail: str | None = None, *, code: str | None = None,
        headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        # The message as written (marked with N_, "%(name)s" where a value goes) and its
        # values: said in the reader's language by `said`; `detail` is it in English.
        self.message = detail or type(self).detail
        self.params = params or {}
        self.detail = self.message % self.params if self.params else self.message
        self.code = code or type(self).code
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(self.detail)

    def said(self, gettext: Callable[[str], str]) -> str:
        """The detail in a language, given that language's gettext."""
        text = gettext(self.message)
        return text % self.params if self.params else text

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, **self.extra}


class BadRequest(AppError):
    status, code = 400, "bad_request"


class NotSignedIn(AppError):
    status, code, detail = 401, "not_signed_in", N_("Please sign in first.")


class Forbidden(AppError):
    status, code, detail = 403, "forbidden", N_("You are not allowed to do that.")


class NotFound(AppError):
    status, code, detail = 404, "not_found", N_("We could not find that.")


class Conflict(AppError):
    status, code = 409, "conflict"


class Gone(AppError):
    status, code = 410, "gone"


class TooLarge(AppError):
    status, code, detail = 413, "too_large", N_("That request is too large.")


class Invalid(AppError):
    status, code = 422, "invalid"


class RateLimited(AppError):
    status, code, detail = 429, "rate_limited", N_("Too many tries. Please wait a little.")

    def __init__(self, detail: str | None = None, *, retry_after: int, **kw: Any) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))}, **kw)
        self.retry_after = max(1, retry_after)


class Unavailable(AppError):
    status, code = 503, "unavailable"
    detail = N_("Cairn cannot reach its database right now. Please try again in a moment.")

    def __init__(self, detail: str | None = None, **kw: Any) -> None:
        kw["headers"] = {"Retry-After": "5", **(kw.get("headers") or {})}
        super().__init__(detail, **kw)
