"""Languages: the message catalogues are current and complete, a request reads the language it
asks for (only once that language is offered), and plural forms follow each language."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from sqlalchemy import update

from server import formats, i18n
from server.config import ROOT
from server.db import transaction
from server.main import create_app
from server.models import User
from server.web import templates
from tests.fixtures.clients import Clients, make_settings

LOCALE = ROOT / "server" / "locale"
POT = LOCALE / "messages.pot"

Key = tuple[str | None, str]


def read(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def keys(catalog: Catalog) -> set[Key]:
    """(context, singular id) of every message."""
    return {(m.context, m.id[0] if isinstance(m.id, tuple) else m.id) for m in catalog if m.id}


def untranslated(template: Catalog, translated: Catalog) -> list[Key]:
    """The template's messages that the translation lacks, leaves empty (in any plural form)
    or marks fuzzy."""
    missing = []
    for message in template:
        if not message.id:
            continue
        found = translated.get(message.id, context=message.context)
        strings = found.string if found is not None else ""
        strings = strings if isinstance(strings, tuple) else (strings,)
        if found is None or found.fuzzy or not all(s.strip() for s in strings):
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            missing.append((message.context, key))
    return missing


def po_path(code: str) -> Path:
    return LOCALE / code / "LC_MESSAGES" / "messages.po"


# --- the catalogues --------------------------------------------------------------------------

def test_the_committed_template_holds_every_message_in_the_code(tmp_path: Path) -> None:
    """`make messages` was run: extracting again (as it does, with babel.cfg) finds exactly the
    messages of the committed messages.pot."""
    fresh = tmp_path / "messages.pot"
    CommandLineInterface().run(["pybabel", "--quiet", "extract", "--mapping-file",
                                str(ROOT / "babel.cfg"), "--output-file", str(fresh), str(ROOT)])
    extracted, committed = keys(read(fresh)), keys(read(POT))
    assert extracted, "nothing was extracted"
    assert not extracted - committed, f"run `make messages`: new messages {sorted(extracted - committed, key=str)}"
    assert not committed - extracted, f"run `make messages`: gone messages {sorted(committed - extracted, key=str)}"


def test_every_language_marked_complete_has_every_message_translated() -> None:
    template = read(POT)
    for language in i18n.LANGUAGES.values():
        if language.complete and language.code != i18n.SOURCE:
            assert not untranslated(template, read(po_path(language.code))), language.code


def test_every_known_language_has_a_catalogue_made_from_the_template() -> None:
    template = keys(read(POT))
    for code in i18n.LANGUAGES:
        if code != i18n.SOURCE:
            assert keys(read(po_path(code))) >= template, f"run `make messages` ({code})"


def _catalog(entries: Iterable[tuple[str | tuple[str, str], str | tuple[str, ...], bool]]) -> Catalog:
    catalog = Catalog(locale="es")
    for msgid, string, fuzzy in entries:
        catalog.add(msgid, string, flags=("fuzzy",) if fuzzy else ())
    return catalog


def test_the_completeness_check_finds_missing_empty_and_fuzzy_messages() -> None:
    template = _catalog([("Hello", "", False), ("Bye", "", False), ("Later", "", False),
                         (("%(n)s day", "%(n)s days"), ("", ""), False), ("Here", "", False)])
    translated = _catalog([("Hello", "Hola", False), ("Bye", "", False), ("Later", "Luego", True),
                           (("%(n)s day", "%(n)s days"), ("%(n)s día", "", "%(n)s días"), False)])
    assert untranslated(template, translated) == [
        (None, "Bye"), (None, "Later"), (None, "%(n)s day"), (None, "Here")]
    done = _catalog([("Hello", "Hola", False), ("Bye", "Adiós", False), ("Later", "Luego", False),
                     (("%(n)s day", "%(n)s days"), ("%(n)s día", "%(n)s de días", "%(n)s días"), False),
                     ("Here", "Aquí", False)])
    assert untranslated(template, done) == []


# --- loading at start-up ---------------------------------------------------------------------

def compile_spanish(directory: Path) -> None:
    mo = i18n.catalogue_path("es", directory)
    mo.parent.mkdir(parents=True)
    with mo.open("wb") as f:
        write_mo(f, read(po_path("es")))


def test_a_complete_language_without_its_compiled_catalogue_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(i18n.MissingCatalogue, match="make"):
        i18n.load(tmp_path, [i18n.Language("en", True), i18n.Language("es", True)])
    # Still being translated: Cairn starts, and the language reads as the source.
    found = i18n.load(tmp_path, [i18n.Language("en", True), i18n.Language("es", False)])
    assert found.offered == ("en",)
    assert found.gettext("es", "Welcome back") == "Welcome back"


def test_accept_language_chooses_among_the_offered_languages(tmp_path: Path) -> None:
    compile_spanish(tmp_path)
    only_english = i18n.load(tmp_path, [i18n.Language("en", True), i18n.Language("es", False)])
    both = i18n.load(tmp_path, [i18n.Language("en", True), i18n.Language("es", True)])
    assert only_english.negotiate("es") == "en"
    assert both.gettext("es", "Welcome back") == "Qué bueno verte de nuevo"
    for header, chosen in [("es", "es"), ("es-MX,es;q=0.9,en;q=0.5", "es"), ("ES-419", "es"),
                           ("fr-CA, es;q=0.8, en;q=0.9", "en"), ("en;q=0.2, es;q=0.7", "es"),
                           ("es;q=0, en", "en"), ("fr", "en"), ("", "en"), (None, "en"),
                           ("*", "en"), (";;;,q=,es;q=x", "en"), ("x" * 5000, "en")]:
        assert both.negotiate(header) == chosen, header


# --- pages and errors ------------------------------------------------------------------------

@pytest.fixture
def only_english(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spanish as if it were still being translated: known, not offered."""
    monkeypatch.setitem(i18n.LANGUAGES, "es", dataclasses.replace(i18n.LANGUAGES["es"], complete=False))


