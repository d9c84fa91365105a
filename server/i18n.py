"""The languages Cairn speaks: which it knows, which it offers, and which one a request reads.

Messages are written in English in the code and templates, extracted into
server/locale/messages.pot and translated in server/locale/<code>/LC_MESSAGES/messages.po
(docs/translating.md). The compiled .mo files are built before Cairn runs (the Makefile,
the Dockerfile) and read once at start-up, never at request time.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from babel.core import negotiate_locale
from fastapi import Request
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

SOURCE = "en"
DOMAIN = "messages"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


@dataclass(frozen=True)
class Language:
    code: str
    # Offered to members only once every message is translated and read through.
    complete: bool
    # The language's name in itself ("Español"), as the language switch offers it: never
    # translated, so a reader finds their own language whatever the page's.
    name: str = ""


# Every language Cairn knows; each is offered once complete (docs/translating.md).
LANGUAGES: dict[str, Language] = {
    "en": Language("en", complete=True, name="English"),
    "es": Language("es", complete=True, name="Español"),
}

# A visitor's choice on the language switch (server/accounts/language.py): honoured after a
# member's own setting and before the browser's Accept-Language.
COOKIE = "cairn_language"
COOKIE_DAYS = 365


class MissingCatalogue(Exception):
    """A language marked complete has no compiled catalogue: `make` (or `pybabel compile`)
    was not run. Raised at start-up, so Cairn never serves half a language."""


def N_(message: str) -> str:
    """Marks a message for extraction where it is written; it is translated where it is shown
    (`Catalogues.gettext`), in the reader's language."""
    return message


def catalogue_path(code: str, directory: Path | None = None) -> Path:
    return (directory or LOCALE_DIR) / code / "LC_MESSAGES" / f"{DOMAIN}.mo"


# How many messages a language's template functions keep once said (Cairn's templates mark a
# few hundred); past that, a message is said afresh each time.
KEPT_MESSAGES = 4096


def _template_callables(translations: _gettext.NullTranslations) -> dict[str, Callable[..., Any]]:
    """Jinja's "newstyle" gettext functions (autoescaped, %(name)s formatting) bound to one
    language, passed in each render's context, so the shared templates environment is never
    changed per request. They say what jinja2.ext's say; a message said without values is
    kept once said, by its words (and context), so a page that says the same few hundred
    messages on every render looks them up instead of translating and escaping each again.
    What is kept is a language's own words for a message, the same for every reader. They
    read only whether the template escapes, not the render's whole context (which Jinja
    copies for each such call in a loop, or in a block that sets a variable)."""
    said: dict[tuple[str, ...], str] = {}

    def marked(translated: str, eval_ctx: EvalContext) -> str:
        # As Jinja marks them: a translation is the product's own words (it may hold markup).
        return Markup(translated) if eval_ctx.autoescape else translated  # noqa: S704

    def kept(eval_ctx: EvalContext, key: tuple[str, ...], say: Callable[[], str],
             variables: dict[str, Any]) -> str:
        if not eval_ctx.autoescape:
            return say() % variables
        found = said.get(key)
        if found is None:
            found = marked(say(), eval_ctx) % variables
            if len(said) < KEPT_MESSAGES:
                said[key] = found
        return found

    @pass_eval_context
    def gettext(eval_ctx: EvalContext, message: str, /, **variables: Any) -> str:
        if not variables:
            return kept(eval_ctx, (message,), lambda: translations.gettext(message), variables)
        return marked(translations.gettext(message), eval_ctx) % variables

    @pass_eval_context
    def ngettext(eval_ctx: EvalContext, singular: str, plural: str, n: int, /,
                 **variables: Any) -> str:
        variables.setdefault("num", n)
        return marked(translations.ngettext(singular, plural, n), eval_ctx) % variables

    @pass_eval_context
    def pgettext(eval_ctx: EvalContext, message_context: str, message: str, /,
                 **variables: Any) -> str:
        if not variables:
            return kept(eval_ctx, (message_context, message, ""),
                        lambda: translations.pgettext(message_context, message),
                        {"context": message_context})
        variables.setdefault("context", message_context)
        return marked(translations.pgettext(message_context, message), eval_ctx) % variables

    @pass_eval_context
    def npgettext(eval_ctx: EvalContext, message_context: str, singular: str, plural: str, n: int, /,
                  **variables: Any) -> str:
        variables.setdefault("context", message_context)
        variables.setdefault("num", n)
        return marked(translations.npgettext(message_context, singular, plural, n),
                      eval_ctx) % variables

    return {"gettext": gettext, "ngettext": ngettext, "pgettext": pgettext,
            "npgettext": npgettext, "_": gettext}