@pytest.fixture
async def cairn(sqlite_database_url: str) -> AsyncIterator[Clients]:
    application = create_app(make_settings(sqlite_database_url))
    async with application.router.lifespan_context(application):
        made = Clients(application)
        yield made
        await made.close()


async def test_while_spanish_is_not_offered_a_spanish_browser_reads_english(
        only_english: None, cairn: Clients) -> None:
    r = await cairn.anonymous().get("/login", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert r.status_code == 200
    assert '<html lang="en">' in r.text and "Welcome back" in r.text and "Skip to the content" in r.text
    r = await cairn.anonymous().get("/api/v1/me", headers={"Accept-Language": "es"})
    assert r.json() == {"error": "not_signed_in", "detail": "Please sign in first."}


async def test_once_offered_spanish_browsers_read_the_sign_in_page_in_spanish(
        cairn: Clients) -> None:
    visitor = cairn.anonymous()
    r = await visitor.get("/login", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert r.status_code == 200
    page = r.text
    assert '<html lang="es">' in page
    for words in ("<title>Iniciar sesión · Cairn</title>", "Qué bueno verte de nuevo", "Saltar al contenido",
                  'aria-label="Principal"', "Crear cuenta</a>", "¿Necesitas ayuda ahora?",
                  '¿Primera vez aquí? <a href="/signup">Crea una cuenta</a>',
                  'Si estás en peligro, <a href="/help">busca ayuda ahora</a>'):
        assert words in page, words
    assert "Welcome back" not in page
    r = await visitor.get("/signup?next=/groups/1%3Fa%3D1%26b", headers={"Accept-Language": "es"})
    assert "Crea tu cuenta" in r.text and "Repite la contraseña" in r.text
    # A link's address is escaped once, inside the translated sentence as anywhere else.
    assert '<a href="/login?next=/groups/1%3Fa%3D1%26b">Inicia sesión</a>' in r.text
    r = await visitor.get("/login", headers={"Accept-Language": "en-GB,es;q=0.5"})
    assert '<html lang="en">' in r.text and "Welcome back" in r.text
    r = await visitor.get("/api/v1/me", headers={"Accept-Language": "es"})
    assert r.status_code == 401
    assert r.json() == {"error": "not_signed_in", "detail": "Primero inicia sesión, por favor."}
    r = await visitor.get("/api/v1/nothing-here", headers={"Accept-Language": "es"})
    assert r.status_code == 404
    assert r.json() == {"error": "not_found", "detail": "No pudimos encontrar eso."}


async def test_a_members_own_language_wins_over_their_browsers(
        cairn: Clients) -> None:
    member = await cairn.member(display_name="Rosa <3")
    english = {"Accept-Language": "en"}
    r = await member.get("/settings", headers=english)
    assert '<html lang="en">' in r.text and "Signed in as <span data-member-words>Rosa &lt;3</span>." in r.text
    async with transaction(cairn.app.state.db) as session:
        await session.execute(update(User).where(User.id == member.id).values(language="es"))
    r = await member.get("/settings", headers=english)
    assert '<html lang="es">' in r.text
    assert "Sesión iniciada como <span data-member-words>Rosa &lt;3</span>." in r.text and ">Grupos</a>" in r.text


# --- plural forms ----------------------------------------------------------------------------

def test_plural_messages_follow_each_languages_plural_rules(tmp_path: Path) -> None:
    compile_spanish(tmp_path)
    found = i18n.load(tmp_path, [i18n.Language("en", True), i18n.Language("es", True)])
    page = templates.env.from_string(
        "{% trans count=n %}Reminders go to {{ count }} device.{% pluralize %}"
        "Reminders go to {{ count }} devices.{% endtrans %}")

    def say(code: str, n: int) -> str:
        return page.render(n=n, **found.template_words(code))

    assert [say("en", n) for n in (1, 2, 0)] == [
        "Reminders go to 1 device.", "Reminders go to 2 devices.", "Reminders go to 0 devices."]
    assert [say("es", n) for n in (1, 2, 0, 1_000_000)] == [
        "Los recordatorios llegan a 1 dispositivo.", "Los recordatorios llegan a 2 dispositivos.",
        "Los recordatorios llegan a 0 dispositivos.",
        "Los recordatorios llegan a 1000000 de dispositivos."]
    counted = templates.env.from_string(
        '{{ npgettext("members", "%(num)s member", "%(num)s members", n) }}')
    assert [counted.render(n=n, **found.template_words("en")) for n in (1, 4)] == ["1 member", "4 members"]
    # Outside a request (fragments rendered once for many readers), templates read in English.
    assert page.render(n=3) == "Reminders go to 3 devices."


def test_dates_times_and_numbers_are_said_as_each_language_says_them() -> None:
    at = dt.datetime(2026, 3, 3, 14, 30, tzinfo=dt.UTC)  # a Tuesday
    assert formats.day(at, "en") == "Tuesday 3 March"
    assert formats.day(at, "es") == "mar, 3 de marzo"
    assert [formats.weekday(at + dt.timedelta(days=n), "es") for n in range(0, 7, 3)] == [
        "martes", "viernes", "lunes"]
    assert formats.weekday(at, "en", "abbreviated") == "Tue"
    assert formats.month(at, "es") == "marzo"
    assert formats.moment(at, "America/Mexico_City", "es") == "mar, 3 de marzo, 8:30"
    assert formats.moment(at, "Europe/London", "en") == "Tuesday 3 March, 14:30"
    assert formats.ago(dt.timedelta(minutes=1), "es") == "hace 1 minuto"
    assert formats.ago(dt.timedelta(minutes=2), "es") == "hace 2 minutos"
    assert formats.ago(dt.timedelta(minutes=1), "en") == "1 minute ago"
    assert formats.number(12345, "en") == "12,345"
    assert formats.number(12345, "es") == "12.345"
    assert formats.number(2.5, "es") == "2,5" and formats.number(2, "es") == "2"
    # Words are kept per day or minute and language (server/formats.py): a datetime says its
    # own day and time, in its own zone, whatever was asked before.
    auckland = at.astimezone(ZoneInfo("Pacific/Auckland"))
    assert [formats.day(when, "en") for when in (at, auckland, at.date(), auckland.date())] == [
        "Tuesday 3 March", "Wednesday 4 March", "Tuesday 3 March", "Wednesday 4 March"]
    assert [formats.time_of_day(when, "en") for when in (at, auckland, auckland.timetz())] == [
        "14:30", "03:30", "03:30"]
    assert formats.short_day(auckland, "es") == "mié 4" and formats.short_day(at, "es") == "mar 3"
    # In a template, the render's language decides.
    page = templates.env.from_string("{{ short_day(d) }} · {{ time_label(d) }} · {{ number(n) }}")
    assert page.render(d=at, n=1500, language="es") == "mar 3 · 14:30 · 1.500"
    assert page.render(d=at, n=1500) == "Tue 3 · 14:30 · 1,500"


def test_template_words_say_what_jinjas_own_gettext_says(tmp_path: Path) -> None:
    """The template functions keep a message once said: what they say is still Jinja's, in
    each language, escaped or not as the template is, with values and without, said again."""
    from jinja2 import Environment, select_autoescape

    compile_spanish(tmp_path)
    found = i18n.load(tmp_path, [i18n.Language("en", True), i18n.Language("es", True)])
    source = ('{{ _("Members") }}|{{ _("100%% kind") }}|{{ gettext("Signed in as %(name)s.", name=who) }}'
              '|{{ pgettext("action", "Report") }}|{{ pgettext("action", "Report") }}'
              '|{{ ngettext("%(num)s open report", "%(num)s open reports", 2) }}'
              '|{% trans name=who %}Leave {{ name }}{% endtrans %}|{{ _("Members") }}')
    for code in ("en", "es"):
        for autoescape in (True, False):
            ours = Environment(extensions=["jinja2.ext.i18n"],
                               autoescape=select_autoescape(default_for_string=autoescape))
            ours.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
            theirs = Environment(extensions=["jinja2.ext.i18n"],
                                 autoescape=select_autoescape(default_for_string=autoescape))
            theirs.install_gettext_translations(found.for_language(code), newstyle=True)  # type: ignore[attr-defined]
            for _ in range(2):
                assert (ours.from_string(source).render(who="<b>Rosa</b>", **found.template_words(code))
                        == theirs.from_string(source).render(who="<b>Rosa</b>"))
    assert "Miembros|" in templates.env.from_string(source).render(who="", **found.template_words("es"))