@dataclass
class Catalogues:
    """The compiled translations of every language Cairn knows, and which are offered."""

    offered: tuple[str, ...]
    translations: dict[str, _gettext.NullTranslations]
    _template_words: dict[str, dict[str, Callable[..., Any]]] = field(default_factory=dict)
    # Template modules made in one language (server.web.macros), by (template, language).
    modules: dict[tuple[str, str], Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._template_words = {code: _template_callables(t) for code, t in self.translations.items()}

    def for_language(self, code: str) -> _gettext.NullTranslations:
        return self.translations.get(code) or self.translations[SOURCE]

    def template_words(self, code: str) -> dict[str, Callable[..., Any]]:
        """gettext, ngettext, pgettext, npgettext and _ for a template render in `code`."""
        return self._template_words.get(code) or self._template_words[SOURCE]

    def gettext(self, code: str, message: str) -> str:
        return self.for_language(code).gettext(message)

    def choose(self, own: str | None, chosen: str | None, accept_language: str | None) -> str:
        """The language a reader reads: their own setting if offered, else the one chosen on
        the language switch if offered, else what Accept-Language prefers, else English."""
        for code in (own, chosen):
            if code is not None and code in self.offered:
                return code
        return self.negotiate(accept_language)

    def negotiate(self, accept_language: str | None) -> str:
        """The offered language the browser's Accept-Language prefers, else the source."""
        preferred = _preferences(accept_language or "")
        chosen = negotiate_locale(preferred, list(self.offered), sep="-", aliases={})
        return chosen.lower().split("-")[0] if chosen else SOURCE


def _preferences(header: str) -> list[str]:
    """Accept-Language's tags, most wanted first ("es-MX,es;q=0.9,en;q=0.5"); q=0 is a no."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:32]):
        tag, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and quality > 0 and len(tag) <= 35:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def load(directory: Path | None = None,
         languages: Iterable[Language] | None = None) -> Catalogues:
    """Read every known language's compiled catalogue, once, at start-up.

    A language marked complete must have one (MissingCatalogue otherwise); one still being
    translated without it reads in the source language.
    """
    known = list(languages if languages is not None else LANGUAGES.values())
    translations: dict[str, _gettext.NullTranslations] = {SOURCE: _gettext.NullTranslations()}
    for language in known:
        if language.code == SOURCE:
            continue
        path = catalogue_path(language.code, directory)
        if path.is_file():
            with path.open("rb") as mo:
                translations[language.code] = _gettext.GNUTranslations(mo)
        elif language.complete:
            raise MissingCatalogue(
                f"The {language.code!r} language is marked complete, but its compiled catalogue "
                f"{path.name} is missing from {path.parent}: run `make` (or `pybabel compile "
                f"-d server/locale -D {DOMAIN}`) before starting Cairn.")
    offered = tuple(language.code for language in known if language.complete)
    return Catalogues(offered=offered, translations=translations)


SOURCE_ONLY = Catalogues(offered=(SOURCE,), translations={SOURCE: _gettext.NullTranslations()})


_installed: list[Catalogues] = []


def install(found: Catalogues) -> None:
    """The catalogues this process renders with where no request is at hand (a live fragment
    for many readers); the app installs what it loaded at start-up."""
    _installed[:] = [found]


def installed() -> Catalogues:
    return _installed[0] if _installed else SOURCE_ONLY


def catalogues(request: Request) -> Catalogues:
    return getattr(request.app.state, "catalogues", None) or SOURCE_ONLY


def language_of(request: Request) -> str:
    """The language a request reads: the member's own setting if signed in (and that language
    is offered), else the one this browser chose on the language switch (if offered), else
    what its Accept-Language prefers among the offered ones, else English."""
    return catalogues(request).choose(getattr(request.state, "member_language", None),
                                      request.cookies.get(COOKIE),
                                      request.headers.get("accept-language"))


def offered_of(found: Catalogues) -> list[Language]:
    """The languages members can choose, as the switch and Settings list them."""
    return [LANGUAGES.get(code) or Language(code, True, code) for code in found.offered]


def spoken(code: str) -> str:
    """A member's language code as Cairn speaks to them with no request at hand (a reminder,
    a live fragment): theirs if offered, else the source."""
    return code if code in installed().offered else SOURCE


def ngettext(singular: str, plural: str, n: int, *, language: str, **params: Any) -> str:
    """A plural message (extracted as one) in a language given by its code; `%(num)s` is n."""
    text = installed().for_language(language).ngettext(singular, plural, n)
    return text % {"num": n, **params}


def gettext(code: str, message: str, **params: Any) -> str:
    """A message marked with N_ in a language given by its code (`spoken(user.language)`), its
    "%(name)s" values put in after translation."""
    text = installed().gettext(code, message)
    return text % params if params else text


def say(request: Request, error: Any) -> str:
    """An AppError's detail in the request's language (its values put in after translation)."""
    translations = catalogues(request).for_language(language_of(request))
    return cast(str, error.said(translations.gettext))


def translate(request: Request, message: str, **params: Any) -> str:
    """A message marked with N_ (or any message in the catalogue), in the request's language,
    its "%(name)s" values put in after translation: a flash message, a form's error."""
    text = catalogues(request).gettext(language_of(request), message)
    return text % params if params else text
